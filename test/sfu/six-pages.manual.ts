/**
 * Six real Chromium call pages in one room on a running `rtcstack serve` whose SFU takes rooms of
 * two or more (so the pages go straight to the SFU, without a six-page mesh first): every page
 * decodes every other page's video forwarded by the SFU, each page uploads its own simulcast
 * layers once (its outbound-rtp video count equals the layers the SFU receives from it, not five
 * copies), and chat and a file go through the SFU's data channels. Opt-in: see HEAVY.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { ServeHandle } from '../../src/server/serve.js';
import type { SfuServer } from '../../src/server/sfu/sfu-server.js';
import { type ChromiumHandle, launchChromium } from '../helpers/chromium.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import { dumpOnFailure, screenshot, sha256, startCallServer, waitSnap } from '../serve/call-helpers.js';
import { until } from '../serve/helpers.js';

const NAMES = ['ann', 'bob', 'cat', 'dan', 'eve', 'fay'];

/**
 * Not part of `npm test` (the runner takes *.test.ts): run it by hand with
 * `node --import tsx --test test/sfu/six-pages.manual.ts`. Six pages encoding and decoding video plus
 * the SFU's SRTP for 36 streams in one Node process need more CPU than a shared 2-core machine under
 * load gives; there WebSocket heartbeats and ICE consent time out on the stalled event loop (seen at
 * load 30-90), and it has not passed end to end yet. It joins the suite once it does.
 */
const HEAVY = {};

/** On failure, prints what the SFU sees of every participant (the server side of a stuck page). */
async function serverStateOnFailure<T>(sfu: SfuServer, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    const room = sfu.room('six');
    for (const id of room?.participantIds ?? []) {
      const c = sfu.connections('six', id);
      const layers = room!
        .tracksOf(id)
        .map(
          (t) =>
            `${t.kind}:${t.layers.map((l) => (l.ssrc === undefined ? '-' : Math.round(l.meter.bitrate(performance.now()) / 1000))).join('/')}`,
        );
      console.error(
        `sfu ${id}: pub ${c.pub?.connectionState}/${c.pub?.iceConnectionState} sub ${c.sub?.connectionState}/${c.sub?.iceConnectionState} published ${layers.join(' ')} kbps`,
      );
    }
    console.error(`sfu stats ${JSON.stringify(room?.stats)}`);
    throw err;
  }
}

describe('call page: six pages through the SFU in Chromium', {
  ...needs(PREREQS.chromium),
  ...HEAVY,
  timeout: 900_000,
}, () => {
  let server: ServeHandle;
  let browser: ChromiumHandle;
  before(async () => {
    server = await startCallServer({ sfuSwitchAt: 2, sfuBackAt: 1 });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('every page decodes every other page, uploads once, and chats and sends a file through the SFU', {
    timeout: 800_000,
  }, async () => {
    const pages: Page[] = [];
    try {
      for (const name of NAMES) {
        const page = await browser.newPage();
        pages.push(page);
        // 640x360: Chromium sends two simulcast layers at this size; 6 fps keeps six pages (each
        // encoding its layers and decoding five streams) light enough for a loaded 2-core machine.
        await page.goto(`${server.url}/?room=six&name=${name}&video=640x360&fps=6&stats=1000`, {
          timeout: 120_000,
        });
        await page.evaluate(() => window.rtcstackCall.ready);
      }
      const n = pages.length - 1;
      const sfu = server.sfu as SfuServer;
      const snaps = await serverStateOnFailure(
        sfu,
        dumpOnFailure(
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
                `page ${i} in SFU mode decoding all ${n} others`,
                360_000,
              ),
            ),
          ),
        ),
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
      }
      // Each page uploads once: its outbound-rtp video streams are the layers the SFU gets from it.
      await dumpOnFailure(
        pages,
        Promise.all(
          pages.map(async (p, i) => {
            const id = snaps[i]!.peerId;
            const layersAtSfu = (): number =>
              room
                .tracksOf(id)
                .filter((t) => t.kind === 'video')
                .flatMap((t) => t.layers)
                .filter((l) => l.ssrc !== undefined).length;
            const s = await waitSnap(
              p,
              (x) => x.outboundVideoStreams !== null && x.outboundVideoStreams === layersAtSfu(),
              `page ${i}'s outbound video streams = its layers at the SFU`,
            );
            assert.ok(
              s.outboundVideoStreams! >= 1 && s.outboundVideoStreams! <= 3,
              `page ${i} uploads ${s.outboundVideoStreams} video streams (its simulcast layers), not ${n} copies`,
            );
          }),
        ),
      );
      // Video keeps decoding on every page from every other page.
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
            `page ${i} keeps decoding every other page`,
          ),
        ),
      );

      // Chat through the SFU's data channels: everyone's line reaches everyone else.
      await Promise.all(
        pages.map((p, i) =>
          waitSnap(
            p,
            (s) => s.peers.every((x) => x.chatOpen && x.fileOpen),
            `page ${i}'s data channels open`,
          ),
        ),
      );
      const ids = snaps.map((s) => s.peerId);
      await until(
        () => ids.every((id) => sfu.relay('six')!.ready(id)),
        "the server's data channels open",
        120_000,
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
        );
      // A file from one page, uploaded once and relayed to the five others.
      const data = randomBytes(256 * 1024);
      const sent = await pages[2]!.evaluate(
        ([b64]) => window.rtcstackCall.sendFile('six.bin', b64!),
        [data.toString('base64')],
      );
      assert.equal(sent.length, n);
      assert.ok(sent.every((x) => x.ok));
      for (const [i, p] of pages.entries()) {
        if (i === 2) continue;
        await waitSnap(
          p,
          (s) => s.files.some((f) => f.name === 'six.bin' && f.done),
          `the file at ${NAMES[i]}`,
        );
        const b64 = await p.evaluate((id) => window.rtcstackCall.receivedFile(id, 'six.bin'), ids[2]!);
        assert.ok(b64, `the file's bytes at ${NAMES[i]}`);
        assert.equal(sha256(Buffer.from(b64, 'base64')), sha256(data));
      }
      assert.ok(room.stats.rtpOut > 1000, `forwarded ${room.stats.rtpOut} packets`);
      await screenshot(pages[0]!, 'call-sfu-6-pages');
    } finally {
      for (const p of pages) await p.close().catch(() => {});
    }
  });
});
