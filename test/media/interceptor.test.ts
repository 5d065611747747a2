import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../../src/core/random.js';
import {
  type AssembledFrame,
  JitterBuffer,
  NackGenerator,
  ntpFromWallMs,
  ntpMiddle32,
  ReceiveStatistics,
  rttFromReportBlock,
  rtxPacket,
  SendHistory,
  SequenceUnwrapper,
  unwrapRtx,
  wallMsFromNtp,
} from '../../src/interceptor/index.js';
import { createDepacketizer, createPacketizer } from '../../src/media/payload/index.js';
import type { RtpPacket } from '../../src/rtp/packet.js';

const rnd = new SeededRandom(4588);

function packets(frames: Uint8Array[], firstSeq: number): RtpPacket[] {
  const out: RtpPacket[] = [];
  let seq = firstSeq;
  frames.forEach((f, i) => {
    const payloads = createPacketizer('vp8').packetize(f, 300);
    payloads.forEach((payload, k) => {
      out.push({
        marker: k === payloads.length - 1,
        payloadType: 96,
        sequenceNumber: seq++ & 0xffff,
        timestamp: (1000 + i * 3000) >>> 0,
        ssrc: 1,
        csrcs: [],
        extensions: [],
        payload,
        paddingSize: 0,
      });
    });
  });
  return out;
}

function vp8Frames(n: number, keyEvery: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => {
    const f = rnd.bytes(200 + rnd.int(1000));
    f[0] = i % keyEvery === 0 ? f[0]! & 0xfe : f[0]! | 1;
    return f;
  });
}

function harness(maxDelayMs = 100) {
  const frames: AssembledFrame[] = [];
  let plis = 0;
  const unwrap = new SequenceUnwrapper();
  const jb = new JitterBuffer({
    reader: createDepacketizer('vp8'),
    maxDelayMs,
    onFrame: (f) => frames.push(f),
    onKeyframeNeeded: () => plis++,
  });
  return { frames, jb, unwrap, plis: () => plis };
}

test('sequence unwrapping across the 16-bit wrap and with reordering', () => {
  const u = new SequenceUnwrapper();
  const a = u.unwrap(65534);
  assert.equal(u.unwrap(65535), a + 1);
  assert.equal(u.unwrap(1), a + 3);
  assert.equal(u.unwrap(0), a + 2);
  assert.equal(u.unwrap(65533), a - 1);
});

test('jitter buffer: reordered packets across a sequence wrap give every frame intact, in order', () => {
  const src = vp8Frames(20, 10);
  const pkts = packets(src, 65500);
  // Shuffle within windows of 5 packets.
  for (let i = 0; i + 5 <= pkts.length; i += 5) {
    const w = pkts.slice(i, i + 5).sort(() => rnd.float() - 0.5);
    pkts.splice(i, 5, ...w);
  }
  const h = harness();
  for (const p of pkts) h.jb.push(h.unwrap.unwrap(p.sequenceNumber), p, 0);
  assert.equal(h.frames.length, 0, 'held at the start');
  h.jb.poll(100);
  assert.equal(h.frames.length, 20);
  h.frames.forEach((f, i) => {
    assert.deepEqual(f.data, src[i]);
  });
  assert.deepEqual(
    h.frames.map((f) => f.keyframe),
    src.map((_, i) => i % 10 === 0),
  );
  assert.equal(h.plis(), 0);
});

test('jitter buffer: a lost packet is waited for, then skipped; frames resume at the next keyframe with a PLI', () => {
  const src = vp8Frames(30, 10);
  const pkts = packets(src, 100);
  const lostIndex = pkts.findIndex((p) => p.timestamp === 1000 + 3 * 3000);
  const h = harness(100);
  let now = 0;
  for (const [i, p] of pkts.entries()) {
    now += 5;
    if (i === lostIndex) continue;
    h.jb.push(h.unwrap.unwrap(p.sequenceNumber), p, now);
    h.jb.poll(now);
  }
  h.jb.poll(now + 1000);
  // Frames 0-2, then 10-29 (3 is broken, 4-9 depend on it).
  assert.deepEqual(
    h.frames.map((f) => (f.timestamp - 1000) / 3000),
    [0, 1, 2, ...Array.from({ length: 20 }, (_, i) => 10 + i)],
  );
  assert.ok(h.plis() >= 1);
  // A retransmission in time fills the gap instead.
  const h2 = harness(100);
  now = 0;
  for (const [i, p] of pkts.entries()) {
    now += 5;
    if (i === lostIndex) continue;
    h2.jb.push(h2.unwrap.unwrap(p.sequenceNumber), p, now);
    if (i === lostIndex + 3)
      h2.jb.push(h2.unwrap.unwrap(pkts[lostIndex]!.sequenceNumber), pkts[lostIndex]!, now);
  }
  h2.jb.poll(now + 50);
  assert.equal(h2.frames.length, 30);
  assert.equal(h2.plis(), 0);
});

test('NACK generator: lists gaps, retries one RTT apart, stops on arrival, gives up after retries', () => {
  const g = new NackGenerator({ maxRetries: 3, maxAgeMs: 10_000 });
  g.onPacket(10, 0);
  g.onPacket(14, 0);
  assert.deepEqual(g.poll(0, 50), [11, 12, 13]);
  assert.deepEqual(g.poll(20, 50), []);
  g.onPacket(12, 30);
  assert.equal(g.recovered, 1);
  assert.deepEqual(g.poll(60, 50), [11, 13]);
  assert.deepEqual(g.poll(120, 50), [11, 13]);
  assert.deepEqual(g.poll(180, 50), []);
  assert.equal(g.abandoned, 2);
});

test('RTX (RFC 4588): OSN round trip; send history by sequence number', () => {
  const h = new SendHistory(8);
  const p: RtpPacket = {
    marker: true,
    payloadType: 96,
    sequenceNumber: 65535,
    timestamp: 9,
    ssrc: 5,
    csrcs: [],
    extensions: [],
    payload: Uint8Array.of(1, 2, 3),
    paddingSize: 0,
  };
  h.add(p);
  assert.equal(h.get(65535), p);
  assert.equal(h.get(65535 - 8), undefined);
  const rtx = rtxPacket(p, 77, 97, 4);
  assert.deepEqual([rtx.ssrc, rtx.payloadType, rtx.sequenceNumber], [77, 97, 4]);
  assert.deepEqual(rtx.payload, Uint8Array.of(0xff, 0xff, 1, 2, 3));
  assert.deepEqual(unwrapRtx(rtx, 5, 96), { ...p });
});

test('receive statistics: loss, fraction lost, jitter; RTT from LSR/DLSR', () => {
  const s = new ReceiveStatistics(9, 90000);
  for (let i = 0; i < 100; i++)
    if (i % 10 !== 5) s.onPacket((65530 + i) & 0xffff, i * 3000, 1000, 988, i * (1000 / 30));
  assert.equal(s.packetsReceived, 90);
  assert.equal(s.packetsLost, 10);
  const b = s.reportBlock(4000);
  assert.equal(b.fractionLost, Math.floor((10 * 256) / 100));
  assert.ok(s.jitter < 1, `jitter ${s.jitter} for perfectly paced packets`);
  assert.equal(b.highestSequence, ((65530 + 99) & 0xffff) | 0x10000);
  // SR echo: our SR at wall time T, peer holds it 250 ms, we get the RR 300 ms after sending.
  const t = 1_700_000_000_000;
  const lsr = ntpMiddle32(ntpFromWallMs(t));
  const rtt = rttFromReportBlock(
    { ...b, lastSr: lsr, delaySinceLastSr: 0.25 * 65536 },
    ntpMiddle32(ntpFromWallMs(t + 300)),
  );
  assert.ok(Math.abs(rtt! - 50) < 1, `rtt ${rtt}`);
});

test('NTP timestamps: wall ms -> NTP -> wall ms round trips (within 1 us), era 1 after 2036', () => {
  for (const ms of [0, 1_700_000_000_123.25, 2_085_978_495_999, 2_085_978_496_000, 2_200_000_000_000]) {
    const n = ntpFromWallMs(ms);
    assert.ok(Math.abs(wallMsFromNtp(n.seconds, n.fraction) - ms) < 0.001, `${ms}`);
  }
  // 2036-02-07T06:28:16Z is NTP second 2^32, written as 0: read as era 1, not 1900.
  assert.equal(wallMsFromNtp(0, 0), 2_085_978_496_000);
  assert.equal(wallMsFromNtp(2_208_988_800, 2 ** 31), 500);
});
