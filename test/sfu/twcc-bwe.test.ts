/**
 * Per-subscriber bandwidth estimation from TWCC driving layer selection, on a ManualClock: two
 * simulcast publishers, two subscribers whose downlinks are modelled as bottleneck queues (a
 * capacity, a 20 ms base delay, tail drop past 300 ms of queue) that report arrivals as TWCC
 * feedback every 50 ms, as a browser does. Limiting one subscriber's link moves it to the low
 * layers while the other keeps the high ones; lifting the limit lets it climb back (by probing:
 * GCC alone never grows past 1.5 x what is acknowledged).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../../src/core/random.js';
import { TwccRecorder } from '../../src/interceptor/twcc-recorder.js';
import { serializeRtcp } from '../../src/rtcp/compound.js';
import type { ForwardedRtp } from '../../src/server/sfu/forwarded.js';
import { PAUSED } from '../../src/server/sfu/layer-selector.js';
import { SubscriberBwe } from '../../src/server/sfu/subscriber-bwe.js';
import { Harness } from './harness.js';

/**
 * A subscriber's downlink: FIFO at `capacity` bits/s, then TWCC feedback from arrival times.
 * `numbering` 'room': the room numbers packets (ForwardedRtp.transportSequence) and gets feedback
 * as RTCP; 'transport': the link numbers them itself, as a peer connection's transport does, and
 * reports through Room.transportSent / transportFeedback.
 */
class Downlink {
  capacity = Number.POSITIVE_INFINITY;
  /** The receiver reads a packet that arrived at `t` at readAt(t) (a busy receiving process). */
  readAt: (t: number) => number = (t) => t;
  readonly #queue: { seq: number; arrival: number }[] = [];
  readonly #twcc = new TwccRecorder();
  #busyUntil = 0;
  #lastFeedback = 0;
  #seq = 0;
  dropped = 0;
  constructor(
    readonly id: string,
    readonly h: Harness,
    readonly numbering: 'room' | 'transport' = 'room',
  ) {}

  send(p: ForwardedRtp, now: number): void {
    let seq = p.transportSequence;
    if (this.numbering === 'transport') {
      assert.equal(seq, undefined, 'the room leaves numbering to the transport');
      seq = this.#seq++ & 0xffff;
      this.h.room.transportSent(this.id, seq, p.bytes.length);
    }
    if (seq === undefined) throw new Error('no transport-wide sequence number');
    const start = Math.max(now, this.#busyUntil);
    if (start - now > 300) {
      this.dropped++; // tail drop: the bottleneck's buffer is full
      return;
    }
    const done = start + (p.bytes.length * 8 * 1000) / this.capacity;
    this.#busyUntil = done;
    this.#queue.push({ seq, arrival: done + 20 });
  }

  step(now: number): void {
    while (this.#queue.length > 0 && this.readAt(this.#queue[0]!.arrival) <= now) {
      const a = this.#queue.shift()!;
      this.#twcc.record(a.seq, this.readAt(a.arrival));
    }
    if (now - this.#lastFeedback >= 50) {
      this.#lastFeedback = now;
      const fb = this.#twcc.buildFeedback(1, 0);
      if (!fb) return;
      if (this.numbering === 'transport') this.h.room.transportFeedback(this.id, fb);
      else this.h.room.handleRtcp(this.id, serializeRtcp([fb]));
    }
  }
}

test('TWCC: a limited subscriber drops to the low layers, others keep the high ones, and it climbs back when the limit lifts', () => {
  const { h, links, step, layers } = twoByTwo('room');
  const estimate = (id: string) => h.room.bandwidthOf(id)!;

  // Unlimited: both climb from the 1 Mbps start to the top layers of both publishers.
  h.run(40_000, undefined, step);
  assert.deepEqual(layers('S'), [2, 2], `S on the top layers (estimate ${estimate('S').estimate})`);
  assert.deepEqual(layers('T'), [2, 2]);
  assert.equal(estimate('S').source, 'twcc');
  assert.ok(estimate('S').estimate > 2_000_000, `S's estimate ${estimate('S').estimate}`);

  // S's downlink falls to 700 kbit/s: the low layers (2 x ~150 kbit/s + audio) fit, nothing else.
  links.get('S')!.capacity = 700_000;
  h.run(30_000, undefined, step);
  // Probes go on now and then (backing off): look between them.
  for (let i = 0; i < 40 && h.room.estimatorOf('S')!.probing; i++) h.run(500, undefined, step);
  h.run(1000, undefined, step);
  assert.ok(!h.room.estimatorOf('S')!.probing);
  assert.deepEqual(layers('S'), [0, 0], `S on the low layers (estimate ${estimate('S').estimate})`);
  assert.ok(estimate('S').estimate < 700_000, `S's estimate ${estimate('S').estimate} under the capacity`);
  assert.deepEqual(layers('T'), [2, 2], 'T keeps the top layers');
  // Video kept flowing to S on the low layers (no freeze), and probes that overran the link stopped.
  const sinceLimit = h.videoTo('S').slice(-200);
  assert.ok(sinceLimit.length === 200);
  const droppedAtLimit = links.get('S')!.dropped;

  // The limit lifts: S probes its way back up.
  links.get('S')!.capacity = Number.POSITIVE_INFINITY;
  h.run(45_000, undefined, step);
  assert.ok(
    layers('S').every((l) => l !== PAUSED && l >= 1),
    `S climbed back (layers ${layers('S')}, estimate ${estimate('S').estimate})`,
  );
  assert.deepEqual(layers('T'), [2, 2]);
  assert.equal(links.get('S')!.dropped, droppedAtLimit, 'nothing dropped once the link is free');
});

test('SubscriberBwe: a probe that overruns the path fails and backs off; one the path carries is kept', () => {
  const bwe = new SubscriberBwe(500_000, 0);
  // Quiet and a step up wanted: a probe starts after the first interval.
  assert.equal(bwe.budget(1000, 400_000, 900_000), 500_000, 'no probe before the interval');
  assert.equal(bwe.budget(3500, 400_000, 900_000), 900_000, 'probe');
  assert.ok(bwe.probing);
  // Forwarding rises, but nothing more is acknowledged a second later: the path is full.
  assert.equal(bwe.budget(4000, 900_000, 1_500_000), 900_000);
  assert.equal(bwe.budget(5100, 900_000, 1_500_000), 500_000, 'failed: back to the estimate');
  assert.equal(bwe.failedProbes, 1);
  // Backed off: 6 s before the next one.
  assert.equal(bwe.budget(9000, 400_000, 900_000), 500_000);
  assert.equal(bwe.budget(11_200, 400_000, 900_000), 900_000);
});

/** Two simulcast publishers and subscribers S and T on modelled downlinks. */
function twoByTwo(numbering: 'room' | 'transport', initialBandwidth = 1_000_000) {
  const h = new Harness({ twcc: true, transportSequence: numbering, initialBandwidth });
  h.addPublisher('A', 21);
  h.addPublisher('B', 22);
  h.room.join('S');
  h.room.join('T');
  const links = new Map(['S', 'T'].map((id) => [id, new Downlink(id, h, numbering)]));
  h.onRtp = (id, p) => links.get(id)?.send(p, h.clock.now());
  const step = (now: number) => {
    for (const l of links.values()) l.step(now);
  };
  const layers = (id: string): number[] =>
    h.room
      .downTracksOf(id)
      .filter((d) => d.track.kind === 'video')
      .map((d) => d.current);
  return { h, links, step, layers };
}

test('TWCC numbered by the transport (as on a peer connection): feedback -> estimator -> layers', () => {
  const { h, links, step, layers } = twoByTwo('transport');
  // Before any feedback the estimate is the assumption.
  assert.equal(h.room.bandwidthOf('S')!.source, 'initial');
  h.run(40_000, undefined, step);
  const bwe = h.room.estimatorOf('S')!;
  assert.ok(bwe.feedbacks > 500, `${bwe.feedbacks} feedback packets fed the estimator`);
  assert.equal(h.room.bandwidthOf('S')!.source, 'twcc');
  assert.notEqual(h.room.bandwidthOf('S')!.estimate, 1_000_000);
  assert.deepEqual(layers('S'), [2, 2], `S climbed to the top layers (${h.room.bandwidthOf('S')!.estimate})`);

  links.get('S')!.capacity = 700_000;
  h.run(20_000, undefined, step);
  for (let i = 0; i < 40 && bwe.probing; i++) h.run(500, undefined, step);
  h.run(1000, undefined, step);
  assert.deepEqual(
    layers('S'),
    [0, 0],
    `S on the low layers (estimate ${h.room.bandwidthOf('S')!.estimate})`,
  );
  assert.deepEqual(layers('T'), [2, 2], 'T keeps the top layers');

  links.get('S')!.capacity = Number.POSITIVE_INFINITY;
  h.run(45_000, undefined, step);
  assert.ok(
    layers('S').every((l) => l >= 1),
    `S climbed back (layers ${layers('S')})`,
  );
});

test('TWCC: a receiver that reads late now and then (scheduling jitter, no loss) is not starved', () => {
  const { h, links, step, layers } = twoByTwo('transport', 3_000_000);
  h.run(20_000, undefined, step);
  // From now on S's receiving process reads each packet 0-150 ms late (in order): a queuing delay
  // of ~75 ms on average, all along, but nothing is lost and the link is not full.
  const random = new SeededRandom(5);
  const from = h.clock.now();
  const late = new Map<number, number>();
  let lastRead = 0;
  links.get('S')!.readAt = (t) => {
    if (t < from) return t;
    let r = late.get(t);
    if (r === undefined) {
      r = Math.max(lastRead, t + random.float() * 150);
      lastRead = r;
      late.set(t, r);
    }
    return r;
  };
  const bwe = h.room.estimatorOf('S')!;
  let lowest = Number.POSITIVE_INFINITY;
  let paused = 0;
  const sent = h.videoTo('S').length;
  h.run(30_000, undefined, (now) => {
    step(now);
    const bw = h.room.bandwidthOf('S')!;
    // (The floor follows the layer meters, which wobble by a few percent.)
    if (bw.estimate < 0.9 * bwe.floor) lowest = Math.min(lowest, bw.estimate);
    if (layers('S').includes(PAUSED)) paused++;
  });
  assert.equal(
    lowest,
    Number.POSITIVE_INFINITY,
    `the estimate went below the lowest layers' need: ${lowest}`,
  );
  assert.equal(paused, 0, 'video was never paused');
  assert.equal(links.get('S')!.dropped, 0);
  // Video kept flowing: at least the low layers of both publishers all along (~2 x 30 packets/s).
  assert.ok(h.videoTo('S').length - sent > 1500, `${h.videoTo('S').length - sent} video packets`);
});
