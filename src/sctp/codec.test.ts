import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ParseError } from '../core/errors.js';
import { SeededRandom } from '../core/random.js';
import { parseChunk, serializeChunk } from './chunk-codec.js';
import type { Chunk } from './chunk-types.js';
import { crc32c, sctpChecksum } from './crc32c.js';
import { checksumOk, forEachChunk, parsePacket, serializePacket } from './packet.js';
import {
  forwardTsnSupportedParam,
  stateCookieParam,
  supportedExtensions,
  supportedExtensionsParam,
  zeroChecksumEdmid,
  zeroChecksumParam,
} from './params.js';

const bytes = (...v: number[]): Uint8Array => Uint8Array.from(v);

const SAMPLES: Chunk[] = [
  {
    type: 0,
    unordered: false,
    beginning: true,
    end: true,
    immediate: false,
    tsn: 0xfffffffe,
    streamId: 7,
    seq: 65535,
    fsn: 0,
    ppid: 51,
    payload: bytes(1, 2, 3),
  },
  {
    type: 64,
    unordered: true,
    beginning: false,
    end: true,
    immediate: true,
    tsn: 10,
    streamId: 1,
    seq: 0x12345678,
    fsn: 9,
    ppid: 0,
    payload: bytes(9, 9, 9, 9, 9),
  },
  {
    type: 64,
    unordered: false,
    beginning: true,
    end: false,
    immediate: false,
    tsn: 11,
    streamId: 2,
    seq: 3,
    fsn: 0,
    ppid: 53,
    payload: bytes(1),
  },
  {
    type: 1,
    initiateTag: 0xdeadbeef,
    aRwnd: 1 << 20,
    outboundStreams: 65535,
    inboundStreams: 65535,
    initialTsn: 42,
    params: [supportedExtensionsParam([130, 192, 64, 194]), forwardTsnSupportedParam(), zeroChecksumParam(1)],
  },
  {
    type: 2,
    initiateTag: 1,
    aRwnd: 2,
    outboundStreams: 3,
    inboundStreams: 4,
    initialTsn: 5,
    params: [stateCookieParam(bytes(1, 2, 3, 4, 5)), { type: 0x8123, value: bytes(7) }],
  },
  {
    type: 3,
    cumTsnAck: 100,
    aRwnd: 5000,
    gaps: [
      { start: 2, end: 3 },
      { start: 5, end: 9 },
    ],
    dupTsns: [99, 98],
  },
  { type: 3, cumTsnAck: 0, aRwnd: 0, gaps: [], dupTsns: [] },
  { type: 4, info: bytes(1, 2, 3, 4, 5, 6, 7) },
  { type: 5, info: bytes() },
  { type: 6, reflected: true, causes: [{ code: 12, info: bytes(0x41, 0x42, 0x43) }] },
  { type: 9, reflected: false, causes: [{ code: 6, info: bytes(0xaa, 0, 0, 4) }] },
  { type: 7, cumTsnAck: 12345 },
  { type: 8, reflected: false },
  { type: 11, reflected: false },
  { type: 14, reflected: true },
  { type: 10, cookie: bytes(1, 2, 3, 4, 5, 6) },
  { type: 192, newCumTsn: 77, streams: [{ streamId: 1, ssn: 2 }] },
  { type: 194, newCumTsn: 78, streams: [{ streamId: 3, unordered: true, mid: 0xffffffff }] },
  {
    type: 130,
    params: [
      { type: 13, reqSeq: 1, respSeq: 2, lastTsn: 3, streams: [1, 3, 5] },
      { type: 14, reqSeq: 4, streams: [2] },
    ],
  },
  { type: 130, params: [{ type: 16, respSeq: 9, result: 1 }] },
  { type: 130, params: [{ type: 16, respSeq: 9, result: 1, senderNextTsn: 5, receiverNextTsn: 6 }] },
  { type: 130, params: [{ type: 15, reqSeq: 3 }] },
  { type: 130, params: [{ type: 17, reqSeq: 3, count: 2 }] },
  { type: -1, chunkType: 0x84, flags: 3, body: bytes(1, 2, 3) },
];

test('CRC32c matches the standard check value and RFC 3720 vectors', () => {
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  // slice-by-8 agrees with the bytewise loop at every length and alignment
  const rnd = new SeededRandom(1);
  const data = rnd.bytes(100);
  for (let s = 0; s < 9; s++) {
    for (let e = s; e <= 100; e += 7) {
      let c = 0xffffffff;
      for (let i = s; i < e; i++) {
        c ^= data[i]!;
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      }
      assert.equal(crc32c(data, s, e), ~c >>> 0);
    }
  }
});

test('every chunk round-trips through serialize and parse', () => {
  for (const c of SAMPLES) {
    const wire = serializeChunk(c);
    assert.equal(wire.length % 4, 0);
    const length = (wire[2]! << 8) | wire[3]!;
    const back = parseChunk(wire, 0, length);
    assert.deepEqual(back, c, `chunk type ${c.type}`);
    assert.deepEqual(serializeChunk(back), wire);
  }
});

test('chunk length excludes the padding of the last parameter', () => {
  const wire = serializeChunk({ type: 4, info: bytes(1, 2, 3) });
  assert.equal((wire[2]! << 8) | wire[3]!, 4 + 4 + 3);
  assert.equal(wire.length, 12);
});

test('packets bundle many chunks, carry a CRC32c and detect corruption', () => {
  const packet = { sourcePort: 5000, destinationPort: 5000, verificationTag: 0x01020304, chunks: SAMPLES };
  const wire = serializePacket(packet);
  assert.ok(checksumOk(wire, false));
  assert.equal(
    sctpChecksum(wire),
    (wire[8]! | (wire[9]! << 8) | (wire[10]! << 16) | (wire[11]! << 24)) >>> 0,
  );
  assert.deepEqual(parsePacket(wire), packet);
  let n = 0;
  forEachChunk(wire, () => ++n > 0);
  assert.equal(n, SAMPLES.length);
  const bad = wire.slice();
  bad[20]! ^= 1;
  assert.equal(checksumOk(bad, false), false);
  const zero = serializePacket(packet, { zeroChecksum: true });
  assert.equal(checksumOk(zero, true), true);
  assert.equal(checksumOk(zero, false), false);
});

test('INIT parameter helpers read what they write', () => {
  const params = [supportedExtensionsParam([130, 64]), zeroChecksumParam(1)];
  assert.deepEqual(supportedExtensions(params), [130, 64]);
  assert.equal(zeroChecksumEdmid(params), 1);
  assert.equal(zeroChecksumEdmid([]), undefined);
});

test('malformed chunks throw ParseError', () => {
  const cases: Uint8Array[] = [
    bytes(0, 3, 0, 16, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 51), // DATA without payload
    bytes(3, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0), // SACK gap count past the end
    bytes(4, 0, 0, 8, 0, 2, 0, 4), // HEARTBEAT with a wrong parameter
    bytes(130, 0, 0, 4), // RE-CONFIG without parameters
    bytes(192, 0, 0, 10, 0, 0, 0, 1, 0, 1), // FORWARD-TSN with a half stream entry
  ];
  for (const c of cases) {
    const length = (c[2]! << 8) | c[3]!;
    assert.throws(() => parseChunk(c, 0, length), ParseError);
  }
});

test('fuzz: random and mutated packets parse or throw ParseError, never anything else', () => {
  const rnd = new SeededRandom(0x5c7b);
  const valid = SAMPLES.map((c) =>
    serializePacket({ sourcePort: 1, destinationPort: 2, verificationTag: 3, chunks: [c] }),
  );
  const all = serializePacket({ sourcePort: 1, destinationPort: 2, verificationTag: 3, chunks: SAMPLES });
  valid.push(all);
  let parsed = 0;
  let rejected = 0;
  for (let i = 0; i < 20000; i++) {
    let input: Uint8Array;
    if (i % 4 === 0) input = rnd.bytes(rnd.int(80));
    else {
      input = valid[rnd.int(valid.length)]!.slice();
      const flips = 1 + rnd.int(4);
      for (let f = 0; f < flips; f++) input[12 + rnd.int(Math.max(1, input.length - 12))] = rnd.u32() & 0xff;
      if (rnd.int(5) === 0) input = input.subarray(0, rnd.int(input.length + 1));
    }
    try {
      const p = parsePacket(input);
      // what parses serializes again
      serializePacket(p);
      parsed++;
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      rejected++;
    }
  }
  assert.ok(parsed > 1000 && rejected > 1000, `parsed ${parsed} rejected ${rejected}`);
});
