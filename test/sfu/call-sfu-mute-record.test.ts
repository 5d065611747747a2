/**
 * Real Chromium call pages in an SFU room (`rtcstack serve`, rooms of three in SFU mode):
 * - a publisher mutes its camera and microphone with the page's controls: the others are told
 *   (peer-muted), the SFU stops forwarding, their frames/packets from it stop while another
 *   publisher's keep coming; unmuted, they resume (the SFU asks for a keyframe first);
 * - active speaker: the SFU reads the publishers' RFC 6464 audio levels; with every microphone but
 *   one muted, every page is told that one is speaking (twice, two different speakers);
 * - a page starts and stops the room's recording (the `record` frame, the page's Record button):
 *   every page shows it, and the server writes one WebM per track that ffprobe decodes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { needs, PREREQS } from '../helpers/prereq.js';
import { decodeErrors, probeFrames } from '../media/ffmpeg.js';
import { openCall, snapshot, waitSnap } from '../serve/call-helpers.js';
import { until } from '../serve/helpers.js';
import {
  framesFrom,
  othersOf,
  sfuOf,
  startSfuCallServer,
  waitDecodingAll,
  withSfuCall,
} from './call-sfu-helpers.js';

const ROOM = 'mute';

describe('call page in an SFU room: mute, unmute, record (Chromium)', {
  ...needs(PREREQS.chromium, PREREQS.ffmpeg),
  timeout: 900_000,
}, () => {
  let dir: string;
  let self: string[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rtcs-rec-'));
  });
  const call = withSfuCall(() => ({ recordDir: dir }));
  const { pages } = call;
  after(() => rmSync(dir, { recursive: true, force: true }));
  before(async () => {
    for (const name of ['ann', 'bob', 'cat'])
      pages.push(await openCall(call.browser, call.server.url, ROOM, name));
    self = await Promise.all(pages.map(async (p) => (await snapshot(p)).peerId));
    await waitDecodingAll(pages, othersOf(self), 'three pages decode each other through the SFU');
  });

  const audioFrom = (s: Awaited<ReturnType<typeof snapshot>>, id: string): number =>
    s.peers.find((p) => p.id === id)?.audioPacketsReceived ?? 0;

  test('muted camera and microphone stop at the others; unmuted they resume', {
    timeout: 240_000,
  }, async () => {
    const [ann, bob, cat] = self as [string, string, string];
    const room = sfuOf(call.server).room(ROOM)!;
    await pages[0]!.evaluate(() => {
      window.rtcstackCall.setMuted('video', true);
      window.rtcstackCall.setMuted('audio', true);
    });
    for (const [i, p] of pages.entries())
      if (i > 0)
        await waitSnap(
          p,
          (s) => s.peers.some((x) => x.id === ann && x.videoMuted && x.audioMuted),
          `page ${i} told ann muted`,
        );
    await until(() => room.tracksOf(ann).every((t) => t.muted), 'ann’s tracks muted at the SFU');
    // The tile shows the camera off (it may also be marked the active speaker's).
    assert.match(
      (await pages[1]!.locator(`figure[data-peer="${ann}"]`).getAttribute('class')) ?? '',
      /\bcam-off\b/,
    );
    // Nothing from ann while cat's video keeps coming: cat's frames are the clock (24 frames is
    // about 2 s at 12 fps), a frame or packet in flight at the mute is allowed.
    const fromAnn = (kind: string): number =>
      room
        .downTracksOf(bob)
        .filter((d) => d.track.publisherId === ann && d.track.kind === kind)
        .reduce((n, d) => n + d.stats.packetsSent, 0);
    const sentAt = { audio: fromAnn('audio'), video: fromAnn('video') };
    // Snapshots carry the stats of the page's last getStats (once a second), and frames forwarded
    // before the mute may still wait in bob's jitter buffer: start counting a second and a half
    // (18 of cat's frames) after the mute.
    const mutedAt = await snapshot(pages[1]!);
    const at = await waitSnap(
      pages[1]!,
      (s) => framesFrom(s, cat) > framesFrom(mutedAt, cat) + 18,
      'bob’s stats past the mute',
    );
    const later = await waitSnap(
      pages[1]!,
      (s) => framesFrom(s, cat) > framesFrom(at, cat) + 24,
      'two seconds of cat’s video at bob',
    );
    assert.ok(
      framesFrom(later, ann) <= framesFrom(at, ann) + 1,
      `no video from muted ann (${framesFrom(at, ann)} -> ${framesFrom(later, ann)} frames)`,
    );
    assert.equal(fromAnn('video'), sentAt.video, 'the SFU forwards no video of muted ann');
    assert.equal(fromAnn('audio'), sentAt.audio, 'the SFU forwards no audio of muted ann');

    const muted = await Promise.all(pages.map((p) => snapshot(p)));
    await pages[0]!.evaluate(() => {
      window.rtcstackCall.setMuted('video', false);
      window.rtcstackCall.setMuted('audio', false);
    });
    const others = pages.slice(1);
    const back = await waitDecodingAll(
      others,
      (i) => [ann, i === 0 ? cat : bob],
      'ann unmuted: its video decodes again',
      (i, id) => framesFrom(muted[i + 1]!, id),
      10,
    );
    for (const s of back) {
      const x = s.peers.find((y) => y.id === ann)!;
      assert.ok(!x.videoMuted && !x.audioMuted, 'told ann unmuted');
    }
    await waitSnap(
      pages[1]!,
      (s) => audioFrom(s, ann) > audioFrom(later, ann) + 50,
      'ann’s audio at bob again',
    );
    // ann itself never stopped decoding the others.
    await waitDecodingAll(
      [pages[0]!],
      () => [bob, cat],
      'ann decodes',
      (_, id) => framesFrom(muted[0]!, id),
      10,
    );
  });

  test('active speaker: with only one microphone open, every page is told it is the speaker', {
    timeout: 120_000,
  }, async (t) => {
    const [ann, bob, cat] = self as [string, string, string];
    const room = sfuOf(call.server).room(ROOM)!;
    // The publishers' audio carries Chromium's RFC 6464 levels (negotiated by the SFU's answer).
    await until(
      () => [ann, bob, cat].some((id) => room.speakers.loudness(id, performance.now()) > 0),
      'audio levels reach the SFU',
    );
    for (const speaker of [cat, bob]) {
      const muted = self.filter((id) => id !== speaker);
      for (const [i, id] of self.entries())
        await pages[i]!.evaluate((m) => window.rtcstackCall.setMuted('audio', m), muted.includes(id));
      for (const [i, p] of pages.entries())
        await waitSnap(p, (s) => s.activeSpeaker === speaker, `page ${i} names ${speaker} the speaker`);
      t.diagnostic(
        `speaker ${speaker}: loudness ${self.map((id) => room.speakers.loudness(id, performance.now()).toFixed(1)).join(' / ')}`,
      );
    }
    for (const p of pages) await p.evaluate(() => window.rtcstackCall.setMuted('audio', false));
  });

  test('a page records the room: every page shows it, ffprobe decodes every track', {
    timeout: 240_000,
  }, async () => {
    const sfu = sfuOf(call.server);
    await pages[1]!.evaluate(() => window.rtcstackCall.setRecording(true));
    for (const [i, p] of pages.entries()) await waitSnap(p, (s) => s.recording, `page ${i} shows recording`);
    assert.equal(await pages[2]!.locator('#rec').isVisible(), true, 'the REC pill shows');
    await until(
      () => {
        const r = sfu.recordings(ROOM);
        return r.length === 6 && r.every((x) => x.frames >= 30);
      },
      'three publishers × (audio + video) recorded, 30 frames each',
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(sfu.recordings(ROOM))}`);
    });
    await pages[1]!.evaluate(() => window.rtcstackCall.setRecording(false));
    for (const [i, p] of pages.entries())
      await waitSnap(p, (s) => !s.recording, `page ${i} shows it stopped`);
    const sub = readdirSync(dir)[0] ?? '';
    assert.ok(sub?.startsWith(`${ROOM}-`), `one recording directory (${sub})`);
    const files = readdirSync(join(dir, sub)).filter((f) => f.endsWith('.webm'));
    assert.equal(files.length, 6, files.join(' '));
    for (const id of self)
      for (const kind of ['audio', 'video'] as const) {
        const file = files.find((f) => f.includes(id) && f.includes(kind));
        assert.ok(file, `${kind} of ${id} recorded`);
        const path = join(dir, sub, file);
        const p = probeFrames(path, kind === 'video' ? 'v:0' : 'a:0');
        assert.equal(p.codec, kind === 'video' ? 'vp8' : 'opus');
        assert.ok(p.frames >= 20, `${p.frames} ${kind} frames decoded from ${file}`);
        assert.equal(decodeErrors(path), '', `${file} decodes without errors`);
      }
  });

  test('a server without a recording directory refuses to record', async () => {
    const plain = await startSfuCallServer();
    try {
      const page = await openCall(call.browser, plain.url, 'solo', 'ann');
      try {
        await page.evaluate(() => window.rtcstackCall.setRecording(true));
        await waitSnap(
          page,
          (s) => s.errors.some((e) => e.code === 'ERR_SIGNALING_RECORDING_OFF'),
          'the refusal at the page',
        );
        assert.equal((await snapshot(page)).recording, false);
      } finally {
        await page.close();
      }
    } finally {
      await plain.close();
    }
  });
});
