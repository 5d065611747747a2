import assert from 'node:assert/strict';
import { test } from 'node:test';
import { concatBytes } from '../../src/core/bytes.js';
import { SeededRandom } from '../../src/core/random.js';
import { H264Packetizer } from '../../src/media/payload/h264.js';
import { Vp8Packetizer } from '../../src/media/payload/vp8.js';
import { ActiveSpeakerDetector } from '../../src/server/sfu/active-speaker.js';
import { isKeyframeStart } from '../../src/server/sfu/keyframe.js';
import { LayerSelector, PAUSED } from '../../src/server/sfu/layer-selector.js';
import { PacketCache } from '../../src/server/sfu/packet-cache.js';
import { RateMeter } from '../../src/server/sfu/rate-meter.js';
import { StreamRewriter } from '../../src/server/sfu/rewriter.js';
import { extendSeq, seqDelta } from '../../src/server/sfu/seq.js';
import { UpstreamStream } from '../../src/server/sfu/upstream.js';

test('sequence arithmetic wraps', () => {
  assert.equal(seqDelta(65535, 0), 1);
  assert.equal(seqDelta(0, 65535), -1);
  assert.equal(seqDelta(100, 32867), 32767);
  assert.equal(seqDelta(100, 32868), -32768);
  assert.equal(extendSeq(0x1ffff, 0), 0x20000);
  assert.equal(extendSeq(0x20000, 0xffff), 0x1ffff);
});

test('keyframe start: VP8 from our packetizer, only the first packet of a keyframe', () => {
  const key = new Uint8Array(3000).fill(0x42);
  key[0] = 0x10; // P bit 0
  const delta = key.slice();
  delta[0] = 0x11;
  const pk = new Vp8Packetizer();
  const kp = pk.packetize(key, 1200);
  assert.ok(kp.length > 1);
  assert.equal(isKeyframeStart('vp8', kp[0]!), true);
  for (const p of kp.slice(1)) assert.equal(isKeyframeStart('vp8', p), false);
  for (const p of pk.packetize(delta, 1200)) assert.equal(isKeyframeStart('vp8', p), false);
});

test('keyframe start: H264 single NAL, STAP-A with SPS, FU-A start of an IDR', () => {
  const sps = Uint8Array.of(0x67, 0x42, 0x00, 0x1f);
  const pps = Uint8Array.of(0x68, 0xce, 0x3c, 0x80);
  const idr = new Uint8Array(4000).fill(0x11);
  idr[0] = 0x65;
  const nonIdr = idr.slice();
  nonIdr[0] = 0x41;
  const annexB = (nals: Uint8Array[]): Uint8Array => {
    return concatBytes(nals.flatMap((n) => [Uint8Array.of(0, 0, 0, 1), n]));
  };
  const pk = new H264Packetizer();
  const key = pk.packetize(annexB([sps, pps, idr]), 1200);
  assert.equal(isKeyframeStart('h264', key[0]!), true, 'STAP-A with SPS/PPS');
  assert.equal(
    key.some((p, i) => i > 0 && (p[0]! & 0x1f) === 28 && (p[1]! & 0x80) !== 0),
    true,
    'the IDR is fragmented',
  );
  const deltas = pk.packetize(annexB([nonIdr]), 1200);
  for (const p of deltas) assert.equal(isKeyframeStart('h264', p), false);
  assert.equal(isKeyframeStart('h264', idr.subarray(0, 50)), true, 'single IDR NAL');
  assert.equal(isKeyframeStart('h264', Uint8Array.of(0x7c, 0x05, 1, 2)), false, 'FU-A middle of IDR');
  assert.equal(isKeyframeStart('h264', Uint8Array.of(0x7c, 0x85, 1, 2)), true, 'FU-A start of IDR');
});

test('keyframe start: AV1 N bit, VP9 B without P; garbage is never a keyframe', () => {
  assert.equal(isKeyframeStart('av1', Uint8Array.of(0x18, 0x0a, 0x0b)), true);
  assert.equal(isKeyframeStart('av1', Uint8Array.of(0x98, 0x0a, 0x0b)), false, 'Z set: a continuation');
  assert.equal(isKeyframeStart('av1', Uint8Array.of(0x10, 0x0a)), false);
  assert.equal(isKeyframeStart('vp9', Uint8Array.of(0x08, 0xaa)), true, 'B=1 P=0');
  assert.equal(isKeyframeStart('vp9', Uint8Array.of(0x48, 0xaa)), false, 'P=1');
  const r = new SeededRandom(3);
  for (let i = 0; i < 3000; i++) {
    const b = new Uint8Array(r.int(12));
    for (let j = 0; j < b.length; j++) b[j] = r.int(256);
    for (const c of ['vp8', 'vp9', 'h264', 'av1', 'opus'] as const)
      assert.equal(typeof isKeyframeStart(c, b), 'boolean');
  }
});

test('rewriter: one continuous stream across sources with their own bases, through wrap-around', () => {
  const w = new StreamRewriter(0xabc, 90000, { initialSequence: 65530, initialTimestamp: 0xfffff000 });
  const out: { sequenceNumber: number; timestamp: number }[] = [];
  let now = 0;
  // Source A: 10 packets (3 per frame).
  let seq = 40000;
  let ts = 123;
  for (let i = 0; i < 10; i++) {
    const p = { ssrc: 1, sequenceNumber: seq++, timestamp: ts };
    out.push(i === 0 ? w.switchTo(p, now) : w.rewrite(p, now)!);
    if (i % 3 === 2) {
      ts += 3000;
      now += 33;
    }
  }
  assert.equal(
    w.rewrite({ ssrc: 2, sequenceNumber: 5, timestamp: 5 }, now),
    undefined,
    'other source dropped',
  );
  now += 33;
  // Switch to source B, wildly different bases.
  let seqB = 65534;
  let tsB = 0xfffffff0;
  for (let i = 0; i < 10; i++) {
    const p = { ssrc: 2, sequenceNumber: seqB, timestamp: tsB };
    out.push(i === 0 ? w.switchTo(p, now) : w.rewrite(p, now)!);
    seqB = (seqB + 1) & 0xffff;
    tsB = (tsB + 3000) >>> 0;
    now += 33;
  }
  assert.equal(
    w.rewrite({ ssrc: 1, sequenceNumber: seq, timestamp: ts }, now),
    undefined,
    'old source dropped',
  );
  for (let i = 1; i < out.length; i++) {
    assert.equal(out[i]!.sequenceNumber, (out[i - 1]!.sequenceNumber + 1) & 0xffff, `seq continuous at ${i}`);
    const dt = (out[i]!.timestamp - out[i - 1]!.timestamp) >>> 0;
    assert.ok(dt <= 3000 * 2, `timestamp moves forward a little at ${i}: ${dt}`);
  }
  // At the switch the timestamp advanced by the elapsed time (33 ms at 90 kHz from the last packet).
  assert.equal((out[10]!.timestamp - out[9]!.timestamp) >>> 0, 33 * 90);
  assert.equal(out[0]!.sequenceNumber, 65530);
  assert.equal(w.switches, 1);
  // NACK lookups find the right source packet on either side of the switch.
  assert.deepEqual(w.lookup(out[4]!.sequenceNumber), {
    ssrc: 1,
    sequenceNumber: 40004,
    timestampOffset: (0xfffff000 - 123) >>> 0,
  });
  const b = w.lookup(out[12]!.sequenceNumber)!;
  assert.equal(b.ssrc, 2);
  assert.equal(b.sequenceNumber, 0);
  assert.equal(w.lookup((out.at(-1)!.sequenceNumber + 1) & 0xffff), undefined, 'not sent yet');
});

test('rewriter: reordering keeps the mapping, packets before the switch point are dropped, skip closes gaps', () => {
  const w = new StreamRewriter(7, 90000, { initialSequence: 100 });
  w.switchTo({ ssrc: 9, sequenceNumber: 500, timestamp: 0 }, 0);
  assert.equal(w.rewrite({ ssrc: 9, sequenceNumber: 499, timestamp: 0 }, 0), undefined, 'before the switch');
  assert.equal(w.rewrite({ ssrc: 9, sequenceNumber: 502, timestamp: 0 }, 0)!.sequenceNumber, 102);
  assert.equal(
    w.rewrite({ ssrc: 9, sequenceNumber: 501, timestamp: 0 }, 0)!.sequenceNumber,
    101,
    'late packet in place',
  );
  assert.equal(w.skip({ ssrc: 9, sequenceNumber: 503, timestamp: 0 }), true, 'padding left out');
  assert.equal(w.rewrite({ ssrc: 9, sequenceNumber: 504, timestamp: 0 }, 0)!.sequenceNumber, 103, 'no gap');
  assert.equal(
    w.skip({ ssrc: 9, sequenceNumber: 506, timestamp: 0 }),
    false,
    'not the next one: forward it instead',
  );
  assert.equal(w.lookup(102)!.sequenceNumber, 502);
  assert.equal(w.lookup(103)!.sequenceNumber, 504);
});

test('layer selector: down at once, up after the hold, pause and resume with hysteresis, cap', () => {
  const s = new LayerSelector({ upHoldMs: 2000 });
  const layers = [
    { bitrate: 150_000, height: 180, active: true },
    { bitrate: 500_000, height: 360, active: true },
    { bitrate: 1_500_000, height: 720, active: true },
  ];
  assert.equal(s.select(layers, 3_000_000, Infinity, 0), 2);
  assert.equal(s.select(layers, 600_000, Infinity, 100), 1, 'down at once');
  assert.equal(s.select(layers, 3_000_000, Infinity, 200), 1, 'no instant up');
  assert.equal(s.select(layers, 3_000_000, Infinity, 1500), 1);
  assert.equal(s.select(layers, 3_000_000, Infinity, 2200), 2, 'up after the hold');
  assert.equal(s.select(layers, 3_000_000, 400, 2300), 1, 'cap applies at once');
  assert.equal(s.select(layers, 100_000, Infinity, 2400), PAUSED, 'below 0.8x the lowest: paused');
  assert.equal(
    s.select(layers, 200_000, Infinity, 2500),
    PAUSED,
    'just above the lowest is not enough to resume',
  );
  assert.equal(s.select(layers, 200_000, Infinity, 9000), PAUSED);
  assert.equal(s.select(layers, 260_000, Infinity, 9100), PAUSED, 'resume waits for the hold');
  assert.equal(s.select(layers, 260_000, Infinity, 11200), 0, 'resumed on the lowest');
  assert.equal(s.select(layers, 1_000_000, Infinity, 11300), 0);
  // Flapping budget around a threshold does not flap the layer up.
  for (let t = 11400; t < 20000; t += 100) s.select(layers, t % 200 === 0 ? 700_000 : 480_000, Infinity, t);
  assert.equal(s.current, 0);
  const inactiveTop = layers.map((l, i) => ({ ...l, active: i < 2 }));
  const s2 = new LayerSelector();
  assert.equal(s2.select(inactiveTop, 5_000_000, Infinity, 0), 1, 'inactive layers are skipped');
});

test('active speaker: smoothing, margin and hold; silence hands over at once', () => {
  const d = new ActiveSpeakerDetector({ holdMs: 600 });
  let now = 0;
  const feed = (ms: number, levels: Record<string, number | undefined>): string[] => {
    const changes: string[] = [];
    for (const end = now + ms; now < end; now += 20) {
      for (const [id, level] of Object.entries(levels))
        if (level !== undefined) d.onLevel(id, level, level < 127, now);
      if (now % 200 === 0) {
        const c = d.update(now);
        if (c) changes.push(c);
      }
    }
    return changes;
  };
  assert.deepEqual(feed(1000, { a: 30, b: 127, c: 127 }), ['a']);
  assert.deepEqual(feed(300, { a: 30, b: 10, c: 127 }), [], 'a 300 ms burst from b does not take over');
  assert.deepEqual(feed(400, { a: 30, b: 127, c: 127 }), []);
  assert.deepEqual(feed(2000, { a: 35, b: 15, c: 127 }), ['b'], 'sustained louder speech does');
  assert.deepEqual(feed(1000, { a: 127, b: 127, c: 40 }), ['c'], 'b silent: c at once (after smoothing)');
  d.remove('c');
  assert.equal(d.speaker, undefined);
});

test('packet cache and rate meter', () => {
  const c = new PacketCache(8, 1000);
  const buf = Uint8Array.of(1, 2, 3);
  c.put(5, 65535, buf, 0);
  buf[0] = 9;
  assert.deepEqual([...c.get(5, 65535, 10)!.bytes], [1, 2, 3], 'a copy');
  c.put(5, 65535 + 8 - 65536, Uint8Array.of(4), 0);
  assert.equal(c.get(5, 65535, 10), undefined, 'overwritten slot');
  assert.equal(c.get(5, 7, 2000), undefined, 'too old');
  assert.throws(() => new PacketCache(10));
  const m = new RateMeter(1000, 100);
  for (let t = 0; t < 3000; t += 10) m.add(125, t); // 100 kbit/s
  assert.ok(Math.abs(m.bitrate(3000) - 100_000) < 12_000, `${m.bitrate(3000)}`);
  assert.equal(m.bitrate(6000), 0);
});

test('upstream stream: report block (loss, fraction, highest, LSR/DLSR) and NACK retries', () => {
  const u = new UpstreamStream(42, 90000, { maxRetries: 2, retryMs: 100, maxAgeMs: 1000 });
  // 65530..65535, 0..9 with 65534 and 3, 4 lost
  const seqs = [65530, 65531, 65532, 65533, 65535, 0, 1, 2, 5, 6, 7, 8, 9];
  for (const s of seqs) u.onPacket(s, 0, 0);
  assert.deepEqual(u.nacks(0), [65534, 3, 4]);
  assert.deepEqual(u.nacks(50), [], 'not again before retryMs');
  u.onPacket(3, 0, 60);
  assert.equal(u.recovered, 1);
  assert.deepEqual(u.nacks(120), [65534, 4]);
  assert.deepEqual(u.nacks(300), [], 'given up after maxRetries');
  u.onSenderReport(0x12345678, 100);
  const b = u.reportBlock(600);
  assert.equal(b.ssrc, 42);
  assert.equal(b.highestSequence, 0x10009, 'one wrap: cycles in the high half');
  assert.equal(b.packetsLost, 2);
  assert.equal(b.fractionLost, Math.floor((2 * 256) / 16));
  assert.equal(b.lastSr, 0x12345678);
  assert.equal(b.delaySinceLastSr, 0.5 * 65536);
  for (let s = 10; s < 20; s++) u.onPacket(s, 0, 700);
  assert.equal(u.reportBlock(800).fractionLost, 0, 'a clean interval');
});
