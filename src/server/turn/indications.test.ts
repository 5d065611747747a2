/**
 * The hot-path Send/Data indication codec against the generic STUN codec: what one writes the other
 * reads, what the fast reader accepts the generic parser decodes the same way, and fuzzed input
 * never makes the fast reader throw or disagree.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../core/clock.js';
import { ParseError } from '../../core/errors.js';
import type { TransportAddress, UdpSocket } from '../../core/net.js';
import { SeededRandom } from '../../core/random.js';
import { attr, read } from '../../stun/attributes.js';
import { METHOD } from '../../stun/constants.js';
import { createMessage, parseStunMessage, type StunAttribute } from '../../stun/message.js';
import { serializeStunMessage } from '../../stun/serialize.js';
import { Allocation, type ClientLink } from './allocation.js';
import {
  DATA_INDICATION_TYPE,
  dataIndicationLength,
  readSendIndication,
  SEND_INDICATION_TYPE,
  type SendIndicationFields,
  writeDataIndication,
} from './indications.js';
import { TurnStats } from './stats.js';
import { OutputBuffer, type ReusableSendSocket } from './udp-node.js';

const fields = (): SendIndicationFields => ({
  ipOffset: 0,
  ipLength: 0,
  port: 0,
  dataOffset: 0,
  dataLength: 0,
});

function sendIndication(
  peer: TransportAddress,
  data: Uint8Array,
  opts: { tid?: Uint8Array; fingerprint?: boolean; extra?: StunAttribute[] } = {},
): Uint8Array {
  const tid = opts.tid ?? new Uint8Array(12).fill(7);
  return serializeStunMessage(
    createMessage(METHOD.SEND, 'indication', tid, [
      attr.xorPeerAddress(peer, tid),
      attr.data(data),
      ...(opts.extra ?? []),
    ]),
    { fingerprint: opts.fingerprint ?? false },
  );
}

/** What the generic codec makes of a Send indication, or 'error'. */
function generic(
  bytes: Uint8Array,
): { peer: TransportAddress | undefined; data: number[] | undefined } | 'error' {
  try {
    const m = parseStunMessage(bytes);
    if (m.method !== METHOD.SEND || m.cls !== 'indication') return 'error';
    const d = read.data(m);
    return { peer: read.xorPeerAddress(m), data: d ? [...d] : undefined };
  } catch (err) {
    if (err instanceof ParseError) return 'error';
    throw err;
  }
}

function fast(bytes: Uint8Array): { peer: TransportAddress; data: number[] } | undefined {
  const f = fields();
  if (!readSendIndication(bytes, f)) return undefined;
  const ip = new Uint8Array(f.ipLength);
  for (let i = 0; i < f.ipLength; i++) ip[i] = bytes[f.ipOffset + i]! ^ bytes[4 + i]!;
  // Decode through the generic attribute decoder so the comparison is about positions only.
  const v = new Uint8Array(4 + f.ipLength);
  v[1] = f.ipLength === 4 ? 1 : 2;
  v[2] = f.port >> 8;
  v[3] = f.port & 0xff;
  v.set(ip, 4);
  const peer = read.mappedAddress({
    method: 1,
    cls: 'success',
    transactionId: new Uint8Array(12),
    attributes: [{ type: 0x0001, value: v }],
  });
  return { peer: peer!, data: [...bytes.subarray(f.dataOffset, f.dataOffset + f.dataLength)] };
}

test('message types: Send 0x0016, Data 0x0017 (RFC 8656 §18.1)', () => {
  assert.equal(SEND_INDICATION_TYPE, 0x0016);
  assert.equal(DATA_INDICATION_TYPE, 0x0017);
});

test('writeDataIndication: the generic codec reads peer and data back (IPv4, IPv6, every padding)', () => {
  const random = new SeededRandom(1);
  const peers = [
    { address: '198.51.100.9', port: 40000, ip: [198, 51, 100, 9] },
    {
      address: '2001:db8::42',
      port: 3,
      ip: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42],
    },
  ];
  for (const p of peers) {
    for (let n = 0; n < 9; n++) {
      const data = new Uint8Array(n).map((_, i) => i + 1);
      const out = new Uint8Array(200).fill(0xee);
      const len = writeDataIndication(out, random, new Uint8Array(p.ip), p.port, data);
      assert.equal(len, dataIndicationLength(p.ip.length, n));
      assert.equal(len % 4, 0);
      const m = parseStunMessage(out.subarray(0, len));
      assert.equal(m.method, METHOD.DATA);
      assert.equal(m.cls, 'indication');
      assert.deepEqual(read.xorPeerAddress(m), { address: p.address, port: p.port });
      assert.deepEqual([...read.data(m)!], [...data]);
      // Padding is zeroed, not left over from the buffer.
      for (let i = len - ((4 - (n & 3)) & 3); i < len; i++) assert.equal(out[i], 0);
    }
  }
});

test('writeDataIndication: a fresh transaction id each time', () => {
  const random = new SeededRandom(2);
  const ids = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const out = new Uint8Array(64);
    const len = writeDataIndication(out, random, new Uint8Array([203, 0, 113, 5]), 9, new Uint8Array([1]));
    ids.add(Buffer.from(parseStunMessage(out.subarray(0, len)).transactionId).toString('hex'));
  }
  assert.equal(ids.size, 50);
});

test('readSendIndication: reads what serializeStunMessage writes, with and without FINGERPRINT', () => {
  const data = new Uint8Array([9, 8, 7, 6, 5]);
  for (const peer of [
    { address: '192.0.2.77', port: 5000 },
    { address: '2001:db8:1::9', port: 65535 },
  ]) {
    for (const fingerprint of [false, true]) {
      for (const extra of [[], [attr.dontFragment()]]) {
        const bytes = sendIndication(peer, data, { fingerprint, extra });
        assert.deepEqual(fast(bytes), { peer, data: [...data] });
        assert.deepEqual(generic(bytes), { peer, data: [...data] });
      }
    }
  }
});

test('readSendIndication: other shapes are left to the generic codec', () => {
  const peer = { address: '192.0.2.1', port: 1 };
  const data = new Uint8Array([1, 2, 3]);
  const f = fields();
  const good = sendIndication(peer, data, { fingerprint: true });
  // A bad FINGERPRINT.
  const badFp = good.slice();
  badFp[badFp.length - 1]! ^= 1;
  assert.equal(readSendIndication(badFp, f), false);
  assert.equal(generic(badFp), 'error');
  // An unexpected attribute (SOFTWARE), a missing DATA, a request, a truncated message.
  assert.equal(readSendIndication(sendIndication(peer, data, { extra: [attr.software('x')] }), f), false);
  const tid = new Uint8Array(12);
  const noData = serializeStunMessage(
    createMessage(METHOD.SEND, 'indication', tid, [attr.xorPeerAddress(peer, tid)]),
  );
  assert.equal(readSendIndication(noData, f), false);
  const request = serializeStunMessage(
    createMessage(METHOD.SEND, 'request', tid, [attr.xorPeerAddress(peer, tid), attr.data(data)]),
  );
  assert.equal(readSendIndication(request, f), false);
  assert.equal(readSendIndication(good.subarray(0, good.length - 4), f), false);
  assert.equal(readSendIndication(new Uint8Array([0, 0x16]), f), false);
});

test('readSendIndication fuzz: random and mutated bytes never throw, and what it accepts the codec decodes alike', () => {
  const rnd = new SeededRandom(0x5e11d);
  const seeds = [
    sendIndication({ address: '203.0.113.4', port: 4444 }, new Uint8Array(13).fill(3), { fingerprint: true }),
    sendIndication({ address: '2001:db8::1', port: 80 }, new Uint8Array(8).fill(1)),
    sendIndication({ address: '198.51.100.1', port: 1 }, new Uint8Array(0), { extra: [attr.dontFragment()] }),
  ];
  let accepted = 0;
  for (let i = 0; i < 20_000; i++) {
    let bytes: Uint8Array;
    if (i % 4 === 0) {
      bytes = rnd.bytes(rnd.int(80));
      if (bytes.length >= 2) {
        bytes[0] = 0;
        bytes[1] = 0x16;
      }
    } else {
      bytes = seeds[i % seeds.length]!.slice();
      const flips = 1 + rnd.int(3);
      for (let k = 0; k < flips; k++) bytes[rnd.int(bytes.length)] = rnd.u32() & 0xff;
      if (rnd.int(8) === 0) bytes = bytes.subarray(0, rnd.int(bytes.length + 1));
    }
    const got = fast(bytes);
    if (got === undefined) continue;
    accepted++;
    const g = generic(bytes);
    assert.notEqual(
      g,
      'error',
      `fast path accepted what the codec refuses: ${Buffer.from(bytes).toString('hex')}`,
    );
    assert.deepEqual(got, g);
  }
  assert.ok(accepted > 100, `only ${accepted} accepted: the fuzz is not reaching the fast path`);
});

class FakeSocket implements ReusableSendSocket {
  readonly local = { address: '203.0.113.1', port: 50000 };
  closed = false;
  onMessage: ((data: Uint8Array, from: TransportAddress) => void) | null = null;
  queued = false;
  readonly sent: { data: number[]; to: TransportAddress }[] = [];
  send(data: Uint8Array, to: TransportAddress): boolean {
    this.sent.push({ data: [...data], to: { address: to.address, port: to.port } });
    return true;
  }
  sendQueued(): boolean {
    return this.queued;
  }
  close(): void {
    this.closed = true;
  }
}

test('OutputBuffer: one buffer while sends complete, a new one once a send holds it', () => {
  const out = new OutputBuffer(128);
  const s = new FakeSocket();
  const a = out.take(100, s);
  assert.equal(out.take(100, s), a);
  s.queued = true;
  const b = out.take(100, s);
  assert.notEqual(b, a);
  s.queued = false;
  assert.equal(out.take(10, s), b);
  assert.ok(out.take(500, s).length >= 500);
  assert.notEqual(out.take(500, s), b);
});

function allocationWith(relay: UdpSocket) {
  const toClient: number[][] = [];
  const link: ClientLink = {
    transport: 'udp',
    local: { address: '203.0.113.1', port: 3478 },
    remote: { address: '198.51.100.2', port: 40000 },
    stream: false,
    closed: false,
    send: (d) => toClient.push([...d]),
    output: (n) => new Uint8Array(n),
    sendOutput: (b, n) => toClient.push([...b.subarray(0, n)]),
    attach: () => {},
    detach: () => {},
  };
  const clock = new ManualClock();
  const a = new Allocation({
    id: 1,
    link,
    relay,
    relayed: { address: '2001:db8::1', port: 50000 },
    username: 'u',
    account: 'u',
    realm: 'r',
    key: new Uint8Array(16),
    credentialExpiresAt: undefined,
    transactionId: new Uint8Array(12),
    clock,
    random: new SeededRandom(5),
    stats: new TurnStats(),
    bucket: undefined,
    maxPermissions: 10,
  });
  return { a, toClient, clock };
}

test('Send indications: the peer decoded once per peer, never confused by the IPv6 transaction-id XOR', () => {
  const relay = new FakeSocket();
  const { a } = allocationWith(relay);
  const p1 = { address: '2001:db8::7', port: 1000 };
  const p2 = { address: '2001:db8::8', port: 1000 };
  a.permit(p1.address);
  a.permit(p2.address);
  const rnd = new SeededRandom(11);
  const order = [p1, p1, p2, p2, p1, p2, p1];
  for (const [i, p] of order.entries()) {
    const bytes = sendIndication(p, new Uint8Array([i]), { tid: rnd.bytes(12) });
    const f = fields();
    assert.ok(readSendIndication(bytes, f));
    assert.ok(a.sendIndicationToPeer(bytes, f));
  }
  assert.deepEqual(
    relay.sent.map((s) => s.to),
    order.map((p) => ({ address: p.address, port: p.port })),
  );
  assert.deepEqual(
    relay.sent.map((s) => s.data),
    order.map((_, i) => [i]),
  );
  // No permission for a third peer: dropped.
  const f = fields();
  const bytes = sendIndication({ address: '2001:db8::9', port: 1000 }, new Uint8Array([1]));
  assert.ok(readSendIndication(bytes, f));
  assert.equal(a.sendIndicationToPeer(bytes, f), false);
  a.close();
});

test('fromPeer: Data indications and ChannelData per peer, permission checked after the cached peer lapses', () => {
  const relay = new FakeSocket();
  const { a, toClient, clock } = allocationWith(relay);
  a.refresh(3_600_000);
  const p1 = { address: '2001:db8::7', port: 1000 };
  const p2 = { address: '2001:db8::8', port: 2000 };
  a.permit(p1.address);
  clock.advance(200_000);
  a.bind(0x4001, p2);
  a.fromPeer(new Uint8Array([1, 2]), p1);
  a.fromPeer(new Uint8Array([3]), p2);
  a.fromPeer(new Uint8Array([4]), { address: '2001:db8::9', port: 1 });
  assert.equal(toClient.length, 2);
  const m = parseStunMessage(new Uint8Array(toClient[0]!));
  assert.equal(m.method, METHOD.DATA);
  assert.deepEqual(read.xorPeerAddress(m), p1);
  assert.deepEqual([...read.data(m)!], [1, 2]);
  assert.deepEqual(toClient[1], [0x40, 0x01, 0, 1, 3]);
  // p1's permission lapses (300 s) while the cache still points at it; p2's (bound later) lives on.
  a.fromPeer(new Uint8Array([5]), p1);
  clock.advance(150_000);
  a.fromPeer(new Uint8Array([6]), p1);
  a.fromPeer(new Uint8Array([7]), p2);
  assert.equal(toClient.length, 4);
  assert.deepEqual(toClient[3], [0x40, 0x01, 0, 1, 7]);
  a.permit(p1.address);
  a.fromPeer(new Uint8Array([8]), p1);
  assert.equal(toClient.length, 5);
  a.close();
});
