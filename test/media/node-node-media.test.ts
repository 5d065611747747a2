/**
 * Two rtcstack peers on loopback UDP: VP8 frames from an ffmpeg clip and Opus packets go from A to
 * B through transceivers (packetize, SRTP, routing, jitter buffer) and arrive byte-identical;
 * stats and RTCP (SR/RR round trip) work; close leaves no timers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseIvf } from '../../src/media/container/ivf.js';
import { parseOggOpus } from '../../src/media/container/opus-file.js';
import {
  MediaStream,
  MediaStreamTrack,
  type ReceivedFrame,
  RTCPeerConnection,
  type RTCTrackEvent,
} from '../../src/peer/index.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import { negotiate } from '../helpers/trickled-pair.js';
import { waitFor } from '../helpers/wait.js';
import { makeOpusClip, makeVideoClip } from './ffmpeg.js';

const OPTS = { includeLoopback: true, ipv6: false };

test(
  'VP8 + Opus from rtcstack to rtcstack: frames arrive intact, stats and ontrack',
  needs(PREREQS.ffmpeg),
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtcs-media-'));
    const a = new RTCPeerConnection({}, OPTS);
    const b = new RTCPeerConnection({}, OPTS);
    try {
      // Repeatable: keyframes at 0, 10 and 20 only (asserted below), the same bytes each run.
      makeVideoClip('vp8', join(dir, 'v.ivf'), { frames: 30, gop: 10, size: '640x480', repeatable: true });
      makeOpusClip(join(dir, 'a.ogg'), 1);
      const video = parseIvf(readFileSync(join(dir, 'v.ivf')));
      const audio = parseOggOpus(readFileSync(join(dir, 'a.ogg')));
      a.onicecandidate = (e) => void b.addIceCandidate(e.candidate ?? undefined).catch(() => {});
      b.onicecandidate = (e) => void a.addIceCandidate(e.candidate ?? undefined).catch(() => {});
      const stream = new MediaStream();
      const vt = new MediaStreamTrack({ kind: 'video' });
      const at = new MediaStreamTrack({ kind: 'audio' });
      a.addTrack(vt, stream);
      a.addTrack(at, stream);
      const got: { video: ReceivedFrame[]; audio: ReceivedFrame[] } = { video: [], audio: [] };
      const events: RTCTrackEvent[] = [];
      let lastVideoRtpTimestamp = -1;
      b.ontrack = (e) => {
        events.push(e);
        e.track.on('frame', (f) => got[e.track.kind].push(f));
        if (e.track.kind === 'video') e.track.on('rtp', (p) => (lastVideoRtpTimestamp = p.timestamp));
      };
      await negotiate(a, b);
      assert.equal(events.length, 2);
      assert.equal(events[0]!.streams[0]!.id, stream.id);
      assert.deepEqual(
        b.getTransceivers().map((t) => t.currentDirection),
        ['recvonly', 'recvonly'],
      );
      await waitFor(
        () => a.connectionState === 'connected' && b.connectionState === 'connected',
        'connected',
      );
      for (const [i, f] of video.frames.entries()) {
        vt.writeFrame({ data: f.data, timestamp: (f.timestamp * 1000) / 30 });
        const p = audio.packets[i];
        if (p) at.writeFrame({ data: p, timestamp: i * 20 });
        await new Promise((r) => setTimeout(r, 5));
      }
      await waitFor(() => got.video.length === video.frames.length, `video frames (${got.video.length})`);
      await waitFor(() => got.audio.length === Math.min(30, audio.packets.length), 'audio frames');
      for (const [i, f] of got.video.entries())
        assert.deepEqual(Buffer.from(f.data), Buffer.from(video.frames[i]!.data));
      assert.equal(got.video[0]!.keyframe, true);
      assert.equal(got.video.filter((f) => f.keyframe).length, 3);
      assert.ok(Math.abs(got.video[29]!.timestamp - (29 * 1000) / 30) < 1);
      assert.deepEqual(Buffer.from(got.audio[3]!.data), Buffer.from(audio.packets[3]!));
      const sa = [...(await a.getStats()).values()];
      const sb = [...(await b.getStats()).values()];
      const out = sa.find((s) => s.type === 'outbound-rtp' && s.kind === 'video')!;
      const inb = sb.find((s) => s.type === 'inbound-rtp' && s.kind === 'video')!;
      assert.equal(inb.packetsReceived, out.packetsSent);
      assert.equal(inb.framesReceived, 30);
      // Picture size from the clip's VP8 keyframes, both sides; 30 frames in ~0.3 s: all in the last second.
      assert.equal(inb.frameWidth, 640);
      assert.equal(inb.frameHeight, 480);
      assert.equal(out.frameWidth, 640);
      assert.equal(out.frameHeight, 480);
      assert.ok((out.framesPerSecond as number) > 0 && (out.framesPerSecond as number) <= 30);
      assert.equal(inb.packetsLost, 0);
      assert.ok(sb.some((s) => s.type === 'codec' && s.mimeType === 'video/VP8'));
      // RTCP: B's receiver reports reach A with an RTT once A's SR has been echoed.
      await waitFor(() => a.getSenders().every((s) => s.roundTripTime !== undefined), 'rtt', 5000);
      // A's sender reports as B's remote-outbound-rtp, linked both ways to the inbound-rtp; B's
      // receiver reports as A's remote-inbound-rtp, linked to the outbound-rtp.
      const sb2 = await b.getStats();
      const inb2 = [...sb2.values()].find((s) => s.type === 'inbound-rtp' && s.kind === 'video')!;
      const ro = sb2.get(inb2.remoteId as string)!;
      assert.equal(ro.type, 'remote-outbound-rtp');
      assert.equal(ro.localId, inb2.id);
      assert.equal(ro.ssrc, inb2.ssrc);
      assert.ok((ro.reportsSent as number) >= 1);
      assert.ok((ro.packetsSent as number) > 0 && (ro.packetsSent as number) <= (out.packetsSent as number));
      assert.ok((ro.bytesSent as number) > 0);
      assert.ok(Math.abs((ro.remoteTimestamp as number) - Date.now()) < 60_000, `${ro.remoteTimestamp}`);
      const sa2 = await a.getStats();
      const out2 = [...sa2.values()].find((s) => s.type === 'outbound-rtp' && s.kind === 'video')!;
      assert.equal(sa2.get(out2.remoteId as string)?.type, 'remote-inbound-rtp');
      // The video receiver's synchronization source: the last frame's RTP timestamp (90 kHz).
      const ssrcs = b
        .getReceivers()
        .find((r) => r.track.kind === 'video')!
        .getSynchronizationSources();
      assert.equal(ssrcs.length, 1);
      assert.equal(ssrcs[0]!.source, inb2.ssrc);
      assert.ok(ssrcs[0]!.timestamp <= Date.now() && ssrcs[0]!.timestamp > Date.now() - 60_000);
      assert.equal(ssrcs[0]!.rtpTimestamp, lastVideoRtpTimestamp);
    } finally {
      a.close();
      b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
