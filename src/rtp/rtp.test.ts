import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromHex, toHex } from '../core/bytes.js';
import { ParseError } from '../core/errors.js';
import { SeededRandom } from '../core/random.js';
import {
  absSendTimeFromMs,
  absSendTimeToMs,
  findExtension,
  layoutRtp,
  newRtpLayout,
  parseAbsSendTime,
  parseAudioLevel,
  parseDependencyDescriptor,
  parseRtp,
  parseSdesExtension,
  parseTransportCc,
  parseVideoOrientation,
  type RtpPacket,
  rtpPacketSize,
  serializeAbsSendTime,
  serializeAudioLevel,
  serializeRtp,
  serializeRtpInto,
  serializeRtpLaidOut,
  serializeSdesExtension,
  serializeTransportCc,
  serializeVideoOrientation,
  TWO_BYTE_PROFILE,
} from './index.js';

// Built from the RFC 3550 §5.1 and RFC 8285 §4.2 diagrams: V=2 X=1 CC=1 M=1 PT=111,
// seq 0x1234, ts 0xdeadbeef, SSRC 0x01020304, CSRC 0x0a0b0c0d, one-byte block with
// id 1 len 1 (0x1122), id 3 len 3 (0xaabbccdd) -> 8 bytes = 2 words.
const HAND = fromHex('91ef1234deadbeef010203040a0b0c0dbede0002' + '111122' + '33aabbccdd' + 'cafe');

test('parse a hand-built packet from the RFC diagrams', () => {
  const p = parseRtp(HAND);
  assert.equal(p.marker, true);
  assert.equal(p.payloadType, 111);
  assert.equal(p.sequenceNumber, 0x1234);
  assert.equal(p.timestamp, 0xdeadbeef);
  assert.equal(p.ssrc, 0x01020304);
  assert.deepEqual(p.csrcs, [0x0a0b0c0d]);
  assert.equal(p.extensionProfile, 0xbede);
  assert.deepEqual(
    p.extensions.map((e) => [e.id, toHex(e.data)]),
    [
      [1, '1122'],
      [3, 'aabbccdd'],
    ],
  );
  assert.equal(toHex(p.payload), 'cafe');
  assert.equal(p.payload.buffer, HAND.buffer, 'payload is a view');
  assert.equal(toHex(serializeRtp(p)), toHex(HAND));
});

test('padding, two-byte extensions, unknown profiles, serializeInto at an offset', () => {
  const base: RtpPacket = {
    marker: false,
    payloadType: 96,
    sequenceNumber: 65535,
    timestamp: 1,
    ssrc: 0xffffffff,
    csrcs: [],
    extensions: [
      { id: 20, data: Uint8Array.of(1, 2) },
      { id: 2, data: new Uint8Array(0) },
    ],
    payload: Uint8Array.of(9, 9, 9),
    paddingSize: 5,
  };
  const bytes = serializeRtp(base);
  assert.equal(bytes[0]! & 0x20, 0x20);
  assert.equal(bytes[bytes.length - 1], 5);
  const p = parseRtp(bytes);
  assert.equal(p.extensionProfile, TWO_BYTE_PROFILE);
  assert.deepEqual(
    p.extensions.map((e) => [e.id, e.data.length]),
    [
      [20, 2],
      [2, 0],
    ],
  );
  assert.equal(p.paddingSize, 5);
  assert.deepEqual([...p.payload], [9, 9, 9]);
  const out = new Uint8Array(200).fill(0xee);
  const n = serializeRtpInto(p, out, 17);
  assert.equal(n, rtpPacketSize(p));
  assert.equal(toHex(out.subarray(17, 17 + n)), toHex(bytes));
  assert.equal(out[16], 0xee);
  const raw = parseRtp(fromHex('900000010000000000000001abcd0001deadbeef00'));
  assert.equal(raw.extensionProfile, 0xabcd);
  assert.equal(toHex(raw.extensionData!), 'deadbeef');
  assert.equal(toHex(serializeRtp(raw)), '900000010000000000000001abcd0001deadbeef00');
  // One-byte ID 15 stops parsing (RFC 8285 §4.2).
  const stop = parseRtp(fromHex('900000010000000000000001bede000120aaf000'));
  assert.deepEqual(
    stop.extensions.map((e) => e.id),
    [2],
  );
});

test('layoutRtp: size and extension block once, then serializeRtpLaidOut writes what serializeRtp does', () => {
  const base: RtpPacket = {
    marker: false,
    payloadType: 96,
    sequenceNumber: 1,
    timestamp: 2,
    ssrc: 3,
    csrcs: [],
    extensions: [],
    payload: Uint8Array.of(0xff),
    paddingSize: 0,
  };
  const head = '906000010000000200000003';
  const cases: [RtpPacket, number, number, string][] = [
    // No block; an empty one-byte block kept (profile given, no elements).
    [base, 0, -1, `${head.replace(/^90/, '80')}ff`],
    [{ ...base, extensionProfile: 0xbede }, 0xbede, 0, `${head}bede0000ff`],
    // One-byte elements fit: 1 + 1 and 1 + 3 bytes, padded to 8.
    [
      {
        ...base,
        extensions: [
          { id: 1, data: Uint8Array.of(0x11) },
          { id: 3, data: Uint8Array.of(1, 2, 3) },
        ],
      },
      0xbede,
      8,
      `${head}bede00021011320102030000ff`,
    ],
    // A given two-byte profile (app bits 3) is kept though the element would fit one byte.
    [
      { ...base, extensionProfile: 0x1003, extensions: [{ id: 1, data: Uint8Array.of(0xaa) }] },
      0x1003,
      4,
      `${head}100300010101aa00ff`,
    ],
    // An id above 14 or an empty element needs the two-byte form.
    [
      {
        ...base,
        extensions: [
          { id: 20, data: Uint8Array.of(7) },
          { id: 2, data: new Uint8Array(0) },
        ],
      },
      TWO_BYTE_PROFILE,
      8,
      `${head}100000021401070200000000ff`,
    ],
    // A raw block of another profile, padded.
    [
      { ...base, extensionProfile: 0xabcd, extensionData: Uint8Array.of(1, 2, 3, 4, 5) },
      0xabcd,
      8,
      `${head}abcd00020102030405000000ff`,
    ],
  ];
  const layout = newRtpLayout();
  for (const [p, profile, extSize, hex] of cases) {
    const n = layoutRtp(p, layout);
    assert.equal(n, hex.length / 2);
    assert.equal(layout.size, n);
    assert.equal(layout.extSize, extSize);
    if (extSize >= 0) assert.equal(layout.extProfile, profile);
    const out = new Uint8Array(n + 9).fill(0xee);
    assert.equal(serializeRtpLaidOut(p, layout, out, 9), n);
    assert.equal(toHex(out.subarray(9)), hex);
    assert.equal(toHex(serializeRtp(p)), hex);
    assert.equal(rtpPacketSize(p), n);
  }
});

test('malformed packets throw ParseError', () => {
  for (const hex of [
    '',
    '80',
    '8000000100000000000000',
    '40000001000000000000000100', // version 1
    '81000001000000000000000100', // CC=1 but no CSRC
    '900000010000000000000001bede0005', // extension length past the end
    'a0000001000000000000000100', // padding count 0
    'a000000100000000000000010009', // padding count 9 > 2
    '900000010000000000000001bede000131aa', // element longer than the block
  ]) {
    assert.throws(() => parseRtp(fromHex(hex)), ParseError, hex);
  }
});

test('extension values: mid/rid, abs-send-time, transport-cc, audio level, orientation', () => {
  assert.equal(parseSdesExtension(serializeSdesExtension('h')), 'h');
  assert.equal(parseSdesExtension(Uint8Array.of(0x31, 0, 0)), '1');
  assert.throws(() => parseSdesExtension(Uint8Array.of(0xff, 0xfe)), ParseError);
  const ast = absSendTimeFromMs(1500);
  assert.equal(ast, 1.5 * 2 ** 18);
  assert.equal(parseAbsSendTime(serializeAbsSendTime(ast)), ast);
  assert.equal(absSendTimeToMs(ast), 1500);
  assert.equal(absSendTimeFromMs(64000), 0, 'wraps every 64 s');
  assert.equal(parseTransportCc(serializeTransportCc(0xfffe)), 0xfffe);
  assert.deepEqual(parseAudioLevel(Uint8Array.of(0x9e)), { voiceActivity: true, level: 30 });
  assert.deepEqual([...serializeAudioLevel({ voiceActivity: false, level: 127 })], [0x7f]);
  const o = { camera: 1 as const, flip: true, rotation: 270 as const };
  assert.deepEqual(parseVideoOrientation(serializeVideoOrientation(o)), o);
  assert.deepEqual(parseVideoOrientation(Uint8Array.of(0x01)), { camera: 0, flip: false, rotation: 90 });
  for (const f of [parseAbsSendTime, parseTransportCc, parseAudioLevel, parseVideoOrientation]) {
    assert.throws(() => f(new Uint8Array(0)), ParseError);
  }
});

/** Bit writer for building descriptors per the AV1 RTP spec syntax in tests. */
class Bits {
  out: number[] = [];
  n = 0;
  put(v: number, w: number): this {
    for (let i = w - 1; i >= 0; i--) {
      if (this.n % 8 === 0) this.out.push(0);
      if ((v >> i) & 1) this.out[this.out.length - 1]! |= 0x80 >> (this.n % 8);
      this.n++;
    }
    return this;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

test('dependency descriptor: L1T2 structure on a keyframe, then a delta frame', () => {
  // Keyframe: start+end, template id 0, frame 100, structure: offset 0, 2 decode targets,
  // templates (S0T0, S0T0, S0T1), dtis, fdiffs, one chain, no resolutions.
  const b = new Bits().put(1, 1).put(1, 1).put(0, 6).put(100, 16);
  b.put(1, 1).put(0, 1).put(0, 1).put(0, 1).put(0, 1); // structure present, no active/custom
  b.put(0, 6).put(1, 5); // template_id_offset 0, dt_cnt_minus_one 1
  b.put(0, 2).put(1, 2).put(3, 2); // S0T0, S0T0 -> next temporal -> S0T1, end
  b.put(2, 2).put(2, 2); // template 0 dtis: switch, switch
  b.put(3, 2).put(3, 2); // template 1: required, required
  b.put(0, 2).put(1, 2); // template 2: not present, discardable
  b.put(0, 1); // template 0 no fdiffs
  b.put(1, 1).put(1, 4).put(0, 1); // template 1: fdiff 2
  b.put(1, 1).put(0, 4).put(0, 1); // template 2: fdiff 1
  b.put(1, 1).put(0, 1); // chain_cnt = ns(3): w=2, m=1, v=1 >= m, extra 0 -> (1<<1) - 1 + 0 = 1
  b.put(0, 0); // decode_target_protected_by: ns(1) reads 0 bits
  b.put(0, 4).put(2, 4).put(1, 4); // chain fdiffs per template
  b.put(0, 1); // no resolutions
  const key = parseDependencyDescriptor(b.bytes());
  assert.equal(key.startOfFrame && key.endOfFrame, true);
  assert.equal(key.frameNumber, 100);
  const s = key.structure!;
  assert.equal(s.decodeTargetCount, 2);
  assert.deepEqual(
    s.templates.map((t) => [t.spatialId, t.temporalId]),
    [
      [0, 0],
      [0, 0],
      [0, 1],
    ],
  );
  assert.deepEqual(
    s.templates.map((t) => t.fdiffs),
    [[], [2], [1]],
  );
  assert.equal(s.chainCount, 1);
  assert.deepEqual(s.decodeTargetProtectedBy, [0, 0]);
  assert.deepEqual(
    s.templates.map((t) => t.chainFdiffs),
    [[0], [2], [1]],
  );
  assert.deepEqual(s.decodeTargetLayers, [
    { spatialId: 0, temporalId: 0 },
    { spatialId: 0, temporalId: 1 },
  ]);
  assert.equal(key.activeDecodeTargets, 3);
  assert.deepEqual(key.frame?.dtis, [2, 2]);
  // A 3-byte delta frame using template 2 resolves against the known structure.
  const delta = parseDependencyDescriptor(new Bits().put(1, 1).put(0, 1).put(2, 6).put(101, 16).bytes(), s);
  assert.deepEqual([delta.frame?.temporalId, delta.frame?.fdiffs, delta.structure], [1, [1], undefined]);
  assert.equal(parseDependencyDescriptor(Uint8Array.of(0x80, 0, 7)).frameNumber, 7);
  assert.throws(() => parseDependencyDescriptor(Uint8Array.of(0x80, 0)), ParseError);
  assert.throws(() => parseDependencyDescriptor(Uint8Array.of(0x85, 0, 7), s), ParseError, 'template 5 of 3');
});

test('werift builds packets we parse, and parses ours', async () => {
  const w = (await import('werift')) as unknown as {
    RtpPacket: {
      deSerialize(b: Buffer): { header: Record<string, unknown>; payload: Buffer; serialize(): Buffer };
    };
  };
  const ours = serializeRtp({
    marker: true,
    payloadType: 100,
    sequenceNumber: 4242,
    timestamp: 90000,
    ssrc: 0x12345678,
    csrcs: [7],
    extensions: [
      { id: 1, data: serializeSdesExtension('0') },
      { id: 4, data: serializeTransportCc(77) },
    ],
    payload: new Uint8Array(100).fill(3),
    paddingSize: 0,
  });
  const theirs = w.RtpPacket.deSerialize(Buffer.from(ours));
  assert.equal(theirs.header.sequenceNumber, 4242);
  assert.equal(theirs.header.ssrc, 0x12345678);
  assert.equal(theirs.payload.length, 100);
  const back = parseRtp(new Uint8Array(theirs.serialize()));
  assert.equal(parseTransportCc(findExtension(back, 4)!), 77);
  assert.equal(parseSdesExtension(findExtension(back, 1)!), '0');
  assert.equal(toHex(serializeRtp(back)), toHex(ours));
});

test('fuzz: random and mutated packets give a value or ParseError; values round-trip', () => {
  const rnd = new SeededRandom(3550);
  const seeds = [
    HAND,
    serializeRtp({
      marker: false,
      payloadType: 1,
      sequenceNumber: 1,
      timestamp: 2,
      ssrc: 3,
      csrcs: [4, 5],
      extensions: [
        { id: 20, data: Uint8Array.of(1, 2, 3) },
        { id: 1, data: new Uint8Array(0) },
      ],
      payload: Uint8Array.of(7, 7),
      paddingSize: 3,
    }),
  ];
  let ok = 0;
  for (let i = 0; i < 20000; i++) {
    let input: Uint8Array;
    if (i % 3 === 0) input = rnd.bytes(rnd.int(64));
    else {
      input = Uint8Array.from(seeds[rnd.int(seeds.length)]!);
      for (let k = 0; k < 1 + rnd.int(3); k++) input[rnd.int(input.length)] = rnd.u32() & 0xff;
      if (rnd.int(4) === 0) input = input.subarray(0, rnd.int(input.length + 1));
    }
    try {
      const p = parseRtp(input);
      ok++;
      assert.deepEqual(parseRtp(serializeRtp(p)), p);
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
    }
    try {
      parseDependencyDescriptor(input);
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
    }
  }
  assert.ok(ok > 1000, `${ok} parsed`);
});
