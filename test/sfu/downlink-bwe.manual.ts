/**
 * Per-subscriber bandwidth estimation from TWCC with real Chromium pages on `rtcstack serve` (SFU
 * from two participants): the SFU offers transport-cc on its subscribing connections, Chromium
 * answers with it and reports what arrives, and each subscriber's estimator is fed by that
 * feedback. Then one page's downlink is squeezed by a bottleneck in the SFU's send path (a FIFO
 * with tail drop on that page's subscribing connection, ShapedNetwork): its estimate falls with
 * what the link carries and it is moved to the low layer of every publisher while the others keep
 * the high one; once the bottleneck goes, probing takes it back up.
 *
 * Not part of `npm test` yet (the runner takes *.test.ts): run it by hand with
 * `flock /tmp/rtcstack-heavy.lock node --import tsx --test test/sfu/downlink-bwe.manual.ts`. Every
 * run so far got through the TWCC part (feedback from every page feeding every estimate, source
 * 'twcc', every page on a higher layer); the bottleneck part passed once in five: at 640x360 the
 * two layers' rates were too close (~55 and ~100 kbit/s) to put a bottleneck between them, and at
 * 1280x720 the SFU measured layer 0 (rid q, capped at 150 kbit/s by the client) at ~570 kbit/s
 * and layer 1 at ~260 kbit/s in three runs of four, not understood yet (padding is no longer
 * counted; the rid-to-layer binding is the next suspect).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { SystemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/log.js';
import { NodeNetwork } from '../../src/core/net-node.js';
import { loadWebAssets } from '../../src/server/http/web-assets.js';
import { type ServeHandle, startServe } from '../../src/server/serve.js';
import { SfuServer } from '../../src/server/sfu/sfu-server.js';
import { type ChromiumHandle, launchChromium } from '../helpers/chromium.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import { snapshot, waitSnap } from '../serve/call-helpers.js';
import { testConfig, until } from '../serve/helpers.js';
import { waitSfuRoomSettled } from './call-sfu-helpers.js';
import { ShapedNetwork } from './shaped-network.js';

const INITIAL = 2_000_000;

describe('SFU: per-subscriber TWCC estimate drives layers in Chromium', {
  ...needs(PREREQS.chromium),
  timeout: 600_000,
}, () => {
  let server: ServeHandle;
  let browser: ChromiumHandle;
  let sfu: SfuServer;
  /** One bottleneck per participant's subscribing connection (open until a test sets a capacity). */
  const links = new Map<string, ShapedNetwork>();
  before(async () => {
    const network = new NodeNetwork();
    sfu = new SfuServer({
      log: silentLogger,
      peerOptions: { includeLoopback: true, ipv6: false },
      announceCandidates: false,
      twcc: true,
      initialBandwidth: INITIAL,
      peerOptionsFor: (_room, peerId, which) => {
        if (which !== 'sub') return undefined;
        const link = new ShapedNetwork(network);
        links.set(peerId, link);
        return { network: link };
      },
    });
    server = await startServe(testConfig({ heartbeatIntervalMs: 15_000, sfuSwitchAt: 2, sfuBackAt: 1 }), {
      clock: new SystemClock(),
      log: silentLogger,
      assets: await loadWebAssets(silentLogger),
      startTurn: async () => undefined,
      sfu,
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('feedback feeds each estimate; a bottlenecked subscriber gets the low layers, others keep the high; it climbs back', {
    timeout: 560_000,
  }, async () => {
    const pages: Page[] = [];
    try {
      for (const name of ['ann', 'bob', 'cat']) {
        const page = await browser.newPage();
        pages.push(page);
        // 1280x720: Chromium sends up to three simulcast layers (320x180, 640x360, 1280x720); at
        // 640x360 its two layers' rates were too close (~55 and ~100 kbit/s) to put a bottleneck
        // between them with margin.
        await page.goto(`${server.url}/?room=bwe&name=${name}&video=1280x720&fps=15&stats=1000`, {
          timeout: 120_000,
        });
        await page.evaluate(() => window.rtcstackCall.ready);
      }
      const snaps = await waitSfuRoomSettled(pages, 'in SFU mode decoding both others', 240_000, false);
      const ids = snaps.map((s) => s.peerId);
      const room = sfu.room('bwe')!;
      const fig = (id: string) => sfu.figures().rooms[0]!.participants.find((p) => p.id === id)!;
      // Every subscriber's estimate is built from Chromium's TWCC feedback, and keeps being fed.
      await until(
        () => ids.every((id) => fig(id).twccFeedback > 20 && fig(id).estimateSource === 'twcc'),
        'TWCC feedback from every page',
        60_000,
      );
      const counts = ids.map((id) => fig(id).twccFeedback);
      await until(
        () => ids.every((id, i) => fig(id).twccFeedback > counts[i]! + 20),
        'feedback keeps coming',
        60_000,
      );
      const video = (id: string) => room.downTracksOf(id).filter((d) => d.track.kind === 'video');
      const high = (id: string) => video(id).length === 2 && video(id).every((d) => d.current >= 1);
      // Both publishers send two layers or more and every page is fed a higher one of each.
      await until(
        () => ids.every((id) => room.tracksOf(id).some((t) => t.kind === 'video' && t.layers.length >= 2)),
        'two simulcast layers from every page',
        60_000,
      );
      await until(() => ids.every(high), 'every page on the high layers', 120_000);

      // A bottleneck on cat's downlink: room for both low layers and audio (with margin), not the
      // high ones.
      const [limited, other] = [ids[2]!, ids[0]!];
      const now = () => performance.now();
      const rate = (id: string, layer: number) =>
        video(id).map((d) => d.track.layers[layer]?.meter.bitrate(now()) ?? 0);
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      // Chromium's encoders ramp up first: wait until the high layers are clearly above the low.
      await until(
        () => sum(rate(limited, 1)) > 1.8 * sum(rate(limited, 0)) + 100_000,
        'the high layers clearly above the low ones',
        120_000,
      ).catch((err) => {
        throw new Error(`${err}: low ${rate(limited, 0)}, high ${rate(limited, 1)}`);
      });
      const low = sum(rate(limited, 0));
      const hi = sum(rate(limited, 1));
      // Audio (2 x ~50 kbit/s with headers) and the low layers with 30% to spare, or 40% of the
      // way from the low layers to the high ones, whichever is more.
      const capacity = 2 * 64_000 + Math.max(1.3 * low, low + 0.4 * (hi - low));
      assert.ok(
        capacity < 2 * 40_000 + 0.9 * hi,
        `capacity ${capacity} must not carry the high layers (${hi})`,
      );
      const link = links.get(limited)!;
      link.capacity = capacity;
      const limitedAt = performance.now();
      await until(
        () => video(limited).every((d) => d.current === 0 && d.target === 0),
        `the bottlenecked page on the low layers (capacity ${Math.round(capacity)}, high ${Math.round(hi)})`,
        120_000,
      );
      const squeezed = fig(limited);
      const droppedAfter = performance.now() - limitedAt;
      assert.equal(squeezed.estimateSource, 'twcc');
      assert.ok(link.dropped > 0 || squeezed.queuingDelayMs > 0, 'the link was full');
      assert.ok(high(other), 'an unlimited page keeps the high layers');
      const atLimit = await snapshot(pages[2]!);
      await waitSnap(
        pages[2]!,
        (s) =>
          s.peers.every(
            (x) => x.framesDecoded > (atLimit.peers.find((b) => b.id === x.id)?.framesDecoded ?? 0) + 20,
          ),
        'the bottlenecked page keeps decoding on the low layers',
      );
      assert.ok(high(other), 'an unlimited page still has the high layers');
      // The bottleneck goes: probing finds the room and the page moves up again.
      link.capacity = Number.POSITIVE_INFINITY;
      const liftedAt = performance.now();
      await until(() => high(limited), 'the page back on the high layers', 150_000);
      assert.notEqual(fig(limited).estimatedBandwidth, INITIAL);
      // Figures for the record (no timing is asserted).
      console.log(
        `# bottleneck ${Math.round(capacity / 1000)} kbit/s (layers low ${Math.round(low / 1000)}, high ${Math.round(hi / 1000)}): ` +
          `low layers after ${Math.round(droppedAfter)} ms, estimate ${Math.round(squeezed.estimatedBandwidth / 1000)} kbit/s, ` +
          `queuing delay ${squeezed.queuingDelayMs} ms, ${link.dropped} datagrams dropped; back up ${Math.round(performance.now() - liftedAt)} ms after the lift ` +
          `(estimate ${Math.round(fig(limited).estimatedBandwidth / 1000)} kbit/s); TWCC feedback ${ids.map((id) => fig(id).twccFeedback).join('/')}`,
      );
    } finally {
      for (const p of pages) await p.close().catch(() => {});
    }
  });
});
