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
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { ServeHandle } from '../../src/server/serve.js';
import { type ChromiumHandle, launchChromium } from '../helpers/chromium.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import { waitFor } from '../helpers/wait.js';
import { decodeErrors, makeOpusClip, makeVideoClip, probeFrames } from '../media/ffmpeg.js';
import { artifactLogger, startCallServer, waitSnap } from './call-helpers.js';

const chromiumOpts = needs(PREREQS.chromium);
const ffmpegOpts = needs(PREREQS.ffmpeg);

interface Child {
  readonly proc: ChildProcess;
  stderr: string;
  readonly exited: Promise<number | null>;
}

/** bin/rtcstack with `args`, stderr collected. */
function rtcstack(args: string[]): Child {
  const proc = spawn(process.execPath, ['bin/rtcstack', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
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

/** Summed getStats figures of the page's connected connections: outbound video, inbound video/audio. */
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
        if (s.type === 'outbound-rtp' && s.kind === 'video') out.framesSent! += s.framesSent ?? 0;
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

describe('rtcstack record/play with Chromium call pages', { ...chromiumOpts, timeout: 300_000 }, () => {
  let server: ServeHandle;
  let browser: ChromiumHandle;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rtcs-record-play-'));
    if (chromiumOpts.skip || ffmpegOpts.skip) return;
    server = await startCallServer({ sfu: false }, artifactLogger('record-play'));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('record: a page with camera and microphone, stopped by SIGINT, decodes with ≥ 90% of the frames sent', {
    ...ffmpegOpts,
    timeout: 180_000,
  }, async (t) => {
    const out = join(dir, 'rec');
    const page = await openCallPage(browser, server.url, 'rec', 'cam');
    let child: Child | undefined;
    try {
      child = rtcstack(['record', '--url', server.url, '--room', 'rec', '--out', out, '--name', 'recorder']);
      await waitSnap(
        page,
        (s) => s.peers.some((p) => p.name === 'recorder' && p.connectionState === 'connected'),
        'the recorder connected to the page',
      );
      // About 4 s of video at 15 fps.
      await waitFor(
        async () => (await pageStats(page)).framesSent! >= 60,
        'frames sent to the recorder',
        60_000,
      );
      const sent = (await pageStats(page)).framesSent!;
      child.proc.kill('SIGINT');
      const code = await child.exited;
      assert.equal(code, 0, child.stderr);
      assert.match(child.stderr, /SIGINT: stopping/);
      assert.match(child.stderr, /recorded [\d.]+s {2}participants 1\/1/);
      const files = readdirSync(out);
      assert.equal(files.length, 1, files.join(' '));
      assert.match(files[0]!, /^cam-p[A-Za-z0-9_-]+\.webm$/);
      const file = join(out, files[0]!);
      const v = probeFrames(file, 'v:0');
      const a = probeFrames(file, 'a:0');
      t.diagnostic(
        `page sent ${sent} frames before the stop; ffprobe decoded ${v.frames} (${v.codec}), audio ${a.frames}`,
      );
      assert.equal(v.codec, 'vp8');
      assert.equal(a.codec, 'opus');
      assert.ok(v.frames >= 0.9 * sent, `ffprobe decoded ${v.frames} of ${sent} frames sent`);
      assert.ok(a.frames > 100, `audio frames ${a.frames}`);
      assert.equal(decodeErrors(file), '');
      // The recorder left: the page no longer lists it.
      await waitSnap(page, (s) => s.peers.length === 0, 'the recorder gone from the page');
    } finally {
      kill(child);
      await page.close();
    }
  });

  test('play: an ffmpeg VP8 clip and an Opus tone decode in the page', {
    ...ffmpegOpts,
    timeout: 180_000,
  }, async (t) => {
    const clip = join(dir, 'clip.ivf');
    const tone = join(dir, 'tone.ogg');
    makeVideoClip('vp8', clip, { frames: 90, gop: 30, size: '240x180' });
    makeOpusClip(tone, 3);
    const page = await openCallPage(browser, server.url, 'play', 'viewer');
    let child: Child | undefined;
    try {
      child = rtcstack(['play', clip, tone, '--url', server.url, '--room', 'play']);
      await waitSnap(
        page,
        (s) => s.peers.some((p) => p.name === 'player' && p.connectionState === 'connected'),
        'the player connected to the page',
      );
      await waitFor(async () => (await pageStats(page)).framesDecoded! > 10, 'frames decoding', 60_000);
      const mid = await pageStats(page);
      // The clip is 3 s; the player exits when it ends. Read the page's figures just before.
      let last = mid;
      while (child.proc.exitCode === null) {
        const s = await pageStats(page);
        if (s.connected) last = s;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(await child.exited, 0, child.stderr);
      assert.match(
        child.stderr,
        /played [\d.]+s {2}participants 1\/1 {2}video 90 frames {2}audio 15\d frames/,
      );
      t.diagnostic(
        `page: ${JSON.stringify(last)} (mid: decoded ${mid.framesDecoded}, samples ${mid.samples})`,
      );
      assert.ok(
        last.framesDecoded! > mid.framesDecoded!,
        `frames decoded grow: ${mid.framesDecoded} -> ${last.framesDecoded}`,
      );
      assert.ok(last.samples! > mid.samples!, `audio samples grow: ${mid.samples} -> ${last.samples}`);
      assert.ok(last.samples! > 48_000, `audio samples ${last.samples}`);
      assert.ok(last.keyFramesDecoded! >= 2, `keyframes decoded ${last.keyFramesDecoded}`);
      // Frames Chromium's playout lets go when late (a loaded machine) are not decode failures:
      // every frame received reached the decoder either way.
      assert.ok(
        last.framesDecoded! + last.framesDropped! >= 0.9 * last.framesReceived! && last.framesReceived! >= 70,
        `decoded ${last.framesDecoded} + dropped ${last.framesDropped} of ${last.framesReceived} received (90 sent)`,
      );
    } finally {
      kill(child);
      await page.close();
    }
  });
});

describe('rtcstack record/play in an SFU room with a Chromium call page', {
  ...chromiumOpts,
  timeout: 300_000,
}, () => {
  let server: ServeHandle;
  let browser: ChromiumHandle;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rtcs-record-play-sfu-'));
    if (chromiumOpts.skip || ffmpegOpts.skip) return;
    // The room moves to the SFU as soon as a second participant joins.
    server = await startCallServer(
      { sfu: true, sfuSwitchAt: 2, sfuBackAt: 1 },
      artifactLogger('record-play-sfu'),
    );
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('record through the SFU: the page moves to the SFU, the recording decodes', {
    ...ffmpegOpts,
    timeout: 180_000,
  }, async (t) => {
    const out = join(dir, 'rec');
    const page = await openCallPage(browser, server.url, 'srec', 'cam');
    let child: Child | undefined;
    try {
      child = rtcstack(['record', '--url', server.url, '--room', 'srec', '--out', out, '--duration', '6']);
      await waitSnap(page, (s) => s.mode === 'sfu', 'the page in SFU mode');
      const code = await child.exited;
      assert.equal(code, 0, child.stderr);
      assert.match(child.stderr, /joined room srec \(sfu mode\) .*; 1 other participant/);
      const files = readdirSync(out);
      assert.equal(files.length, 1, `${files.join(' ')}\n${child.stderr}`);
      const file = join(out, files[0]!);
      const v = probeFrames(file, 'v:0');
      const a = probeFrames(file, 'a:0');
      t.diagnostic(
        `SFU: ffprobe decoded ${v.frames} video (${v.codec}), ${a.frames} audio frames\n${child.stderr}`,
      );
      assert.ok(v.frames >= 30, `video frames ${v.frames}`);
      assert.ok(a.frames > 100, `audio frames ${a.frames}`);
      assert.equal(decodeErrors(file), '');
    } finally {
      kill(child);
      await page.close();
    }
  });

  test('play through the SFU: the clip and tone decode in the page', {
    ...ffmpegOpts,
    timeout: 180_000,
  }, async (t) => {
    const clip = join(dir, 'clip.ivf');
    const tone = join(dir, 'tone.ogg');
    makeVideoClip('vp8', clip, { frames: 90, gop: 30, size: '240x180' });
    makeOpusClip(tone, 3);
    const page = await openCallPage(browser, server.url, 'splay', 'viewer');
    let child: Child | undefined;
    try {
      child = rtcstack(['play', clip, tone, '--url', server.url, '--room', 'splay', '--loop']);
      await waitSnap(page, (s) => s.mode === 'sfu', 'the page in SFU mode');
      await waitFor(async () => (await pageStats(page)).framesDecoded! > 10, 'frames decoding', 60_000);
      const mid = await pageStats(page);
      await new Promise((r) => setTimeout(r, 3000));
      const last = await pageStats(page);
      child.proc.kill('SIGTERM');
      assert.equal(await child.exited, 0, child.stderr);
      t.diagnostic(
        `SFU page: ${JSON.stringify(last)} (mid: decoded ${mid.framesDecoded}, samples ${mid.samples})`,
      );
      assert.ok(
        last.framesDecoded! > mid.framesDecoded! + 30,
        `frames decoded grow: ${mid.framesDecoded} -> ${last.framesDecoded}`,
      );
      assert.ok(
        last.samples! > mid.samples! + 48_000,
        `audio samples grow: ${mid.samples} -> ${last.samples}`,
      );
      assert.ok(
        last.framesDecoded! + last.framesDropped! >= 0.9 * last.framesReceived!,
        JSON.stringify(last),
      );
    } finally {
      kill(child);
      await page.close();
    }
  });
});
