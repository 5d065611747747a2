/**
 * Real Chromium pages on a running `rtcstack serve` (SFU on by default on loopback): four pages talk in a mesh; the fifth
 * makes the room switch to SFU by itself: every page moves to two connections with the server,
 * publishes its audio and simulcast video there once (not N-1 copies), and decodes every other
 * page's video forwarded by the SFU. (A page whose downlink is limited at the SFU:
 * test/sfu/downlink-limit.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { SfuServer } from '../../src/server/sfu/sfu-server.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import { screenshot, waitFramesGrow, waitMeshConnected, waitSnap, withCall } from '../serve/call-helpers.js';
import { waitSfuRoomSettled } from './call-sfu-helpers.js';

describe('call page: mesh -> SFU in Chromium', { ...needs(PREREQS.chromium), timeout: 900_000 }, () => {
  const call = withCall();
  const { pages } = call;

  test('the fifth page switches the room to SFU; each page publishes once and is offered every other page', {
    timeout: 800_000,
  }, async () => {
    // 640x360: Chromium sends two simulcast layers at this size (one at 320x240).
    const open = async (name: string): Promise<Page> => {
      const page = await call.browser.newPage();
      // Four pages already run video: loading the fifth can take a while on a loaded CI box.
      await page.goto(`${call.server.url}/?room=grow&name=${name}&video=640x360&fps=15&stats=1000`, {
        timeout: 120_000,
      });
      await page.evaluate(() => window.rtcstackCall.ready);
      return page;
    };
    try {
      for (const name of ['ann', 'bob', 'cat', 'dan']) pages.push(await open(name));
      const mesh = await waitMeshConnected(pages);
      for (const s of mesh) assert.equal(s.mode, 'mesh');
      pages.push(await open('eve'));
      const n = pages.length - 1;
      const snaps = await waitSfuRoomSettled(
        pages,
        'in SFU mode, publishing, decoding every other page',
        300_000,
      );
      const sfu = call.server.sfu as SfuServer;
      const grow = sfu.room('grow')!;
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
          () => grow.tracksOf(s.peerId).length === 2,
          `page ${i}'s tracks at the SFU`,
        );
        assert.equal(grow.downTracksOf(s.peerId).length, 2 * n);
        assert.equal(c.sub!.getTransceivers().filter((t) => t.direction === 'sendonly').length, 2 * n);
      }
      // The mesh links are gone: one pub + one sub connection per page at the server.
      assert.equal(grow.participantIds.length, 5);
      // Video keeps decoding through the SFU on every page, from every other page.
      await waitFramesGrow(pages, snaps, 'keeps decoding through the SFU');
      assert.ok(grow.stats.rtpOut > 1000, `forwarded ${grow.stats.rtpOut} packets`);

      // Chat goes through the SFU's data channels in SFU mode.
      await pages[0]!.evaluate(() => window.rtcstackCall.sendChat('through the sfu'));
      for (const [i, p] of pages.entries()) {
        if (i === 0) continue;
        await waitSnap(
          p,
          (s) => s.chat.some((c) => c.text === 'through the sfu' && c.from === snaps[0]!.peerId),
          `chat through the SFU at page ${i}`,
        );
      }
      await screenshot(pages[0]!, 'call-sfu-5-pages');
    } catch (e) {
      for (const p of pages.splice(0)) await p.close().catch(() => {});
      throw e;
    }
  });
});
