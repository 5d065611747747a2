import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Clock, ManualClock } from '../core/clock.js';
import { type PacedPacket, Pacer, type PacerOptions, type PacketClass } from './pacer.js';

interface P extends PacedPacket {
  readonly id: number;
}

function setup(o: Partial<PacerOptions<P>> = {}) {
  const clock = new ManualClock();
  const sent: { id: number; at: number; cls: PacketClass; size: number }[] = [];
  const pacer = new Pacer<P>({
    clock,
    send: (p) => sent.push({ id: p.id, at: clock.now(), cls: p.cls, size: p.size }),
    ...o,
  });
  let id = 0;
  const enqueue = (cls: PacketClass, size = 1250, ssrc = 1): number => {
    const n = id++;
    pacer.enqueue({ id: n, size, ssrc, cls });
    return n;
  };
  return { clock, pacer, sent, enqueue };
}

test('pacer: a frame leaves spread at factor x target, after a burst allowance', () => {
  const { clock, pacer, sent, enqueue } = setup();
  pacer.bitrate = 400_000; // paced at 1 Mbit/s: a 1250-byte packet every 10 ms
  for (let i = 0; i < 20; i++) enqueue('video');
  assert.equal(sent.length, 1, 'the first packet leaves at once (idle link)');
  clock.advance(1000);
  assert.equal(sent.length, 20);
  const gaps = sent.slice(2).map((s, i) => s.at - sent[i + 1]!.at);
  for (const g of gaps) assert.ok(Math.abs(g - 10) < 0.01, `gap ${g} ms`);
  // 25 kB at 1 Mbit/s: 200 ms, less the 5 ms burst allowance.
  assert.ok(Math.abs(sent.at(-1)!.at - 185) < 0.01, `last at ${sent.at(-1)!.at}`);
  assert.equal(clock.activeTimers, 0, 'no timer once the queue is empty');
  assert.equal(pacer.stats.maxQueueDelayMs, sent.at(-1)!.at);
});

test('pacer: the rate follows the target; a higher factor spreads less', () => {
  const a = setup({ pacingFactor: 1 });
  a.pacer.bitrate = 1_000_000;
  for (let i = 0; i < 11; i++) a.enqueue('video');
  a.clock.advance(1000);
  assert.ok(Math.abs(a.sent.at(-1)!.at - 95) < 0.01, `${a.sent.at(-1)!.at}`);
  const b = setup();
  b.pacer.bitrate = 1_000_000;
  for (let i = 0; i < 5; i++) b.enqueue('video');
  b.clock.advance(2);
  b.pacer.bitrate = 200_000; // 500 kbit/s paced: 20 ms a packet from now
  b.clock.advance(1000);
  const last = b.sent.at(-1)!.at - b.sent.at(-2)!.at;
  assert.ok(Math.abs(last - 20) < 0.01, `gap after the drop ${last}`);
});

test('pacer: audio never waits, retransmissions go before queued video', () => {
  const { clock, pacer, sent, enqueue } = setup();
  pacer.bitrate = 400_000;
  for (let i = 0; i < 10; i++) enqueue('video');
  clock.advance(12);
  const before = sent.length;
  const audio = enqueue('audio', 120);
  assert.equal(sent.at(-1)!.id, audio, 'audio sent at once');
  assert.equal(sent.length, before + 1);
  const rtx = enqueue('retransmission');
  clock.advance(1000);
  const order = sent.map((s) => s.id);
  assert.equal(order[before + 1], rtx, `retransmission next: ${order}`);
  assert.equal(sent.length, 12);
});

test('pacer: on an idle link frames leave without added latency beyond the burst allowance', () => {
  const { clock, pacer, sent, enqueue } = setup();
  pacer.bitrate = 1_000_000; // 2.5 Mbit/s paced, 1.56 kB burst allowance
  // 30 frames/s of one 1000-byte packet: 240 kbit/s, well under the rate.
  for (let f = 0; f < 30; f++) {
    const id = enqueue('video', 1000);
    assert.equal(sent.at(-1)?.id, id, `frame ${f} left at once`);
    clock.advance(33);
  }
  // Frames of 3 packets: the allowance covers two back to back, the third waits its share.
  for (let f = 0; f < 10; f++) {
    const t0 = clock.now();
    for (let i = 0; i < 3; i++) enqueue('video', 1000);
    clock.advance(33);
    const mine = sent.slice(-3);
    assert.ok(
      mine.every((s) => s.at - t0 <= (3000 * 8) / 2500 + 0.01),
      `${mine.map((s) => s.at - t0)}`,
    );
  }
  assert.ok(pacer.stats.maxQueueDelayMs <= 9.6 + 0.01);
});

test('pacer: a packet to an empty queue leaves at once only within the allowance; otherwise it waits its turn', () => {
  const { clock, pacer, sent, enqueue } = setup();
  pacer.bitrate = 400_000; // paced at 1 Mbit/s, 625-byte burst allowance
  const a = enqueue('video');
  assert.deepEqual(
    sent.map((s) => [s.id, s.at]),
    [[a, 0]],
  );
  clock.advance(2); // the debt drained to 1000 bytes: over the allowance, though nothing is queued
  const b = enqueue('video');
  assert.equal(sent.length, 1, 'b waits');
  assert.equal(pacer.queuedPackets, 1);
  assert.equal(pacer.queuedBytes, 1250);
  clock.advance(100);
  // It leaves when the debt is down to the allowance: 625 bytes at 1 Mbit/s after a's 1250.
  assert.deepEqual(
    sent.map((s) => [s.id, s.at]),
    [
      [a, 0],
      [b, 5],
    ],
  );
  assert.equal(pacer.stats.maxQueueDelayMs, 3);
  const c = enqueue('video');
  assert.deepEqual(sent.at(-1), { id: c, at: 102, cls: 'video', size: 1250 });
  assert.equal(pacer.queuedBytes, 0);
  assert.equal(pacer.stats.maxQueueDelayMs, 3, 'c did not wait');
  assert.equal(clock.activeTimers, 0);
});

test('pacer: the queue stays bounded in time: the rate rises to drain it within maxQueueMs', () => {
  const { clock, pacer, sent, enqueue } = setup();
  pacer.bitrate = 100_000; // 250 kbit/s paced: 1 MB would take 32 s
  for (let i = 0; i < 800; i++) enqueue('video');
  clock.advance(3000);
  assert.equal(sent.length, 800);
  assert.ok(sent.at(-1)!.at <= 2000 + 1, `last left at ${sent.at(-1)!.at}`);
  assert.ok(pacer.stats.maxQueueDelayMs <= 2001);
  assert.equal(pacer.stats.packetsFlushed, 0);
  // Once drained, back to the plain rate.
  const t0 = clock.now();
  for (let i = 0; i < 3; i++) enqueue('video');
  clock.advance(1000);
  assert.ok(Math.abs(sent.at(-1)!.at - sent.at(-2)!.at - 40) < 0.01);
  assert.ok(sent.at(-1)!.at - t0 < 100);
});

test('pacer: past maxQueuePackets video and retransmissions are flushed and the SSRCs named', () => {
  const flushed: number[][] = [];
  const { clock, pacer, sent, enqueue } = setup({
    maxQueuePackets: 100,
    onOverflow: (s) => flushed.push([...s]),
  });
  pacer.bitrate = 100_000;
  for (let i = 0; i < 60; i++) enqueue('video', 1250, 7);
  for (let i = 0; i < 42; i++) enqueue('retransmission', 1250, 9);
  assert.deepEqual(flushed, [[9, 7]]);
  assert.equal(pacer.queuedPackets, 0);
  assert.equal(pacer.queuedBytes, 0);
  assert.equal(pacer.stats.packetsFlushed, 101, 'all but the first, which left at once');
  const audio = enqueue('audio', 100);
  assert.equal(sent.at(-1)!.id, audio);
  clock.advance(1000);
  assert.equal(sent.length, 2);
});

test('pacer: padding fills an empty link to the padding rate; a probe pads to its rate for its time', () => {
  let padId = 10_000;
  const { clock, pacer, sent, enqueue } = setup({
    padding: (bytes) => [{ id: padId++, size: Math.min(bytes, 255), ssrc: 2, cls: 'padding' }],
  });
  pacer.bitrate = 300_000;
  pacer.paddingBitrate = 400_000;
  for (let t = 0; t < 1000; t += 33) {
    enqueue('video', 1000);
    clock.advance(33);
  }
  const bits = (cls: PacketClass) => sent.filter((s) => s.cls === cls).reduce((a, s) => a + s.size * 8, 0);
  const total = bits('padding') + bits('video');
  assert.ok(Math.abs(total - 400_000 * 1.023) < 0.1 * 400_000, `media+padding ${total} bits in 1.02 s`);
  assert.ok(bits('padding') > 100_000);
  pacer.paddingBitrate = 0;
  clock.advance(10);
  assert.equal(clock.activeTimers, 0, 'padding stops');
  const n = sent.length;
  pacer.probe(2_000_000, 100);
  clock.advance(100);
  const probeBits = sent.slice(n).reduce((a, s) => a + s.size * 8, 0);
  assert.ok(Math.abs(probeBits - 200_000) < 0.15 * 200_000, `probe sent ${probeBits} bits`);
  clock.advance(100);
  assert.equal(clock.activeTimers, 0);
  pacer.close();
});

test('pacer: without a target (Infinity) nothing is held; close cancels the timer', () => {
  const { clock, pacer, sent, enqueue } = setup();
  for (let i = 0; i < 50; i++) enqueue('video');
  assert.equal(sent.length, 50);
  pacer.bitrate = 100_000;
  for (let i = 0; i < 5; i++) enqueue('video');
  assert.ok(clock.activeTimers > 0);
  pacer.close();
  assert.equal(clock.activeTimers, 0);
  clock.advance(1000);
  enqueue('video');
  assert.ok(sent.length < 55);
});

test('pacer: a probe after a long time of media without padding still pads to its rate', () => {
  let padId = 1000;
  const { clock, pacer, sent, enqueue } = setup({
    padding: (bytes) => [{ id: padId++, size: Math.min(bytes, 1200), ssrc: 2, cls: 'padding' }],
  });
  pacer.bitrate = 1_000_000;
  for (let i = 0; i < 500; i++) {
    enqueue('video', 1200);
    clock.advance(20);
  }
  const n = sent.length;
  pacer.probe(2_000_000, 100);
  clock.advance(100);
  const probeBits = sent.slice(n).reduce((a, s) => a + s.size * 8, 0);
  // (One 5 ms step ahead, and 1200-byte packets: up to ~2.5 kB over.)
  assert.ok(Math.abs(probeBits - 200_000) < 0.2 * 200_000, `probe sent ${probeBits} bits`);
});

test('pacer: padding a late timer missed is made up (up to 20 ms of it)', () => {
  const clock = new ManualClock();
  // A loaded process: every timer fires 10 ms late.
  const late: Clock = {
    now: () => clock.now(),
    wallNow: () => clock.wallNow(),
    setTimeout: (fn, ms) => clock.setTimeout(fn, ms + 10),
    get activeTimers() {
      return clock.activeTimers;
    },
  };
  const sent: number[] = [];
  const pacer = new Pacer<P>({
    clock: late,
    send: (p) => sent.push(p.size),
    padding: (bytes) => [{ id: 0, size: Math.min(bytes, 250), ssrc: 2, cls: 'padding' }],
  });
  pacer.bitrate = 1_000_000;
  pacer.paddingBitrate = 400_000; // 250 bytes per 5 ms step
  clock.advance(1000);
  const bits = sent.reduce((a, s) => a + s * 8, 0);
  assert.ok(Math.abs(bits - 400_000) < 0.1 * 400_000, `${bits} bits of padding in 1 s`);
  pacer.close();
});
