import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OperationsChain } from './operations-chain.js';

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
