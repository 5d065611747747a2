/**
 * Relay-only calls through our own TURN server (started in-process by serve): Chromium pages with
 * iceTransportPolicy 'relay' and the TURN REST credentials from the welcome frame connect, every
 * selected pair is a relay pair, and the dashboard's relay share reads 100%.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { DashboardData } from '../../src/server/http/http-server.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import { waitFor } from '../helpers/wait.js';
import {
  openCall,
  screenshot,
  snapshot,
  waitAllPages,
  waitFramesGrow,
  waitMeshConnected,
  withCall,
} from './call-helpers.js';

describe('call page: relay-only through our TURN server', {
  ...needs(PREREQS.chromium),
  timeout: 900_000,
}, () => {
  const call = withCall({ turn: true, turnPort: 0, turnSecret: 'relay-test-secret', turnCredentialTtl: 60 });

  test('3 pages with relay=1: all links relay, media and chat flow, relay share 100%', {
    timeout: 600_000,
  }, async () => {
    const pages: Page[] = [];
    try {
      for (const n of ['ann', 'bob', 'cat'])
        pages.push(await openCall(call.browser, call.server.url, 'relay', n, '&relay=1'));
      const snaps = await waitMeshConnected(pages);
      for (const s of snaps) {
        assert.ok(s.iceServers[0]!.urls.some((u) => u.startsWith('turn:127.0.0.1:')));
        assert.match(s.iceServers[0]!.username ?? '', new RegExp(`^\\d+:${s.peerId}$`));
      }
      const relayed = await waitAllPages(
        pages,
        (s) => s.peers.every((x) => x.pathType === 'relay' && x.localCandidateType === 'relay'),
        'relay paths',
      );
      await waitFramesGrow(pages, relayed, 'video through TURN');
      await pages[0]!.evaluate(() => window.rtcstackCall.sendChat('via turn'));
      await waitAllPages(pages.slice(1), (s) => s.chat.some((c) => c.text === 'via turn'), 'chat via TURN');

      let dash: DashboardData | undefined;
      await waitFor(async () => {
        dash = (await (await fetch(`${call.server.url}/api/stats`)).json()) as DashboardData;
        return dash.paths.total === 6 && dash.paths.relayShare === 1;
      }, 'the dashboard to count 6 relay paths').catch(() => {}); // the assertions below say what it shows
      assert.ok(dash);
      assert.equal(dash.paths.total, 6);
      assert.equal(dash.paths.relayShare, 1);
      assert.ok(dash.turn && dash.turn.allocations >= 3, `allocations ${dash.turn?.allocations}`);
      assert.ok(dash.turn.relayedBytes > 100_000, `relayed ${dash.turn.relayedBytes}`);
      const metrics = await (await fetch(`${call.server.url}/metrics`)).text();
      assert.match(metrics, /rtcstack_relay_share 1/);
      assert.match(metrics, /rtcstack_turn_allocations\{transport="udp"\} [1-9]/);
      await screenshot(pages[0]!, 'call-relay');
      const dashPage = await call.browser.newPage();
      try {
        await dashPage.goto(`${call.server.url}/dashboard`);
        await dashPage.waitForFunction(() => document.querySelector('#k-relay')?.textContent === '100%');
        await screenshot(dashPage, 'dashboard-relay');
      } finally {
        await dashPage.close();
      }

      // TURN credentials (60 s here) are refreshed 12 s before they expire and applied to every
      // connection with setConfiguration; an ICE restart then gathers relay candidates with them.
      const first = snaps.map((s) => s.iceServers[0]!.username!);
      const refreshed = await waitAllPages(
        pages,
        (s, i) =>
          s.iceServers[0]!.username !== first[i] &&
          s.peers.every((x) => x.iceUsernames.includes(s.iceServers[0]!.username!)),
        'refreshed TURN credentials applied',
      );
      for (const [i, s] of refreshed.entries()) {
        assert.ok(Number(s.iceServers[0]!.username!.split(':')[0]) > Number(first[i]!.split(':')[0]));
      }
      const negBefore = refreshed.map((s) => s.peers.map((x) => x.negotiations));
      await pages[0]!.evaluate(() => window.rtcstackCall.restartIce());
      await waitAllPages(
        pages.slice(0, 1),
        (s) =>
          s.peers.every(
            (x, j) =>
              x.negotiations > negBefore[0]![j]! &&
              x.connectionState === 'connected' &&
              x.pathType === 'relay' &&
              x.signalingState === 'stable',
          ),
        'relay links to renegotiate after an ICE restart with the new credentials',
      );
      await waitFramesGrow(
        pages,
        await Promise.all(pages.map((p) => snapshot(p))),
        'video after the restart',
      );
    } finally {
      for (const p of pages) await p.close().catch(() => {});
    }
  });
});
