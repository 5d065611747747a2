import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../clock.js';
import { SeededRandom } from '../random.js';
import { Scheduler } from './scheduler.js';

test('scheduler: events run in (due, scheduling) order, one clock timer at a time', () => {
  const clock = new ManualClock();
  const s = new Scheduler(clock);
  const rnd = new SeededRandom(5);
  const order: [number, number][] = [];
  for (let i = 0; i < 500; i++) {
    const due = rnd.int(50);
    s.schedule(due, () => order.push([clock.now(), i]));
    assert.equal(clock.activeTimers, 1);
  }
  const cancelled = s.schedule(10, () => order.push([-1, -1]));
  cancelled.cancel();
  assert.equal(s.pending, 500);
  clock.advance(100);
  assert.equal(order.length, 500);
  for (let k = 1; k < order.length; k++) {
    const [t0, i0] = order[k - 1]!;
    const [t1, i1] = order[k]!;
    assert.ok(t0 < t1 || (t0 === t1 && i0 < i1), `order at ${k}`);
  }
  assert.equal(clock.activeTimers, 0);
  assert.equal(s.pending, 0);
});

test('scheduler: an event scheduled while running, due now, runs in the same advance; clear cancels all', () => {
  const clock = new ManualClock();
  const s = new Scheduler(clock);
  const seen: string[] = [];
  s.schedule(5, () => {
    seen.push('a');
    s.schedule(0, () => seen.push('b'));
  });
  s.schedule(5, () => seen.push('c'));
  clock.advance(5);
  assert.deepEqual(seen, ['a', 'c', 'b']);
  s.schedule(1, () => seen.push('x'));
  s.clear();
  clock.advance(10);
  assert.deepEqual(seen, ['a', 'c', 'b']);
  assert.equal(clock.activeTimers, 0);
});

test('scheduler: promise continuations run between events under advanceAsync', async () => {
  const clock = new ManualClock();
  const s = new Scheduler(clock);
  const seen: string[] = [];
  s.schedule(1, () => {
    seen.push('first');
    void Promise.resolve().then(() => seen.push('continuation'));
  });
  s.schedule(1, () => seen.push('second'));
  await clock.advanceAsync(1);
  assert.deepEqual(seen, ['first', 'continuation', 'second']);
});
