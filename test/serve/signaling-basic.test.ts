/** Signaling over real WebSockets: join, presence, relay, leave, ICE config, stats, metrics. */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { advanceLive, fakeTurn, type Msg, startTestServer, TestClient, until } from './helpers.js';

describe('signaling: rooms and relay', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  const clients: TestClient[] = [];
  const open = async (): Promise<TestClient> => {
    const c = await TestClient.open(srv.wsUrl);
    clients.push(c);
    return c;
  };
  before(async () => {
    srv = await startTestServer(
      {
        turnSecret: 'turn-secret',
        turnCredentialTtl: 1800,
        heartbeatIntervalMs: 60_000,
        resumeWindowSec: 3600,
      },
      { startTurn: fakeTurn(3478) },
    );
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await srv.close();
  });

  test('join, presence both ways, names', async () => {
    const a = await open();
    const wa = await a.join('r1', { name: 'ann' });
    assert.equal(wa.type, 'welcome');
    assert.equal(wa.v, 1);
    assert.equal(wa.room, 'r1');
    assert.equal(wa.name, 'ann');
    assert.equal(wa.mode, 'mesh');
    assert.equal(wa.resumed, false);
    assert.deepEqual(wa.peers, []);
    assert.match(String(wa.peerId), /^p[0-9a-f]{16}$/);
    const b = await open();
    const wb = await b.join('r1', { name: 'bob' });
    assert.deepEqual(wb.peers, [{ id: wa.peerId, name: 'ann' }]);
    const joined = await a.next('peer-joined');
    assert.deepEqual(joined.peer, { id: wb.peerId, name: 'bob' });
    // A third peer in another room sees nobody.
    const c = await open();
    const wc = await c.join('r2');
    assert.deepEqual(wc.peers, []);
    assert.match(String(wc.name), /^guest-/);
  });

  test('offer/answer/candidate/end-of-candidates relayed between named peers of one room only', async () => {
    const a = await open();
    const b = await open();
    const x = await open();
    const wa = await a.join('relay');
    const wb = await b.join('relay');
    const wx = await x.join('elsewhere');
    await a.next('peer-joined');
    a.send({ v: 1, type: 'offer', to: wb.peerId, sdp: 'v=0 offer' });
    const offer = await b.next('offer');
    assert.deepEqual(offer, { v: 1, type: 'offer', from: wa.peerId, sdp: 'v=0 offer' });
    b.send({ v: 1, type: 'answer', to: wa.peerId, sdp: 'v=0 answer' });
    assert.equal((await a.next('answer')).sdp, 'v=0 answer');
    const cand = {
      candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host',
      sdpMid: '0',
      sdpMLineIndex: 0,
    };
    a.send({ v: 1, type: 'candidate', to: wb.peerId, candidate: cand });
    assert.deepEqual((await b.next('candidate')).candidate, cand);
    a.send({ v: 1, type: 'end-of-candidates', to: wb.peerId });
    assert.equal((await b.next('end-of-candidates')).from, wa.peerId);
    // A peer in another room is not reachable, and x sees nothing.
    a.send({ v: 1, type: 'offer', to: wx.peerId, sdp: 'v=0' });
    const err = await a.next('error');
    assert.equal(err.code, 'ERR_SIGNALING_UNKNOWN_PEER');
    assert.equal(err.peer, wx.peerId);
    // Nor is oneself.
    a.send({ v: 1, type: 'offer', to: wa.peerId, sdp: 'v=0' });
    assert.equal((await a.next('error')).code, 'ERR_SIGNALING_UNKNOWN_PEER');
    await x.ping();
    assert.equal(x.inbox.filter((m) => m.type === 'offer').length, 0);
  });

  test('leave: others see peer-left, the leaver may join again', async () => {
    const a = await open();
    const b = await open();
    await a.join('leave');
    const wb = await b.join('leave');
    await a.next('peer-joined');
    b.send({ v: 1, type: 'leave' });
    await b.next('left');
    const left = await a.next('peer-left');
    assert.deepEqual(left, { v: 1, type: 'peer-left', peerId: wb.peerId, reason: 'left' });
    b.send({ v: 1, type: 'offer', to: 'pabc', sdp: 'x' });
    assert.equal((await b.next('error')).code, 'ERR_SIGNALING_NOT_JOINED');
    const again = await b.join('leave');
    assert.equal(again.type, 'welcome');
    assert.notEqual(again.peerId, wb.peerId);
    // Joining twice is refused.
    const twice = await b.join('other');
    assert.equal(twice.code, 'ERR_SIGNALING_ALREADY_JOINED');
  });

  test('ICE servers carry TURN REST credentials and are refreshed before they expire', async () => {
    const a = await open();
    const w = await a.join('ice');
    const ice = (w.iceServers as { urls: string[]; username: string; credential: string }[])[0]!;
    assert.deepEqual(ice.urls, ['stun:127.0.0.1:3478', 'turn:127.0.0.1:3478?transport=udp']);
    const [exp, user] = ice.username.split(':');
    assert.equal(user, w.peerId);
    const wall = srv.clock.wallNow();
    assert.ok(Math.abs(Number(exp) - (wall / 1000 + 1800)) <= 1, `expiry ${exp} is 30 minutes ahead`);
    assert.equal(w.iceServersExpireAt, Number(exp) * 1000);
    const want = createHmac('sha1', 'turn-secret').update(ice.username).digest('base64');
    assert.equal(ice.credential, want);
    // Nothing yet just before the refresh point (TTL - 5 min), then fresh credentials.
    await advanceLive(srv.clock, 1800_000 - 300_000 - 2000, 60_000, [a]);
    assert.equal(a.inbox.filter((m) => m.type === 'ice-servers').length, 0);
    srv.clock.advance(2000);
    const fresh = await a.next('ice-servers');
    const fice = (fresh.iceServers as { username: string; credential: string }[])[0]!;
    assert.ok(Number(fice.username.split(':')[0]) > Number(exp));
    assert.equal(fice.credential, createHmac('sha1', 'turn-secret').update(fice.username).digest('base64'));
    assert.ok((fresh.iceServersExpireAt as number) > (w.iceServersExpireAt as number));
  });

  test('stats and events from clients reach /api/stats and /metrics', async () => {
    const a = await open();
    const b = await open();
    const wa = await a.join('stats');
    const wb = await b.join('stats');
    const entry = (peerId: unknown, pathType: string) => ({
      peerId,
      connectionState: 'connected',
      pathType,
      localCandidateType: pathType,
      remoteCandidateType: 'host',
      rttMs: 12.5,
      bitrateInKbps: 800,
      bitrateOutKbps: 790,
      packetLoss: 0.01,
      framesDecoded: 300,
    });
    a.send({ v: 1, type: 'stats', peers: [entry(wb.peerId, 'relay'), entry('pnotinroom', 'host')] });
    b.send({ v: 1, type: 'stats', peers: [entry(wa.peerId, 'relay')] });
    a.send({ v: 1, type: 'event', name: 'connected', peer: wb.peerId, setupMs: 420 });
    a.send({ v: 1, type: 'event', name: 'ice-failed', peer: wb.peerId });
    await a.ping();
    await b.ping();
    const data = (await (await fetch(`${srv.url}/api/stats`)).json()) as {
      rooms: { name: string; links: Msg[]; peers: Msg[] }[];
      paths: { relayShare: number; total: number };
    };
    const room = data.rooms.find((r) => r.name === 'stats')!;
    assert.equal(room.peers.length, 2);
    assert.equal(room.links.length, 2, 'the report about a peer outside the room is dropped');
    assert.equal(room.links[0]!.rttMs, 12.5);
    assert.ok(data.paths.total >= 2);
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    assert.match(metrics, /rtcstack_selected_pairs\{type="relay"\} 2/);
    assert.match(metrics, /rtcstack_connection_setup_seconds_count 1/);
    assert.match(metrics, /rtcstack_ice_failures_total 1/);
    assert.match(metrics, /rtcstack_signaling_messages_total\{direction="in",type="stats"\} 2/);
    assert.match(metrics, /rtcstack_peers \d+/);
    assert.match(metrics, /rtcstack_process_/);
    // When b leaves, its reports go.
    b.send({ v: 1, type: 'leave' });
    await b.next('left');
    await until(async () => {
      const d = (await (await fetch(`${srv.url}/api/stats`)).json()) as {
        rooms: { name: string; links: Msg[] }[];
      };
      return d.rooms.find((r) => r.name === 'stats')?.links.every((l) => l.from !== wb.peerId) ?? false;
    }, 'reports of a departed peer to go');
  });

  test('dashboard data includes the TURN cost estimate', async () => {
    const data = (await (await fetch(`${srv.url}/api/stats`)).json()) as {
      turn: { costUsd: number; relayedBytes: number };
    };
    assert.equal(data.turn.relayedBytes, 5e9);
    assert.ok(Math.abs(data.turn.costUsd - 5 * 0.08) < 1e-9);
  });

  test('unknown HTTP routes are 404, /api/token needs POST', async () => {
    assert.equal((await fetch(`${srv.url}/nope`)).status, 404);
    assert.equal((await fetch(`${srv.url}/api/token`)).status, 405);
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
  });
});
