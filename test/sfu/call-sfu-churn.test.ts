/**
 * Real Chromium call pages in a running SFU room (`rtcstack serve` switching rooms of three to the
 * SFU): a publisher leaves (the others drop its tile and keep decoding the rest), a new one joins
 * (everyone decodes it), and a subscriber's signaling drops: briefly (the session resumes on the
 * same SFU connections, and frames the server sent meanwhile, such as the offer for a newcomer, are
 * delivered on resume) and past the resume window (the server ends the old session, the page joins
 * again under a new identity with new SFU connections, and everyone decodes it again).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { needs, PREREQS } from '../helpers/prereq.js';
import { openCall, screenshot, snapshot, waitSnap } from '../serve/call-helpers.js';
import { until } from '../serve/helpers.js';
import {
  othersOf,
  sfuOf,
  tileIds,
  waitDecodingAll,
  waitKeepDecoding,
  withSfuCall,
} from './call-sfu-helpers.js';

const ROOM = 'churn';

/**
 * Closes `page`'s signaling WebSocket and refuses its reconnections until the returned function is
 * called (then they reach the server). Only signaling: the page's SFU connections are untouched
 * (DevTools' offline mode was not used: it can take WebRTC's sockets down too).
 */
async function dropSignaling(page: Page): Promise<() => void> {
  let offline = true;
  await page.routeWebSocket(/\/ws$/, (ws) => {
    if (offline) ws.close({ code: 1001, reason: 'test: signaling offline' });
    else ws.connectToServer();
  });
  await page.evaluate(() => window.rtcstackCall.call.signaling.dropConnection());
  return () => {
    offline = false;
  };
}

describe('call page in a running SFU room: leave, join, reconnect (Chromium)', {
  ...needs(PREREQS.chromium),
  timeout: 900_000,
}, () => {
  // A short resume window, so a page kept offline loses its session within the test.
  const call = withSfuCall({ resumeWindowSec: 15 });
  const { pages } = call;

  const ids = async (list: Page[]): Promise<string[]> =>
    Promise.all(list.map(async (p) => (await snapshot(p)).peerId));
  const open = (name: string) => openCall(call.browser, call.server.url, ROOM, name);

  test('a publisher leaves and another joins: everyone decodes exactly who is there', {
    timeout: 240_000,
  }, async () => {
    for (const name of ['ann', 'bob', 'cat']) pages.push(await open(name));
    let self = await ids(pages);
    await waitDecodingAll(pages, othersOf(self), 'three pages decode each other through the SFU');
    const room = sfuOf(call.server).room(ROOM)!;
    assert.equal(room.participantIds.length, 3);

    // cat closes its page: ann and bob drop its tile and keep decoding each other.
    const cat = self[2]!;
    await pages.pop()!.close();
    await waitKeepDecoding(pages, othersOf(self.slice(0, 2)), 'cat gone, the two others seen');
    for (const p of pages) assert.ok(!(await tileIds(p)).includes(cat), 'cat has no tile left');
    await until(
      () => room.participantIds.length === 2 && room.tracksOf(cat).length === 0,
      'cat gone at the SFU',
    );
    for (const id of self.slice(0, 2)) assert.equal(room.downTracksOf(id).length, 2, 'one audio + one video');

    // dan joins the running SFU room: everyone decodes dan, and dan everyone.
    pages.push(await open('dan'));
    self = await ids(pages);
    await waitKeepDecoding(pages, othersOf(self), 'dan joined: three pages decode each other');
    // Its first welcome said 'sfu': one switch from the mesh transport a page starts with.
    assert.equal((await snapshot(pages[2]!)).modeSwitches, 1);
  });

  test('a subscriber whose signaling drops briefly resumes on its SFU connections', {
    timeout: 240_000,
  }, async () => {
    const self = await ids(pages);
    const dan = pages[2]!;
    const before = await snapshot(dan);
    const sfu = sfuOf(call.server);
    const pcs = sfu.connections(ROOM, before.peerId);
    // The page cannot reconnect until we say so. A newcomer joins meanwhile: the
    // server's offer of the newcomer's tracks to dan waits in dan's session queue.
    const online = await dropSignaling(dan);
    await waitSnap(dan, (s) => s.signalingState !== 'joined', 'dan lost signaling');
    pages.push(await open('eve'));
    const eve = (await snapshot(pages[3]!)).peerId;
    online();
    await waitSnap(dan, (s) => s.signalingState === 'joined' && s.resumes > before.resumes, 'dan resumed');
    const all = [...self, eve];
    await waitKeepDecoding(pages, othersOf(all), 'four pages decode each other after the resume');
    const after = await snapshot(dan);
    assert.equal(after.peerId, before.peerId, 'same session');
    const same = sfu.connections(ROOM, after.peerId);
    assert.equal(same.pub, pcs.pub, 'the publishing connection was kept');
    assert.equal(same.sub, pcs.sub, 'the subscribing connection was kept');
  });

  test('a subscriber offline past the resume window comes back as a new participant', {
    timeout: 240_000,
  }, async () => {
    const dan = pages[2]!;
    const old = (await snapshot(dan)).peerId;
    const online = await dropSignaling(dan);
    // The server ends the session after its resume window; the others drop dan.
    await until(
      () => !call.server.signaling.rooms().some((r) => r.peers.some((p) => p.id === old)),
      'the server ended dan’s session',
      60_000,
    );
    online();
    const fresh = await waitSnap(
      dan,
      (s) => s.signalingState === 'joined' && s.peerId !== old,
      'dan joined again',
    );
    const self = await ids(pages);
    assert.equal(self[2], fresh.peerId);
    await waitKeepDecoding(pages, othersOf(self), 'everyone decodes everyone after dan came back');
    for (const [i, p] of pages.entries())
      if (i !== 2) assert.ok(!(await tileIds(p)).includes(old), `page ${i} dropped dan's old tile`);
    assert.equal(sfuOf(call.server).room(ROOM)!.participantIds.length, 4);
    await screenshot(pages[0]!, 'call-sfu-churn');
  });
});
