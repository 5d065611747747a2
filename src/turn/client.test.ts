/**
 * TURN client against the project's TURN server on the virtual network (ManualClock): the 401
 * dance, permissions and channels, refresh, 438 stale nonce, reallocation after the server lost the
 * allocation, TCP transport, deallocation on close, bad input.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../core/clock.js';
import { ParseError } from '../core/errors.js';
import { silentLogger } from '../core/log.js';
import type { TransportAddress, UdpSocket } from '../core/net.js';
import { SeededRandom } from '../core/random.js';
import { VirtualNetwork } from '../core/vnet/index.js';
import { startTurnServer, type TurnServerHandle, type TurnServerOptions } from '../server/turn/server.js';
import { TurnClient, TurnError } from './client.js';
import { openTurnTransport, type TurnTransportProtocol } from './transport.js';

const SERVER = { address: '203.0.113.1', port: 3478 };
const dec = new TextDecoder();
const enc = new TextEncoder();

interface Setup {
  clock: ManualClock;
  net: VirtualNetwork;
  server: TurnServerHandle;
  client: TurnClient;
  peer: UdpSocket;
  got: { data: string; from: TransportAddress }[];
  restartServer(): Promise<void>;
  close(): Promise<void>;
}

async function setup(
  protocol: TurnTransportProtocol = 'udp',
  opts: Partial<TurnServerOptions> = {},
  password = 'p',
  username = 'u',
): Promise<Setup> {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock, seed: 7 });
  const serverHost = net.host('turn', { address: SERVER.address });
  const serverOpts: TurnServerOptions = {
    network: serverHost,
    clock,
    random: new SeededRandom(3),
    logger: silentLogger,
    listeningIps: [SERVER.address],
    listeningPort: SERVER.port,
    tls: false,
    realm: 'test',
    users: ['u:p'],
    ...opts,
  };
  let server = await startTurnServer(serverOpts);
  const clientHost = net.nat('nat', { preset: 'portRestrictedCone' }).host('client');
  const transport = await run(clock, openTurnTransport({ network: clientHost, protocol, server: SERVER }));
  const client = new TurnClient({ clock, random: new SeededRandom(4), transport, username, password });
  const peerHost = net.host('peer', { address: '198.51.100.9' });
  const peer = await peerHost.bindUdp({ port: 7000 });
  const got: { data: string; from: TransportAddress }[] = [];
  peer.onMessage = (d, from) => got.push({ data: dec.decode(d), from });
  return {
    clock,
    net,
    get server() {
      return server;
    },
    client,
    peer,
    got,
    async restartServer() {
      await server.close();
      server = await startTurnServer(serverOpts);
    },
    async close() {
      await Promise.race([client.close(), clock.runUntil(() => client.state === 'closed', 2000)]);
      peer.close();
      await server.close();
      net.close();
      net.assertNoOpenSockets();
      assert.equal(clock.activeTimers, 0, 'timers left');
    },
  } as Setup;
}

async function run<T>(clock: ManualClock, p: Promise<T>, maxMs = 60_000): Promise<T> {
  let done = false;
  let value: T | undefined;
  let error: unknown;
  p.then(
    (v) => {
      done = true;
      value = v;
    },
    (e) => {
      done = true;
      error = e;
    },
  );
  await clock.runUntil(() => done, maxMs);
  if (!done) throw new Error('did not settle');
  if (error) throw error;
  return value as T;
}

for (const protocol of ['udp', 'tcp'] as const) {
  test(`allocate over ${protocol}, send through permissions and a channel, receive both ways`, async () => {
    const s = await setup(protocol);
    const a = await run(s.clock, s.client.allocate());
    assert.equal(a.relayed.address, SERVER.address);
    assert.equal(a.lifetime, 600);
    assert.equal(a.mapped?.address !== undefined, true);
    const peer = { address: '198.51.100.9', port: 7000 };
    // First send installs the permission (queued meanwhile), then goes as a Send indication.
    s.client.sendTo(peer, enc.encode('one'));
    await s.clock.runUntil(() => s.got.length === 1, 5000);
    assert.deepEqual(s.got[0], { data: 'one', from: a.relayed });
    assert.ok(s.client.hasPermission(peer.address));
    const received: string[] = [];
    s.client.on('data', (from, d) => {
      assert.deepEqual(from, peer);
      received.push(dec.decode(d));
    });
    s.peer.send(enc.encode('back'), a.relayed);
    await s.clock.runUntil(() => received.length === 1, 5000);
    const ch = await run(s.clock, s.client.bindChannel(peer));
    assert.equal(ch, 0x4000);
    assert.equal(s.client.channelFor(peer), 0x4000);
    s.client.sendTo(peer, enc.encode('via channel!'));
    s.peer.send(enc.encode('channel back'), a.relayed);
    await s.clock.runUntil(() => s.got.length === 2 && received.length === 2, 5000);
    assert.equal(s.got[1]!.data, 'via channel!');
    assert.deepEqual(received, ['back', 'channel back']);
    assert.equal(s.server.stats.channels, 1);
    await s.close();
  });
}

test('refresh, permission and channel refresh over an hour; deallocate on close', async () => {
  const s = await setup('udp');
  const a = await run(s.clock, s.client.allocate());
  const peer = { address: '198.51.100.9', port: 7000 };
  await run(s.clock, s.client.bindChannel(peer));
  for (let i = 0; i < 60; i++) {
    s.client.sendTo(peer, enc.encode(`m${i}`));
    await s.clock.runUntil(() => false, 60_000);
  }
  assert.equal(s.got.length, 60);
  assert.ok(s.client.refreshes >= 5, `refreshes ${s.client.refreshes}`);
  assert.equal(s.client.state, 'allocated');
  assert.equal(s.client.channelFor(peer), 0x4000);
  assert.equal(s.server.stats.allocations.udp, 1);
  void a;
  await run(s.clock, s.client.close());
  assert.equal(s.server.stats.allocations.udp, 0, 'Refresh(0) released it on the server');
  await s.close();
});

test('438 stale nonce: the client takes the new nonce and retries', async () => {
  const s = await setup('udp', { nonceLifetimeS: 30 });
  await run(s.clock, s.client.allocate());
  // Later requests carry a nonce older than 30 s.
  await s.clock.runUntil(() => false, 120_000);
  const peer = { address: '198.51.100.9', port: 7000 };
  await run(s.clock, s.client.bindChannel(peer));
  assert.equal(s.client.channelFor(peer), 0x4000);
  await s.clock.runUntil(() => false, 600_000);
  assert.ok(s.client.refreshes >= 1);
  assert.ok(s.client.staleNonces >= 2, `stale nonces ${s.client.staleNonces}`);
  assert.equal(s.client.state, 'allocated');
  await s.close();
});

test('reallocation after the server lost the allocation', async () => {
  const s = await setup('udp');
  const first = await run(s.clock, s.client.allocate());
  const again: unknown[] = [];
  s.client.on('reallocated', (a) => again.push(a));
  await s.restartServer();
  // The next refresh gets 437 (no allocation for this 5-tuple): the client allocates anew.
  await s.clock.runUntil(() => again.length > 0, 900_000);
  assert.equal(again.length, 1);
  assert.equal(s.client.reallocations, 1);
  assert.equal(s.client.state, 'allocated');
  assert.ok(s.client.allocation);
  void first;
  await s.close();
});

test('wrong password: allocate rejects with 401 and the client fails', async () => {
  const s = await setup('udp', {}, 'wrong');
  await assert.rejects(
    run(s.clock, s.client.allocate()),
    (e: unknown) => e instanceof TurnError && e.status === 401,
  );
  assert.equal(s.client.state, 'failed');
  await s.close();
});

test('garbage from the server is counted and dropped', async () => {
  const s = await setup('udp');
  await run(s.clock, s.client.allocate());
  const before = s.client.droppedPackets;
  s.client.handle(new Uint8Array([0x40, 0x01, 0x00, 0x10, 1, 2])); // ChannelData, unknown channel / short
  s.client.handle(new Uint8Array([0x00, 0x01, 0x00, 0x04, 0x21, 0x12, 0xa4, 0x42])); // truncated STUN
  assert.equal(s.client.droppedPackets, before + 2);
  assert.ok(ParseError);
  await s.close();
});

test('TURN REST credentials (time-limited username, HMAC password) are plain long-term credentials', async () => {
  const { makeRestCredentials } = await import('../server/turn/credentials.js');
  const wall = new ManualClock().wallNow();
  const rest = makeRestCredentials('s3cret', 'alice', 3600, wall);
  const s = await setup('udp', { secrets: ['s3cret'], users: [] }, rest.password, rest.username);
  const a = await run(s.clock, s.client.allocate());
  assert.equal(a.relayed.address, SERVER.address);
  await s.close();
});

test('fuzz: random and mutated server input never throws, the allocation survives', async () => {
  const s = await setup('udp');
  await run(s.clock, s.client.allocate());
  const peer = { address: '198.51.100.9', port: 7000 };
  await run(s.clock, s.client.bindChannel(peer));
  const rnd = new SeededRandom(77);
  const { serializeChannelData } = await import('../stun/channel-data.js');
  const good = serializeChannelData({ channel: 0x4000, data: enc.encode('hello') });
  for (let i = 0; i < 3000; i++) {
    let b: Uint8Array;
    if (i % 3 === 0) b = rnd.bytes(rnd.int(100));
    else {
      b = good.slice();
      for (let k = 0; k < 1 + rnd.int(3); k++) b[rnd.int(b.length)] = rnd.u32() & 0xff;
      if (i % 3 === 2) b[0] = rnd.int(4); // looks like STUN
    }
    s.client.handle(b);
  }
  assert.ok(s.client.droppedPackets > 0);
  assert.equal(s.client.state, 'allocated');
  s.client.sendTo(peer, enc.encode('still works'));
  await s.clock.runUntil(() => s.got.length === 1, 5000);
  assert.equal(s.got[0]?.data, 'still works');
  await s.close();
});
