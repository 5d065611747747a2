/**
 * The signaling server restarts in the middle of a call: media keeps flowing peer to peer while it
 * is down, the pages reconnect and resume their sessions (same peer ids), and signaling works
 * again: an ICE restart renegotiates, and a newcomer connects to everyone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { ServeHandle } from '../../src/server/serve.js';
import { type ChromiumHandle, launchChromium } from '../helpers/chromium.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import {
  openCall,
  screenshot,
  snapshot,
  startCallServer,
  waitAllPages,
  waitFramesGrow,
  waitMeshConnected,
} from './call-helpers.js';

describe('call page: signaling server restart mid-call', {
  ...needs(PREREQS.chromium),
  timeout: 900_000,
}, () => {
  let browser: ChromiumHandle;
  let server: ServeHandle | undefined;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('media keeps flowing, clients resume, renegotiation and new joins work after the restart', {
    timeout: 600_000,
  }, async () => {
    const secret = 'restart-test-secret';
    server = await startCallServer({ secret });
    const port = server.port;
    const base = server.url;
    const pages: Page[] = [
      await openCall(browser, base, 'restart', 'ann'),
      await openCall(browser, base, 'restart', 'bob'),
    ];
    try {
      const before1 = await waitMeshConnected(pages);
      const ids = before1.map((s) => s.peerId);

      // Stop the server: pages notice and start reconnecting; the P2P media does not care.
      await server.close();
      server = undefined;
      const down = await waitAllPages(pages, (s) => s.signalingState !== 'joined', 'signaling to notice');
      await waitFramesGrow(pages, down, 'video to keep decoding while signaling is down');
      for (const s of await Promise.all(pages.map((p) => snapshot(p)))) {
        assert.notEqual(s.signalingState, 'joined');
        assert.ok(s.peers.every((x) => x.connectionState === 'connected'));
      }

      // Same port, same secret: sessions resume with the same peer ids.
      server = await startCallServer({ secret, httpPort: port });
      const resumed = await waitAllPages(
        pages,
        (s) => s.signalingState === 'joined' && s.resumes >= 1,
        'sessions to resume',
      );
      assert.deepEqual(
        resumed.map((s) => s.peerId),
        ids,
      );
      for (const s of resumed) assert.ok(s.peers.length === 1 && s.peers[0]!.connectionState === 'connected');

      // Signaling works: an ICE restart from ann renegotiates with bob.
      const negBefore = resumed.map((s) => s.peers[0]!.negotiations);
      await pages[0]!.evaluate(() => window.rtcstackCall.restartIce());
      const after = await waitAllPages(
        pages,
        (s, i) =>
          s.peers[0]!.negotiations > negBefore[i]! &&
          s.peers[0]!.connectionState === 'connected' &&
          s.peers[0]!.signalingState === 'stable',
        'renegotiation',
      );
      assert.ok(after[0]!.peers[0]!.iceRestarts >= 1);
      await waitFramesGrow(pages, after, 'video after the ICE restart');

      // A newcomer joins through the new server and connects to both.
      pages.push(await openCall(browser, base, 'restart', 'cat'));
      const all = await waitMeshConnected(pages);
      assert.deepEqual(all[0]!.peers.map((p) => p.name).sort(), ['bob', 'cat']);
      await pages[2]!.evaluate(() => window.rtcstackCall.sendChat('cat made it'));
      await waitAllPages(
        pages.slice(0, 2),
        (s) => s.chat.some((c) => c.text === 'cat made it'),
        'chat from cat',
      );
      await screenshot(pages[0]!, 'call-after-restart');
    } finally {
      for (const p of pages) await p.close().catch(() => {});
    }
  });
});
