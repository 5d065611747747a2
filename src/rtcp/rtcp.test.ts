import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromHex, toHex } from '../core/bytes.js';
import { ParseError } from '../core/errors.js';
import { SeededRandom } from '../core/random.js';
import {
  encodeTwccChunks,
  isRtcp,
  ntpMiddle,
  parseRtcp,
  type RtcpPacket,
  SDES_CNAME,
  serializeRtcp,
  type TransportCcFeedback,
} from './index.js';

const roundTrip = (packets: RtcpPacket[]): Uint8Array => {
  const bytes = serializeRtcp(packets);
  assert.deepEqual(parseRtcp(bytes), packets);
  assert.equal(toHex(serializeRtcp(parseRtcp(bytes))), toHex(bytes));
  return bytes;
};

const block = {
  ssrc: 0x0a0b0c0d,
  fractionLost: 25,
  packetsLost: -3,
  highestSequence: 70000,
  jitter: 12,
  lastSr: 0x12345678,
  delaySinceLastSr: 65536,
};

test('SR (RFC 3550 §6.4.1 layout, hand-built) and RR with report blocks', () => {
  // V=2 RC=1 PT=200 length=12 | SSRC | NTP msw | NTP lsw | RTP ts | packets | octets | one report block
  const hand = fromHex(
    '81c8000c' +
      '00000001' +
      'e8d4a510' +
      '80000000' +
      '00015f90' +
      '0000000a' +
      '000003e8' +
      '0a0b0c0d' +
      '19fffffd' +
      '00011170' +
      '0000000c' +
      '12345678' +
      '00010000',
  );
  const [sr] = parseRtcp(hand);
  assert.deepEqual(sr, {
    type: 'sr',
    ssrc: 1,
    ntpSeconds: 0xe8d4a510,
    ntpFraction: 0x80000000,
    rtpTimestamp: 90000,
    packetCount: 10,
    octetCount: 1000,
    reports: [block],
  });
  assert.equal(toHex(serializeRtcp([sr!])), toHex(hand));
  assert.equal(ntpMiddle(0xe8d4a510, 0x80000000), 0xa5108000);
  roundTrip([{ type: 'rr', ssrc: 7, reports: [block, { ...block, ssrc: 9, packetsLost: 0x7fffff }] }]);
  roundTrip([{ type: 'rr', ssrc: 7, reports: [], extension: Uint8Array.of(1, 2, 3, 4) }]);
});

test('compound SR + SDES + BYE + APP with padding on the last packet', () => {
  const packets: RtcpPacket[] = [
    {
      type: 'sr',
      ssrc: 5,
      ntpSeconds: 1,
      ntpFraction: 2,
      rtpTimestamp: 3,
      packetCount: 4,
      octetCount: 5,
      reports: [],
    },
    {
      type: 'sdes',
      chunks: [
        { ssrc: 5, items: [{ type: SDES_CNAME, value: 'abcd' }] },
        { ssrc: 6, items: [{ type: 2, value: 'náme' }] },
      ],
    },
    { type: 'bye', ssrcs: [5, 6], reason: 'done' },
    { type: 'app', subtype: 3, ssrc: 5, name: 'TEST', data: Uint8Array.of(1, 2, 3, 4) },
  ];
  const bytes = roundTrip(packets);
  assert.equal(bytes.length % 4, 0);
  // SDES chunk "abcd": ssrc(4) + type,len,4 chars (6) + END -> 11, padded to 12.
  assert.equal(toHex(bytes.subarray(28, 44)), `82ca000600000005${'0104616263640000'.slice(0, 16)}`);
  // Add 4 bytes of padding to the last packet (P bit, count byte).
  const padded = new Uint8Array(bytes.length + 4);
  padded.set(bytes);
  const lastAt = bytes.length - 16;
  padded[lastAt]! |= 0x20;
  padded[lastAt + 3]! += 1;
  padded[padded.length - 1] = 4;
  const withPadding = parseRtcp(padded);
  assert.deepEqual(withPadding, [...packets.slice(0, -1), { ...packets[packets.length - 1]!, padding: 4 }]);
  assert.equal(toHex(serializeRtcp(withPadding)), toHex(padded), 'padding is kept');
  assert.throws(() => serializeRtcp([{ type: 'pli', senderSsrc: 1, mediaSsrc: 2, padding: 3 }]), RangeError);
  assert.equal(isRtcp(bytes), true);
  assert.equal(isRtcp(fromHex('806f0001')), false);
});

test('feedback: NACK across the wrap, PLI, FIR, REMB', () => {
  const nack = roundTrip([{ type: 'nack', senderSsrc: 1, mediaSsrc: 2, lost: [65534, 65535, 0, 14, 40] }]);
  // 65534 carries 65535, 0 and 14 in its bitmask (offsets 1, 2, 16); 40 starts a new pair.
  assert.equal(toHex(nack.subarray(12)), 'fffe8003' + '00280000');
  roundTrip([{ type: 'pli', senderSsrc: 1, mediaSsrc: 2 }]);
  roundTrip([
    {
      type: 'fir',
      senderSsrc: 1,
      entries: [
        { ssrc: 2, sequenceNumber: 7 },
        { ssrc: 3, sequenceNumber: 255 },
      ],
    },
  ]);
  const remb = roundTrip([{ type: 'remb', senderSsrc: 1, bitrate: 1_000_000, ssrcs: [0xaabbccdd] }]);
  // 1e6 = 250000 * 2^2 -> exp 2, mantissa 250000 (0x3d090).
  assert.equal(toHex(remb.subarray(16, 20)), `01${((2 << 18) | 250000).toString(16).padStart(6, '0')}`);
  const big = parseRtcp(serializeRtcp([{ type: 'remb', senderSsrc: 1, bitrate: 123_456_789, ssrcs: [] }]))[0];
  assert.ok(big?.type === 'remb' && Math.abs(big.bitrate - 123_456_789) / 123_456_789 < 1e-5);
});

function twcc(statuses: (number | null)[], base = 65530): TransportCcFeedback {
  return {
    type: 'twcc',
    senderSsrc: 1,
    mediaSsrc: 2,
    baseSequenceNumber: base,
    referenceTime: 0xabcdef,
    feedbackPacketCount: 9,
    packets: statuses.map((d, i) =>
      d === null
        ? { sequenceNumber: (base + i) & 0xffff, received: false }
        : { sequenceNumber: (base + i) & 0xffff, received: true, delta: d },
    ),
  };
}

test('TWCC: run-length and status-vector chunks, small/large/negative deltas', () => {
  const cases: (number | null)[][] = [
    [1, 2, 3],
    Array(100).fill(4),
    Array(20).fill(null).concat([5]),
    [1, null, 2, null, 3, null, 4, null, 5, null, 6, null, 7, null, 8, 9],
    [300, -4, null, 1, 2, 1000, null, null, -32768, 32767],
    [],
  ];
  for (const c of cases) roundTrip([twcc(c)]);
  // 14 alternating small/not-received symbols fit one 1-bit vector; a large delta forces 2-bit vectors.
  assert.deepEqual(
    encodeTwccChunks([1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1]).map((c) => c.toString(16)),
    ['aaaa', '2002'],
  );
  assert.deepEqual(
    encodeTwccChunks([2, 1, 0, 1]).map((c) => c.toString(16)),
    ['e440'],
  );
  assert.deepEqual(
    encodeTwccChunks(Array(8191 + 5).fill(1)).map((c) => c.toString(16)),
    ['3fff', '2005'],
  );
  assert.throws(() => serializeRtcp([twcc([40000])]), RangeError);
});

test('RFC 8888 congestion control feedback', () => {
  roundTrip([
    {
      type: 'ccfb',
      senderSsrc: 1,
      reportTimestamp: 0x11223344,
      streams: [
        {
          ssrc: 2,
          beginSequence: 65535,
          reports: [
            { received: true, ecn: 1, arrivalTimeOffset: 100 },
            { received: false, ecn: 0, arrivalTimeOffset: 0 },
            { received: true, ecn: 3, arrivalTimeOffset: 0x1ffe },
          ],
        },
        {
          ssrc: 3,
          beginSequence: 7,
          reports: [
            { received: true, ecn: 0, arrivalTimeOffset: 1 },
            { received: true, ecn: 0, arrivalTimeOffset: 2 },
          ],
        },
      ],
    },
  ]);
  roundTrip([{ type: 'ccfb', senderSsrc: 1, reportTimestamp: 5, streams: [] }]);
});

test('unknown packet types and feedback formats are kept raw (XR, TMMBR)', () => {
  roundTrip([
    { type: 'unknown', packetType: 207, count: 0, body: fromHex('0000000104000002' + '0000000100000002') },
    { type: 'unknown', packetType: 205, count: 3, body: fromHex('000000010000000200000003') },
  ]);
});

test('malformed datagrams throw ParseError', () => {
  for (const hex of [
    '',
    '81',
    '40c80000',
    '81c80001',
    '81c9000100000001',
    'a1c9000100000001',
    '81c90000' + '00000000',
    '81cd000100000001',
    '8fcf0002000000010000000200000003ffff',
  ]) {
    assert.throws(() => parseRtcp(fromHex(hex)), ParseError, hex);
  }
});

test('werift parses what we write', async () => {
  const w = (await import('werift')) as unknown as {
    RtcpPacketConverter: { deSerialize(b: Buffer): Record<string, unknown>[] };
  };
  const ours = serializeRtcp([
    {
      type: 'sr',
      ssrc: 5,
      ntpSeconds: 1,
      ntpFraction: 2,
      rtpTimestamp: 3,
      packetCount: 4,
      octetCount: 5,
      reports: [block],
    },
    { type: 'remb', senderSsrc: 1, bitrate: 500_000, ssrcs: [7] },
    twcc([1, null, 300, -4, 2], 100),
    // Last: werift's NACK reader runs to the end of the datagram.
    { type: 'nack', senderSsrc: 1, mediaSsrc: 2, lost: [10, 12, 30] },
  ]);
  const theirs = w.RtcpPacketConverter.deSerialize(Buffer.from(ours)) as {
    ssrc?: number;
    senderInfo?: { packetCount: number };
    reports?: { packetsLost: number }[];
    feedback?: {
      lost?: number[];
      bitrate?: bigint;
      recvDeltas?: { delta: number }[];
      packetStatusCount?: number;
    };
  }[];
  assert.equal(theirs.length, 4);
  assert.equal(theirs[0]?.ssrc, 5);
  assert.equal(theirs[0]?.senderInfo?.packetCount, 4);
  assert.deepEqual(theirs[3]?.feedback?.lost, [10, 12, 30]);
  assert.equal(theirs[1]?.feedback?.bitrate, 500000n);
  assert.equal(theirs[2]?.feedback?.packetStatusCount, 5);
  assert.deepEqual(
    theirs[2]?.feedback?.recvDeltas?.map((d) => d.delta),
    [250, 75000, -1000, 500],
  );
});

test('fuzz: random and mutated RTCP gives packets or ParseError; values round-trip', () => {
  const rnd = new SeededRandom(4585);
  const seeds = [
    serializeRtcp([
      {
        type: 'sr',
        ssrc: 5,
        ntpSeconds: 1,
        ntpFraction: 2,
        rtpTimestamp: 3,
        packetCount: 4,
        octetCount: 5,
        reports: [block],
      },
      { type: 'sdes', chunks: [{ ssrc: 5, items: [{ type: 1, value: 'x' }] }] },
    ]),
    serializeRtcp([twcc([1, null, 300, -4, 2, null, null, 7])]),
    serializeRtcp([
      { type: 'nack', senderSsrc: 1, mediaSsrc: 2, lost: [1, 2, 3] },
      { type: 'fir', senderSsrc: 1, entries: [{ ssrc: 2, sequenceNumber: 1 }] },
    ]),
    serializeRtcp([
      { type: 'remb', senderSsrc: 1, bitrate: 1e6, ssrcs: [1, 2] },
      {
        type: 'ccfb',
        senderSsrc: 1,
        reportTimestamp: 1,
        streams: [{ ssrc: 2, beginSequence: 1, reports: [{ received: true, ecn: 0, arrivalTimeOffset: 3 }] }],
      },
    ]),
  ];
  let ok = 0;
  for (let i = 0; i < 20000; i++) {
    let input: Uint8Array;
    if (i % 4 === 0) input = rnd.bytes(rnd.int(80));
    else {
      input = Uint8Array.from(seeds[rnd.int(seeds.length)]!);
      for (let k = 0; k < 1 + rnd.int(3); k++) input[rnd.int(input.length)] = rnd.u32() & 0xff;
      if (rnd.int(4) === 0) input = input.subarray(0, rnd.int(input.length + 1));
    }
    let packets: RtcpPacket[];
    try {
      packets = parseRtcp(input);
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      continue;
    }
    ok++;
    let again: Uint8Array;
    try {
      again = serializeRtcp(packets);
    } catch (e) {
      // A parsed value that cannot be written back (e.g. a TWCC delta symbol 3 is rejected at parse).
      if (e instanceof RangeError) continue;
      throw e;
    }
    // Unknown bodies shortened by padding come back padded with zeros; after that, stable.
    const reparsed = parseRtcp(again);
    assert.deepEqual(parseRtcp(serializeRtcp(reparsed)), reparsed);
    if (!packets.some((p) => p.type === 'unknown')) assert.deepEqual(reparsed, packets);
  }
  assert.ok(ok > 2000, `${ok} parsed`);
});
