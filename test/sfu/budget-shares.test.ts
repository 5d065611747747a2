/**
 * How the SFU shares a subscriber's budget over its video tracks, on a ManualClock: every track's
 * lowest layer comes first, and with TWCC the budget stays at what those lowest layers need unless
 * the subscriber's path loses packets. The six-page Chromium test once failed on this: on a loaded
 * machine the receivers read late, the estimate sat at the floor of four publishers, a fifth
 * joined, and every subscriber's equal share fell under its lowest layers: all video paused, and
 * the probes to resume failed on the same delay.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAUSED } from '../../src/server/sfu/layer-selector.js';
import { Harness } from './harness.js';
import { OPUS_PT } from './synthetic.js';
import { readLate, twoByTwo } from './twcc-links.js';

/** What publisher `id`'s lowest video layer measures now (bits/s). */
function lowestLayerRate(h: Harness, id: string): number {
  return h.room
    .tracksOf(id)
    .find((t) => t.kind === 'video')!
    .layers[0]!.meter.bitrate(h.clock.now());
}

test('TWCC: a busy receiver held at its lowest layers keeps all its video when another publisher joins', () => {
  const { h, links, step, layers } = twoByTwo('transport', 3_000_000);
  h.addPublisher('C', 23);
  h.addPublisher('D', 24);
  h.run(20_000, undefined, step);
  // S's receiving process reads late from now on (delay, no loss): its estimate sinks to the floor.
  readLate(links.get('S')!, h.clock.now(), 5);
  h.run(30_000, undefined, step);
  const bwe = h.room.estimatorOf('S')!;
  const floorOfFour = bwe.floor;

  // A fifth publisher: the lowest layers now need more than the estimate made for four.
  h.addPublisher('E', 25);
  h.run(1000, undefined, step);
  let paused = 0;
  let below = 0;
  const sent = new Map(['A', 'B', 'C', 'D', 'E'].map((id) => [id, h.videoTo('S', id).length]));
  h.run(40_000, undefined, (now) => {
    step(now);
    if (layers('S').includes(PAUSED)) paused++;
    // (The floor follows the layer meters, which wobble by a few percent.)
    if (h.room.bandwidthOf('S')!.effective < 0.97 * bwe.floor) below++;
  });
  assert.ok(
    bwe.floor > floorOfFour * 1.1,
    `the floor grew with the fifth publisher (${floorOfFour} -> ${bwe.floor})`,
  );
  assert.equal(below, 0, "S's budget never went under its lowest layers' need");
  assert.equal(paused, 0, `S's video was never paused (layers now ${layers('S')})`);
  assert.equal(links.get('S')!.dropped, 0);
  // ~30 packets/s of each publisher's lowest layer for 40 s.
  for (const [id, before] of sent) {
    const got = h.videoTo('S', id).length - before;
    assert.ok(got > 1000, `S got ${got} video packets of ${id}`);
  }
});

test('TWCC: a path that loses packets still pauses video below the lowest layers (audio goes on)', () => {
  const { h, links, step, layers } = twoByTwo('transport');
  h.run(20_000, undefined, step);
  // 250 kbit/s: the two lowest layers and audio need ~400.
  links.get('S')!.capacity = 250_000;
  h.run(20_000, undefined, step);
  let paused = 0;
  let steps = 0;
  const audio = h.audioTo('S').length;
  h.run(40_000, undefined, (now) => {
    step(now);
    steps++;
    if (layers('S').every((l) => l === PAUSED)) paused++;
  });
  assert.ok(paused > 0.8 * steps, `S's video paused ${Math.round((100 * paused) / steps)}% of the time`);
  assert.ok(h.audioTo('S').length - audio >= 3900, 'audio of both publishers all along');
  assert.deepEqual(layers('T'), [2, 2], 'T keeps the top layers');
});

test('a track whose lowest layer costs more than the average keeps it when all the lowest layers fit', () => {
  const h = new Harness();
  // A's lowest layer ~150 kbit/s, B's ~50 kbit/s.
  h.addPublisher('A', 31);
  h.addPublisher('B', 32, true, { sizes: [200, 1000, 1100] });
  h.room.join('S');
  h.run(3000);
  const q = (id: string) => lowestLayerRate(h, id);
  const lowest = q('A') + q('B');
  assert.ok(q('A') > 2 * q('B'), `A's q ${q('A')}, B's ${q('B')}`);
  const video = () =>
    h.room
      .downTracksOf('S')
      .filter((d) => d.track.kind === 'video')
      .map((d) => d.current);
  // Audio (2 x 50k reserved) and 10% over both lowest layers: an equal share (55% of both) is
  // under 80% of A's.
  h.room.setBandwidth('S', 100_000 + 1.1 * lowest);
  h.run(5000);
  assert.deepEqual(video(), [0, 0], 'both on their lowest layer');
  const fromA = h.videoTo('S', 'A').length;
  h.run(3000);
  assert.ok(h.videoTo('S', 'A').length - fromA >= 80, "A's video goes on");
  // Far short of the lowest layers: both pause together (each gets the same fraction of its need).
  h.room.setBandwidth('S', 100_000 + 0.5 * lowest);
  h.run(1000);
  assert.deepEqual(video(), [PAUSED, PAUSED]);
});

test('a track whose publisher stopped for a while comes back on its lowest layer without the resume margin', () => {
  const h = new Harness();
  h.addPublisher('A', 41);
  h.addPublisher('B', 42);
  h.room.join('S');
  h.run(3000);
  const q = (id: string) => lowestLayerRate(h, id);
  const fromA = () =>
    h.room.downTracksOf('S').find((d) => d.track.kind === 'video' && d.track.publisherId === 'A')!;
  // Audio and 20% over both lowest layers: enough to keep them, not the 1.5x a budget pause wants.
  h.room.setBandwidth('S', 100_000 + 1.2 * (q('A') + q('B')));
  h.run(3000);
  assert.equal(fromA().current, 0);
  // A's video stops for 2 s (its encoder, or this process, stalled): nothing to forward.
  h.run(2000, (p, id) => (id === 'A' && p.packet.payloadType !== OPUS_PT ? [] : [p]));
  assert.equal(fromA().current, PAUSED);
  // It comes back: S is fed A's lowest layer again at the next keyframe.
  const before = h.videoTo('S', 'A').length;
  h.run(3000);
  assert.equal(fromA().current, 0, 'A back on q');
  assert.ok(h.videoTo('S', 'A').length - before >= 60, `${h.videoTo('S', 'A').length - before} packets of A`);
});

test("TWCC: a subscriber's connection may probe up to 1.5x what its tracks could use, not to the controller's maximum", () => {
  const { h, step } = twoByTwo('transport');
  h.run(20_000, undefined, step);
  const now = h.clock.now();
  // What S could receive at most: both publishers' top layers and their audio.
  const top = h.room
    .downTracksOf('S')
    .filter((d) => d.track.kind === 'video')
    .reduce((sum, d) => sum + d.track.layers.at(-1)!.meter.bitrate(now), 0);
  const could = top + 2 * 50_000;
  const limit = h.probeLimits.get('S');
  assert.ok(limit !== undefined, 'the sink was told');
  assert.ok(
    Math.abs(limit - 1.5 * could) < 0.15 * 1.5 * could,
    `limit ${limit} vs 1.5 x ${could} (top layers ${top})`,
  );
  assert.ok(limit < 5_000_000, 'far under the 10 Mbit/s the controller would probe to');
  // S wants the lowest layers only: its connection need not probe for the top ones.
  h.room.setMaxResolution(
    'S',
    h.room.downTracksOf('S').find((d) => d.track.kind === 'video')!.track.layers[0]!.height,
  );
  h.run(3000, undefined, step);
  const lowest = h.room
    .downTracksOf('S')
    .filter((d) => d.track.kind === 'video')
    .reduce((sum, d) => sum + d.track.layers[0]!.meter.bitrate(h.clock.now()), 0);
  const capped = h.probeLimits.get('S')!;
  assert.ok(
    capped < 0.5 * limit && capped <= Math.max(300_000, 1.5 * (lowest + 100_000)) * 1.15,
    `limit ${capped} for the lowest layers (${lowest}), was ${limit}`,
  );
});
