import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../core/clock.js';
import { StateError } from '../core/errors.js';
import type { TransportAddress } from '../core/net.js';
import { attr } from './attributes.js';
import { METHOD } from './constants.js';
import { createMessage, parseStunMessage } from './message.js';
import { serializeStunMessage } from './serialize.js';
import { newTransactionId, StunTimeoutError, StunTransactions } from './transactions.js';

const SERVER: TransportAddress = { address: '192.0.2.1', port: 3478 };

function setup(defaults = {}) {
  const clock = new ManualClock();
  const sent: { at: number; bytes: Uint8Array }[] = [];
  const tx = new StunTransactions({
    clock,
    send: (bytes) => sent.push({ at: clock.now(), bytes }),
    defaults,
  });
  return { clock, sent, tx };
}

function responseTo(req: Uint8Array, cls: 'success' | 'error' = 'success') {
  const tid = req.subarray(8, 20);
  return parseStunMessage(
    serializeStunMessage(
      createMessage(METHOD.BINDING, cls, tid, [
        attr.xorMappedAddress({ address: '198.51.100.1', port: 9 }, tid),
      ]),
    ),
  );
}

test('UDP: RFC 8489 schedule 0, 500, 1500, 3500, 7500, 15500, 31500, timeout at 39500', async () => {
  const { clock, sent, tx } = setup();
  const p = tx.request(createMessage(METHOD.BINDING, 'request', newTransactionId()), SERVER);
  let err: unknown;
  p.catch((e) => (err = e));
  await clock.advanceAsync(39_499);
  assert.deepEqual(
    sent.map((s) => s.at),
    [0, 500, 1500, 3500, 7500, 15500, 31500],
  );
  assert.equal(typeof err, 'undefined');
  await clock.advanceAsync(1);
  assert.ok(err instanceof StunTimeoutError);
  assert.equal((err as StunTimeoutError).code, 'ERR_STUN_TIMEOUT');
  assert.equal((err as StunTimeoutError).transmissions, 7);
  assert.equal(tx.pending, 0);
  assert.equal(clock.activeTimers, 0);
});

test('configurable RTO, Rc and Rm', async () => {
  const { clock, sent, tx } = setup({ rto: 100, rc: 3 });
  const p = tx.request(createMessage(METHOD.BINDING, 'request', newTransactionId()), SERVER, { rm: 4 });
  let err: unknown;
  p.catch((e) => (err = e));
  await clock.advanceAsync(699);
  assert.deepEqual(
    sent.map((s) => s.at),
    [0, 100, 300],
  );
  assert.equal(typeof err, 'undefined');
  await clock.advanceAsync(1);
  assert.ok(err instanceof StunTimeoutError);
});

test('reliable transport: one transmission, timeout after Ti', async () => {
  const { clock, sent, tx } = setup();
  const p = tx.request(createMessage(METHOD.BINDING, 'request', newTransactionId()), SERVER, {
    reliable: true,
  });
  let err: unknown;
  p.catch((e) => (err = e));
  await clock.advanceAsync(39_499);
  assert.equal(sent.length, 1);
  assert.equal(typeof err, 'undefined');
  await clock.advanceAsync(1);
  assert.ok(err instanceof StunTimeoutError);
});

test('a response matched by transaction id resolves and stops retransmission', async () => {
  const { clock, sent, tx } = setup();
  const p = tx.request(createMessage(METHOD.BINDING, 'request', newTransactionId()), SERVER);
  const other = tx.request(createMessage(METHOD.BINDING, 'request', newTransactionId()), SERVER);
  other.catch(() => {});
  await clock.advanceAsync(600);
  assert.equal(sent.length, 4);
  const req = sent[0]!.bytes;
  // A response with another transaction id is not ours.
  const stray = responseTo(new Uint8Array(20));
  assert.equal(tx.handle(stray, SERVER), false);
  // A request with our id is not a response.
  assert.equal(tx.handle(parseStunMessage(req), SERVER), false);
  assert.equal(tx.handle(responseTo(req), SERVER), true);
  const r = await p;
  assert.equal(r.rtt, 600);
  assert.equal(r.transmissions, 2);
  assert.equal(r.message.cls, 'success');
  // Late duplicate: ignored.
  assert.equal(tx.handle(responseTo(req), SERVER), false);
  await clock.advanceAsync(10_000);
  assert.equal(sent.filter((s) => s.bytes === req).length, 2);
  tx.close();
  assert.equal(clock.activeTimers, 0);
});

test('error responses resolve too; close and cancel reject with StateError', async () => {
  const { clock, sent, tx } = setup();
  const p = tx.request(createMessage(METHOD.BINDING, 'request', newTransactionId()), SERVER);
  tx.handle(responseTo(sent[0]!.bytes, 'error'), SERVER);
  assert.equal((await p).message.cls, 'error');
  const tid = newTransactionId();
  const c = tx.request(createMessage(METHOD.BINDING, 'request', tid), SERVER);
  await assert.rejects(tx.request(createMessage(METHOD.BINDING, 'request', tid), SERVER), StateError);
  assert.equal(tx.cancel(tid), true);
  await assert.rejects(c, StateError);
  const d = tx.request(createMessage(METHOD.BINDING, 'request', newTransactionId()), SERVER);
  tx.close();
  await assert.rejects(d, StateError);
  await assert.rejects(
    tx.request(createMessage(METHOD.BINDING, 'request', newTransactionId()), SERVER),
    StateError,
  );
  assert.equal(clock.activeTimers, 0);
});
