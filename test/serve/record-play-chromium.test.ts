/**
 * `rtcstack record` and `rtcstack play` (bin/rtcstack, as child processes) against real Chromium
 * call pages on a running `rtcstack serve`:
 * - record: a page with the fake camera and microphone; the recorder joins, records until SIGINT,
 *   finalises the file and exits 0; ffprobe decodes it without errors, with at least 90% of the
 *   video frames the page's connection to the recorder reports sent (outbound-rtp framesSent, read
 *   just before the stop; the connection exists only for the recorder, so its count covers exactly
 *   what was offered to it) and an Opus stream.
 * - play: an ffmpeg-made VP8 clip (testsrc) and an Opus tone played into a room with a page; the
 *   page's getStats shows frames decoded and audio samples growing, and every frame reached its
 *   decoder (decoded + dropped by playout), keyframes decoded.
 * Both in a mesh room and in a room that moves to the SFU when the command joins.
 * - play from stdin (mesh room): a live VP9 feed, ffmpeg encoding testsrc in real time into a pipe
 *   (`ffmpeg -re ... -f ivf - | rtcstack play -`), decodes in the page as VP9 until the feed ends.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { ChromiumHandle } from '../helpers/chromium.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import { waitFor } from '../helpers/wait.js';
import { decodeErrors, makeOpusClip, makeVideoClip, probeFrames } from '../media/ffmpeg.js';
import { waitSnap, withCall } from './call-helpers.js';

const chromiumOpts = needs(PREREQS.chromium);
const ffmpegOpts = needs(PREREQS.ffmpeg);

interface Child {
  readonly proc: ChildProcess;
  stderr: string;
  readonly exited: Promise<number | null>;
}

/** bin/rtcstack with `args`, stderr collected; `stdin` feeds its standard input (a live stream). */
function rtcstack(args: string[], stdin?: NodeJS.ReadableStream): Child {
  const proc = spawn(process.execPath, ['bin/rtcstack', ...args], {
    stdio: [stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'],
  });
  if (stdin) stdin.pipe(proc.stdin!);
  const child: Child = {
    proc,
    stderr: '',
    exited: new Promise((resolve) => proc.on('exit', (code) => resolve(code))),
  };
  proc.stderr!.on('data', (d: Buffer) => {
    child.stderr += d.toString();
  });
  return child;
}

function kill(c: Child | undefined): void {
  if (c && c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
}

/** The call page, with every RTCPeerConnection it makes kept in `window.__pcs` (for getStats). */
async function openCallPage(
  browser: ChromiumHandle,
  base: string,
  room: string,
  name: string,
): Promise<Page> {
  const page = await browser.newPage();
  await page.addInitScript(() => {
    const Orig = window.RTCPeerConnection;
    const pcs: RTCPeerConnection[] = [];
    (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs = pcs;
    window.RTCPeerConnection = class extends Orig {
      constructor(config?: RTCConfiguration) {
        super(config);
        pcs.push(this);
      }
    };
  });
  await page.goto(`${base}/?room=${room}&name=${name}&video=240x180&fps=15&stats=1000`);
  await page.evaluate(() => window.rtcstackCall.ready);
  return page;
}

type Figures = Record<string, number>;

/** getStats figures of the page's connected connections: outbound video, inbound video/audio (summed). */
/** The codec of the page's inbound video (lower case mime type), or '' without one. */
function inboundVideoCodec(page: Page): Promise<string> {
  return page.evaluate(async () => {
    let codec = '';
    for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs) {
      if (pc.connectionState !== 'connected') continue;
      const stats = await pc.getStats();
      stats.forEach((s: Record<string, string>) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video' && s.codecId)
          codec = String(stats.get(s.codecId)?.mimeType ?? '').toLowerCase();
      });
    }
    return codec;
  });
}

function pageStats(page: Page): Promise<Figures> {
  return page.evaluate(async () => {
    const out: Record<string, number> = {
      framesSent: 0,
      framesDecoded: 0,
      framesDropped: 0,
      framesReceived: 0,
      keyFramesDecoded: 0,
      samples: 0,
      connected: 0,
    };
    for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs) {
      if (pc.connectionState !== 'connected') continue;
      out.connected!++;
      (await pc.getStats()).forEach((s: Record<string, number & string>) => {
        // The most any one encoding sent (simulcast in SFU mode: the SFU forwards one layer).
        if (s.type === 'outbound-rtp' && s.kind === 'video')
          out.framesSent = Math.max(out.framesSent!, s.framesSent ?? 0);
        if (s.type !== 'inbound-rtp') return;
        if (s.kind === 'video') {
          out.framesDecoded! += s.framesDecoded ?? 0;
          out.framesDropped! += s.framesDropped ?? 0;
          out.framesReceived! += s.framesReceived ?? 0;
          out.keyFramesDecoded! += s.keyFramesDecoded ?? 0;
        } else out.samples! += s.totalSamplesReceived ?? 0;
      });
    }
    return out;
  });
}

/**
 * A player (child) sending to `page`: waits until the page is connected to it in `mode` and
 * decoding, then reads the page's figures until the player exits (it leaves when its media ends).
 * `mid` is the first reading while decoding, `last` the fullest one, `seenCodec` the inbound codec.
 */
async function watchPlayback(
  page: Page,
  child: Child,
  mode: string,
): Promise<{ mid: Figures; last: Figures; seenCodec: string }> {
  await waitSnap(
    page,
    (s) => s.mode === mode && s.peers.some((p) => p.name === 'player' && p.connectionState === 'connected'),
    `the player connected to the page (${mode})`,
  );
  await waitFor(async () => (await pageStats(page)).framesDecoded! > 10, 'frames decoding', 60_000);
  const mid = await pageStats(page);
  const seenCodec = await inboundVideoCodec(page);
  let last = mid;
  while (child.proc.exitCode === null) {
    const s = await pageStats(page);
    // Figures only grow while the page's connection lives; once the player leaves, the page's
    // connections close (in SFU mode the room may even switch back to mesh first).
    if (s.connected && s.framesReceived! >= last.framesReceived!) last = s;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { mid, last, seenCodec };
}

/**
 * Mesh: the page has one connection for the command only. SFU (the room switches when the command
 * joins, `--sfu-switch-at 2`): the page publishes simulcast to the SFU and subscribes from it.
 */
const MODES = {
  mesh: {
    server: { sfu: false },
    recordedShare: 0.9,
    recordFrames: 60,
    clipSeconds: 3,
    playedFrames: 60,
    keyframes: 2,
  },
  // Through the SFU the recording starts at the keyframe the SFU asks the page for once the
  // recorder's subscribing connection is up, which may be a little after the page's publishing
  // connection started sending (its framesSent counts from then): a lower share is expected.
  // Playing, the page's subscribing connection is offered once the player publishes, so the page
  // starts at a later keyframe of the clip (one every second; 2 s in has been seen on a loaded
  // machine): the clip runs 6 s so that at least 60 frames remain after a start up to 4 s late. The
  // recording runs twice as long so that its late start weighs less.
  sfu: {
    server: { sfu: true, sfuSwitchAt: 2, sfuBackAt: 1 },
    recordedShare: 0.75,
    recordFrames: 120,
    clipSeconds: 6,
    playedFrames: 60,
    keyframes: 1,
  },
} as const;

for (const [mode, m] of Object.entries(MODES)) {
  describe(`rtcstack record/play with a Chromium call page (${mode} room)`, {
    ...chromiumOpts,
    timeout: 300_000,
  }, () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), `rtcs-record-play-${mode}-`));
    });
    const call = withCall(m.server, {
      log: `record-play-${mode}`,
      skip: Boolean(chromiumOpts.skip || ffmpegOpts.skip),
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    test(`record: a page with camera and microphone, stopped by SIGINT, decodes with ≥ ${m.recordedShare * 100}% of the frames sent`, {
      ...ffmpegOpts,
      timeout: 180_000,
    }, async (t) => {
      const out = join(dir, 'rec');
      const page = await openCallPage(call.browser, call.server.url, 'rec', 'cam');
      let child: Child | undefined;
      try {
        child = rtcstack([
          'record',
          '--url',
          call.server.url,
          '--room',
          'rec',
          '--out',
          out,
          '--name',
          'recorder',
        ]);
        await waitSnap(
          page,
          // In SFU mode the page has no subscribing connection (the recorder publishes nothing).
          (s) =>
            s.mode === mode &&
            s.peers.some(
              (p) => p.name === 'recorder' && (mode === 'sfu' || p.connectionState === 'connected'),
            ),
          `the recorder connected to the page (${mode})`,
        );
        // About 4 s (mesh) or 8 s (SFU) of video at 15 fps.
        await waitFor(
          async () => (await pageStats(page)).framesSent! >= m.recordFrames,
          'frames sent',
          60_000,
        );
        const sent = (await pageStats(page)).framesSent!;
        child.proc.kill('SIGINT');
        const code = await child.exited;
        assert.equal(code, 0, child.stderr);
        assert.match(child.stderr, new RegExp(`joined room rec \\(${mode} mode\\)`));
        assert.match(child.stderr, /SIGINT: stopping/);
        assert.match(child.stderr, /recorded [\d.]+s {2}participants 1\/1/);
        const files = readdirSync(out);
        assert.equal(files.length, 1, files.join(' '));
        assert.match(files[0]!, /^cam-p[A-Za-z0-9_-]+\.webm$/);
        const file = join(out, files[0]!);
        const v = probeFrames(file, 'v:0');
        const a = probeFrames(file, 'a:0');
        t.diagnostic(
          `${mode}: page sent ${sent} frames before the stop; ffprobe decoded ${v.frames} (${v.codec}), audio ${a.frames}`,
        );
        assert.equal(v.codec, 'vp8');
        assert.equal(a.codec, 'opus');
        assert.ok(v.frames >= m.recordedShare * sent, `ffprobe decoded ${v.frames} of ${sent} frames sent`);
        assert.ok(a.frames > 100, `audio frames ${a.frames}`);
        assert.equal(decodeErrors(file), '');
        // The recorder left: the page no longer lists it.
        await waitSnap(page, (s) => s.peers.length === 0, 'the recorder gone from the page');
      } finally {
        kill(child);
        await page.close();
      }
    });

    // H.264 (Annex-B, timing from --fps) in the mesh room; the SFU forwards what it is given the same way.
    for (const codec of mode === 'mesh' ? (['vp8', 'h264'] as const) : (['vp8'] as const)) {
      test(`play: an ffmpeg ${codec.toUpperCase()} clip and an Opus tone decode in the page`, {
        ...ffmpegOpts,
        timeout: 180_000,
      }, async (t) => {
        const clip = join(dir, codec === 'h264' ? 'clip.h264' : 'clip.ivf');
        const tone = join(dir, 'tone.ogg');
        const clipFrames = m.clipSeconds * 30;
        makeVideoClip(codec, clip, { frames: clipFrames, gop: 30, size: '240x180' });
        makeOpusClip(tone, m.clipSeconds);
        const page = await openCallPage(call.browser, call.server.url, `play-${codec}`, 'viewer');
        let child: Child | undefined;
        try {
          child = rtcstack(['play', clip, tone, '--url', call.server.url, '--room', `play-${codec}`]);
          const { mid, last, seenCodec } = await watchPlayback(page, child, mode);
          assert.equal(await child.exited, 0, child.stderr);
          // 20-ms Opus frames: 50 per second, give or take the last few.
          const played = new RegExp(
            `played [\\d.]+s {2}participants 1/1 {2}video ${clipFrames} frames {2}audio ${m.clipSeconds * 5}\\d frames`,
          );
          assert.match(child.stderr, played);
          t.diagnostic(
            `${mode} ${codec}: page ${JSON.stringify(last)} (mid: decoded ${mid.framesDecoded}, samples ${mid.samples})`,
          );
          assert.equal(seenCodec, `video/${codec}`);
          assert.ok(
            last.framesDecoded! > mid.framesDecoded!,
            `frames decoded grow: ${mid.framesDecoded} -> ${last.framesDecoded}`,
          );
          assert.ok(last.samples! > mid.samples!, `audio samples grow: ${mid.samples} -> ${last.samples}`);
          assert.ok(last.samples! > 48_000, `audio samples ${last.samples}`);
          assert.ok(last.keyFramesDecoded! >= m.keyframes, `keyframes decoded ${last.keyFramesDecoded}`);
          // Frames Chromium's playout lets go when late (a loaded machine) are not decode failures:
          // every frame received reached the decoder either way.
          assert.ok(
            last.framesDecoded! + last.framesDropped! >= 0.9 * last.framesReceived! &&
              last.framesReceived! >= m.playedFrames,
            `decoded ${last.framesDecoded} + dropped ${last.framesDropped} of ${last.framesReceived} received (${clipFrames} sent, ${m.playedFrames} needed)`,
          );
        } finally {
          kill(child);
          await page.close();
        }
      });
    }

    // A live feed: the player reads IVF from a pipe as ffmpeg encodes in real time, no file.
    if (mode === 'mesh')
      test('play -: a live ffmpeg VP9 feed on stdin decodes in the page until the feed ends', {
        ...ffmpegOpts,
        timeout: 180_000,
      }, async (t) => {
        const page = await openCallPage(call.browser, call.server.url, 'play-live', 'viewer');
        const seconds = 5;
        const ffmpeg = spawn(
          'ffmpeg',
          [
            ...[
              '-v',
              'error',
              '-re',
              '-f',
              'lavfi',
              '-i',
              `testsrc=size=240x180:rate=30:duration=${seconds}`,
            ],
            ...['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-g', '30'],
            ...['-f', 'ivf', '-'],
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let ffmpegErr = '';
        ffmpeg.stderr.on('data', (d: Buffer) => {
          ffmpegErr += d.toString();
        });
        const ffmpegExit = new Promise<number | null>((resolve) => ffmpeg.on('exit', resolve));
        let child: Child | undefined;
        try {
          child = rtcstack(['play', '-', '--url', call.server.url, '--room', 'play-live'], ffmpeg.stdout);
          const { mid, last, seenCodec } = await watchPlayback(page, child, 'mesh');
          assert.equal(await ffmpegExit, 0, ffmpegErr);
          assert.equal(await child.exited, 0, child.stderr);
          // Every frame ffmpeg wrote went out (its count is the feed's: 30 per second).
          assert.match(child.stderr, new RegExp(`video ${seconds * 30} frames`));
          t.diagnostic(`live vp9: page ${JSON.stringify(last)} (mid: decoded ${mid.framesDecoded})`);
          assert.equal(seenCodec, 'video/vp9');
          assert.ok(
            last.framesDecoded! > mid.framesDecoded!,
            `frames decoded grow: ${mid.framesDecoded} -> ${last.framesDecoded}`,
          );
          // The page may join the feed a keyframe late (one a second), never more than 2 s of it.
          assert.ok(
            last.framesDecoded! + last.framesDropped! >= 0.9 * last.framesReceived! &&
              last.framesReceived! >= (seconds - 2) * 30,
            `decoded ${last.framesDecoded} + dropped ${last.framesDropped} of ${last.framesReceived} received (${seconds * 30} sent)`,
          );
        } finally {
          kill(child);
          if (ffmpeg.exitCode === null) ffmpeg.kill('SIGKILL');
          await page.close();
        }
      });
  });
}
