/**
 * Media between rtcstack and Chromium (fake camera and microphone), signaled from Node:
 * - Chromium → rtcstack: camera (VP8, VP9, H264, AV1 chosen with setCodecPreferences) and mic
 *   recorded to WebM/Matroska by WebmRecorder; ffprobe decodes it without errors and counts at
 *   least 90% of the frames Chromium reports sent in the same interval;
 * - rtcstack → Chromium: an ffmpeg-made VP8 clip and an Opus tone; Chromium's getStats shows
 *   frames decoded and audio samples growing, with no decode failures (framesDropped stays low).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { splitAccessUnits } from '../../src/media/container/annexb.js';
import { parseIvf } from '../../src/media/container/ivf.js';
import { parseOggOpus } from '../../src/media/container/opus-file.js';
import {
  getCapabilities,
  MediaStreamTrack,
  RTCPeerConnection,
  type RTCTrackEvent,
} from '../../src/peer/index.js';
import { WebmRecorder } from '../../src/peer/media-recorder.js';
import { browserPeer as sharedBrowserPeer } from '../helpers/browser-peer.js';
import { chromiumForFile } from '../helpers/chromium-file.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import { waitConnected } from '../helpers/wait.js';
import { decodeErrors, makeOpusClip, makeVideoClip, probeFrames } from '../media/ffmpeg.js';

const opts = needs(PREREQS.chromium);
const ffOpts = needs(PREREQS.ffmpeg);
const skip = opts.skip || ffOpts.skip;
let dir: string;
/** The page's own RTCPeerConnection (the DOM one, not ours). */
type PagePc = globalThis.RTCPeerConnection;
type AnyStats = Record<string, number & string>;

const chromium = chromiumForFile({ skip }, { origin: true });

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rtcs-media-chromium-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The page with its own RTCPeerConnection (`window.pc`), on our origin (getUserMedia needs one). */
const browserPeer = (node: RTCPeerConnection): Promise<Page> =>
  sharedBrowserPeer(chromium.browser, node, { origin: chromium.origin });

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Chromium's outbound video stats: frames encoded and sent. */
async function pageOutbound(
  page: Page,
): Promise<{ framesSent: number; framesEncoded: number; codec: string }> {
  return page.evaluate(async () => {
    const pc = (window as unknown as { pc: PagePc }).pc;
    const stats = await pc.getStats();
    let framesSent = 0;
    let framesEncoded = 0;
    let codec = '';
    stats.forEach((s: AnyStats) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') {
        framesSent += s.framesSent ?? 0;
        framesEncoded += s.framesEncoded ?? 0;
        const c = stats.get(String(s.codecId));
        if (c) codec = c.mimeType;
      }
    });
    return { framesSent, framesEncoded, codec };
  });
}

for (const codec of ['VP8', 'VP9', 'H264', 'AV1'] as const) {
  test(`Chromium camera+mic (${codec}) → rtcstack, recorded; ffprobe decodes ≥ 90% of the frames sent`, {
    skip,
  }, async (t) => {
    const node = new RTCPeerConnection({}, { includeLoopback: true, ipv6: false });
    const page = await browserPeer(node);
    try {
      const tracks: MediaStreamTrack[] = [];
      node.ontrack = (e: RTCTrackEvent) => tracks.push(e.track);
      // rtcstack offers to receive; Chromium answers sending its camera and microphone.
      node.addTransceiver('audio', { direction: 'recvonly' });
      const vtr = node.addTransceiver('video', { direction: 'recvonly' });
      // setCodecPreferences on our side: offer only the codec under test (and its RTX).
      vtr.setCodecPreferences(
        getCapabilities('video')!.codecs.filter(
          (c) => c.mimeType.toLowerCase() === `video/${codec.toLowerCase()}`,
        ),
      );
      await node.setLocalDescription(await node.createOffer());
      const answer = await page.evaluate(
        async ({ offer }) => {
          const pc = (window as unknown as { pc: PagePc }).pc;
          await pc.setRemoteDescription(offer);
          const media = await navigator.mediaDevices.getUserMedia({
            audio: true,
            video: { width: 640, height: 480, frameRate: 30 },
          });
          for (const tr of pc.getTransceivers()) {
            const track = media.getTracks().find((x) => x.kind === tr.receiver.track.kind)!;
            tr.direction = 'sendonly';
            await tr.sender.replaceTrack(track);
          }
          await pc.setLocalDescription();
          return pc.localDescription!.toJSON();
        },
        { offer: node.localDescription!.toJSON() },
      );
      await node.setRemoteDescription(answer);
      assert.equal(tracks.length, 2);
      const video = tracks.find((t) => t.kind === 'video')!;
      const audio = tracks.find((t) => t.kind === 'audio')!;
      // Record from the first packet on (Chromium's first frame is a keyframe) for 4 seconds.
      const chunks: Uint8Array[] = [];
      const recorder = new WebmRecorder([video, audio], (c) => chunks.push(c));
      const before = await pageOutbound(page);
      await waitConnected(node);
      await sleep(4000);
      const afterStats = await pageOutbound(page);
      recorder.close();
      const file = join(dir, `chromium-${codec}.${codec === 'H264' ? 'mkv' : 'webm'}`);
      writeFileSync(file, Buffer.concat(chunks));
      assert.equal(afterStats.codec.toLowerCase(), `video/${codec.toLowerCase()}`);
      const sent = afterStats.framesSent - before.framesSent;
      const v = probeFrames(file, 'v:0');
      const a = probeFrames(file, 'a:0');
      assert.equal(
        v.codec,
        codec === 'VP8' ? 'vp8' : codec === 'VP9' ? 'vp9' : codec === 'H264' ? 'h264' : 'av1',
      );
      assert.ok(sent > 30, `Chromium sent ${sent} frames`);
      t.diagnostic(
        `${codec}: Chromium sent ${sent} frames in the interval, ffprobe decoded ${v.frames}; ${a.frames} audio frames`,
      );
      assert.ok(v.frames >= 0.9 * sent, `ffprobe decoded ${v.frames} of ${sent} frames sent`);
      assert.ok(a.frames > 100, `audio frames ${a.frames}`);
      const errors = decodeErrors(file);
      assert.equal(errors, '', errors);
      const stats = [...(await node.getStats()).values()];
      const inbound = stats.find((s) => s.type === 'inbound-rtp' && s.kind === 'video')!;
      assert.ok((inbound.packetsReceived as number) > 100);
      // Picture size from the keyframes (VP8/VP9 headers), audio level from Chromium's RFC 6464
      // extension (negotiated by our offer): ~4 s of 20-ms packets counted.
      if (codec === 'VP8' || codec === 'VP9') {
        assert.equal(inbound.frameWidth, 640, JSON.stringify(inbound));
        assert.equal(inbound.frameHeight, 480);
      }
      const inAudio = stats.find((s) => s.type === 'inbound-rtp' && s.kind === 'audio')!;
      const level = inAudio.audioLevel as number;
      assert.ok(level >= 0 && level <= 1, `audioLevel ${level}`);
      assert.ok((inAudio.totalSamplesDuration as number) > 3, `${inAudio.totalSamplesDuration} s of levels`);
    } finally {
      node.close();
      await page.close();
    }
  });
}

for (const codec of ['vp8', 'vp9', 'h264', 'av1'] as const) {
  test(`rtcstack → Chromium: ffmpeg ${codec} clip and an Opus tone decode in the page`, {
    skip,
  }, async (t) => {
    const clipFile = join(dir, `play-${codec}.${codec === 'h264' ? 'h264' : 'ivf'}`);
    makeVideoClip(codec, clipFile, { frames: 90, gop: 30, size: '320x240' });
    makeOpusClip(join(dir, 'play.ogg'), 3);
    const clip =
      codec === 'h264'
        ? { frames: splitAccessUnits(readFileSync(clipFile)).map((data, i) => ({ data, timestamp: i })) }
        : parseIvf(readFileSync(clipFile));
    const tone = parseOggOpus(readFileSync(join(dir, 'play.ogg')));
    const node = new RTCPeerConnection({}, { includeLoopback: true, ipv6: false });
    const page = await browserPeer(node);
    const vt = new MediaStreamTrack({ kind: 'video' });
    const at = new MediaStreamTrack({ kind: 'audio' });
    let pli = 0;
    vt.on('keyframerequest', () => pli++);
    try {
      const vtr = node.addTransceiver(vt, { direction: 'sendonly' });
      vtr.setCodecPreferences(
        getCapabilities('video')!.codecs.filter((c) => c.mimeType.toLowerCase() === `video/${codec}`),
      );
      node.addTransceiver(at, { direction: 'sendonly' });
      await page.evaluate(() => {
        const w = window as unknown as { pc: PagePc; tracks: number };
        w.tracks = 0;
        w.pc.ontrack = (e) => {
          w.tracks++;
          // Chromium only pulls (and counts) audio samples for a track that plays somewhere.
          const el = document.createElement(e.track.kind === 'audio' ? 'audio' : 'video') as HTMLMediaElement;
          el.muted = true;
          el.srcObject = new MediaStream([e.track]);
          document.body.appendChild(el);
          void el.play().catch(() => {});
        };
      });
      await node.setLocalDescription(await node.createOffer());
      const answer = await page.evaluate(async (offer) => {
        const pc = (window as unknown as { pc: PagePc }).pc;
        await pc.setRemoteDescription(offer);
        await pc.setLocalDescription();
        return pc.localDescription!.toJSON();
      }, node.localDescription!.toJSON());
      await node.setRemoteDescription(answer);
      await waitConnected(node);
      const inbound = async () =>
        page.evaluate(async () => {
          const pc = (window as unknown as { pc: PagePc }).pc;
          const out = {
            framesDecoded: 0,
            framesReceived: 0,
            framesDropped: 0,
            keyFramesDecoded: 0,
            samples: 0,
            audioPackets: 0,
            codecs: [] as string[],
          };
          (await pc.getStats()).forEach((s: AnyStats) => {
            if (s.type !== 'inbound-rtp') return;
            if (s.kind === 'video') {
              out.framesDecoded = s.framesDecoded ?? 0;
              out.framesReceived = s.framesReceived ?? 0;
              out.framesDropped = s.framesDropped ?? 0;
              out.keyFramesDecoded = s.keyFramesDecoded ?? 0;
            } else {
              out.samples = s.totalSamplesReceived ?? 0;
              out.audioPackets = s.packetsReceived ?? 0;
            }
          });
          return out;
        });
      // Play 3 s in real time, looping the clip.
      const start = performance.now();
      const mid: Awaited<ReturnType<typeof inbound>>[] = [];
      for (let i = 0; i < 90; i++) {
        const f = clip.frames[i % clip.frames.length]!;
        vt.writeFrame({ data: f.data, timestamp: (i * 1000) / 30 });
        for (let k = 0; k < 2 && tone.packets.length; k++) {
          const n = (i * 2 + k) % tone.packets.length;
          at.writeFrame({ data: tone.packets[n]!, timestamp: (i * 2 + k) * 20 });
        }
        if (i === 45) mid.push(await inbound());
        const due = start + ((i + 1) * 1000) / 30;
        await sleep(Math.max(0, due - performance.now()));
      }
      await sleep(300);
      const end = await inbound();
      const m = mid[0]!;
      assert.ok(
        end.framesDecoded > m.framesDecoded,
        `frames decoded grows: ${m.framesDecoded} -> ${end.framesDecoded}`,
      );
      t.diagnostic(
        `${codec}: Chromium decoded ${end.framesDecoded} of 90 frames, ${end.samples} audio samples`,
      );
      assert.ok(end.framesDecoded >= 60, `decoded ${end.framesDecoded} of 90`);
      assert.ok(end.keyFramesDecoded >= 2);
      assert.ok(
        end.samples > m.samples && end.samples > 48000,
        `audio samples ${m.samples} -> ${end.samples} ${JSON.stringify(end)}`,
      );
      // framesDropped counts frames Chromium's playout let go (late for their display deadline on a
      // loaded machine), not decode failures: every frame must have reached the decoder either way.
      assert.ok(
        end.framesDecoded + end.framesDropped >= 80,
        `decoded ${end.framesDecoded} + dropped ${end.framesDropped} of 90 sent`,
      );
      assert.equal(await page.evaluate(() => (window as unknown as { tracks: number }).tracks), 2);
      const stats = [...(await node.getStats()).values()];
      assert.ok(
        stats.some((s) => s.type === 'outbound-rtp' && s.kind === 'video' && (s.framesSent as number) === 90),
      );
      assert.ok(pli >= 0);
    } finally {
      node.close();
      await page.close();
    }
  });
}
