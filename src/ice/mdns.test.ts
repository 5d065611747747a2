import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../core/clock.js';
import { ParseError } from '../core/errors.js';
import type { TransportAddress } from '../core/net.js';
import { nodeNetwork } from '../core/net-node.js';
import { SeededRandom } from '../core/random.js';
import {
  addressRecordData,
  DNS_TYPE_A,
  DNS_TYPE_AAAA,
  MdnsResolver,
  parseDnsMessage,
  serializeDnsMessage,
} from './mdns.js';

const NAME = '3c2b9c52-5a5b-4c2e-9f4c-3f9b6f3e1a2d.local';

test('dns message round-trip with A and AAAA answers', () => {
  const a = addressRecordData('192.168.1.20');
  const aaaa = addressRecordData('2001:db8::7');
  const bytes = serializeDnsMessage({
    id: 7,
    response: true,
    questions: [{ name: NAME, type: DNS_TYPE_A, unicastResponse: true }],
    answers: [
      { name: NAME, type: a.type, ttl: 120, data: a.data },
      { name: NAME, type: aaaa.type, ttl: 120, data: aaaa.data },
    ],
  });
  const m = parseDnsMessage(bytes);
  assert.equal(m.id, 7);
  assert.equal(m.response, true);
  assert.deepEqual(m.questions, [{ name: NAME, type: DNS_TYPE_A, unicastResponse: true }]);
  assert.equal(m.answers[0]!.address, '192.168.1.20');
  assert.equal(m.answers[1]!.type, DNS_TYPE_AAAA);
  assert.equal(m.answers[1]!.address, '2001:db8::7');
  assert.equal(addressRecordData('::1').data[15], 1);
});

test('dns names with compression pointers, and loops are rejected', () => {
  // header + answer whose name is a pointer to offset 12 where the question name sits
  const q = serializeDnsMessage({
    id: 1,
    response: true,
    questions: [{ name: 'a.local', type: 1, unicastResponse: false }],
    answers: [],
  });
  const ans = new Uint8Array([0xc0, 12, 0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4, 10, 0, 0, 9]);
  const msg = new Uint8Array(q.length + ans.length);
  msg.set(q);
  msg.set(ans, q.length);
  msg[7] = 1; // ancount
  const m = parseDnsMessage(msg);
  assert.equal(m.answers[0]!.name, 'a.local');
  assert.equal(m.answers[0]!.address, '10.0.0.9');
  const loop = new Uint8Array([0, 0, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
  assert.throws(() => parseDnsMessage(loop), ParseError);
});

test('dns parser fuzz: value or ParseError', () => {
  const rnd = new SeededRandom(53);
  const a = addressRecordData('10.1.2.3');
  const good = serializeDnsMessage({
    id: 1,
    response: true,
    questions: [{ name: NAME, type: 1, unicastResponse: true }],
    answers: [{ name: NAME, type: a.type, ttl: 1, data: a.data }],
  });
  for (let i = 0; i < 5000; i++) {
    const b = i % 2 ? rnd.bytes(rnd.int(80)) : good.slice(0, rnd.int(good.length + 1));
    if (i % 4 === 0) for (let k = 0; k < 3; k++) b[rnd.int(b.length || 1)] = rnd.u32() & 0xff;
    try {
      parseDnsMessage(b);
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
    }
  }
});

/** Resolves on the `n`th datagram `socket`'s handler has taken (the handler set before this call). */
function handled(socket: { onMessage: ((d: Uint8Array, from: TransportAddress) => void) | null }) {
  const handle = socket.onMessage;
  let seen = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  socket.onMessage = (d, from) => {
    handle?.(d, from);
    seen++;
    for (const w of waiters.filter((x) => x.n <= seen)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  return (n: number): Promise<void> =>
    n <= seen ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }));
}

// Real loopback I/O: the tests wait on datagrams, the resolver's timeouts run on a ManualClock.
const IO = { timeout: 10_000 };

test('resolver: one-shot query to a loopback responder resolves the .local name', IO, async () => {
  const responder = await nodeNetwork.bindUdp({ address: '127.0.0.1' });
  let queries = 0;
  responder.onMessage = (data, from) => {
    const q = parseDnsMessage(data);
    queries++;
    assert.equal(q.response, false);
    assert.ok(q.questions.some((x) => x.type === DNS_TYPE_A));
    if (q.questions[0]!.name !== NAME) return;
    const rd = addressRecordData('127.0.0.1');
    responder.send(
      serializeDnsMessage({
        id: q.id,
        response: true,
        questions: [],
        answers: [{ name: NAME, type: rd.type, ttl: 120, data: rd.data }],
      }),
      from,
    );
  };
  const taken = handled(responder);
  const clock = new ManualClock();
  const r = new MdnsResolver({ network: nodeNetwork, clock, server: responder.local, timeoutMs: 2000 });
  try {
    assert.equal(await r.resolve(NAME), '127.0.0.1');
    assert.equal(await r.resolve(NAME.toUpperCase()), '127.0.0.1', 'cached, case-insensitive');
    assert.equal(queries, 1);
    // Nobody answers this one: it gives undefined when its timeout falls due, not before.
    let settled = false;
    const unknown = r.resolve('unknown.local').finally(() => {
      settled = true;
    });
    await taken(2);
    await clock.advanceAsync(1999);
    assert.equal(settled, false, 'still waiting before the timeout');
    await clock.advanceAsync(1);
    assert.equal(await unknown, undefined);
    assert.equal(queries, 2);
  } finally {
    r.close();
    responder.close();
  }
  assert.equal(clock.activeTimers, 0);
});

test('resolver: timeout on a manual clock gives undefined', async () => {
  const clock = new ManualClock();
  const sink = await nodeNetwork.bindUdp({ address: '127.0.0.1' });
  const r = new MdnsResolver({ network: nodeNetwork, clock, server: sink.local, timeoutMs: 500 });
  const p = r.resolve('nobody.local');
  await clock.runUntil(() => false, 600);
  assert.equal(await p, undefined);
  r.close();
  sink.close();
});

test('responder: answers registered names only, stable names per address, garbage counted', IO, async () => {
  const { MdnsResponder } = await import('./mdns-responder.js');
  const socket = await nodeNetwork.bindUdp({ address: '127.0.0.1' });
  const responder = new MdnsResponder(socket);
  const taken = handled(socket);
  const name = responder.register('127.0.0.1');
  assert.equal(responder.register('127.0.0.1'), name);
  assert.match(name, /^[0-9a-f-]{36}\.local$/);
  const clock = new ManualClock();
  const r = new MdnsResolver({
    network: nodeNetwork,
    clock,
    server: responder.socketAddress,
    timeoutMs: 500,
  });
  const probe = await nodeNetwork.bindUdp({ address: '127.0.0.1' });
  try {
    assert.equal(await r.resolve(name), '127.0.0.1');
    const unknown = r.resolve('00000000-0000-0000-0000-000000000000.local');
    await taken(2);
    assert.equal(
      responder.answered,
      1,
      'the responder took the query for a name it does not hold, no answer',
    );
    await clock.advanceAsync(500);
    assert.equal(await unknown, undefined);
    probe.send(new Uint8Array([1, 2, 3]), responder.socketAddress);
    await taken(3);
    assert.equal(responder.parseErrors, 1);
    assert.equal(responder.answered, 1);
  } finally {
    r.close();
    probe.close();
    responder.close();
  }
  assert.equal(clock.activeTimers, 0);
});
