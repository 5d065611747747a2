import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../core/clock.js';
import { SeededRandom } from '../core/random.js';
import { SctpAssociation } from '../sctp/association.js';
import { type LinkOptions, LossyLink } from '../sctp/lossy-pipe.js';
import type { RTCDataChannel } from './data-channel.js';
import { DataChannelManager } from './manager.js';

function setup(link: LinkOptions = {}, seed = 1, maxMessageSize = 262144) {
  const clock = new ManualClock();
  const net = new LossyLink(clock, new SeededRandom(seed), link);
  const side = (i: 0 | 1) => {
    const assoc = new SctpAssociation({ clock, send: net.sender(i), random: new SeededRandom(seed + i) });
    net.attach(i, assoc);
    const dcm = new DataChannelManager(assoc, {
      isDtlsClient: i === 0,
      remoteMaxMessageSize: maxMessageSize,
    });
    const remote: RTCDataChannel[] = [];
    dcm.on('datachannel', (ch) => remote.push(ch));
    return { assoc, dcm, remote };
  };
  const A = side(0);
  const B = side(1);
  const start = async () => {
    A.assoc.start();
    B.assoc.start();
    assert.ok(await clock.runUntil(() => A.assoc.state === 'established' && B.assoc.state === 'established'));
  };
  const end = () => {
    A.assoc.close();
    B.assoc.close();
    clock.advance(1000);
    assert.equal(clock.activeTimers, 0);
  };
  return { clock, net, A, B, start, end };
}

function collect(ch: RTCDataChannel): unknown[] {
  const got: unknown[] = [];
  ch.addEventListener('message', (e) => got.push((e as MessageEvent).data));
  return got;
}

test('in-band (DCEP) channel: the peer sees label, protocol and reliability; messages of every kind flow both ways', async () => {
  const s = setup();
  const a = s.A.dcm.createDataChannel('chat', { protocol: 'json', ordered: false, maxRetransmits: 3 });
  assert.equal(a.readyState, 'connecting');
  assert.throws(() => a.send('too early'), { name: 'InvalidStateError' });
  let opened = 0;
  a.onopen = () => opened++;
  await s.start();
  assert.ok(await s.clock.runUntil(() => s.B.remote.length === 1 && a.readyState === 'open'));
  assert.equal(opened, 1);
  assert.equal(a.id, 0, 'the DTLS client allocates even ids');
  const b = s.B.remote[0]!;
  assert.equal(b.label, 'chat');
  assert.equal(b.protocol, 'json');
  assert.equal(b.ordered, false);
  assert.equal(b.maxRetransmits, 3);
  assert.equal(b.maxPacketLifeTime, null);
  assert.equal(b.id, 0);
  assert.equal(b.readyState, 'open');
  assert.equal(b.binaryType, 'arraybuffer');
  const atB = collect(b);
  let viaHandler = 0;
  b.onmessage = () => viaHandler++;
  const atA = collect(a);
  a.send('héllo');
  a.send('');
  a.send(new Uint8Array([1, 2, 3]));
  a.send(new ArrayBuffer(0));
  a.send(new Blob([new Uint8Array([9, 9])]));
  a.send('after blob');
  assert.ok(await s.clock.runUntil(() => atB.length === 6));
  assert.equal(atB[0], 'héllo');
  assert.equal(atB[1], '');
  assert.deepEqual(new Uint8Array(atB[2] as ArrayBuffer), new Uint8Array([1, 2, 3]));
  assert.ok(atB[3] instanceof ArrayBuffer && atB[3].byteLength === 0);
  assert.deepEqual(new Uint8Array(atB[4] as ArrayBuffer), new Uint8Array([9, 9]));
  assert.equal(atB[5], 'after blob');
  assert.equal(viaHandler, 6);
  b.binaryType = 'blob';
  b.send(new Uint8Array([4]));
  a.binaryType = 'blob';
  assert.ok(await s.clock.runUntil(() => atA.length === 1));
  assert.ok(atA[0] instanceof Blob);
  s.end();
});

test('stream ids: client even, server odd; negotiated channels skip DCEP and collisions are rejected', async () => {
  const s = setup();
  await s.start();
  const a1 = s.A.dcm.createDataChannel('x');
  const a2 = s.A.dcm.createDataChannel('y');
  const b1 = s.B.dcm.createDataChannel('z');
  assert.deepEqual([a1.id, a2.id, b1.id], [0, 2, 1]);
  const na = s.A.dcm.createDataChannel('neg', { negotiated: true, id: 7 });
  const nb = s.B.dcm.createDataChannel('neg', { negotiated: true, id: 7 });
  assert.throws(() => s.A.dcm.createDataChannel('dup', { negotiated: true, id: 7 }), {
    name: 'OperationError',
  });
  assert.throws(
    () => s.A.dcm.createDataChannel('bad', { maxRetransmits: 1, maxPacketLifeTime: 1 }),
    TypeError,
  );
  assert.throws(() => s.A.dcm.createDataChannel('bad', { negotiated: true }), TypeError);
  const got = collect(nb);
  assert.ok(await s.clock.runUntil(() => na.readyState === 'open' && nb.readyState === 'open'));
  na.send('negotiated');
  assert.ok(await s.clock.runUntil(() => got.length === 1));
  assert.equal(got[0], 'negotiated');
  assert.equal(
    s.B.remote.map((c) => c.label).join(),
    'x,y',
    'negotiated channels raise no datachannel event',
  );
  s.end();
});

test('close resets the stream: both sides go closing -> closed, and the id can be reused', async () => {
  const s = setup({ loss: 0.1 }, 3);
  await s.start();
  const a = s.A.dcm.createDataChannel('c');
  assert.ok(await s.clock.runUntil(() => s.B.remote.length === 1));
  const b = s.B.remote[0]!;
  const events: string[] = [];
  for (const [n, ch] of [
    ['a', a],
    ['b', b],
  ] as const) {
    ch.addEventListener('closing', () => events.push(`${n}:closing`));
    ch.addEventListener('close', () => events.push(`${n}:close`));
  }
  const got = collect(b);
  a.send('last words');
  a.close();
  assert.equal(a.readyState, 'closing');
  assert.throws(() => a.send('x'), { name: 'InvalidStateError' });
  assert.ok(await s.clock.runUntil(() => a.readyState === 'closed' && b.readyState === 'closed', 60_000));
  assert.deepEqual(got, ['last words'], 'queued data is delivered before the close');
  assert.ok(events.includes('b:closing') && events.includes('b:close') && events.includes('a:close'));
  const again = s.A.dcm.createDataChannel('c2');
  assert.equal(again.id, 0, 'id reused');
  assert.ok(await s.clock.runUntil(() => s.B.remote.length === 2 && again.readyState === 'open'));
  const b2 = s.B.remote[1]!;
  assert.equal(b2.label, 'c2');
  const got2 = collect(b2);
  again.send('reopened');
  assert.ok(await s.clock.runUntil(() => got2.length === 1));
  assert.equal(got2[0], 'reopened');
  s.end();
});

test('bufferedAmount counts queued bytes and bufferedamountlow fires once when it drops to the threshold', async () => {
  const s = setup();
  await s.start();
  const a = s.A.dcm.createDataChannel('bulk');
  assert.ok(await s.clock.runUntil(() => a.readyState === 'open' && s.B.remote.length === 1));
  a.bufferedAmountLowThreshold = 16384;
  let low = 0;
  a.onbufferedamountlow = () => low++;
  for (let i = 0; i < 64; i++) a.send(new Uint8Array(4096));
  assert.equal(a.bufferedAmount, 64 * 4096);
  const got = collect(s.B.remote[0]!);
  assert.ok(await s.clock.runUntil(() => got.length === 64, 60_000));
  assert.equal(a.bufferedAmount, 0);
  assert.equal(low, 1);
  s.end();
});

test('sends larger than the remote max-message-size throw TypeError', async () => {
  const s = setup({}, 1, 1000);
  await s.start();
  const a = s.A.dcm.createDataChannel('m');
  assert.ok(await s.clock.runUntil(() => a.readyState === 'open'));
  assert.throws(() => a.send(new Uint8Array(1001)), TypeError);
  assert.throws(() => a.send('x'.repeat(1001)), TypeError);
  a.send(new Uint8Array(1000));
  s.end();
});

test('reliable ordered channel under 20% loss with reordering delivers everything in order', async () => {
  const s = setup({ loss: 0.2, reorder: 0.3, jitter: 20, duplicate: 0.05 }, 9);
  await s.start();
  const a = s.A.dcm.createDataChannel('r');
  assert.ok(await s.clock.runUntil(() => s.B.remote.length === 1, 60_000));
  const got = collect(s.B.remote[0]!);
  for (let i = 0; i < 200; i++) a.send(`m${i}:${'x'.repeat(i * 37)}`);
  assert.ok(await s.clock.runUntil(() => got.length === 200, 600_000));
  for (let i = 0; i < got.length; i++) assert.equal(got[i], `m${i}:${'x'.repeat(i * 37)}`);
  s.end();
});

test('unreliable unordered channel (maxRetransmits 0) loses under loss but keeps flowing', async () => {
  const s = setup({ loss: 0.2 }, 10);
  await s.start();
  const a = s.A.dcm.createDataChannel('game', { ordered: false, maxRetransmits: 0 });
  assert.ok(await s.clock.runUntil(() => s.B.remote.length === 1 && a.readyState === 'open', 60_000));
  const got = collect(s.B.remote[0]!);
  for (let i = 0; i < 300; i++) {
    a.send(`state ${i}`);
    await s.clock.advanceAsync(16);
  }
  await s.clock.advanceAsync(5000);
  assert.ok(got.length > 150 && got.length < 300, `got ${got.length}`);
  assert.ok(
    got.includes('state 299') || got.includes('state 298') || got.includes('state 297'),
    'late messages arrive',
  );
  s.end();
});

test('channels close with an sctp-failure error when the association dies', async () => {
  const s = setup({}, 11);
  await s.start();
  const a = s.A.dcm.createDataChannel('doomed');
  assert.ok(await s.clock.runUntil(() => a.readyState === 'open'));
  const seen: string[] = [];
  a.onerror = (e) =>
    seen.push(`error:${(e as unknown as { error: { errorDetail: string } }).error.errorDetail}`);
  a.onclose = () => seen.push('close');
  s.net.down = true;
  a.send('into the void');
  assert.ok(await s.clock.runUntil(() => a.readyState === 'closed', 3_600_000));
  assert.deepEqual(seen, ['error:sctp-failure', 'close']);
  s.end();
});
