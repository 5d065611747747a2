/**
 * TURN server scenarios on the virtual network (ManualClock, no sleeping): allocation lifecycle,
 * expiry, stale nonce, refresh to 0, permissions per peer IP, channel binding rules, quotas, TURN
 * REST credential expiry.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import type { TransportAddress, UdpSocket } from '../../src/core/net.js';
import { VirtualNetwork } from '../../src/core/vnet/index.js';
import { makeRestCredentials } from '../../src/server/turn/credentials.js';
import type { TurnServerHandle, TurnServerOptions } from '../../src/server/turn/server.js';
import { attr, read } from '../../src/stun/attributes.js';
import { METHOD } from '../../src/stun/constants.js';
import { errorCodeOf, startScenarioTurn, TestTurnClient } from './turn-test-client.js';

const SERVER_IP = '203.0.113.1';
const enc = new TextEncoder();
const dec = new TextDecoder();

interface World {
  clock: ManualClock;
  net: VirtualNetwork;
  turn: TurnServerHandle;
  server: TransportAddress;
  client(user?: string, pass?: string, host?: string): Promise<TestTurnClient>;
  peer(address: string): Promise<{ sock: UdpSocket; got: { data: string; from: TransportAddress }[] }>;
  close(): Promise<void>;
}

async function world(options: Partial<TurnServerOptions> = {}): Promise<World> {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock, seed: 3 });
  const serverHost = net.host('turn', { address: SERVER_IP });
  const turn = await startScenarioTurn(
    serverHost,
    SERVER_IP,
    clock,
    9,
    ['alice:secret', 'bob:hunter2'],
    options,
  );
  const server = { address: SERVER_IP, port: 3478 };
  const sockets: UdpSocket[] = [];
  let n = 0;
  return {
    clock,
    net,
    turn,
    server,
    async client(user = 'alice', pass = 'secret', hostName?: string) {
      const h = net.host(hostName ?? `client${n++}`);
      const s = await h.bindUdp();
      sockets.push(s);
      return new TestTurnClient(s, server, clock, user, pass, n);
    },
    async peer(address: string) {
      const h = net.host(`peer-${address}`, { address });
      const sock = await h.bindUdp({ port: 7000 });
      sockets.push(sock);
      const got: { data: string; from: TransportAddress }[] = [];
      sock.onMessage = (d, from) => got.push({ data: dec.decode(d), from });
      return { sock, got };
    },
    async close() {
      for (const s of sockets) s.close();
      await turn.close();
      net.close();
      net.assertNoOpenSockets();
      assert.equal(clock.activeTimers, 0, 'no timer left');
    },
  };
}

test('turn: full allocation lifecycle with Send/Data indications and channels', async () => {
  const w = await world();
  const c = await w.client();
  const r = await c.allocate();
  assert.equal(r.cls, 'success', `allocate: ${JSON.stringify(read.errorCode(r))}`);
  const relayed = read.xorRelayedAddress(r)!;
  assert.equal(relayed.address, SERVER_IP);
  assert.ok(relayed.port >= 50000 && relayed.port <= 50999);
  assert.equal(read.lifetime(r), 600);
  assert.ok(read.xorMappedAddress(r));
  assert.equal(w.turn.stats.allocations.udp, 1);

  const p = await w.peer('198.51.100.7');
  const peerAddr = { address: '198.51.100.7', port: 7000 };
  // No permission yet: the peer's datagram is dropped.
  p.sock.send(enc.encode('early'), relayed);
  await w.clock.runUntil(() => false, 100);
  assert.equal(c.received.length, 0);
  assert.equal(w.turn.stats.droppedNoPermission, 1);

  assert.equal((await c.createPermission(peerAddr)).cls, 'success');
  c.sendIndication(peerAddr, enc.encode('hello peer'));
  await w.clock.runUntil(() => p.got.length === 1, 1000);
  assert.equal(p.got[0]!.data, 'hello peer');
  assert.deepEqual(p.got[0]!.from, relayed);
  p.sock.send(enc.encode('hello client'), relayed);
  await w.clock.runUntil(() => c.received.length === 1, 1000);
  assert.equal(dec.decode(c.received[0]!.data), 'hello client');
  assert.deepEqual(c.received[0]!.peer, peerAddr);

  assert.equal((await c.channelBind(0x4000, peerAddr)).cls, 'success');
  c.sendChannel(0x4000, enc.encode('over channel'));
  await w.clock.runUntil(() => p.got.length === 2, 1000);
  assert.equal(p.got[1]!.data, 'over channel');
  p.sock.send(enc.encode('back on channel'), relayed);
  await w.clock.runUntil(() => c.received.length === 2, 1000);
  assert.equal(c.received[1]!.channel, 0x4000);
  assert.equal(dec.decode(c.received[1]!.data), 'back on channel');
  assert.equal(w.turn.stats.packetsToPeer, 2);
  assert.equal(w.turn.stats.packetsToClient, 2);

  // A second Allocate on the same 5-tuple with a new transaction: 437.
  assert.equal(errorCodeOf(await c.allocate()), 437);

  // Refresh with lifetime 0 deletes it.
  const del = await c.refresh(0);
  assert.equal(del.cls, 'success');
  assert.equal(read.lifetime(del), 0);
  assert.equal(w.turn.stats.allocations.udp, 0);
  assert.equal(w.turn.stats.permissions, 0);
  assert.equal(w.turn.stats.channels, 0);
  // After deletion, the 5-tuple has no allocation: 437 on Refresh.
  assert.equal(errorCodeOf(await c.refresh(600)), 437);
  await w.close();
});

test('turn: allocation expires on the clock; refresh extends it; permissions and channels lapse', async () => {
  const w = await world();
  const c = await w.client();
  const r = await c.allocate([attr.lifetime(60)]); // below the default: raised to 600
  assert.equal(read.lifetime(r), 600);
  const relayed = read.xorRelayedAddress(r)!;
  const peerAddr = { address: '198.51.100.8', port: 7000 };
  const p = await w.peer(peerAddr.address);
  assert.equal((await c.channelBind(0x4001, peerAddr)).cls, 'success');
  assert.equal(w.turn.stats.permissions, 1);
  // Permission lapses at 300 s (the channel stays until 600 s but carries nothing without it).
  await w.clock.runUntil(() => false, 301_000);
  assert.equal(w.turn.stats.permissions, 0);
  assert.equal(w.turn.stats.channels, 1);
  p.sock.send(enc.encode('late'), relayed);
  await w.clock.runUntil(() => false, 100);
  assert.equal(c.received.length, 0);
  // Refresh to 1200 s (nonce still valid: 600 s default).
  const rr = await c.refresh(1200);
  assert.equal(read.lifetime(rr), 1200);
  await w.clock.runUntil(() => false, 600_000);
  assert.equal(w.turn.stats.channels, 0, 'channel expired at 600 s');
  assert.equal(w.turn.stats.allocations.udp, 1);
  await w.clock.runUntil(() => w.turn.stats.allocations.udp === 0, 700_000);
  assert.equal(w.turn.stats.allocations.udp, 0);
  assert.equal(w.turn.stats.allocationsEnded, 1);
  await w.close();
});

test('turn: stale nonce gives 438 with a fresh nonce, and the retry succeeds', async () => {
  const w = await world({ nonceLifetimeS: 30 });
  const c = await w.client();
  assert.equal((await c.allocate()).cls, 'success');
  const oldNonce = c.nonce;
  await w.clock.runUntil(() => false, 31_000);
  const stale = await c.raw(METHOD.REFRESH, [attr.lifetime(600)]);
  assert.equal(errorCodeOf(stale!), 438);
  assert.ok(read.nonce(stale!));
  assert.notEqual(read.nonce(stale!), oldNonce);
  const r = await c.refresh(600); // the helper takes the new nonce and retries
  assert.equal(r.cls, 'success');
  assert.equal(w.turn.stats.staleNonces, 2);
  await w.close();
});

test('turn: wrong password and unknown user get 401; another user on the allocation gets 441', async () => {
  const w = await world();
  const bad = await w.client('alice', 'wrong');
  assert.equal(errorCodeOf(await bad.allocate()), 401);
  const nobody = await w.client('mallory', 'x');
  assert.equal(errorCodeOf(await nobody.allocate()), 401);
  assert.ok(w.turn.stats.authFailures >= 2);
  const c = await w.client();
  assert.equal((await c.allocate()).cls, 'success');
  c.username = 'bob';
  c.password = 'hunter2';
  assert.equal(errorCodeOf(await c.refresh(600)), 441);
  await w.close();
});

test('turn: permissions are per peer IP; refused peers get 403', async () => {
  const w = await world({ deniedPeerIps: ['198.51.100.66'] });
  const c = await w.client();
  const relayed = read.xorRelayedAddress(await c.allocate())!;
  const a = await w.peer('198.51.100.10');
  const b = await w.peer('198.51.100.11');
  assert.equal((await c.createPermission({ address: '198.51.100.10', port: 1 })).cls, 'success');
  // Permission is for the IP: any port of 198.51.100.10 may send.
  a.sock.send(enc.encode('from a'), relayed);
  b.sock.send(enc.encode('from b'), relayed);
  await w.clock.runUntil(() => false, 100);
  assert.deepEqual(
    c.received.map((r) => dec.decode(r.data)),
    ['from a'],
  );
  for (const denied of [
    '127.0.0.1',
    '10.1.2.3',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '224.0.0.1',
    '0.0.0.0',
    '198.51.100.66',
  ]) {
    assert.equal(errorCodeOf(await c.createPermission({ address: denied, port: 9 })), 403, denied);
  }
  // One refused address refuses the whole request (nothing installed).
  assert.equal(
    errorCodeOf(
      await c.createPermission({ address: '198.51.100.11', port: 1 }, { address: '10.0.0.1', port: 1 }),
    ),
    403,
  );
  b.sock.send(enc.encode('still no'), relayed);
  await w.clock.runUntil(() => false, 100);
  assert.equal(c.received.length, 1);
  // IPv6 peer on an IPv4 allocation: 443.
  assert.equal(errorCodeOf(await c.createPermission({ address: '2001:db8::1', port: 1 })), 443);
  assert.ok(w.turn.stats.refusedPeers >= 9);
  await w.close();
});

test('turn: channel binding rules (RFC 8656 §12)', async () => {
  const w = await world();
  const c = await w.client();
  await c.allocate();
  const p1 = { address: '198.51.100.20', port: 5000 };
  const p2 = { address: '198.51.100.21', port: 5000 };
  assert.equal(errorCodeOf(await c.channelBind(0x3fff, p1)), 400, 'below range');
  assert.equal(errorCodeOf(await c.channelBind(0x8000, p1)), 400, 'above the RFC 5766 range');
  assert.equal((await c.channelBind(0x4000, p1)).cls, 'success');
  assert.equal((await c.channelBind(0x4000, p1)).cls, 'success', 'refresh of the same binding');
  assert.equal(errorCodeOf(await c.channelBind(0x4000, p2)), 400, 'same channel, another peer');
  assert.equal(errorCodeOf(await c.channelBind(0x4001, p1)), 400, 'same peer, another channel');
  assert.equal((await c.channelBind(0x4fff, p2)).cls, 'success');
  assert.equal(errorCodeOf(await c.channelBind(0x4002, { address: '10.0.0.1', port: 1 })), 403);
  // Missing CHANNEL-NUMBER: 400.
  assert.equal(errorCodeOf(await c.request(METHOD.CHANNEL_BIND, [])), 400);
  assert.equal(w.turn.stats.channels, 2);
  // ChannelData on an unbound channel is dropped.
  c.sendChannel(0x4100, enc.encode('nobody'));
  await w.clock.runUntil(() => false, 100);
  assert.equal(w.turn.stats.droppedClientData, 1);
  await w.close();
});

test('turn: strict channel range refuses RFC 5766-only numbers; EVEN-PORT reservations', async () => {
  const w = await world({ strictChannelRange: true });
  const c = await w.client();
  const r = await c.allocate([attr.evenPort(true)]);
  assert.equal(r.cls, 'success');
  const relayed = read.xorRelayedAddress(r)!;
  assert.equal(relayed.port % 2, 0, 'even port');
  const token = read.reservationToken(r);
  assert.ok(token, 'RESERVATION-TOKEN returned');
  assert.equal(w.turn.engine.reservations, 1);
  assert.equal(errorCodeOf(await c.channelBind(0x5000, { address: '198.51.100.1', port: 1 })), 400);
  assert.equal((await c.channelBind(0x4fff, { address: '198.51.100.1', port: 1 })).cls, 'success');
  // A second client takes the reserved odd port with the token.
  const d = await w.client();
  const r2 = await d.allocate([attr.reservationToken(token)]);
  assert.equal(r2.cls, 'success');
  assert.equal(read.xorRelayedAddress(r2)!.port, relayed.port + 1);
  assert.equal(w.turn.engine.reservations, 0);
  // An unknown token: 508.
  const e = await w.client();
  assert.equal(errorCodeOf(await e.allocate([attr.reservationToken(new Uint8Array(8))])), 508);
  // An unused reservation is released after 30 s.
  const f = await w.client();
  assert.equal((await f.allocate([attr.evenPort(true)])).cls, 'success');
  assert.equal(w.turn.engine.reservations, 1);
  await w.clock.runUntil(() => w.turn.engine.reservations === 0, 31_000);
  assert.equal(w.turn.engine.reservations, 0);
  await w.close();
});

test('turn: user quota and total quota give 486; ending an allocation frees the quota', async () => {
  const w = await world({ userQuota: 2, totalQuota: 3 });
  const a1 = await w.client();
  const a2 = await w.client();
  const a3 = await w.client();
  assert.equal((await a1.allocate()).cls, 'success');
  assert.equal((await a2.allocate()).cls, 'success');
  assert.equal(errorCodeOf(await a3.allocate()), 486, 'alice over her quota');
  const b1 = await w.client('bob', 'hunter2');
  const b2 = await w.client('bob', 'hunter2');
  assert.equal((await b1.allocate()).cls, 'success');
  assert.equal(errorCodeOf(await b2.allocate()), 486, 'server total reached');
  await a1.refresh(0);
  assert.equal((await a3.allocate()).cls, 'success');
  assert.equal(w.turn.engine.allocationsOf('alice'), 2);
  assert.equal(w.turn.stats.quotaRefusals, 2);
  await w.close();
});

test('turn: REST credentials work until they expire; allocations are not refreshed past expiry', async () => {
  const secret = 'north-secret';
  const w = await world({ users: [], secrets: ['old-secret', secret] });
  const now = w.clock.wallNow();
  const cred = makeRestCredentials(secret, 'carol', 900, now);
  const c = await w.client(cred.username, cred.password);
  const r = await c.allocate([attr.lifetime(3600)]);
  assert.equal(r.cls, 'success');
  // Lifetime capped at the credential's remaining validity (900 s).
  assert.ok(read.lifetime(r)! <= 900 && read.lifetime(r)! >= 899, `lifetime ${read.lifetime(r)}`);
  assert.equal(w.turn.engine.allocationsOf('carol'), 1);
  // A wrong secret is refused.
  const forged = makeRestCredentials('not-the-secret', 'carol', 900, now);
  const f = await w.client(forged.username, forged.password);
  assert.equal(errorCodeOf(await f.allocate()), 401);
  // Already expired credentials are refused.
  const old = makeRestCredentials(secret, 'dave', -10, now);
  const o = await w.client(old.username, old.password);
  assert.equal(errorCodeOf(await o.allocate()), 401);
  // Refresh near the end: capped again; after expiry, 401 and the allocation ends on schedule.
  await w.clock.runUntil(() => false, 500_000);
  const rr = await c.refresh(3600);
  assert.equal(rr.cls, 'success');
  assert.ok(read.lifetime(rr)! <= 400, `lifetime ${read.lifetime(rr)}`);
  await w.clock.runUntil(() => w.turn.stats.allocations.udp === 0, 401_000);
  assert.equal(w.turn.stats.allocations.udp, 0);
  assert.equal(errorCodeOf(await c.refresh(600)), 401);
  await w.close();
});

test('turn: --max-bps caps an allocation; --external-ip is advertised; Binding, 420 and 437 answers', async () => {
  const w = await world({ maxBps: 4000, externalIps: [`198.51.100.200/${SERVER_IP}`] });
  const c = await w.client();
  const r = await c.allocate();
  const relayed = read.xorRelayedAddress(r)!;
  assert.equal(relayed.address, '198.51.100.200', 'external IP advertised');
  const peerAddr = { address: '198.51.100.30', port: 7000 };
  const p = await w.peer(peerAddr.address);
  assert.equal((await c.channelBind(0x4000, peerAddr)).cls, 'success');
  // 20 x 1000 bytes at once: the 4000 B/s bucket lets a handful through and drops the rest.
  for (let i = 0; i < 20; i++) c.sendChannel(0x4000, new Uint8Array(1000));
  await w.clock.runUntil(() => false, 100);
  assert.ok(p.got.length >= 2 && p.got.length <= 5, `${p.got.length} passed`);
  assert.equal(w.turn.stats.droppedBandwidth, 20 - p.got.length);
  // A second later the bucket has refilled.
  await w.clock.runUntil(() => false, 1000);
  c.sendChannel(0x4000, new Uint8Array(1000));
  await w.clock.runUntil(() => false, 100);
  assert.equal(w.turn.stats.droppedBandwidth, 20 - p.got.length + 1);
  // Binding on the TURN port: XOR-MAPPED-ADDRESS, no authentication.
  const b = await c.raw(METHOD.BINDING, [], false);
  assert.equal(b?.cls, 'success');
  const mapped = read.xorMappedAddress(b!)!;
  assert.equal(mapped.port, c.socket.local.port);
  assert.match(mapped.address, /^(203\.0\.113|198\.51\.100)\./, 'the client host public address');
  // An unknown comprehension-required attribute: 420 with UNKNOWN-ATTRIBUTES.
  const u = await c.request(METHOD.REFRESH, [{ type: 0x0031, value: new Uint8Array(4) }]);
  assert.equal(errorCodeOf(u), 420);
  assert.deepEqual(read.unknownAttributes(u), [0x0031]);
  // CreatePermission from a 5-tuple without an allocation: 437.
  const other = await w.client();
  assert.equal(errorCodeOf(await other.createPermission(peerAddr)), 437);
  // Unsupported transport (TCP relay over UDP): 442.
  assert.equal(errorCodeOf(await other.request(METHOD.ALLOCATE, [attr.requestedTransport(6)])), 442);
  await w.close();
});
