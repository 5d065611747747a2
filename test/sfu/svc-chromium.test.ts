/**
 * VP9 and AV1 SVC through the SFU with real Chromium pages on a running `rtcstack serve` (rooms of
 * three in SFU mode): one page publishes its camera as one stream with scalabilityMode L3T3_KEY
 * (the call page's `svc` parameter; at 640x360 Chromium encodes it as two spatial layers, 320x180
 * and 640x360, three temporal layers), two receive-only pages subscribe. One asks for at most 180
 * lines (the page's `maxheight=180`, an `sfu-prefs` frame): the SFU drops the top spatial layer for
 * it and it decodes 320x180; the other decodes 640x360. Both keep decoding (frames grow, freezes
 * bounded), the codec end to end, one SSRC upstream (no simulcast), and the SFU's SVC state says
 * which layers each gets.
 *
 * The pages' RTCPeerConnections are collected by an init script so the test reads their own
 * inbound-rtp stats (frameWidth/frameHeight, framesDecoded, freezes, codec).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { CallSnapshot } from '../../src/client/call.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import { dumpOnFailure, waitSnap } from '../serve/call-helpers.js';
import { sfuOf, withSfuCall } from './call-sfu-helpers.js';

const CODECS = (process.env.SVC_CODECS ?? 'vp9,av1').split(',') as ('vp9' | 'av1')[];

interface VideoIn {
  readonly width: number;
  readonly height: number;
  readonly framesDecoded: number;
  readonly freezeCount: number;
  readonly freezesMs: number;
  readonly codec: string;
}
interface VideoOut {
  readonly streams: number;
  readonly scalabilityMode: string;
  readonly codec: string;
  readonly height: number;
}

/** Collects every RTCPeerConnection the page makes (before its scripts run). */
function collectPeerConnections(): void {
  const w = window as unknown as { __pcs: RTCPeerConnection[]; RTCPeerConnection: typeof RTCPeerConnection };
  w.__pcs = [];
  const Native = w.RTCPeerConnection;
  w.RTCPeerConnection = class extends Native {
    constructor(config?: RTCConfiguration) {
      super(config);
      w.__pcs.push(this);
    }
  };
}

/** The page's received video (the inbound-rtp with the most frames) and what it sends. */
function readStats(page: Page): Promise<{ in: VideoIn | null; out: VideoOut }> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.filter(
      (pc) => pc.connectionState !== 'closed',
    );
    let best: VideoIn | null = null;
    const out = { streams: 0, scalabilityMode: '', codec: '', height: 0 };
    for (const pc of pcs) {
      const stats = await pc.getStats();
      // biome-ignore lint/suspicious/noExplicitAny: RTCStats entries are loosely typed dictionaries
      const all: any[] = [];
      stats.forEach((s) => {
        all.push(s);
      });
      const codecOf = (id: string): string => all.find((s) => s.id === id)?.mimeType ?? '';
      for (const s of all) {
        if (
          s.type === 'inbound-rtp' &&
          s.kind === 'video' &&
          (s.framesDecoded ?? 0) >= (best?.framesDecoded ?? 0)
        )
          best = {
            width: s.frameWidth ?? 0,
            height: s.frameHeight ?? 0,
            framesDecoded: s.framesDecoded ?? 0,
            freezeCount: s.freezeCount ?? 0,
            freezesMs: Math.round((s.totalFreezesDuration ?? 0) * 1000),
            codec: codecOf(s.codecId),
          };
        if (s.type === 'outbound-rtp' && s.kind === 'video') {
          out.streams++;
          out.scalabilityMode = s.scalabilityMode ?? '';
          out.codec = codecOf(s.codecId);
          out.height = Math.max(out.height, s.frameHeight ?? 0);
        }
      }
    }
    return { in: best, out };
  });
}

async function waitStats(
  page: Page,
  pred: (s: { in: VideoIn | null; out: VideoOut }) => boolean,
  what: string,
  limitMs = 120_000,
): Promise<{ in: VideoIn | null; out: VideoOut }> {
  const end = Date.now() + limitMs;
  for (;;) {
    const s = await readStats(page);
    if (pred(s)) return s;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last stats: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

for (const codec of CODECS)
  describe(`SFU: ${codec.toUpperCase()} SVC from Chromium, layers dropped per subscriber`, {
    ...needs(PREREQS.chromium),
    timeout: 400_000,
  }, () => {
    const call = withSfuCall();
    const pages = call.pages;

    test('a subscriber capped at 180 lines decodes the low spatial layer, another the top one', {
      timeout: 380_000,
    }, async () => {
      const open = async (name: string, extra: string): Promise<Page> => {
        const page = await call.browser.newPage();
        // tsx keeps function names with a __name helper the page does not have.
        await page.addInitScript('globalThis.__name = (f) => f');
        await page.addInitScript(collectPeerConnections);
        await page.goto(`${call.server.url}/?room=svc&name=${name}&stats=1000${extra}`, { timeout: 120_000 });
        await page.evaluate(() => window.rtcstackCall.ready);
        pages.push(page);
        return page;
      };
      const pub = await open('pub', `&video=640x360&fps=15&svc=L3T3_KEY&svccodec=${codec}`);
      const lo = await open('lo', '&media=0&maxheight=180');
      const hi = await open('hi', '&media=0');
      const snaps = await dumpOnFailure(
        pages,
        Promise.all([
          waitSnap(
            pub,
            (s) => s.mode === 'sfu' && (s.outboundVideoStreams ?? 0) >= 1,
            'publisher in SFU mode',
          ),
          ...[lo, hi].map((p, i) =>
            waitSnap(
              p,
              (s: CallSnapshot) =>
                s.mode === 'sfu' && s.peers.some((x) => x.name === 'pub' && x.framesDecoded > 0),
              `subscriber ${i} decoding the publisher`,
              180_000,
            ),
          ),
        ]),
      );
      const [pubId, loId, hiId] = snaps.map((s) => s.peerId) as [string, string, string];
      const sfu = sfuOf(call.server);
      const room = sfu.room('svc')!;

      // One VP9 stream upstream, no simulcast: the SFU publishes it as one layer and layers it itself.
      const mime = `video/${codec === 'vp9' ? 'VP9' : 'AV1'}`;
      const sent = await waitStats(pub, (s) => s.out.codec === mime, `the publisher sending ${mime}`);
      assert.equal(sent.out.streams, 1, `one outbound video stream: ${JSON.stringify(sent.out)}`);
      assert.match(sent.out.scalabilityMode, /^L[23]T3_KEY$/);
      const video = room.tracksOf(pubId).find((t) => t.kind === 'video')!;
      assert.equal(video.spec.codec, codec);
      assert.equal(video.layers.length, 1);

      // Each subscriber decodes the layer it may have: 320x180 capped, 640x360 not.
      const [loStats, hiStats] = await Promise.all([
        waitStats(lo, (s) => s.in?.height === 180 && s.in.framesDecoded > 0, 'the capped page at 180 lines'),
        waitStats(hi, (s) => s.in?.height === 360 && s.in.framesDecoded > 0, 'the other page at 360 lines'),
      ]);
      assert.equal(loStats.in!.codec, mime);
      assert.equal(hiStats.in!.codec, mime);
      assert.equal(loStats.in!.width, 320);
      assert.equal(hiStats.in!.width, 640);
      const downOf = (id: string) => room.downTracksOf(id).find((d) => d.track === video)!;
      assert.equal(downOf(loId).maxHeight, 180, 'the cap the page asked for');
      assert.equal(downOf(loId).svc?.current?.spatial, 0);
      assert.ok((downOf(hiId).svc?.current?.spatial ?? 0) >= 1);

      // Both keep decoding at their size: frames grow, freezes stay bounded. What the SFU feeds
      // each (layers, estimate, switches) is sampled meanwhile and printed with the figures.
      const trace: string[] = [];
      const sample = (): void => {
        const at = (id: string): string => {
          const d = downOf(id);
          const c = d.svc?.current;
          const bw = room.bandwidthOf(id);
          return `${c ? `S${c.spatial}T${c.temporal}` : '-'}${d.current === -1 ? '(paused)' : ''} ${Math.round((bw?.effective ?? 0) / 1000)}k sw${d.stats.layerSwitches} pli${d.stats.plisReceived}`;
        };
        trace.push(`lo ${at(loId)} | hi ${at(hiId)}`);
      };
      for (let i = 0; i < 6; i++) {
        sample();
        await new Promise((r) => setTimeout(r, 1000));
      }
      sample();
      const [loLater, hiLater] = await Promise.all([readStats(lo), readStats(hi)]);
      console.log(
        `svc ${codec}: publisher ${sent.out.scalabilityMode} ${sent.out.codec}; capped ${loLater.in!.width}x${loLater.in!.height} +${loLater.in!.framesDecoded - loStats.in!.framesDecoded} frames/6 s, freezes ${loLater.in!.freezeCount} (${loLater.in!.freezesMs - loStats.in!.freezesMs} ms); top ${hiLater.in!.width}x${hiLater.in!.height} +${hiLater.in!.framesDecoded - hiStats.in!.framesDecoded} frames/6 s, freezes ${hiLater.in!.freezeCount} (${hiLater.in!.freezesMs - hiStats.in!.freezesMs} ms); SFU each second: ${trace.join('; ')}`,
      );
      for (const [name, a, b, h] of [
        ['capped', loStats, loLater, 180],
        ['top', hiStats, hiLater, 360],
      ] as const) {
        const grown = b.in!.framesDecoded - a.in!.framesDecoded;
        assert.ok(grown >= 20, `${name} page decoded ${grown} frames in 6 s`);
        assert.equal(b.in!.height, h, `${name} page still at ${h} lines`);
        assert.ok(
          b.in!.freezesMs - a.in!.freezesMs <= 3000,
          `${name} page froze ${b.in!.freezesMs - a.in!.freezesMs} ms`,
        );
      }
      // The capped page really got less: the SFU forwarded it fewer bytes than the other.
      const sentTo = (id: string) => downOf(id).stats.bytesSent;
      assert.ok(sentTo(loId) < sentTo(hiId), `bytes to capped ${sentTo(loId)} < to top ${sentTo(hiId)}`);
    });
  });
