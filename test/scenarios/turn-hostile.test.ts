/**
 * Hostile input against the TURN server on the virtual network: fuzzed STUN and ChannelData
 * datagrams, garbage on TCP and TLS streams, an allocation flood from one source, an
 * unauthenticated request flood. The server must keep serving a well-behaved client, never throw,
 * and keep its state bounded (asserted on counters and sizes, not on timing).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/log.js';
import type { TcpConnection } from '../../src/core/net.js';
import { SeededRandom } from '../../src/core/random.js';
import { VirtualNetwork } from '../../src/core/vnet/index.js';
import { RateLimiter } from '../../src/server/turn/rate-limit.js';
import { startTurnServer } from '../../src/server/turn/server.js';
import { attr, read } from '../../src/stun/attributes.js';
import { serializeChannelData } from '../../src/stun/channel-data.js';
import { METHOD } from '../../src/stun/constants.js';
import { serializeStunMessage } from '../../src/stun/serialize.js';
import { errorCodeOf, TestTurnClient } from './turn-test-client.js';

const SERVER_IP = '203.0.113.1';
const enc = new TextEncoder();

async function world(extra: Parameters<typeof startTurnServer>[0] = {}) {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock, seed: 11 });
  const serverHost = net.host('turn', { address: SERVER_IP });
  const turn = await startTurnServer({
    network: serverHost,
    clock,
    random: new SeededRandom(5),
    logger: silentLogger,
    listeningIps: [SERVER_IP],
    listeningPort: 3478,
    tlsListeningPort: 5349,
    minPort: 50000,
    maxPort: 50999,
    realm: 'test',
    users: ['alice:secret'],
    ...extra,
  });
  return { clock, net, turn, server: { address: SERVER_IP, port: 3478 } };
}

/** Connect on the virtual network, driving the clock until the handshake completes. */
async function connect(
  w: Awaited<ReturnType<typeof world>>,
  host: { connectTcp: (o: { address: string; port: number }) => Promise<TcpConnection> },
  port: number,
): Promise<TcpConnection> {
  let conn: TcpConnection | undefined;
  let error: unknown;
  host.connectTcp({ address: SERVER_IP, port }).then(
    (c) => {
      conn = c;
    },
    (e: unknown) => {
      error = e;
    },
  );
  await w.clock.runUntil(() => conn !== undefined || error !== undefined, 10_000);
  if (!conn) throw error ?? new Error('connect timed out');
  return conn;
}

/** A good client allocates and relays one datagram each way. */
async function proveServing(w: Awaited<ReturnType<typeof world>>, name: string): Promise<void> {
  const h = w.net.host(name);
  const s = await h.bindUdp();
  const c = new TestTurnClient(s, w.server, w.clock, 'alice', 'secret', 77);
  const r = await c.allocate();
  assert.equal(r.cls, 'success', `allocate after abuse: ${JSON.stringify(read.errorCode(r))}`);
  assert.equal(read.xorRelayedAddress(r)?.address, SERVER_IP);
  const peerHost = w.net.host(`${name}-peer`, { address: '198.51.100.99' });
  const peer = await peerHost.bindUdp({ port: 9000 });
  const got: string[] = [];
  peer.onMessage = (d, from) => {
    got.push(new TextDecoder().decode(d));
    peer.send(d, from);
  };
  assert.equal((await c.channelBind(0x4000, { address: '198.51.100.99', port: 9000 })).cls, 'success');
  c.sendChannel(0x4000, enc.encode('still here'));
  await w.clock.runUntil(() => c.received.length === 1, 2000);
  assert.deepEqual(got, ['still here']);
  assert.equal(new TextDecoder().decode(c.received[0]!.data), 'still here');
  await c.refresh(0);
  s.close();
  peer.close();
}

test('turn hostile: fuzzed STUN and ChannelData datagrams are dropped and counted; service continues', async () => {
  const w = await world();
  const rnd = new SeededRandom(0xbad);
  const attacker = w.net.host('attacker');
  const sock = await attacker.bindUdp();
  // A real client with an allocation and a channel, whose 5-tuple the fuzzer also hits.
  const ch = w.net.host('victim');
  const vs = await ch.bindUdp();
  const victim = new TestTurnClient(vs, w.server, w.clock, 'alice', 'secret', 3);
  assert.equal((await victim.allocate()).cls, 'success');
  const tid = new Uint8Array(12).fill(7);
  const seeds = [
    serializeStunMessage(
      {
        method: METHOD.ALLOCATE,
        cls: 'request',
        transactionId: tid,
        attributes: [
          attr.requestedTransport(17),
          attr.username('alice'),
          attr.realm('test'),
          attr.nonce('0000000000aaaaaaaaaaaaaaaa'),
          attr.lifetime(600),
        ],
      },
      { integrity: new Uint8Array(16), fingerprint: true },
    ),
    serializeStunMessage({
      method: METHOD.SEND,
      cls: 'indication',
      transactionId: tid,
      attributes: [
        attr.xorPeerAddress({ address: '198.51.100.1', port: 1 }, tid),
        attr.data(new Uint8Array(40)),
      ],
    }),
    serializeStunMessage({
      method: METHOD.CHANNEL_BIND,
      cls: 'request',
      transactionId: tid,
      attributes: [
        attr.channelNumber(0x4001),
        attr.xorPeerAddress({ address: '198.51.100.1', port: 1 }, tid),
      ],
    }),
    serializeChannelData({ channel: 0x4000, data: new Uint8Array(64).fill(1) }),
  ];
  let sent = 0;
  let answers = 0;
  sock.onMessage = (d) => {
    answers++;
    // Never an amplification: an answer is bounded (error responses are small).
    assert.ok(d.length <= 200, `answer of ${d.length} bytes`);
  };
  for (let i = 0; i < 5000; i++) {
    let b: Uint8Array;
    if (i % 3 === 0) b = rnd.bytes(1 + rnd.int(120));
    else {
      const seed = seeds[rnd.int(seeds.length)]!;
      b = seed.slice(0, seed.length - rnd.int(8));
      for (let k = rnd.int(6); k >= 0; k--) b[rnd.int(b.length)] = rnd.u32() & 0xff;
    }
    // Half from the attacker, some aimed from the victim's socket (same 5-tuple as an allocation).
    (i % 5 === 0 ? vs : sock).send(b, w.server);
    sent++;
    if (i % 100 === 0) await w.clock.runUntil(() => false, 5);
  }
  await w.clock.runUntil(() => false, 100);
  assert.equal(sent, 5000);
  assert.ok(w.turn.stats.parseErrors > 1000, `parse errors ${w.turn.stats.parseErrors}`);
  assert.ok(answers < sent, 'most garbage gets no answer');
  // Unauthenticated answers to one source are rate limited.
  assert.ok(w.turn.stats.rateLimited > 0 || answers < 200, `answers ${answers}`);
  assert.ok(w.turn.engine.allocations.size <= 1, 'no allocation created by garbage');
  await proveServing(w, 'good1');
  vs.close();
  sock.close();
  await w.turn.close();
  w.net.close();
  w.net.assertNoOpenSockets();
  assert.equal(w.clock.activeTimers, 0);
});

test('turn hostile: garbage on TCP and TLS streams closes those connections only', async () => {
  const w = await world();
  const rnd = new SeededRandom(0x7c9);
  const attacker = w.net.host('attacker');
  const conns: TcpConnection[] = [];
  for (let i = 0; i < 20; i++) {
    const tls = i % 2 === 1;
    const c = await connect(w, attacker, tls ? 5349 : 3478);
    conns.push(c);
    // Start with a byte that is neither STUN (0x00-0x3F) nor ChannelData (0x40-0x7F) half the time.
    const junk = rnd.bytes(200);
    if (i % 4 < 2) junk[0] = 0x80 | (junk[0]! & 0x7f);
    c.write(junk);
  }
  await w.clock.runUntil(() => false, 2000);
  const open = conns.filter((c) => !c.closed).length;
  // Plain TCP with a bad first byte is closed at once; the rest (a plausible length, or TLS
  // records that fail the handshake) are closed by the framing/TLS error or the idle timer.
  await w.clock.runUntil(() => w.turn.stats.connections === 0, 60_000);
  assert.equal(w.turn.stats.connections, 0, `connections left (${open} open after 2 s)`);
  assert.ok(w.turn.stats.badStreams >= 5, `bad streams ${w.turn.stats.badStreams}`);
  // A TCP client that connects and says nothing is dropped by the idle timer.
  const idle = await connect(w, attacker, 3478);
  await w.clock.runUntil(() => idle.closed, 40_000);
  assert.ok(idle.closed);
  await proveServing(w, 'good2');
  for (const c of conns) c.close();
  await w.turn.close();
  w.net.close();
});

test('turn hostile: an allocation flood from one source stays within quotas and bounded memory', async () => {
  const w = await world({ userQuota: 8, totalQuota: 20, unauthRate: 10 });
  const attacker = w.net.host('flooder');
  let ok = 0;
  let refused = 0;
  let realm = '';
  let nonce = '';
  const socks = [];
  for (let i = 0; i < 40; i++) {
    const s = await attacker.bindUdp();
    socks.push(s);
    const c = new TestTurnClient(s, w.server, w.clock, 'alice', 'secret', 100 + i);
    // After the first challenge the flooder reuses realm and nonce (bound to its IP, still valid).
    if (realm) {
      c.realm = realm;
      c.nonce = nonce;
    }
    const r = await c.allocate();
    realm = c.realm;
    nonce = c.nonce;
    if (r.cls === 'success') ok++;
    else if (errorCodeOf(r) === 486) refused++;
  }
  assert.equal(ok, 8);
  assert.equal(refused, 32);
  assert.equal(w.turn.engine.allocations.size, 8);
  assert.equal(w.turn.engine.pendingAllocates, 0);
  // Unauthenticated flood from one source: answered up to the burst, then dropped.
  const raw = await attacker.bindUdp();
  socks.push(raw);
  let answered = 0;
  raw.onMessage = () => answered++;
  const tid = new Uint8Array(12);
  for (let i = 0; i < 2000; i++) {
    tid[0] = i & 0xff;
    tid[1] = i >> 8;
    raw.send(
      serializeStunMessage({
        method: METHOD.ALLOCATE,
        cls: 'request',
        transactionId: tid,
        attributes: [attr.requestedTransport(17)],
      }),
      w.server,
    );
  }
  await w.clock.runUntil(() => false, 200);
  assert.ok(answered <= 25, `answered ${answered} of 2000 unauthenticated requests`);
  assert.ok(w.turn.stats.rateLimited >= 1975);
  assert.ok(w.turn.engine.rateLimiterSize <= 8192);
  // Another user is unaffected by alice's quota (total quota still has room).
  await proveServingAs(w);
  for (const s of socks) s.close();
  await w.turn.close();
  w.net.close();
});

async function proveServingAs(w: Awaited<ReturnType<typeof world>>): Promise<void> {
  // alice is at her quota: release one, then the good client (also alice) gets it.
  const any = [...w.turn.engine.allocations][0]!;
  any.close();
  await proveServing(w, 'good3');
}

test('turn hostile: the per-source rate limiter forgets old sources (bounded memory)', () => {
  const rl = new RateLimiter(1, 2, 100);
  for (let i = 0; i < 10_000; i++) rl.take(`10.0.${i >> 8}.${i & 0xff}`, i);
  assert.equal(rl.size, 100);
  assert.equal(rl.take('192.0.2.1', 0), true);
  assert.equal(rl.take('192.0.2.1', 0), true);
  assert.equal(rl.take('192.0.2.1', 0), false);
  assert.equal(rl.take('192.0.2.1', 1000), true);
});
