/**
 * Recording a room's tracks through the SFU: an rtcstack peer publishes a VP8 clip and Opus made by
 * ffmpeg; the SFU records each track to its own WebM file, which ffprobe decodes without errors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '../../src/core/log.js';
import { parseIvf } from '../../src/media/container/ivf.js';
import { parseOggOpus } from '../../src/media/container/opus-file.js';
import { MediaStream, MediaStreamTrack, RTCPeerConnection } from '../../src/peer/index.js';
import { SfuServer } from '../../src/server/sfu/sfu-server.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import { waitFor as sharedWaitFor } from '../helpers/wait.js';
import { decodeErrors, makeOpusClip, makeVideoClip, probeFrames } from '../media/ffmpeg.js';

const OPTS = { includeLoopback: true, ipv6: false };

const waitFor = (cond: () => boolean, what: string): Promise<void> => sharedWaitFor(cond, what, 60_000);

test(
  'SFU recording: each published track to its own WebM file that decodes',
  needs(PREREQS.ffmpeg),
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtcs-sfu-rec-'));
    const sfu = new SfuServer({ log: silentLogger, peerOptions: OPTS });
    const pc = new RTCPeerConnection({}, OPTS);
    let timer: ReturnType<typeof setInterval> | undefined;
    try {
      makeVideoClip('vp8', join(dir, 'v.ivf'), { frames: 60, gop: 15, size: '320x240', repeatable: true });
      makeOpusClip(join(dir, 'a.ogg'), 2);
      const video = parseIvf(readFileSync(join(dir, 'v.ivf'))).frames;
      const audio = parseOggOpus(readFileSync(join(dir, 'a.ogg'))).packets;
      sfu.attach({
        send: (_room, _peer, m) => {
          if (m.type === 'sfu-answer') void pc.setRemoteDescription({ type: 'answer', sdp: m.sdp });
          else if (m.type === 'sfu-candidate') void pc.addIceCandidate(m.candidate).catch(() => {});
        },
      });
      sfu.openRoom('r', ['A']);
      assert.equal(sfu.startRecording('r', join(dir, 'rec')), true);
      assert.equal(sfu.startRecording('nope', dir), false, 'only rooms in SFU mode');
      pc.onicecandidate = (e) => {
        if (e.candidate)
          sfu.handle('r', 'A', {
            v: 1,
            type: 'sfu-candidate',
            pc: 'pub',
            candidate: e.candidate.toJSON() as never,
          });
      };
      const stream = new MediaStream();
      const vt = new MediaStreamTrack({ kind: 'video' });
      const at = new MediaStreamTrack({ kind: 'audio' });
      pc.addTransceiver(vt, { direction: 'sendonly', streams: [stream] });
      pc.addTransceiver(at, { direction: 'sendonly', streams: [stream] });
      await pc.setLocalDescription(await pc.createOffer());
      sfu.handle('r', 'A', { v: 1, type: 'sfu-offer', pc: 'pub', sdp: pc.localDescription!.sdp });
      // The clip in a loop (restarting at its first keyframe), 30 fps video, 50 packets/s audio.
      let i = 0;
      timer = setInterval(() => {
        const f = video[i % video.length]!;
        vt.writeFrame({ data: f.data, timestamp: i * 33 });
        for (let k = 0; k < 2; k++) {
          const n = (i * 2 + k) % audio.length;
          at.writeFrame({ data: audio[n]!, timestamp: (i * 2 + k) * 20 });
        }
        i++;
      }, 33);
      await waitFor(
        () => sfu.recordings('r').length === 2 && sfu.recordings('r').every((r) => r.frames >= 40),
        '40 frames recorded per track',
      );
      const files = await sfu.stopRecording('r');
      assert.equal(files.length, 2);
      const v = files.find((f) => f.kind === 'video')!;
      const a = files.find((f) => f.kind === 'audio')!;
      assert.equal(v.publisherId, 'A');
      assert.match(v.path, /r-A-video-\d+\.webm$/);
      const pv = probeFrames(v.path, 'v:0');
      assert.equal(pv.codec, 'vp8');
      assert.ok(pv.frames >= 40, `${pv.frames} video frames decoded`);
      assert.equal(decodeErrors(v.path), '');
      const pa = probeFrames(a.path, 'a:0');
      assert.equal(pa.codec, 'opus');
      assert.ok(pa.frames >= 40, `${pa.frames} audio frames decoded`);
      assert.deepEqual(sfu.recordings('r'), [], 'stopped');
    } finally {
      if (timer) clearInterval(timer);
      pc.close();
      sfu.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
