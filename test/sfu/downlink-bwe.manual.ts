/**
 * Per-subscriber bandwidth estimation from TWCC with real Chromium pages on `rtcstack serve`: the
 * SFU offers transport-cc on its subscribing connections, Chromium answers with it and reports what
 * arrives, and each subscriber's estimator is fed by that feedback. Then one page's downlink is
 * squeezed by a bottleneck in the SFU's send path (a FIFO with tail drop on that page's subscribing
 * connection, ShapedNetwork): its estimate falls with what the link carries and it is moved to the
 * low layer of both publishers while the others keep a higher one; once the bottleneck goes,
 * probing takes it back up. Judged from the layers the SFU feeds each page and from what each page
 * decodes (inbound-rtp frameWidth).
 *
 * Two publishers at 1280x720 (layers q 320x180, h 640x360, f 1280x720 as the call page asks), the
 * squeezed page at 320x180 (one layer; its encoder spares the 2-core box). The bottleneck sits
 * between the publishers' q and h as the SFU measures them. (At 1280x720 the SFU used to measure
 * q above h: it counted Chromium's RTX payload padding as media, see downlink-duplicates.test.ts.)
 *
 * Not part of `npm test` yet (the runner takes *.test.ts; the SFU-side limit is tested in
 * downlink-limit.test.ts): run it by hand with
 * `flock /tmp/rtcstack-heavy.lock node --import tsx --test test/sfu/downlink-bwe.manual.ts`. Since
 * the padding fix the SFU's layer rates are sound (q ~120-150, h ~240-330 kbit/s), but of three
 * runs that reached the bottleneck one passed (page on q of both publishers, decoding them half
 * as wide as the others do, back up 8.6 s after the lift); in one the estimate fell to ~160 kbit/s
 * under the bottleneck (tail-drop loss cuts below the lowest layers' need) and paused the page's
 * video; in one the page, after the lift, stayed paused on one track and on q of the other for
 * 150 s (not probed back up). With `announceCandidates: false` (as this file had) the first page's
 * publishing connection stayed 'new' in four runs; the server now announces its candidates.
 * Since the subscribing connections probe (padding through their pacers, the room's estimator
 * taking the probe results; the recovery is tested on a ManualClock in downlink-probing.test.ts),
 * two runs under the heavy lock at load 15-30 never reached the bottleneck: the publishers'
 * encoders on the loaded box gave q/h rates too close (106k/211k) or too low (30k/72k) for the
 * bottleneck to fall between them. Still a diagnostic, not in the suite.
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
import { testConfig } from '../serve/helpers.js';
import { openLimitedRoom, poll, showViews } from './downlink-helpers.js';
import { ShapedNetwork } from './shaped-network.js';

const INITIAL = 2_000_000;

describe('SFU: per-subscriber TWCC estimate drives layers in Chromium', {
  ...needs(PREREQS.chromium),
  timeout: 600_000,
}, () => {
  let server: ServeHandle;
  let browser: ChromiumHandle;
  let sfu: SfuServer;
  const pages: Page[] = [];
  /** One bottleneck per participant's subscribing connection (open until a test sets a capacity). */
  const links = new Map<string, ShapedNetwork>();
  before(async () => {
    const network = new NodeNetwork();
    sfu = new SfuServer({
      log: silentLogger,
      peerOptions: { includeLoopback: true, ipv6: false },
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
    for (const p of pages) await p.close().catch(() => {});
    await browser?.close();
    await server?.close();
  });

  test('feedback feeds each estimate; a bottlenecked subscriber gets the low layers, others keep a higher one; it climbs back', {
    timeout: 560_000,
  }, async () => {
    const r = await openLimitedRoom(browser, server.url, 'bwe', () => sfu.room('bwe')!, pages);
    const { a: ann, b: bob, limited: cat } = r.ids;
    const ids = [ann, bob, cat];
    const _pc = r.pages.limited;
    const fig = (id: string) => sfu.figures().rooms[0]!.participants.find((p) => p.id === id)!;
    /** The squeezed page's estimator, for failure messages. */
    const estimator = (): string => {
      const e = sfu.room('bwe')!.estimatorOf(ids[2]!);
      return e
        ? `estimate ${Math.round(e.estimate / 1000)}k, controller ${Math.round(e.cc.targetBitrate / 1000)}k, acked ${Math.round((e.cc.ackedBitrate ?? 0) / 1000)}k, ` +
            `probes ${e.probes} (${e.failedProbes} failed, probing ${e.probing}), queuing delay ${Math.round(e.queuingDelay)} ms, floor ${Math.round(e.floor / 1000)}k`
        : 'no estimator';
    };
    // Every subscriber's estimate is built from Chromium's TWCC feedback, and keeps being fed.
    await poll(
      () => ids.every((id) => fig(id).twccFeedback > 20 && fig(id).estimateSource === 'twcc'),
      () => 'TWCC feedback from every page',
      60_000,
    );
    const counts = ids.map((id) => fig(id).twccFeedback);
    await poll(
      () => ids.every((id, i) => fig(id).twccFeedback > counts[i]! + 20),
      () => 'feedback keeps coming',
      60_000,
    );
    // Every page is fed a higher layer of both publishers, and q and h are far enough apart to
    // put a bottleneck between them.
    await r.waitAllHigh();
    const perTrack = await r.steadyBetween(1.4, 0.8, 0.5, 120_000);
    // Two audio tracks (~64 kbit/s each on the wire) and two video tracks.
    const capacity = 2 * 64_000 + 2 * perTrack;
    const link = links.get(cat)!;
    link.capacity = capacity;
    const limitedAt = performance.now();
    await poll(
      () => r.limitedOnLow(),
      () =>
        `the bottlenecked page on the low layers (capacity ${Math.round(capacity)}): ${r.describe()}; ${estimator()}`,
      120_000,
    );
    const squeezed = fig(cat);
    const droppedAfter = performance.now() - limitedAt;
    assert.equal(squeezed.estimateSource, 'twcc');
    assert.ok(link.dropped > 0 || squeezed.queuingDelayMs > 0, 'the link was full');
    // What the squeezed page decodes: the low layer of each publisher (half as wide or less than
    // what the other page decodes of it at the same moment), and it keeps decoding.
    const limitedViews = await r.waitDecodingLow();
    // The bottleneck goes: probing finds the room and the page moves up again.
    link.capacity = Number.POSITIVE_INFINITY;
    const liftedAt = performance.now();
    const views = await r.waitBackUp(150_000).catch((err) => {
      throw new Error(`${err.message}; ${estimator()}`);
    });
    assert.notEqual(fig(cat).estimatedBandwidth, INITIAL);
    // Figures for the record (no timing is asserted).
    console.log(
      `# bottleneck ${Math.round(capacity / 1000)} kbit/s (${r.describe()}): low layers after ${Math.round(droppedAfter)} ms, ` +
        `estimate ${Math.round(squeezed.estimatedBandwidth / 1000)} kbit/s, queuing delay ${squeezed.queuingDelayMs} ms, ` +
        `${link.dropped} datagrams dropped; back up ${Math.round(performance.now() - liftedAt)} ms after the lift ` +
        `(estimate ${Math.round(fig(cat).estimatedBandwidth / 1000)} kbit/s); decoded (width/layer) squeezed ${showViews(limitedViews)}, ` +
        `lifted ${showViews(views)}; TWCC feedback ${ids.map((id) => fig(id).twccFeedback).join('/')}`,
    );
  });
});
