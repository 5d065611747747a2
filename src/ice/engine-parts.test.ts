/**
 * The agent's timing and decision parts on a ManualClock: check retransmissions, consent
 * freshness, the nomination policy and the role conflict rule.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../core/clock.js';
import { SeededRandom } from '../core/random.js';
import { type CandidateType, computePriority } from './candidate.js';
import { ConsentFreshness } from './consent.js';
import { decideNomination, resolveRoleConflict } from './nomination.js';
import { CandidatePair, type LocalCandidate, type RemoteCandidate } from './pair.js';
import { CheckTransactions } from './transactions.js';

let n = 0;
function pair(
  localType: CandidateType,
  remoteType: CandidateType,
  state: CandidatePair['state'],
): CandidatePair {
  const l: LocalCandidate = {
    id: `L${n}`,
    baseId: `b${n}`,
    baseAddress: '10.0.0.1',
    basePort: 1000 + n,
    foundation: `f${n}`,
    component: 1,
    protocol: 'udp',
    priority: computePriority(localType, 1000),
    address: '10.0.0.1',
    port: 1000 + n,
    type: localType,
  };
  const r: RemoteCandidate = {
    id: `R${n}`,
    foundation: `g${n}`,
    component: 1,
    protocol: 'udp',
    priority: computePriority(remoteType, 1000),
    address: '10.0.0.2',
    port: 2000 + n++,
    type: remoteType,
  };
  const p = new CandidatePair(l, r, true);
  p.state = state;
  return p;
}

test('check transactions: RTO 500 doubling to 4000, 7 transmissions, then timeout', () => {
  const clock = new ManualClock();
  const sends: number[] = [];
  const timeouts: number[] = [];
  const tx = new CheckTransactions(
    clock,
    { rto: 500, rtoMax: 4000, transmissions: 7, consentWait: 5000 },
    () => sends.push(clock.now()),
    () => timeouts.push(clock.now()),
  );
  const p = pair('host', 'host', 'in-progress');
  const rnd = new SeededRandom(1);
  tx.start({
    tid: rnd.bytes(12),
    pair: p,
    bytes: new Uint8Array(0),
    password: 'x',
    controlling: true,
    useCandidate: false,
    consent: false,
    priority: 1,
  });
  clock.advance(60_000);
  assert.deepEqual(sends, [0, 500, 1500, 3500, 7500, 11500, 15500]);
  assert.deepEqual(timeouts, [19500]);
  assert.equal(clock.activeTimers, 0);
});

test('check transactions: a new check replaces the old one, whose late answer still counts', () => {
  const clock = new ManualClock();
  const timeouts: string[] = [];
  const tx = new CheckTransactions(
    clock,
    { rto: 500, rtoMax: 4000, transmissions: 7, consentWait: 5000 },
    () => {},
    (t) => timeouts.push(t.id),
  );
  const p = pair('host', 'host', 'in-progress');
  const rnd = new SeededRandom(2);
  const base = {
    pair: p,
    bytes: new Uint8Array(0),
    password: 'x',
    controlling: true,
    useCandidate: false,
    consent: false,
    priority: 1,
  };
  const a = tx.start({ ...base, tid: rnd.bytes(12) });
  clock.advance(100);
  const b = tx.start({ ...base, tid: rnd.bytes(12) });
  assert.equal(tx.get(a.id), a, 'the replaced transaction still matches answers');
  clock.advance(4000);
  assert.equal(tx.get(a.id), undefined, 'forgotten after rtoMax without a failure');
  assert.equal(tx.get(b.id), b);
  tx.finish(b);
  clock.advance(60_000);
  assert.deepEqual(timeouts, []);
});

test('consent: checks every ~5 s, disconnected after 10 s without answers, failed at 30 s, refreshed keeps it alive', () => {
  const clock = new ManualClock();
  const checks: number[] = [];
  const lapses: string[] = [];
  const c = new ConsentFreshness(
    clock,
    new SeededRandom(3),
    { interval: 5000, disconnectedTimeout: 10_000, consentTimeout: 30_000 },
    () => checks.push(clock.now()),
    (s) => lapses.push(`${s}@${Math.round(clock.now() / 1000)}`),
  );
  c.start();
  // Answers for a minute.
  for (let t = 0; t < 60; t++) {
    clock.advance(1000);
    c.refreshed();
  }
  assert.equal(lapses.length, 0);
  assert.ok(checks.length >= 10 && checks.length <= 15, `${checks.length} checks in 60 s`);
  for (let i = 1; i < checks.length; i++) {
    const gap = checks[i]! - checks[i - 1]!;
    assert.ok(gap >= 4000 && gap <= 6000, `gap ${gap}`);
  }
  // Silence.
  clock.advance(40_000);
  assert.equal(lapses[0]!.split('@')[0], 'disconnected');
  assert.equal(lapses.at(-1)!.split('@')[0], 'failed');
  const failedAt = Number(lapses.at(-1)!.split('@')[1]);
  assert.ok(failedAt >= 90 && failedAt <= 97, `failed at ${failedAt}`);
  assert.equal(clock.activeTimers, 0, 'no checks after consent is lost');
});

test('nomination: nominate at once when nothing better is pending, else wait (longer for a relay)', () => {
  const direct = pair('srflx', 'srflx', 'succeeded');
  direct.currentRoundTripTime = 0.05;
  const betterPending = pair('host', 'host', 'in-progress');
  const validOf = new Map([[direct, direct]]);
  const base = { validOf, nominationTimeout: undefined, relayNominationTimeout: undefined };
  assert.deepEqual(decideNomination({ ...base, pairs: [direct], waited: 0 }), { nominate: direct });
  assert.deepEqual(decideNomination({ ...base, pairs: [betterPending, direct], waited: 0 }), { waitMs: 150 });
  assert.deepEqual(decideNomination({ ...base, pairs: [betterPending, direct], waited: 150 }), {
    nominate: direct,
  });
  betterPending.state = 'failed';
  assert.deepEqual(decideNomination({ ...base, pairs: [betterPending, direct], waited: 0 }), {
    nominate: direct,
  });

  const relay = pair('relay', 'srflx', 'succeeded');
  const pending = pair('srflx', 'srflx', 'in-progress');
  const r = {
    validOf: new Map([[relay, relay]]),
    nominationTimeout: undefined,
    relayNominationTimeout: undefined,
  };
  assert.deepEqual(decideNomination({ ...r, pairs: [pending, relay], waited: 100 }), { waitMs: 1900 });
  assert.deepEqual(decideNomination({ ...r, pairs: [pending, relay], waited: 2000 }), { nominate: relay });
  assert.equal(decideNomination({ ...r, validOf: new Map(), pairs: [pending], waited: 0 }), undefined);
});

test('role conflict (RFC 8445 §7.3.1.1): larger tie-breaker keeps controlling', () => {
  // Both controlling.
  assert.equal(resolveRoleConflict(true, 10n, 5n, undefined), 'reject');
  assert.equal(resolveRoleConflict(true, 5n, 10n, undefined), 'switch');
  assert.equal(resolveRoleConflict(true, 7n, 7n, undefined), 'reject');
  // Both controlled.
  assert.equal(resolveRoleConflict(false, 10n, undefined, 5n), 'switch');
  assert.equal(resolveRoleConflict(false, 5n, undefined, 10n), 'reject');
  // No conflict.
  assert.equal(resolveRoleConflict(true, 1n, undefined, 9n), 'ok');
  assert.equal(resolveRoleConflict(false, 1n, 9n, undefined), 'ok');
});
