/**
 * Real Chromium pages on a running `rtcstack serve` (SFU on by default on loopback): four pages talk in a mesh; the fifth
 * makes the room switch to SFU by itself: every page moves to two connections with the server,
 * publishes its audio and simulcast video there once (not N-1 copies), and decodes every other
 * page's video forwarded by the SFU.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { ServeHandle } from '../../src/server/serve.js';
import type { SfuServer } from '../../src/server/sfu/sfu-server.js';
import { type ChromiumHandle, launchChromium } from '../helpers/chromium.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import {
  dumpOnFailure,
  openCall,
  screenshot,
  startCallServer,
  waitMeshConnected,
  waitSnap,
} from '../serve/call-helpers.js';

describe('call page: mesh -> SFU in Chromium', { ...needs(PREREQS.chromium), timeout: 900_000 }, () => {
  let server: ServeHandle;
  let browser: ChromiumHandle;
  before(async () => {
    server = await startCallServer();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('the fifth page switches the room to SFU; each page publishes once and is offered every other page', {
    timeout: 800_000,
  }, async () => {
    const pages: Page[] = [];
    try {
      for (const name of ['ann', 'bob', 'cat', 'dan'])
        pages.push(await openCall(browser, server.url, 'grow', name));
      const mesh = await waitMeshConnected(pages);
      for (const s of mesh) assert.equal(s.mode, 'mesh');
      pages.push(await openCall(browser, server.url, 'grow', 'eve'));
      const n = pages.length - 1;
      const snaps = await dumpOnFailure(
        pages,
        Promise.all(
          pages.map((p, i) =>
            waitSnap(
              p,
              (s) =>
                s.mode === 'sfu' &&
                s.peers.length === n &&
                s.peers.every((x) => x.connectionState === 'connected' && x.framesDecoded > 0) &&
                (s.outboundVideoStreams ?? 0) >= 1,
              `page ${i} in SFU mode, publishing, decoding every other page`,
              300_000,
            ),
          ),
        ),
      );
      const sfu = server.sfu as SfuServer;
      const room = sfu.room('grow')!;
      for (const [i, s] of snaps.entries()) {
        assert.equal(s.modeSwitches, i < 4 ? 1 : 1, 'mesh pages switched once; the fifth joined in SFU mode');
        // One upload: our own layers on the publishing connection, not one copy per peer.
        assert.ok(s.outboundVideoStreams! <= 3, `page ${i} uploads ${s.outboundVideoStreams} video streams`);
        const c = sfu.connections('grow', s.peerId);
        assert.equal(c.pub?.connectionState, 'connected');
        assert.equal(c.sub?.connectionState, 'connected');
        // Published once (audio + video), offered to every other page.
        await waitSnap(
          pages[i]!,
          () => room.tracksOf(s.peerId).length === 2,
          `page ${i}'s tracks at the SFU`,
        );
        assert.equal(room.downTracksOf(s.peerId).length, 2 * n);
        assert.equal(c.sub!.getTransceivers().filter((t) => t.direction === 'sendonly').length, 2 * n);
      }
      // The mesh links are gone: one pub + one sub connection per page at the server.
      assert.equal(room.participantIds.length, 5);
      // Video keeps decoding through the SFU on every page, from every other page.
      await Promise.all(
        pages.map((p, i) =>
          waitSnap(
            p,
            (s) =>
              s.peers.length === n &&
              s.peers.every(
                (x) =>
                  x.framesDecoded > (snaps[i]!.peers.find((b) => b.id === x.id)?.framesDecoded ?? 0) + 10,
              ),
            `page ${i} keeps decoding through the SFU`,
          ),
        ),
      );
      assert.ok(room.stats.rtpOut > 1000, `forwarded ${room.stats.rtpOut} packets`);
      await screenshot(pages[0]!, 'call-sfu-5-pages');
    } finally {
      for (const p of pages) await p.close().catch(() => {});
    }
  });
});
