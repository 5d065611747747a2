/** Session resume: within the window on the same server, after the window, and across a restart. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestServer, TestClient, until } from './helpers.js';

test('a dropped peer resumes within the window: same id, same room, queued frames delivered, no peer-left', async () => {
  const srv = await startTestServer({ resumeWindowSec: 30, heartbeatIntervalMs: 600_000 });
  try {
    const a = await TestClient.open(srv.wsUrl);
    let b = await TestClient.open(srv.wsUrl);
    const wa = await a.join('res', { name: 'ann' });
    const wb = await b.join('res', { name: 'bob' });
    await a.next('peer-joined');
    b.ws.terminate();
    await b.closed;
    await until(() => srv.signaling.connectionCount === 1, 'the server to see the drop');
    // While b is away, a signals it: the server keeps the frames.
    a.send({ v: 1, type: 'offer', to: wb.peerId, sdp: 'v=0 while away' });
    a.send({ v: 1, type: 'candidate', to: wb.peerId, candidate: { candidate: 'candidate:x' } });
    await a.ping();
    srv.clock.advance(29_000);
    await a.ping(2);
    b = await TestClient.open(srv.wsUrl);
    b.send({ v: 1, type: 'resume', resumeToken: wb.resumeToken });
    const w = await b.next('welcome');
    assert.equal(w.resumed, true);
    assert.equal(w.peerId, wb.peerId);
    assert.equal(w.name, 'bob');
    assert.deepEqual(w.peers, [{ id: wa.peerId, name: 'ann' }]);
    assert.equal((await b.next('offer')).sdp, 'v=0 while away');
    assert.equal(((await b.next('candidate')).candidate as { candidate: string }).candidate, 'candidate:x');
    await a.ping(3);
    assert.equal(a.inbox.filter((m) => m.type === 'peer-left' || m.type === 'peer-joined').length, 0);
    // Relay works both ways on the resumed session.
    b.send({ v: 1, type: 'answer', to: wa.peerId, sdp: 'v=0 answer' });
    assert.equal((await a.next('answer')).from, wb.peerId);
    await Promise.all([a.close(), b.close()]);
  } finally {
    await srv.close();
  }
});

test('after the window the peer is gone: others see peer-left (timeout), its resume token is refused', async () => {
  const srv = await startTestServer({ resumeWindowSec: 30, heartbeatIntervalMs: 600_000 });
  try {
    const a = await TestClient.open(srv.wsUrl);
    const b = await TestClient.open(srv.wsUrl);
    await a.join('gone');
    const wb = await b.join('gone');
    b.ws.terminate();
    await b.closed;
    await until(() => srv.signaling.connectionCount === 1, 'the server to see the drop');
    srv.clock.advance(30_000);
    const left = await a.next('peer-left');
    assert.deepEqual(left, { v: 1, type: 'peer-left', peerId: wb.peerId, reason: 'timeout' });
    const b2 = await TestClient.open(srv.wsUrl);
    b2.send({ v: 1, type: 'resume', resumeToken: wb.resumeToken });
    const err = await b2.next('error');
    assert.equal(err.code, 'ERR_SIGNALING_RESUME_INVALID');
    // Signals to the departed peer are refused.
    a.send({ v: 1, type: 'offer', to: wb.peerId, sdp: 'x' });
    assert.equal((await a.next('error')).code, 'ERR_SIGNALING_UNKNOWN_PEER');
    await Promise.all([a.close(), b2.close()]);
  } finally {
    await srv.close();
  }
});

test('a resume on a second connection replaces the first (4001)', async () => {
  const srv = await startTestServer({ heartbeatIntervalMs: 600_000 });
  try {
    const a = await TestClient.open(srv.wsUrl);
    const wa = await a.join('dup');
    const a2 = await TestClient.open(srv.wsUrl);
    a2.send({ v: 1, type: 'resume', resumeToken: wa.resumeToken });
    assert.equal((await a2.next('welcome')).peerId, wa.peerId);
    assert.equal((await a.closed).code, 4001);
    await a2.close();
  } finally {
    await srv.close();
  }
});

test('fresh resume tokens arrive every third of the window; an explicit leave revokes them', async () => {
  const srv = await startTestServer({ resumeWindowSec: 30, heartbeatIntervalMs: 600_000 });
  try {
    const a = await TestClient.open(srv.wsUrl);
    const wa = await a.join('refresh');
    srv.clock.advance(10_000);
    const s = await a.next('session');
    assert.notEqual(s.resumeToken, wa.resumeToken);
    // The original token's window is over after 30 s, the refreshed one still holds.
    a.send({ v: 1, type: 'leave' });
    await a.next('left');
    const b = await TestClient.open(srv.wsUrl);
    b.send({ v: 1, type: 'resume', resumeToken: s.resumeToken });
    assert.equal((await b.next('error')).code, 'ERR_SIGNALING_RESUME_INVALID');
    await Promise.all([a.close(), b.close()]);
  } finally {
    await srv.close();
  }
});

test('server restart with the same secret: peers resume with their ids and find each other again', async () => {
  const secret = 'restart-secret';
  const srv1 = await startTestServer({ secret, heartbeatIntervalMs: 600_000 });
  const a = await TestClient.open(srv1.wsUrl);
  const b = await TestClient.open(srv1.wsUrl);
  const wa = await a.join('rs', { name: 'ann' });
  const wb = await b.join('rs', { name: 'bob' });
  const closing = srv1.close();
  assert.equal((await a.closed).code, 1001, 'going away');
  await b.closed;
  await closing;
  const srv2 = await startTestServer({ secret, heartbeatIntervalMs: 600_000 });
  try {
    const a2 = await TestClient.open(srv2.wsUrl);
    a2.send({ v: 1, type: 'resume', resumeToken: wa.resumeToken });
    const w1 = await a2.next('welcome');
    assert.equal(w1.peerId, wa.peerId);
    assert.equal(w1.resumed, true);
    assert.deepEqual(w1.peers, []);
    const b2 = await TestClient.open(srv2.wsUrl);
    b2.send({ v: 1, type: 'resume', resumeToken: wb.resumeToken });
    const w2 = await b2.next('welcome');
    assert.equal(w2.peerId, wb.peerId);
    assert.deepEqual(w2.peers, [{ id: wa.peerId, name: 'ann' }]);
    assert.deepEqual((await a2.next('peer-joined')).peer, { id: wb.peerId, name: 'bob' });
    a2.send({ v: 1, type: 'offer', to: wb.peerId, sdp: 'v=0 after restart' });
    assert.equal((await b2.next('offer')).from, wa.peerId);
    // A server with another secret does not honour the token.
    const srv3 = await startTestServer({ secret: 'different' });
    const c = await TestClient.open(srv3.wsUrl);
    c.send({ v: 1, type: 'resume', resumeToken: wa.resumeToken });
    assert.equal((await c.next('error')).code, 'ERR_SIGNALING_RESUME_INVALID');
    await c.close();
    await srv3.close();
    await Promise.all([a2.close(), b2.close()]);
  } finally {
    await srv2.close();
  }
});

test('room size limit', async () => {
  const srv = await startTestServer({ maxPeersPerRoom: 2 });
  try {
    const cs = await Promise.all([0, 1, 2].map(() => TestClient.open(srv.wsUrl)));
    assert.equal((await cs[0]!.join('small')).type, 'welcome');
    assert.equal((await cs[1]!.join('small')).type, 'welcome');
    assert.equal((await cs[2]!.join('small')).code, 'ERR_SIGNALING_ROOM_FULL');
    await Promise.all(cs.map((c) => c.close()));
  } finally {
    await srv.close();
  }
});

test('a join repeating its instance id takes back the session it made (its welcome was lost), no ghost', async () => {
  const srv = await startTestServer({ heartbeatIntervalMs: 600_000 });
  try {
    const a = await TestClient.open(srv.wsUrl);
    const wa = await a.join('inst', { name: 'ann' });
    const instance = 'i0123456789abcdef0123';
    const b = await TestClient.open(srv.wsUrl);
    const wb = await b.join('inst', { name: 'bob', instance });
    await a.next('peer-joined');
    b.ws.terminate();
    await b.closed;
    await until(() => srv.signaling.connectionCount === 1, 'the server to see the drop');
    const b2 = await TestClient.open(srv.wsUrl);
    const again = await b2.join('inst', { name: 'bob', instance });
    assert.equal(again.peerId, wb.peerId);
    assert.equal(again.resumed, true);
    assert.deepEqual(again.peers, [{ id: wa.peerId, name: 'ann' }]);
    await a.ping(9);
    assert.equal(a.inbox.filter((m) => m.type === 'peer-joined' || m.type === 'peer-left').length, 0);
    // Another instance id is another peer; a bad one is refused.
    const c = await TestClient.open(srv.wsUrl);
    const wc = await c.join('inst', { instance: 'another-instance-id-000' });
    assert.notEqual(wc.peerId, wb.peerId);
    assert.equal((await c.join('inst', { instance: 'short' })).code, 'ERR_SIGNALING_BAD_MESSAGE');
    await Promise.all([a.close(), b2.close(), c.close()]);
  } finally {
    await srv.close();
  }
});
