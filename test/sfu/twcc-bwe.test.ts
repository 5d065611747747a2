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
import { PAUSED } from '../../src/server/sfu/layer-selector.js';
import { SubscriberBwe } from '../../src/server/sfu/subscriber-bwe.js';
import { readLate, twoByTwo } from './twcc-links.js';

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
  readLate(links.get('S')!, h.clock.now(), 5);
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
