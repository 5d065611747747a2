/**
 * Real Chromium call pages in an SFU room (three pages, SFU from three): one page's leg to the SFU
 * goes dark (a test hook at the SFU drops every datagram to and from that page's two connections,
 * as a network outage would), long enough that the page's connections fail or stay disconnected
 * past its grace period; then the outage ends. The page restarts ICE on both connections without
 * leaving the call (its own restart offer on `pub`, a restart offer asked of the server on `sub`):
 * both reach `connected` again under new ICE credentials and the page decodes the others again and
 * they it, while the other two pages never stop decoding each other.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CallSnapshot } from '../../src/client/call.js';
import { silentLogger } from '../../src/core/log.js';
import { NodeNetwork } from '../../src/core/net-node.js';
import { SfuServer } from '../../src/server/sfu/sfu-server.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import { openCall, snapshot, waitSnap } from '../serve/call-helpers.js';
import { until } from '../serve/helpers.js';
import {
  framesFrom,
  othersOf,
  sfuOf,
  waitDecodingAll,
  waitSfuRoomSettled,
  withSfuCall,
} from './call-sfu-helpers.js';
import { OutageNetwork } from './outage-network.js';

const ROOM = 'restart';
const T0 = Date.now();

/** Audio packets `s`'s page received from peer `id`. */
const audioFrom = (s: CallSnapshot, id: string): number =>
  s.peers.find((p) => p.id === id)?.audioPacketsReceived ?? 0;

/** Progress on stderr (what each page decodes from whom), for diagnosing a slow or failed run. */
function log(what: string, snaps: CallSnapshot[]): void {
  const frames = snaps.map(
    (s) => `${s.name}:${s.peers.map((p) => `${p.name}=${p.framesDecoded}`).join('/')}`,
  );
  console.error(`[${((Date.now() - T0) / 1000).toFixed(1)} s] ${what}; frames ${frames.join(' ')}`);
}

describe('SFU: a page whose connections with the SFU fail restarts ICE and recovers (Chromium)', {
  ...needs(PREREQS.chromium),
  timeout: 600_000,
}, () => {
  /** Each participant's leg (both its connections with the SFU), by peer id. */
  const legs = new Map<string, OutageNetwork>();
  const network = new NodeNetwork();
  const call = withSfuCall(
    {},
    () =>
      new SfuServer({
        log: silentLogger,
        peerOptions: { includeLoopback: true, ipv6: false },
        peerOptionsFor: (_room, peerId) => {
          let leg = legs.get(peerId);
          if (!leg) {
            leg = new OutageNetwork(network);
            legs.set(peerId, leg);
          }
          return { network: leg };
        },
      }),
  );
  const { pages } = call;

  test('an outage on one page’s SFU leg: ICE restarts on both connections, media resumes', {
    timeout: 500_000,
  }, async () => {
    for (const name of ['ann', 'bob', 'cat'])
      pages.push(await openCall(call.browser, call.server.url, ROOM, name));
    const settled = await waitSfuRoomSettled(pages, 'three pages decode each other', 240_000);
    const ids = settled.map((s) => s.peerId);
    log('settled', settled);
    const [victim, ...others] = ids as [string, ...string[]];
    const before = await snapshot(pages[0]!);
    const links = before.sfuLinks!;
    assert.equal(links.pub, 'connected');
    assert.equal(links.sub, 'connected');
    assert.equal(links.pubRestarts + links.subRestarts, 0, 'no restart before the outage');

    // The outage: nothing passes between the SFU and ann until both connections were restarted
    // (ann's grace period for 'disconnected' or its 'failed' set it off; restarts meanwhile fail).
    const leg = legs.get(victim)!;
    leg.dark = true;
    let lifted: Awaited<ReturnType<typeof snapshot>>[];
    try {
      await waitSnap(
        pages[0]!,
        (s) => (s.sfuLinks?.pubRestarts ?? 0) >= 1 && (s.sfuLinks?.subRestarts ?? 0) >= 1,
        'ann restarts ICE on both connections',
        90_000,
      );
      log('ann restarted both', await Promise.all(pages.map((p) => snapshot(p))));
      assert.ok(leg.dropped > 0, 'the outage dropped datagrams');
      // bob and cat go on hearing each other meanwhile, over connections that never went down.
      const mid = await Promise.all(pages.map((p) => snapshot(p)));
      await Promise.all(
        [1, 2].map((i) =>
          waitSnap(
            pages[i]!,
            (s) =>
              audioFrom(s, ids[3 - i]!) > audioFrom(mid[i]!, ids[3 - i]!) + 50 &&
              s.sfuLinks?.pub === 'connected' &&
              s.sfuLinks.sub === 'connected',
            `page ${i} keeps receiving the other unaffected page during the outage`,
          ),
        ),
      );
      log('bob and cat went on during the outage', mid);
    } finally {
      leg.dark = false;
      lifted = await Promise.all(pages.map((p) => snapshot(p)));
      log('outage over', lifted);
    }

    // Both of ann's connections come back under new credentials, and the SFU's too.
    const after = await waitSnap(
      pages[0]!,
      (s) => s.sfuLinks?.pub === 'connected' && s.sfuLinks.sub === 'connected',
      'ann’s SFU connections connected again',
      120_000,
    );
    assert.notEqual(after.sfuLinks!.pubUfrag, links.pubUfrag, 'pub restarted under a new ufrag');
    assert.notEqual(after.sfuLinks!.subUfrag, links.subUfrag, 'sub restarted under a new ufrag');
    log('ann connected again', [after]);
    const sfu = sfuOf(call.server);
    const c = sfu.connections(ROOM, victim);
    await until(
      () => c.pub?.connectionState === 'connected' && c.sub?.connectionState === 'connected',
      'the SFU’s connections with ann connected again',
      60_000,
    );
    const fig = sfu.figures().rooms[0]!.participants.find((p) => p.id === victim)!;
    assert.ok(fig.iceRestarts >= 2, `the SFU saw restarts on both (${fig.iceRestarts})`);
    // Media again both ways: ann decodes bob and cat, they decode ann; nobody left the call.
    await waitDecodingAll(
      pages,
      othersOf(ids),
      'every page decodes every other again after the restart',
      (i, id) => framesFrom(lifted[i]!, id),
      10,
    );
    log('decoding again', await Promise.all(pages.map((p) => snapshot(p))));
    for (const [i, p] of pages.entries()) {
      const s = await snapshot(p);
      assert.equal(s.peerId, ids[i], `page ${i} kept its identity (no rejoin)`);
      assert.equal(s.modeSwitches, settled[i]!.modeSwitches, `page ${i} stayed in SFU mode`);
      if (i > 0)
        assert.equal(
          (s.sfuLinks?.pubRestarts ?? 0) + (s.sfuLinks?.subRestarts ?? 0),
          0,
          `page ${i} (${others[i - 1]}) never needed a restart`,
        );
    }
    // Chat still goes through ann's data channels on the restarted publishing connection.
    await pages[0]!.evaluate(() => window.rtcstackCall.sendChat('back again'));
    for (const i of [1, 2])
      await waitSnap(pages[i]!, (s) => s.chat.some((m) => m.text === 'back again'), `chat at page ${i}`);
    const metrics = await (await fetch(`${call.server.url}/metrics`)).text();
    const restarts = Number(/^rtcstack_sfu_ice_restarts_total (\d+)$/m.exec(metrics)?.[1]);
    assert.ok(restarts >= 2, `rtcstack_sfu_ice_restarts_total ${restarts}`);
  });
});
