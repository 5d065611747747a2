import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../core/clock.js';
import { Pacer } from './pacing.js';
import type { LocalCandidate } from './pair.js';
import { localPeerReflexive, remotePeerReflexive } from './peer-reflexive.js';

test('pacer: the first check goes out at once, the next ones one Ta apart', () => {
  const clock = new ManualClock();
  const ticks: number[] = [];
  let pacer!: Pacer;
  let remaining = 3;
  pacer = new Pacer(clock, 50, () => {
    ticks.push(clock.now());
    pacer.sent();
    if (--remaining > 0) pacer.schedule();
  });
  pacer.schedule();
  pacer.schedule(); // a second request while one is pending changes nothing
  assert.deepEqual(ticks, [], 'not synchronously inside schedule()');
  clock.advance(0);
  assert.deepEqual(ticks, [0], 'due at once');
  clock.advance(49);
  assert.deepEqual(ticks, [0]);
  clock.advance(1);
  assert.deepEqual(ticks, [0, 50]);
  clock.advance(50);
  assert.deepEqual(ticks, [0, 50, 100]);
  assert.equal(clock.activeTimers, 0);
});

test('pacer: a check sent outside the pacer (nomination) delays the next paced one; stop cancels', () => {
  const clock = new ManualClock();
  const ticks: number[] = [];
  const pacer = new Pacer(clock, 50, () => ticks.push(clock.now()));
  clock.advance(10);
  pacer.sent();
  pacer.schedule();
  clock.advance(0);
  assert.deepEqual(ticks, []);
  clock.advance(50);
  assert.deepEqual(ticks, [60]);
  pacer.sent();
  pacer.schedule();
  pacer.stop();
  clock.advance(1000);
  assert.deepEqual(ticks, [60]);
  assert.equal(clock.activeTimers, 0);
  pacer.schedule();
  clock.advance(100);
  assert.deepEqual(ticks, [60], 'stopped for good');
});

test('pacer: a due check goes through `soon` (next turn on the real clock), later ones through the clock', () => {
  const clock = new ManualClock();
  const ticks: number[] = [];
  const queued: (() => void)[] = [];
  let cancelled = 0;
  const soon = (fn: () => void) => {
    queued.push(fn);
    return { cancel: () => void cancelled++ };
  };
  let pacer!: Pacer;
  pacer = new Pacer(
    clock,
    50,
    () => {
      ticks.push(clock.now());
      pacer.sent();
      pacer.schedule();
    },
    soon,
  );
  pacer.schedule();
  assert.deepEqual(ticks, [], 'not synchronously inside schedule()');
  assert.equal(queued.length, 1);
  clock.advance(10);
  assert.deepEqual(ticks, [], 'not through the clock');
  queued.shift()!();
  assert.deepEqual(ticks, [10]);
  assert.equal(queued.length, 0, 'the next check is not due: the clock schedules it');
  clock.advance(50);
  assert.deepEqual(ticks, [10, 60]);
  pacer.stop();
  assert.equal(cancelled, 0);
  const p2 = new Pacer(clock, 50, () => assert.fail('a stopped pacer does not tick'), soon);
  p2.schedule();
  p2.stop();
  assert.equal(cancelled, 1, 'stop cancels a pending next-turn tick');
  assert.equal(clock.activeTimers, 0);
});

test('peer-reflexive candidates: remote from a check source, local from a mapped address', () => {
  const r = remotePeerReflexive({ address: '198.51.100.7', port: 4000 }, { protocol: 'udp' }, 1234, 3);
  assert.equal(r.type, 'prflx');
  assert.equal(r.priority, 1234);
  assert.equal(r.address, '198.51.100.7');
  assert.equal(r.tcpType, undefined);
  const t = remotePeerReflexive(
    { address: '198.51.100.7', port: 4000 },
    { protocol: 'tcp', tcpType: 'passive' },
    1,
    4,
  );
  assert.equal(t.tcpType, 'active');
  assert.notEqual(t.foundation, r.foundation);
  const host: LocalCandidate = {
    id: 'L1',
    foundation: '1',
    component: 1,
    protocol: 'udp',
    priority: 2130706431,
    address: '10.0.0.2',
    port: 5000,
    type: 'host',
    baseId: 'udp:10.0.0.2:5000',
    baseAddress: '10.0.0.2',
    basePort: 5000,
  };
  const l = localPeerReflexive('L9', host, { address: '203.0.113.9', port: 6000 }, 1862270975);
  assert.deepEqual(
    [l.id, l.type, l.address, l.port, l.baseId, l.relatedAddress, l.relatedPort, l.priority],
    ['L9', 'prflx', '203.0.113.9', 6000, host.baseId, '10.0.0.2', 5000, 1862270975],
  );
});
