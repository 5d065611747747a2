/**
 * Real Chromium pages on a running `rtcstack serve`: mesh calls of 2 and 4 pages. Every pair
 * connects, video decodes, chat arrives everywhere, a 1 MiB random file arrives byte-identical,
 * and the dashboard shows the room. Screenshots go to artifacts/serve/.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { DashboardData } from '../../src/server/http/http-server.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import {
  dumpOnFailure,
  openCall,
  screenshot,
  sha256,
  snapshot,
  waitFramesGrow,
  waitMeshConnected,
  waitSnap,
  withCall,
} from './call-helpers.js';

describe('call page: mesh calls in Chromium', { ...needs(PREREQS.chromium), timeout: 900_000 }, () => {
  // These tests are about mesh calls: keep the room out of SFU mode (test/sfu covers the switch).
  const call = withCall({ sfu: false }, { log: 'call-mesh' });

  async function closePages(pages: Page[]): Promise<void> {
    for (const p of pages) await p.close().catch(() => {});
  }

  test('2 pages: connect, decode video, chat, a 1 MiB file arrives byte-identical (UI file input)', {
    timeout: 600_000,
  }, async () => {
    const pages = [
      await openCall(call.browser, call.server.url, 'two', 'ann'),
      await openCall(call.browser, call.server.url, 'two', 'bob'),
    ];
    try {
      const snaps = await waitMeshConnected(pages);
      await waitFramesGrow(pages, snaps, 'video to keep decoding');
      const [ann, bob] = snaps as [(typeof snaps)[0], (typeof snaps)[0]];
      assert.equal(ann.peers[0]!.id, bob.peerId);
      assert.equal(ann.peers[0]!.name, 'bob');
      assert.equal(ann.mode, 'mesh');
      assert.ok(
        ['host', 'prflx', 'srflx'].includes(ann.peers[0]!.pathType ?? ''),
        `path ${ann.peers[0]!.pathType}`,
      );
      assert.equal(typeof ann.peers[0]!.rttMs, 'number');
      // Chat both ways.
      await pages[0]!.evaluate(() => window.rtcstackCall.sendChat('hello from ann'));
      await pages[1]!.fill('#chat-input', 'hi ann, bob here');
      await pages[1]!.click('#chat-form button');
      await waitSnap(
        pages[1]!,
        (s) => s.chat.some((c) => c.text === 'hello from ann' && c.from === ann.peerId),
        'chat at bob',
      );
      await waitSnap(
        pages[0]!,
        (s) => s.chat.some((c) => c.text === 'hi ann, bob here' && c.name === 'bob'),
        'chat at ann',
      );
      // A file through the page's own file input.
      const data = randomBytes(1024 * 1024);
      await pages[0]!.setInputFiles('#file-input', {
        name: 'random.bin',
        mimeType: 'application/octet-stream',
        buffer: data,
      });
      const got = await waitSnap(
        pages[1]!,
        (s) => s.files.some((f) => f.direction === 'in' && f.name === 'random.bin' && f.done),
        'file at bob',
      );
      const rec = got.files.find((f) => f.name === 'random.bin')!;
      assert.equal(rec.ok, true, rec.error ?? '');
      assert.equal(rec.size, data.length);
      assert.equal(rec.sha256, sha256(data));
      const b64 = await pages[1]!.evaluate(
        (id) => window.rtcstackCall.receivedFile(id, 'random.bin'),
        ann.peerId,
      );
      assert.ok(b64);
      assert.equal(sha256(Buffer.from(b64, 'base64')), sha256(data), 'received bytes are identical');
      // Mute and camera toggles act on the local tracks.
      await pages[0]!.click('#btn-mic');
      assert.equal(await pages[0]!.textContent('#btn-mic'), 'Mic off');
      assert.equal(
        await pages[0]!.evaluate(() => window.rtcstackCall.call.localStream?.getAudioTracks()[0]?.enabled),
        false,
      );
      await pages[0]!.click('#btn-cam');
      assert.equal(
        await pages[0]!.evaluate(() => window.rtcstackCall.call.localStream?.getVideoTracks()[0]?.enabled),
        false,
      );
      await pages[0]!.click('#btn-cam');
      await pages[0]!.click('#btn-mic');
      await waitSnap(
        pages[0]!,
        (s) => s.peers[0]!.rttMs !== null && s.peers[0]!.pathType !== null,
        'badge data',
      );
      await pages[0]!.waitForSelector('.tile .badge.host, .tile .badge.prflx, .tile .badge.srflx');
      await screenshot(pages[0]!, 'call-2-pages');
      // The route guard: the page reaches nothing but 127.0.0.1 (192.0.2.0/24 is TEST-NET-1).
      await pages[0]!.evaluate(async () => {
        await fetch('http://192.0.2.1:9/').catch(() => {});
        await new Promise<void>((resolve) => {
          const ws = new WebSocket('ws://192.0.2.1:9/x');
          ws.onerror = () => {};
          ws.onclose = () => resolve();
        });
      });
      assert.ok(
        call.browser.blocked.some((u) => u.startsWith('http://192.0.2.1')),
        call.browser.blocked.join(),
      );
      assert.ok(
        call.browser.blocked.some((u) => u.startsWith('ws://192.0.2.1')),
        call.browser.blocked.join(),
      );
      call.browser.blocked.length = 0;
    } catch (err) {
      await dumpOnFailure(pages, Promise.reject(err));
    } finally {
      await closePages(pages);
    }
  });

  test('4 pages: every pair connects, video everywhere, chat from each reaches all, a file reaches all', {
    timeout: 600_000,
  }, async () => {
    const names = ['ann', 'bob', 'cat', 'dan'];
    const pages: Page[] = [];
    try {
      for (const n of names) pages.push(await openCall(call.browser, call.server.url, 'four', n));
      const snaps = await waitMeshConnected(pages);
      const ids = snaps.map((s) => s.peerId);
      assert.equal(new Set(ids).size, 4);
      for (const s of snaps)
        assert.deepEqual(new Set(s.peers.map((p) => p.id)), new Set(ids.filter((id) => id !== s.peerId)));
      await waitFramesGrow(pages, snaps, 'video to keep decoding on every link');
      for (const [i, p] of pages.entries())
        await p.evaluate((t) => window.rtcstackCall.sendChat(t), `chat from ${names[i]}`);
      for (const [i, p] of pages.entries()) {
        await waitSnap(
          p,
          (s) =>
            names.every(
              (n, j) => j === i || s.chat.some((c) => c.text === `chat from ${n}` && c.from === ids[j]),
            ),
          `all chat at ${names[i]}`,
        );
      }
      const data = randomBytes(1024 * 1024);
      const sent = await pages[2]!.evaluate(
        ([b64]) => window.rtcstackCall.sendFile('four.bin', b64!),
        [data.toString('base64')],
      );
      assert.equal(sent.length, 3);
      assert.ok(sent.every((s) => s.ok));
      for (const [i, p] of pages.entries()) {
        if (i === 2) continue;
        await waitSnap(p, (s) => s.files.some((f) => f.name === 'four.bin' && f.done), `file at ${names[i]}`);
        const b64 = await p.evaluate((id) => window.rtcstackCall.receivedFile(id, 'four.bin'), ids[2]!);
        assert.ok(b64, `file bytes at ${names[i]}`);
        assert.equal(sha256(Buffer.from(b64, 'base64')), sha256(data));
      }
      // The server collected the clients' stats: 4 peers, 12 connected links (each end reports).
      let dash: DashboardData | undefined;
      const end = Date.now() + 20_000;
      do {
        dash = (await (await fetch(`${call.server.url}/api/stats`)).json()) as DashboardData;
        const room = dash.rooms.find((r) => r.name === 'four');
        if (
          room &&
          room.peers.length === 4 &&
          room.links.filter((l) => l.connectionState === 'connected').length === 12
        )
          break;
        await new Promise((r) => setTimeout(r, 250));
      } while (Date.now() < end);
      const room = dash.rooms.find((r) => r.name === 'four')!;
      assert.equal(room.peers.length, 4);
      assert.equal(room.links.filter((l) => l.connectionState === 'connected').length, 12);
      assert.ok(room.links.every((l) => l.pathType !== null && l.rttMs !== null));
      const metrics = await (await fetch(`${call.server.url}/metrics`)).text();
      assert.match(metrics, /rtcstack_connection_setup_seconds_count [1-9]/);
      await screenshot(pages[0]!, 'call-4-pages');
      const dashPage = await call.browser.newPage();
      try {
        await dashPage.goto(`${call.server.url}/dashboard`);
        // The dashboard refreshes from client stats reports; on a loaded CI box that takes a while.
        await dashPage.waitForFunction(() => document.querySelector('#k-peers')?.textContent === '4', null, {
          timeout: 120_000,
        });
        await dashPage.waitForFunction(
          () => document.querySelectorAll('#rooms tbody tr').length >= 12,
          null,
          {
            timeout: 120_000,
          },
        );
        await screenshot(dashPage, 'dashboard-4-pages');
      } finally {
        await dashPage.close();
      }
      assert.deepEqual(call.browser.blocked, []);
      const s0 = await snapshot(pages[0]!);
      assert.ok(s0.peers.every((p) => p.chatOpen && p.fileOpen));
    } catch (err) {
      await dumpOnFailure(pages, Promise.reject(err));
    } finally {
      await closePages(pages);
    }
  });
});
