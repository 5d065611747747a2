/** Round trips, typed attributes, and seeded fuzz of the STUN codec. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toHex } from '../core/bytes.js';
import { ParseError } from '../core/errors.js';
import { SeededRandom } from '../core/random.js';
import { attr, decode, read, unknownComprehensionRequired } from './attributes.js';
import { ATTR, KNOWN_ATTRIBUTES, METHOD, type StunClass } from './constants.js';
import { crc32, crc32Range, crc32Table } from './crc32.js';
import { longTermKey, shortTermKey, userHash, verifyIntegrity, verifyIntegritySha256 } from './integrity.js';
import { bytesToIp, ipToBytes } from './ip.js';
import {
  createMessage,
  decodeMessageType,
  encodeMessageType,
  isStunMessage,
  parseStunMessage,
  type StunMessage,
} from './message.js';
import { serializeStunMessage } from './serialize.js';

const rnd = new SeededRandom(5769);
const tid = (): Uint8Array => rnd.bytes(12);

test('message type interleaves method and class bits (RFC 8489 §5)', () => {
  assert.equal(encodeMessageType(METHOD.BINDING, 'request'), 0x0001);
  assert.equal(encodeMessageType(METHOD.BINDING, 'success'), 0x0101);
  assert.equal(encodeMessageType(METHOD.BINDING, 'error'), 0x0111);
  assert.equal(encodeMessageType(METHOD.BINDING, 'indication'), 0x0011);
  assert.equal(encodeMessageType(METHOD.ALLOCATE, 'request'), 0x0003);
  assert.equal(encodeMessageType(METHOD.SEND, 'indication'), 0x0016);
  assert.equal(encodeMessageType(METHOD.DATA, 'indication'), 0x0017);
  assert.equal(encodeMessageType(METHOD.CHANNEL_BIND, 'error'), 0x0119);
  for (let m = 0; m < 0x1000; m += 7) {
    for (const c of ['request', 'indication', 'success', 'error'] as StunClass[]) {
      assert.deepEqual(decodeMessageType(encodeMessageType(m, c)), { method: m, cls: c });
    }
  }
});

test('IP text <-> bytes, IPv6 compressed as RFC 5952', () => {
  const cases = [
    '0.0.0.0',
    '255.255.255.255',
    '10.1.2.3',
    '::',
    '::1',
    '2001:db8::1',
    'fe80::1:0:0:1',
    '1:2:3:4:5:6:7:8',
  ];
  for (const c of cases) assert.equal(bytesToIp(ipToBytes(c)!), c);
  assert.equal(bytesToIp(ipToBytes('2001:0db8:0000:0000:0000:0000:0000:0001')!), '2001:db8::1');
  assert.equal(bytesToIp(ipToBytes('1:0:0:2:0:0:0:3')!), '1:0:0:2::3');
  assert.equal(bytesToIp(ipToBytes('::ffff:1.2.3.4')!), '::ffff:1.2.3.4');
  for (const bad of ['1.2.3', '1.2.3.256', 'a.b.c.d', '1::2::3', '1:2:3:4:5:6:7:8:9', 'g::', '']) {
    assert.equal(ipToBytes(bad), undefined, bad);
  }
});

test('crc32: native and table implementations agree', () => {
  for (let i = 0; i < 50; i++) {
    const b = rnd.bytes(rnd.int(300));
    assert.equal(crc32(b), crc32Table(b));
    const start = rnd.int(b.length + 1);
    const end = start + rnd.int(b.length - start + 1);
    assert.equal(crc32Range(b, start, end), crc32(b.subarray(start, end)));
  }
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
});

function everyAttribute(t: Uint8Array): StunMessage['attributes'] {
  return [
    attr.mappedAddress({ address: '192.0.2.1', port: 1 }),
    attr.xorMappedAddress({ address: '2001:db8::5', port: 65535 }, t),
    attr.xorPeerAddress({ address: '198.51.100.7', port: 3478 }, t),
    attr.xorRelayedAddress({ address: '::1', port: 40000 }, t),
    attr.alternateServer({ address: '203.0.113.9', port: 3479 }),
    attr.responseOrigin({ address: '203.0.113.1', port: 3478 }),
    attr.otherAddress({ address: '203.0.113.2', port: 3479 }),
    attr.username('user:name'),
    attr.userhash(userHash('u', 'r')),
    attr.realm('example.org'),
    attr.nonce('nonce-1'),
    attr.software('rtcstack test'),
    attr.alternateDomain('turn.example.org'),
    attr.errorCode(438, 'Stale Nonce'),
    attr.unknownAttributes([0x0031, 0x0042]),
    attr.passwordAlgorithms([
      { algorithm: 2, parameters: new Uint8Array(0) },
      { algorithm: 1, parameters: new Uint8Array([1, 2, 3]) },
    ]),
    attr.passwordAlgorithm({ algorithm: 1, parameters: new Uint8Array(0) }),
    attr.priority(0x6e0001ff),
    attr.useCandidate(),
    attr.iceControlled(0xfedcba9876543210n),
    attr.iceControlling(1n),
    attr.changeRequest({ changeIp: true, changePort: false }),
    attr.responsePort(5000),
    attr.padding(7),
    attr.channelNumber(0x4001),
    attr.lifetime(600),
    attr.data(new Uint8Array([9, 8, 7])),
    attr.requestedAddressFamily(2),
    attr.additionalAddressFamily(2),
    attr.evenPort(true),
    attr.requestedTransport(17),
    attr.dontFragment(),
    attr.reservationToken(new Uint8Array(8).fill(3)),
    attr.addressErrorCode({ family: 2, code: 440, reason: 'Address Family not Supported' }),
    attr.icmp({ type: 3, code: 1, data: 0x12345678 }),
    attr.connectionId(0xdeadbeef),
  ];
}

test('every attribute round-trips through serialize and parse', () => {
  const t = tid();
  const msg = createMessage(METHOD.ALLOCATE, 'request', t, everyAttribute(t));
  const key = longTermKey('u', 'r', 'p');
  const bytes = serializeStunMessage(msg, { integrity: key, integritySha256: key, fingerprint: true });
  assert.ok(isStunMessage(bytes));
  const m = parseStunMessage(bytes);
  assert.ok(verifyIntegrity(m, key));
  assert.ok(verifyIntegritySha256(m, key));
  assert.deepEqual(read.mappedAddress(m), { address: '192.0.2.1', port: 1 });
  assert.deepEqual(read.xorMappedAddress(m), { address: '2001:db8::5', port: 65535 });
  assert.deepEqual(read.xorPeerAddress(m), { address: '198.51.100.7', port: 3478 });
  assert.deepEqual(read.xorRelayedAddress(m), { address: '::1', port: 40000 });
  assert.deepEqual(read.alternateServer(m), { address: '203.0.113.9', port: 3479 });
  assert.deepEqual(read.responseOrigin(m), { address: '203.0.113.1', port: 3478 });
  assert.deepEqual(read.otherAddress(m), { address: '203.0.113.2', port: 3479 });
  assert.equal(read.username(m), 'user:name');
  assert.deepEqual(read.userhash(m), userHash('u', 'r'));
  assert.equal(read.realm(m), 'example.org');
  assert.equal(read.nonce(m), 'nonce-1');
  assert.equal(read.software(m), 'rtcstack test');
  assert.equal(read.alternateDomain(m), 'turn.example.org');
  assert.deepEqual(read.errorCode(m), { code: 438, reason: 'Stale Nonce' });
  assert.deepEqual(read.unknownAttributes(m), [0x0031, 0x0042]);
  assert.equal(read.passwordAlgorithms(m)?.length, 2);
  assert.deepEqual([...read.passwordAlgorithms(m)![1]!.parameters], [1, 2, 3]);
  assert.equal(read.passwordAlgorithm(m)?.algorithm, 1);
  assert.equal(read.priority(m), 0x6e0001ff);
  assert.equal(read.useCandidate(m), true);
  assert.equal(read.iceControlled(m), 0xfedcba9876543210n);
  assert.equal(read.iceControlling(m), 1n);
  assert.deepEqual(read.changeRequest(m), { changeIp: true, changePort: false });
  assert.equal(read.responsePort(m), 5000);
  assert.equal(read.padding(m)?.length, 7);
  assert.equal(read.channelNumber(m), 0x4001);
  assert.equal(read.lifetime(m), 600);
  assert.deepEqual([...read.data(m)!], [9, 8, 7]);
  assert.equal(read.requestedAddressFamily(m), 2);
  assert.equal(read.additionalAddressFamily(m), 2);
  assert.equal(read.evenPort(m), true);
  assert.equal(read.requestedTransport(m), 17);
  assert.equal(read.dontFragment(m), true);
  assert.deepEqual([...read.reservationToken(m)!], new Array(8).fill(3));
  assert.deepEqual(read.addressErrorCode(m), {
    family: 2,
    code: 440,
    reason: 'Address Family not Supported',
  });
  assert.deepEqual(read.icmp(m), { type: 3, code: 1, data: 0x12345678 });
  assert.equal(read.connectionId(m), 0xdeadbeef);
  // serialize(parse(x)) == x
  assert.equal(toHex(serializeStunMessage(m)), toHex(bytes));
  assert.deepEqual(unknownComprehensionRequired(m, KNOWN_ATTRIBUTES), []);
});

test('unknown attributes are kept, comprehension-required ones are reported', () => {
  const t = tid();
  const msg = createMessage(METHOD.BINDING, 'request', t, [
    { type: 0x7fff, value: new Uint8Array([1]) },
    { type: 0xc001, value: new Uint8Array([2, 2]) },
  ]);
  const m = parseStunMessage(serializeStunMessage(msg, { fingerprint: true }));
  assert.equal(m.attributes.length, 3);
  assert.deepEqual(unknownComprehensionRequired(m, KNOWN_ATTRIBUTES), [0x7fff]);
});

test('structural errors are ParseErrors', () => {
  const ok = serializeStunMessage(createMessage(METHOD.BINDING, 'request', tid(), [attr.software('x')]));
  const cases: [string, (b: Uint8Array) => void][] = [
    ['top bits', (b) => (b[0] = 0x40)],
    ['cookie', (b) => (b[4] = 0)],
    ['length not multiple of 4', (b) => (b[3] = b[3]! + 1)],
    ['attribute longer than message', (b) => (b[23] = 200)],
  ];
  for (const [name, mutate] of cases) {
    const b = ok.slice();
    mutate(b);
    assert.throws(() => parseStunMessage(b), ParseError, name);
    assert.equal(isStunMessage(b), name === 'attribute longer than message', name);
  }
  assert.throws(() => parseStunMessage(ok.subarray(0, 19)), ParseError);
  assert.throws(() => parseStunMessage(ok.subarray(0, ok.length - 4)), ParseError);
  // Attribute after FINGERPRINT.
  const fp = serializeStunMessage(createMessage(METHOD.BINDING, 'request', tid(), []), { fingerprint: true });
  const after = new Uint8Array(fp.length + 4);
  after.set(fp);
  after.set([0x80, 0x22, 0, 0], fp.length);
  after[3] = after.length - 20;
  assert.throws(() => parseStunMessage(after, { checkFingerprint: false }), ParseError);
});

test('malformed attribute values are ParseErrors from the decoders', () => {
  const bad: [string, () => unknown][] = [
    ['address family', () => decode.address(new Uint8Array([0, 3, 0, 1, 1, 2, 3, 4]))],
    ['address short', () => decode.address(new Uint8Array([0, 1, 0, 1, 1, 2]))],
    ['address long', () => decode.address(new Uint8Array([0, 1, 0, 1, 1, 2, 3, 4, 5]))],
    ['error class', () => decode.errorCode(new Uint8Array([0, 0, 7, 0]))],
    ['error number', () => decode.errorCode(new Uint8Array([0, 0, 4, 100]))],
    ['unknown odd', () => decode.unknownAttributes(new Uint8Array(3))],
    ['priority', () => decode.priority(new Uint8Array(3))],
    ['tiebreaker', () => decode.tieBreaker(new Uint8Array(4))],
    ['utf8', () => decode.username(new Uint8Array([0xff, 0xfe]))],
    ['username long', () => decode.username(new Uint8Array(514).fill(0x61))],
    ['userhash', () => decode.userhash(new Uint8Array(31))],
    ['even port', () => decode.evenPort(new Uint8Array(2))],
    ['icmp', () => decode.icmp(new Uint8Array(7))],
    ['password algorithm', () => decode.passwordAlgorithm(new Uint8Array(0))],
  ];
  for (const [name, f] of bad) assert.throws(f, ParseError, name);
});

/** Every decoder, applied to whatever attributes a fuzzed message has. */
function decodeAll(m: StunMessage): void {
  for (const f of Object.values(read)) {
    try {
      (f as (m: StunMessage) => unknown)(m);
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
    }
  }
}

function fuzzOne(b: Uint8Array): void {
  let m: ReturnType<typeof parseStunMessage>;
  try {
    m = parseStunMessage(b);
  } catch (e) {
    if (e instanceof ParseError) return;
    throw e;
  }
  decodeAll(m);
  verifyIntegrity(m, shortTermKey('x'));
  verifyIntegritySha256(m, shortTermKey('x'));
  // Re-serializing a parsed message parses again to the same attributes.
  const again = parseStunMessage(serializeStunMessage(m), { checkFingerprint: false });
  assert.equal(again.attributes.length, m.attributes.length);
}

test('fuzz: random bytes give a message or a ParseError', () => {
  const r = new SeededRandom(1);
  for (let i = 0; i < 20000; i++) {
    const len = r.int(120);
    const b = r.bytes(len);
    // Half the time, make the header plausible so the attribute parser gets exercised.
    if (r.float() < 0.5 && len >= 20) {
      b[0]! &= 0x3f;
      b[2] = 0;
      b[3] = (len - 20) & ~3;
      b.set([0x21, 0x12, 0xa4, 0x42], 4);
      fuzzOne(b.subarray(0, 20 + b[3]!));
    } else fuzzOne(b);
  }
});

test('fuzz: mutated valid messages give a message or a ParseError', () => {
  const r = new SeededRandom(2);
  const t = tid();
  const seeds = [
    serializeStunMessage(createMessage(METHOD.ALLOCATE, 'request', t, everyAttribute(t)), {
      integrity: shortTermKey('x'),
      fingerprint: true,
    }),
    serializeStunMessage(
      createMessage(METHOD.BINDING, 'request', t, [attr.priority(1), attr.useCandidate()]),
      {
        integrity: shortTermKey('x'),
      },
    ),
    serializeStunMessage(
      createMessage(METHOD.BINDING, 'success', t, [attr.xorMappedAddress({ address: '::2', port: 9 }, t)]),
    ),
  ];
  for (let i = 0; i < 20000; i++) {
    const b = seeds[i % seeds.length]!.slice();
    const n = 1 + r.int(4);
    for (let k = 0; k < n; k++) {
      const at = r.int(b.length);
      const op = r.int(3);
      if (op === 0) b[at] = r.int(256);
      else if (op === 1) b[at]! ^= 1 << r.int(8);
      else b[at] = 0;
    }
    const cut = r.float() < 0.2 ? r.int(b.length + 1) : b.length;
    fuzzOne(b.subarray(0, cut));
    fuzzOne(b.subarray(0, cut)); // deterministic: same input, same outcome
  }
});

test('ATTR table has no duplicate codes', () => {
  const values = Object.values(ATTR);
  assert.equal(new Set(values).size, values.length);
});
