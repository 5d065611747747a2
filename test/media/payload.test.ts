import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ParseError } from '../../src/core/errors.js';
import { SeededRandom } from '../../src/core/random.js';
import {
  createDepacketizer,
  createPacketizer,
  type Depacketizer,
  H264_FU_A,
  H264_STAP_A,
  isKeyframe,
  leb128Size,
  type PayloadCodecName,
  parseObus,
  parseVp8Descriptor,
  parseVp9Descriptor,
  splitAnnexB,
  writeLeb128,
} from '../../src/media/payload/index.js';

const rnd = new SeededRandom(7741);

function reassemble(
  dep: Depacketizer,
  payloads: Uint8Array[],
): { frame: Uint8Array; keyframe: boolean; starts: number } {
  const parts: Uint8Array[] = [];
  let keyframe = false;
  let starts = 0;
  for (const p of payloads) {
    const d = dep.depacketize(p);
    if (d.keyframe) keyframe = true;
    if (d.frameStart) starts++;
    parts.push(d.data);
  }
  return { frame: Buffer.concat(parts), keyframe, starts };
}

function vp8Frame(key: boolean, size: number): Uint8Array {
  const f = rnd.bytes(size);
  f[0] = key ? f[0]! & 0xfe : f[0]! | 0x01;
  return f;
}

test('VP8: descriptor with picture id; round trip at several MTUs; keyframe from the P bit', () => {
  for (const size of [1, 100, 1188, 5000, 30000]) {
    for (const key of [true, false]) {
      const frame = vp8Frame(key, size);
      const payloads = createPacketizer('vp8').packetize(frame, 1188);
      assert.ok(payloads.every((p) => p.length <= 1188));
      const first = parseVp8Descriptor(payloads[0]!).descriptor;
      assert.equal(first.startOfPartition, true);
      assert.equal(first.pictureId, 0);
      const out = reassemble(createDepacketizer('vp8'), payloads);
      assert.deepEqual(out.frame, Buffer.from(frame));
      assert.equal(out.keyframe, key);
      assert.equal(out.starts, 1);
      assert.equal(isKeyframe('vp8', frame), key);
    }
  }
  // Hand-made descriptor: X I L T K with a 7-bit picture id.
  const d = parseVp8Descriptor(Uint8Array.of(0x90, 0xf0, 0x05, 0x11, 0x9f, 0xaa)).descriptor;
  assert.deepEqual(
    [d.pictureId, d.tl0PicIdx, d.temporalId, d.layerSync, d.keyIdx],
    [5, 0x11, 2, false, 0x1f],
  );
});

test('VP9: round trip; B/E flags; P flag for keyframes', () => {
  for (const size of [10, 3000]) {
    const frame = rnd.bytes(size);
    frame[0] = 0x82; // frame_marker 2, profile 0, show_existing 0, frame_type 0 (key)
    const payloads = createPacketizer('vp9').packetize(frame, 1000);
    const ds = payloads.map((p) => parseVp9Descriptor(p).descriptor);
    assert.equal(ds[0]!.beginningOfFrame, true);
    assert.equal(ds.at(-1)!.endOfFrame, true);
    assert.equal(ds.filter((d) => d.beginningOfFrame).length, 1);
    const out = reassemble(createDepacketizer('vp9'), payloads);
    assert.deepEqual(out.frame, Buffer.from(frame));
    assert.equal(out.keyframe, true);
  }
  const inter = Uint8Array.of(0x86, 1, 2, 3); // frame_type 1
  assert.equal(isKeyframe('vp9', inter), false);
  assert.equal(
    reassemble(createDepacketizer('vp9'), createPacketizer('vp9').packetize(inter, 1000)).keyframe,
    false,
  );
  // Flexible mode with layer indices, two P_DIFFs and a scalability structure with resolutions.
  const d = parseVp9Descriptor(
    Uint8Array.of(0xfa, 0x81, 0x02, 0x42, 0x03, 0x04, 0x10, 0x02, 0x80, 0x01, 0x68, 0xaa),
  ).descriptor;
  assert.equal(d.pictureId, 0x102);
  assert.deepEqual(d.pDiffs, [1, 2]);
  assert.deepEqual(d.resolutions, [{ width: 640, height: 360 }]);
});

function annexB(nals: Uint8Array[]): Uint8Array {
  return Buffer.concat(nals.flatMap((n) => [Uint8Array.of(0, 0, 0, 1), n]));
}

test('H264: SPS+PPS aggregate into STAP-A, a large IDR becomes FU-A, Annex-B round trip', () => {
  const sps = Uint8Array.of(0x67, 0x42, 0xc0, 0x1f, 0xda);
  const pps = Uint8Array.of(0x68, 0xce, 0x3c, 0x80);
  const idr = rnd.bytes(4000).map((b) => b || 1);
  idr[0] = 0x65;
  const frame = annexB([sps, pps, idr]);
  const payloads = createPacketizer('h264').packetize(frame, 1200);
  assert.equal(payloads[0]![0]! & 0x1f, H264_STAP_A);
  assert.ok(payloads.slice(1).every((p) => (p[0]! & 0x1f) === H264_FU_A));
  assert.ok(payloads.every((p) => p.length <= 1200));
  const out = reassemble(createDepacketizer('h264'), payloads);
  assert.deepEqual(out.frame, Buffer.from(frame));
  assert.equal(out.keyframe, true);
  assert.equal(isKeyframe('h264', frame), true);
  // A small non-IDR slice is a single NAL unit packet.
  const slice = Uint8Array.of(0x41, 9, 8, 7);
  const small = createPacketizer('h264').packetize(annexB([slice]), 1200);
  assert.deepEqual(
    small.map((x) => Uint8Array.from(x)),
    [slice],
  );
  assert.equal(reassemble(createDepacketizer('h264'), small).keyframe, false);
  // 3-byte start codes split too.
  assert.deepEqual(splitAnnexB(Uint8Array.of(0, 0, 1, 0x41, 1, 0, 0, 1, 0x41, 2)), [
    Uint8Array.of(0x41, 1),
    Uint8Array.of(0x41, 2),
  ]);
});

test('H264: FU-A continuation after a lost start is dropped', () => {
  const idr = rnd.bytes(3000).map((b) => b || 1);
  idr[0] = 0x65;
  const payloads = createPacketizer('h264').packetize(annexB([idr]), 1000);
  const dep = createDepacketizer('h264');
  assert.equal(dep.depacketize(payloads[1]!).data.length, 0);
});

function obu(type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + leb128Size(payload.length) + payload.length);
  out[0] = (type << 3) | 0x02;
  out.set(payload, writeLeb128(payload.length, out, 1));
  return out;
}

test('AV1: temporal unit round trip with fragmentation; TD dropped; N on sequence headers', () => {
  const seq = obu(1, rnd.bytes(12));
  const frameObu = obu(6, rnd.bytes(5000));
  const tu = Buffer.concat([obu(2, new Uint8Array(0)), seq, frameObu]);
  for (const mtu of [50, 300, 1200]) {
    const payloads = createPacketizer('av1').packetize(tu, mtu);
    assert.ok(
      payloads.every((p) => p.length <= mtu),
      `mtu ${mtu}`,
    );
    assert.equal(payloads[0]![0]! & 0x08, 0x08);
    const out = reassemble(createDepacketizer('av1'), payloads);
    assert.deepEqual(out.frame, Buffer.concat([seq, frameObu]));
    assert.equal(out.keyframe, true);
    assert.deepEqual(
      parseObus(out.frame).map((o) => o.type),
      [1, 6],
    );
  }
  const delta = Buffer.concat([obu(2, new Uint8Array(0)), obu(6, rnd.bytes(100))]);
  assert.equal(isKeyframe('av1', delta), false);
  // W=2: the last element has no length field.
  const p = Uint8Array.of(0x20, 2, 0x30, 0xaa, 0x30, 0xbb, 0xcc);
  assert.deepEqual(
    createDepacketizer('av1').depacketize(p).data,
    Uint8Array.of(0x32, 1, 0xaa, 0x32, 2, 0xbb, 0xcc),
  );
});

test('Opus: one packet per payload', () => {
  const pkt = rnd.bytes(80);
  assert.deepEqual(createPacketizer('opus').packetize(pkt, 1200), [pkt]);
  assert.throws(() => createDepacketizer('opus').depacketize(new Uint8Array(0)), ParseError);
});

test('fuzz: depacketizers give a value or ParseError on random and mutated payloads', () => {
  const fuzz = new SeededRandom(6184);
  const seeds: Record<PayloadCodecName, Uint8Array[]> = {
    opus: [rnd.bytes(20)],
    vp8: createPacketizer('vp8').packetize(vp8Frame(true, 3000), 1000),
    vp9: [Uint8Array.of(0xfa, 0x81, 0x02, 0x42, 0x03, 0x04, 0x10, 0x02, 0x80, 0x01, 0x68, 0xaa)],
    h264: createPacketizer('h264').packetize(
      annexB([Uint8Array.of(0x67, 1, 2), Uint8Array.of(0x68, 3), Uint8Array.of(0x65, ...rnd.bytes(2500))]),
      1000,
    ),
    av1: createPacketizer('av1').packetize(
      Buffer.concat([obu(1, rnd.bytes(10)), obu(6, rnd.bytes(900))]),
      300,
    ),
  };
  for (const codec of Object.keys(seeds) as PayloadCodecName[]) {
    const dep = createDepacketizer(codec);
    let values = 0;
    for (let i = 0; i < 5000; i++) {
      let input: Uint8Array;
      if (i % 3 === 0) input = fuzz.bytes(fuzz.int(40));
      else {
        const s = seeds[codec];
        input = Uint8Array.from(s[fuzz.int(s.length)]!);
        for (let k = 0; k < 1 + fuzz.int(3); k++) input[fuzz.int(input.length)] = fuzz.u32() & 0xff;
      }
      try {
        const d = dep.depacketize(input);
        assert.ok(d.data instanceof Uint8Array);
        values++;
      } catch (err) {
        if (!(err instanceof ParseError)) throw err;
      }
    }
    assert.ok(values > 100, `${codec}: ${values} values`);
  }
});
