/**
 * TCP allocations (RFC 6062) on the virtual network: Connect + ConnectionBind to a peer, an
 * incoming peer connection announced by ConnectionAttempt, and the error and timeout rules.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import type { TcpConnection, TransportAddress } from '../../src/core/net.js';
import { SeededRandom } from '../../src/core/random.js';
import { VirtualNetwork } from '../../src/core/vnet/index.js';
import { attr, read } from '../../src/stun/attributes.js';
import { streamFrameLength } from '../../src/stun/channel-data.js';
import { METHOD } from '../../src/stun/constants.js';
import { longTermKey } from '../../src/stun/integrity.js';
import { type ParsedStunMessage, parseStunMessage, type StunAttribute } from '../../src/stun/message.js';
import { serializeStunMessage } from '../../src/stun/serialize.js';
import { startScenarioTurn } from './turn-test-client.js';

const SERVER_IP = '203.0.113.1';
const dec = new TextDecoder();
const enc = new TextEncoder();

/** A STUN-over-TCP client connection on the virtual network (long-term credentials). */
class StreamClient {
  readonly messages: ParsedStunMessage[] = [];
  raw = '';
  rawMode = false;
  #buf = new Uint8Array(0);
  realm = '';
  nonce = '';
  #rnd: SeededRandom;
  constructor(
    readonly conn: TcpConnection,
    readonly clock: ManualClock,
    seed: number,
  ) {
    this.#rnd = new SeededRandom(seed);
    conn.onData = (d) => {
      if (this.rawMode) {
        this.raw += dec.decode(d);
        return;
      }
      const b = new Uint8Array(this.#buf.length + d.length);
      b.set(this.#buf);
      b.set(d, this.#buf.length);
      let at = 0;
      while (b.length - at >= 4) {
        const len = streamFrameLength(b, at, true);
        if (len < 0 || b.length - at < len) break;
        this.messages.push(parseStunMessage(b.slice(at, at + len)));
        at += len;
      }
      this.#buf = b.slice(at);
    };
  }
  async request(method: number, build: (tid: Uint8Array) => StunAttribute[]): Promise<ParsedStunMessage> {
    for (let i = 0; i < 3; i++) {
      const tid = this.#rnd.bytes(12);
      const attrs = build(tid);
      if (this.realm) attrs.push(attr.username('alice'), attr.realm(this.realm), attr.nonce(this.nonce));
      this.conn.write(
        serializeStunMessage(
          { method, cls: 'request', transactionId: tid, attributes: attrs },
          { integrity: this.realm ? longTermKey('alice', this.realm, 'secret') : undefined },
        ),
      );
      const match = (): ParsedStunMessage | undefined =>
        this.messages.find((m) => Buffer.from(m.transactionId).equals(Buffer.from(tid)));
      await this.clock.runUntil(() => match() !== undefined, 5000);
      const r = match();
      if (!r) throw new Error('no response');
      const code = read.errorCode(r)?.code;
      if (r.cls === 'error' && (code === 401 || code === 438) && i < 2) {
        this.realm = read.realm(r) ?? '';
        this.nonce = read.nonce(r) ?? '';
        continue;
      }
      return r;
    }
    throw new Error('unreachable');
  }
}

async function world() {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock, seed: 21 });
  const turn = await startScenarioTurn(net.host('turn', { address: SERVER_IP }), SERVER_IP, clock, 2, [
    'alice:secret',
  ]);
  const client = net.host('client');
  const connect = async (host: typeof client, to: TransportAddress): Promise<TcpConnection> => {
    let c: TcpConnection | undefined;
    void host.connectTcp(to).then((x) => {
      c = x;
    });
    await clock.runUntil(() => c !== undefined, 5000);
    assert.ok(c, 'connected');
    return c;
  };
  return { clock, net, turn, client, connect };
}

test('turn tcp relay: Connect, ConnectionBind and a byte pipe both ways', async () => {
  const w = await world();
  const peerHost = w.net.host('peer', { address: '198.51.100.5' });
  const listener = await peerHost.listenTcp({ port: 8000 });
  let peerConn: TcpConnection | undefined;
  let peerGot = '';
  listener.onConnection = (c) => {
    peerConn = c;
    c.onData = (d) => {
      peerGot += dec.decode(d);
    };
  };
  const control = new StreamClient(await w.connect(w.client, { address: SERVER_IP, port: 3478 }), w.clock, 1);
  const alloc = await control.request(METHOD.ALLOCATE, () => [attr.requestedTransport(6)]);
  assert.equal(alloc.cls, 'success', JSON.stringify(read.errorCode(alloc)));
  assert.equal(w.turn.stats.allocations.tcp, 1);
  // DONT-FRAGMENT makes no sense on a TCP allocation: 400.
  const c2 = new StreamClient(await w.connect(w.client, { address: SERVER_IP, port: 3478 }), w.clock, 2);
  const bad = await c2.request(METHOD.ALLOCATE, () => [attr.requestedTransport(6), attr.dontFragment()]);
  assert.equal(read.errorCode(bad)?.code, 400);
  const peer = { address: '198.51.100.5', port: 8000 };
  const conn = await control.request(METHOD.CONNECT, (t) => [attr.xorPeerAddress(peer, t)]);
  assert.equal(conn.cls, 'success', JSON.stringify(read.errorCode(conn)));
  const id = read.connectionId(conn)!;
  assert.ok(peerConn, 'the server connected to the peer');
  assert.equal(
    read.errorCode(await control.request(METHOD.CONNECT, (t) => [attr.xorPeerAddress(peer, t)]))?.code,
    446,
  );
  // The peer talks before the bind: buffered.
  peerConn.write(enc.encode('early '));
  // A wrong CONNECTION-ID: 400; the right one on a fresh connection: success, then raw bytes.
  const data = new StreamClient(await w.connect(w.client, { address: SERVER_IP, port: 3478 }), w.clock, 3);
  assert.equal(
    read.errorCode(await data.request(METHOD.CONNECTION_BIND, () => [attr.connectionId(id + 1)]))?.code,
    400,
  );
  const data2 = new StreamClient(await w.connect(w.client, { address: SERVER_IP, port: 3478 }), w.clock, 4);
  const bound = await data2.request(METHOD.CONNECTION_BIND, () => [attr.connectionId(id)]);
  assert.equal(bound.cls, 'success');
  data2.rawMode = true;
  data2.conn.write(enc.encode('hello peer'));
  peerConn.write(enc.encode('hello client'));
  await w.clock.runUntil(() => peerGot === 'hello peer' && data2.raw.endsWith('hello client'), 5000);
  assert.equal(peerGot, 'hello peer');
  assert.equal(data2.raw, 'early hello client');
  // Closing the control connection ends the allocation and its peer connections.
  control.conn.close();
  await w.clock.runUntil(() => w.turn.stats.allocations.tcp === 0 && peerConn!.closed, 5000);
  assert.ok(peerConn.closed);
  assert.equal(w.turn.engine.peerConnections.size, 0);
  for (const c of [c2, data, data2]) c.conn.close();
  listener.close();
  await w.turn.close();
  w.net.close();
});

test('turn tcp relay: incoming peer connections need a permission and are announced; unbound ones time out', async () => {
  const w = await world();
  const control = new StreamClient(await w.connect(w.client, { address: SERVER_IP, port: 3478 }), w.clock, 5);
  const alloc = await control.request(METHOD.ALLOCATE, () => [attr.requestedTransport(6)]);
  const relayed = read.xorRelayedAddress(alloc)!;
  const stranger = w.net.host('stranger', { address: '198.51.100.66' });
  const s = await w.connect(stranger, relayed);
  await w.clock.runUntil(() => s.closed, 5000);
  assert.ok(s.closed, 'no permission: connection refused');
  assert.equal(
    (
      await control.request(METHOD.CREATE_PERMISSION, (t) => [
        attr.xorPeerAddress({ address: '198.51.100.7', port: 0 }, t),
      ])
    ).cls,
    'success',
  );
  const friend = w.net.host('friend', { address: '198.51.100.7' });
  const f = await w.connect(friend, relayed);
  await w.clock.runUntil(() => control.messages.some((m) => m.method === METHOD.CONNECTION_ATTEMPT), 5000);
  const attempt = control.messages.find((m) => m.method === METHOD.CONNECTION_ATTEMPT)!;
  assert.equal(attempt.cls, 'indication');
  assert.equal(read.xorPeerAddress(attempt)?.address, '198.51.100.7');
  assert.ok(read.connectionId(attempt));
  assert.equal(w.turn.engine.peerConnections.size, 1);
  // Nobody binds it: closed after 30 s.
  await w.clock.runUntil(() => f.closed, 31_000);
  assert.ok(f.closed);
  assert.equal(w.turn.engine.peerConnections.size, 0);
  control.conn.close();
  await w.turn.close();
  w.net.close();
});
