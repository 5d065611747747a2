/**
 * Six real Chromium call pages in one room on a running `rtcstack serve` whose SFU takes rooms of
 * two or more (so the pages go straight to the SFU, without a six-page mesh first): the room is in
 * SFU mode, every page decodes every other page's video forwarded by the SFU, each page uploads
 * its own video once (its outbound-rtp video streams are its own simulcast encodings, and the SFU
 * receives one video track from it, not five copies), and chat reaches everyone through the SFU.
 *
 * 320x180 at 15 fps: light enough for six pages on a loaded 2-core machine. Not lower: Chromium's
 * fake camera asked for 6 fps delivered ~18 frames per page and then none (640x360, six pages;
 * media-source `frames` stopped while the track stayed live and unmuted), which is why this test
 * never passed before: the publishers had nothing to send.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { SfuServer } from '../../src/server/sfu/sfu-server.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import { screenshot, waitFramesGrow, waitSnap, withCall } from '../serve/call-helpers.js';
import { until } from '../serve/helpers.js';
import { waitSfuRoomSettled } from './call-sfu-helpers.js';
import { openKeptPage } from './downlink-helpers.js';
import { printInbound, SfuTrace } from './sfu-trace.js';

const NAMES = ['ann', 'bob', 'cat', 'dan', 'eve', 'fay'];

/**
 * On failure, prints what the SFU sees of every participant (the server side of a stuck page):
 * its connections, the trace of its estimate and layers, and what each page receives.
 */
async function serverStateOnFailure<T>(
  sfu: SfuServer,
  trace: SfuTrace,
  pages: readonly Page[],
  p: Promise<T>,
): Promise<T> {
  try {
    return await p;
  } catch (err) {
    const room = sfu.room('six');
    for (const id of room?.participantIds ?? []) {
      const c = sfu.connections('six', id);
      console.error(
        `sfu ${id}: pub ${c.pub?.connectionState}/${c.pub?.iceConnectionState} sub ${c.sub?.connectionState}/${c.sub?.iceConnectionState}`,
      );
    }
    trace.print();
    await printInbound(pages, NAMES);
    console.error(`sfu stats ${JSON.stringify(room?.stats)}`);
    throw err;
  }
}

describe('call page: six pages through the SFU in Chromium', {
  ...needs(PREREQS.chromium),
  timeout: 400_000,
}, () => {
  const call = withCall({ sfuSwitchAt: 2, sfuBackAt: 1 }, { log: 'six-pages' });

  test('every page decodes every other page, uploads once, and chats through the SFU', {
    timeout: 360_000,
  }, async () => {
    const { server, browser, pages } = call;
    const sfu = server.sfu as SfuServer;
    const trace = new SfuTrace(() => sfu.room('six'));
    try {
      for (const name of NAMES) {
        pages.push(await openKeptPage(() => browser.newPage(), server.url, 'six', name, '320x180'));
      }
      const n = pages.length - 1;
      // Safety nets, not timings: six pages and the SFU share a loaded 2-core machine.
      const snaps = await serverStateOnFailure(
        sfu,
        trace,
        pages,
        waitSfuRoomSettled(pages, `in SFU mode decoding all ${n} others`, 180_000),
      );
      const room = sfu.room('six')!;
      assert.equal(room.participantIds.length, 6);
      for (const [i, s] of snaps.entries()) {
        const c = sfu.connections('six', s.peerId);
        const states = `pub ${c.pub?.connectionState}/${c.pub?.iceConnectionState}, sub ${c.sub?.connectionState}/${c.sub?.iceConnectionState}`;
        assert.ok(
          c.pub?.connectionState === 'connected' && c.sub?.connectionState === 'connected',
          `page ${i}'s connections at the server: ${states}`,
        );
        assert.equal(
          room.downTracksOf(s.peerId).length,
          2 * n,
          `page ${i} subscribes to everyone's audio and video`,
        );
        // Each page uploads once: one audio and one video track at the SFU, fed by its own
        // simulcast encodings (at most three outbound-rtp video streams; a mesh would have five).
        const video = room.tracksOf(s.peerId).filter((t) => t.kind === 'video');
        assert.equal(room.tracksOf(s.peerId).length, 2, `page ${i} publishes audio and video once`);
        const layers = video[0]!.layers.filter((l) => l.ssrc !== undefined).length;
        assert.ok(
          s.outboundVideoStreams! >= layers && s.outboundVideoStreams! <= 3 && layers >= 1,
          `page ${i} uploads ${s.outboundVideoStreams} video streams (its simulcast encodings, ${layers} received), not ${n} copies`,
        );
      }
      // Video keeps decoding on every page from every other page.
      await serverStateOnFailure(sfu, trace, pages, waitFramesGrow(pages, snaps, 'decoding goes on'));

      // Chat through the SFU's data channels: everyone's line reaches everyone else.
      const ids = snaps.map((s) => s.peerId);
      await until(
        () => ids.every((id) => sfu.relay('six')!.ready(id)),
        "the server's data channels open",
        60_000,
      );
      for (const [i, p] of pages.entries())
        await p.evaluate((t) => window.rtcstackCall.sendChat(t), `sfu chat from ${NAMES[i]}`);
      for (const [i, p] of pages.entries())
        await waitSnap(
          p,
          (s) =>
            NAMES.every(
              (name, j) =>
                j === i ||
                s.chat.some(
                  (c) => c.text === `sfu chat from ${name}` && c.from === ids[j] && c.name === name,
                ),
            ),
          `every other page's chat at ${NAMES[i]}`,
          60_000,
        );
      assert.ok(room.stats.rtpOut > 1000, `forwarded ${room.stats.rtpOut} packets`);
      await screenshot(pages[0]!, 'call-sfu-6-pages');
    } finally {
      trace.stop();
      trace.save('six-pages');
    }
  });
});
