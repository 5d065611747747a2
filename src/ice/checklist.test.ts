import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CandidateType, computeFoundation, computePriority } from './candidate.js';
import { CheckList } from './checklist.js';
import type { LocalCandidate, RemoteCandidate } from './pair.js';

let n = 0;
function local(
  type: CandidateType,
  address: string,
  port: number,
  baseId = `${address}:${port}`,
): LocalCandidate {
  return {
    id: `L${n++}`,
    baseId,
    baseAddress: address,
    basePort: port,
    foundation: computeFoundation(type, address, 'udp'),
    component: 1,
    protocol: 'udp',
    priority: computePriority(type, 65535 - n),
    address,
    port,
    type,
  };
}
function remote(
  type: CandidateType,
  address: string,
  port: number,
  foundation = `${type}${address}`,
): RemoteCandidate {
  return {
    id: `R${n++}`,
    foundation,
    component: 1,
    protocol: 'udp',
    priority: computePriority(type, 65535 - n),
    address,
    port,
    type,
  };
}

test('pairs are ordered by priority; families and srflx locals do not pair', () => {
  const cl = new CheckList();
  const h4 = local('host', '10.0.0.1', 1000);
  const h6 = local('host', '2001:db8::1', 1001);
  const srflx = local('srflx', '203.0.113.1', 2000);
  const relay = local('relay', '198.51.100.1', 3000);
  for (const l of [h4, h6, srflx, relay]) {
    for (const r of [
      remote('host', '10.0.0.2', 1),
      remote('srflx', '203.0.113.2', 2),
      remote('relay', '198.51.100.2', 3),
    ]) {
      cl.add(l, r, true);
    }
  }
  // IPv6 host has no IPv6 remote; srflx never pairs: 2 locals x 3 remotes.
  assert.equal(cl.pairs.length, 6);
  for (let i = 1; i < cl.pairs.length; i++) assert.ok(cl.pairs[i - 1]!.priority >= cl.pairs[i]!.priority);
  assert.equal(cl.pairs[0]!.local.type, 'host');
  assert.equal(cl.pairs[0]!.remote.type, 'host');
  assert.equal(cl.pairs.at(-1)!.local.type, 'relay');
  assert.equal(cl.pairs.at(-1)!.remote.type, 'relay');
});

test('redundant pairs (same base, same remote address) are pruned, keeping the higher priority', () => {
  const cl = new CheckList();
  const host = local('host', '10.0.0.1', 1000, 'sock1');
  const prflx = local('prflx', '203.0.113.9', 5000, 'sock1');
  const r = remote('host', '10.0.0.2', 1);
  const a = cl.add(prflx, r, true);
  const b = cl.add(host, r, true);
  assert.equal(cl.pairs.length, 1);
  assert.notEqual(a, b);
  assert.equal(cl.pairs[0], b);
  // adding the lower one again returns the existing pair
  assert.equal(cl.add(prflx, r, true), b);
});

test('foundations: one waiting pair per foundation, others frozen until success', () => {
  const cl = new CheckList();
  const l1 = local('host', '10.0.0.1', 1000);
  const l2 = local('host', '10.0.0.1', 1001); // same foundation as l1 (same type and base IP)
  const r1 = remote('host', '10.0.0.2', 1, 'F');
  const p1 = cl.add(l1, r1, true)!;
  const p2 = cl.add(l2, r1, true)!;
  assert.equal(p1.foundation, p2.foundation);
  assert.deepEqual([p1.state, p2.state], ['waiting', 'frozen']);
  const first = cl.next()!;
  assert.equal(first.pair, p1);
  p1.state = 'in-progress';
  assert.equal(cl.next(), undefined, 'frozen pair stays frozen while its foundation is in progress');
  p1.state = 'succeeded';
  cl.unfreezeFoundation(p1.foundation);
  assert.equal(p2.state, 'waiting');
  assert.equal(cl.next()!.pair, p2);
});

test('a frozen pair is unfrozen when its foundation is idle (RFC 8445 §6.1.4.2)', () => {
  const cl = new CheckList();
  const l1 = local('host', '10.0.0.1', 1000);
  const l2 = local('host', '10.0.0.1', 1001);
  const r1 = remote('host', '10.0.0.2', 1, 'F');
  const p1 = cl.add(l1, r1, true)!;
  const p2 = cl.add(l2, r1, true)!;
  p1.state = 'failed';
  assert.equal(cl.next()!.pair, p2);
});

test('triggered checks go first; role change re-sorts', () => {
  const cl = new CheckList();
  const l = local('host', '10.0.0.1', 1000);
  const hi = cl.add(l, remote('host', '10.0.0.2', 1), true)!;
  const lo = cl.add(l, remote('relay', '10.0.0.3', 2), true)!;
  cl.trigger(lo);
  cl.trigger(lo);
  assert.deepEqual(cl.next(), { pair: lo, triggered: true });
  assert.deepEqual(cl.next(), { pair: hi, triggered: false });
  const before = hi.priority;
  cl.recompute(false);
  assert.notEqual(hi.priority, before);
});

test('max pairs: low priority pairs are dropped', () => {
  const cl = new CheckList(3);
  const l = local('host', '10.0.0.1', 1000);
  for (let i = 0; i < 5; i++) cl.add(l, remote('host', `10.0.1.${i}`, 1), true);
  assert.equal(cl.pairs.length, 3);
  assert.equal(cl.allFailed(), false);
  for (const p of cl.pairs) p.state = 'failed';
  assert.equal(cl.allFailed(), true);
});
