import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineEventHandlers, makeEvent } from './event-target.js';
import { OperationsChain } from './operations-chain.js';
import { nextSignalingState } from './signaling-state.js';

test('JSEP signaling transitions: offer/answer both ways, pranswer, rollback, illegal ones throw', () => {
  assert.equal(nextSignalingState('stable', 'local', 'offer'), 'have-local-offer');
  assert.equal(nextSignalingState('have-local-offer', 'remote', 'answer'), 'stable');
  assert.equal(nextSignalingState('stable', 'remote', 'offer'), 'have-remote-offer');
  assert.equal(nextSignalingState('have-remote-offer', 'local', 'pranswer'), 'have-local-pranswer');
  assert.equal(nextSignalingState('have-local-pranswer', 'local', 'answer'), 'stable');
  assert.equal(nextSignalingState('have-local-offer', 'local', 'rollback'), 'stable');
  const invalid = (e: unknown): boolean => e instanceof DOMException && e.name === 'InvalidStateError';
  assert.throws(() => nextSignalingState('stable', 'local', 'answer'), invalid);
  assert.throws(() => nextSignalingState('have-local-offer', 'remote', 'offer'), invalid);
  assert.throws(() => nextSignalingState('stable', 'remote', 'rollback'), invalid);
  assert.throws(() => nextSignalingState('have-remote-offer', 'local', 'rollback'), invalid);
  assert.throws(() => nextSignalingState('closed', 'local', 'offer'), invalid);
});

test('operations chain runs in call order, survives failures, rejects after close', async () => {
  const chain = new OperationsChain();
  const order: number[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const a = chain.run(async () => {
    await gate;
    order.push(1);
    return 'a';
  });
  const b = chain.run(() => {
    order.push(2);
    throw new Error('boom');
  });
  const c = chain.run(() => {
    order.push(3);
    return 'c';
  });
  release();
  assert.equal(await a, 'a');
  await assert.rejects(b, /boom/);
  assert.equal(await c, 'c');
  assert.deepEqual(order, [1, 2, 3]);
  chain.close();
  await assert.rejects(
    chain.run(() => 1),
    (e: unknown) => e instanceof DOMException && e.name === 'InvalidStateError',
  );
});

test('on<event> handler properties replace each other and coexist with addEventListener', () => {
  class Thing extends EventTarget {}
  defineEventHandlers(Thing.prototype, ['ping']);
  const t = new Thing() as Thing & { onping: ((ev: Event) => void) | null };
  const seen: string[] = [];
  t.addEventListener('ping', () => seen.push('listener'));
  t.onping = () => seen.push('first');
  t.onping = (ev) => seen.push(`second:${(ev as Event & { n: number }).n}`);
  t.dispatchEvent(makeEvent('ping', { n: 7 }));
  assert.deepEqual(seen, ['listener', 'second:7']);
  t.onping = null;
  assert.equal(t.onping, null);
  t.dispatchEvent(new Event('ping'));
  assert.deepEqual(seen, ['listener', 'second:7', 'listener']);
});
