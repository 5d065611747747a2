/** The sans-IO STUN server engine: Binding, RFC 5780, TURN plug-in points, bad input. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../../core/random.js';
import { attr, read } from '../../stun/attributes.js';
import { ATTR, METHOD } from '../../stun/constants.js';
import { createMessage, parseStunMessage } from '../../stun/message.js';
import { serializeStunMessage } from '../../stun/serialize.js';
import { type Endpoint, type StunInbound, StunServerEngine } from './stun-engine.js';

const CLIENT = { address: '198.51.100.7', port: 50000 };
const PRIMARY = { address: '192.0.2.1', port: 3478 };
const ALT = { address: '192.0.2.2', port: 3479 };

function setup(alternate = true) {
  const out: { via: Endpoint | 'reply'; bytes: Uint8Array; to: { address: string; port: number } }[] = [];
  const engine = new StunServerEngine(
    { primary: PRIMARY, alternate: alternate ? ALT : undefined, software: 'rtcstack-test' },
    (via, bytes, to) => out.push({ via, bytes, to }),
  );
  const send = (data: Uint8Array, transport: 'udp' | 'tcp' = 'udp', from = CLIENT): void => {
    const inbound: StunInbound = {
      data,
      from,
      transport,
      endpoint: { ip: 0, port: 0 },
      reply: (bytes) => out.push({ via: 'reply', bytes, to: from }),
    };
    engine.handle(inbound);
  };
  return { engine, out, send };
}

const tid = (n = 1): Uint8Array => new Uint8Array(12).fill(n);
const binding = (attrs: ReturnType<typeof attr.software>[] = [], fingerprint = true): Uint8Array =>
  serializeStunMessage(createMessage(METHOD.BINDING, 'request', tid(), attrs), { fingerprint });

test('Binding: XOR-MAPPED-ADDRESS, SOFTWARE, FINGERPRINT, RFC 5780 attributes', () => {
  const { out, send, engine } = setup();
  send(binding([], false));
  assert.equal(out.length, 1);
  const r = parseStunMessage(out[0]!.bytes);
  assert.equal(out[0]!.via, 'reply');
  assert.equal(r.cls, 'success');
  assert.deepEqual([...r.transactionId], [...tid()]);
  assert.deepEqual(read.xorMappedAddress(r), CLIENT);
  assert.equal(read.software(r), 'rtcstack-test');
  assert.ok(r.fingerprintOffset > 0);
  assert.deepEqual(read.responseOrigin(r), PRIMARY);
  assert.deepEqual(read.otherAddress(r), ALT);
  assert.equal(engine.counters.answered, 1);
});

test('Binding over IPv6', () => {
  const { out, send } = setup(false);
  send(binding(), 'udp', { address: '2001:db8::7', port: 1 });
  const r = parseStunMessage(out[0]!.bytes);
  assert.deepEqual(read.xorMappedAddress(r), { address: '2001:db8::7', port: 1 });
  assert.equal(read.otherAddress(r), undefined);
});

test('CHANGE-REQUEST answers from the other IP and/or port', () => {
  const { out, send } = setup();
  const cases: [boolean, boolean, Endpoint, { address: string; port: number }][] = [
    [true, true, { ip: 1, port: 1 }, ALT],
    [false, true, { ip: 0, port: 1 }, { address: PRIMARY.address, port: ALT.port }],
    [true, false, { ip: 1, port: 0 }, { address: ALT.address, port: PRIMARY.port }],
  ];
  for (const [changeIp, changePort, via, origin] of cases) {
    out.length = 0;
    send(binding([attr.changeRequest({ changeIp, changePort })]));
    assert.equal(out.length, 1);
    assert.deepEqual(out[0]!.via, via);
    assert.deepEqual(out[0]!.to, CLIENT);
    const r = parseStunMessage(out[0]!.bytes);
    assert.deepEqual(read.responseOrigin(r), origin);
  }
});

test('CHANGE-REQUEST without an alternate address: 420 listing it', () => {
  const { out, send } = setup(false);
  send(binding([attr.changeRequest({ changeIp: true, changePort: true })]));
  const r = parseStunMessage(out[0]!.bytes);
  assert.equal(r.cls, 'error');
  assert.equal(read.errorCode(r)?.code, 420);
  assert.deepEqual(read.unknownAttributes(r), [ATTR.CHANGE_REQUEST]);
});

test('RESPONSE-PORT answers to the source IP at that port only', () => {
  const { out, send, engine } = setup();
  send(binding([attr.responsePort(40000)]));
  assert.deepEqual(out[0]!.to, { address: CLIENT.address, port: 40000 });
  out.length = 0;
  send(binding([attr.responsePort(0)]));
  assert.equal(out.length, 0);
  assert.equal(engine.counters.refused, 1);
  send(binding([attr.responsePort(40000)]), 'tcp');
  assert.equal(read.errorCode(parseStunMessage(out[0]!.bytes))?.code, 400);
});

test('PADDING never makes the response bigger than the request', () => {
  const { out, send } = setup();
  for (const n of [0, 1, 4, 17, 100, 512, 1400]) {
    out.length = 0;
    const req = binding([attr.padding(n)]);
    send(req);
    const r = parseStunMessage(out[0]!.bytes);
    assert.equal(r.cls, 'success');
    const padded = read.padding(r)?.length ?? 0;
    assert.ok(out[0]!.bytes.length <= Math.max(req.length, 100), `padding ${n}: ${out[0]!.bytes.length}`);
    if (n >= 100) assert.ok(padded > 0 && out[0]!.bytes.length > req.length - 8, `padding ${n}`);
  }
});

test('unknown comprehension-required attributes: 420 with UNKNOWN-ATTRIBUTES; optional ones ignored', () => {
  const { out, send } = setup();
  send(
    binding([
      { type: 0x7ff0, value: new Uint8Array(4) },
      { type: 0xfff0, value: new Uint8Array(4) },
    ]),
  );
  const r = parseStunMessage(out[0]!.bytes);
  assert.equal(read.errorCode(r)?.code, 420);
  assert.deepEqual(read.unknownAttributes(r), [0x7ff0]);
  out.length = 0;
  send(binding([{ type: 0xfff0, value: new Uint8Array(4) }]));
  assert.equal(parseStunMessage(out[0]!.bytes).cls, 'success');
});

test('other methods plug in; non-STUN bytes go to the non-STUN handler', () => {
  const { out, send, engine } = setup();
  const allocate = serializeStunMessage(createMessage(METHOD.ALLOCATE, 'request', tid(3)));
  send(allocate);
  assert.equal(out.length, 0);
  assert.equal(engine.counters.unknownMethod, 1);
  const seen: number[] = [];
  engine.setMethodHandler(METHOD.ALLOCATE, (ctx) => {
    seen.push(ctx.message.method);
    assert.deepEqual(ctx.local, PRIMARY);
    engine.sendError(ctx, 401, 'Unauthorized');
  });
  send(allocate);
  assert.deepEqual(seen, [METHOD.ALLOCATE]);
  assert.equal(read.errorCode(parseStunMessage(out[0]!.bytes))?.code, 401);
  const channelData = new Uint8Array([0x40, 0x00, 0x00, 0x02, 1, 2, 0, 0]);
  send(channelData);
  assert.equal(engine.counters.notStun, 1);
  const got: Uint8Array[] = [];
  engine.setNonStunHandler((i) => got.push(i.data));
  send(channelData);
  assert.equal(got.length, 1);
  assert.throws(() => engine.setMethodHandler(METHOD.BINDING, () => {}), TypeError);
});

test('bad input is dropped and counted, never answered', () => {
  const { out, send, engine } = setup();
  const good = binding();
  const badFp = good.slice();
  badFp[badFp.length - 1]! ^= 1;
  send(badFp);
  send(binding([attr.software('truncated')]).subarray(0, 30)); // truncated
  const oversized = new Uint8Array(good.length + 4);
  oversized.set(good);
  send(oversized); // length mismatch
  const resp = serializeStunMessage(createMessage(METHOD.BINDING, 'success', tid()));
  send(resp);
  send(serializeStunMessage(createMessage(METHOD.BINDING, 'indication', tid())));
  send(new Uint8Array([0x16, 0xfe, 0xfd, 0, 0])); // looks like DTLS: top bits 00, not STUN
  send(new Uint8Array(0));
  assert.equal(out.length, 0);
  assert.equal(engine.counters.badFingerprint, 1);
  assert.ok(engine.counters.malformed + engine.counters.notStun >= 4);
  assert.equal(engine.counters.notRequest, 2);
  send(good);
  assert.equal(out.length, 1);
});

test('fuzz: random and mutated datagrams never throw, never amplify beyond a small bound', () => {
  const { out, send, engine } = setup();
  const r = new SeededRandom(8489);
  const seeds = [
    binding(),
    binding([attr.changeRequest({ changeIp: true, changePort: false }), attr.padding(40)]),
    binding([attr.responsePort(1234), attr.software('x')]),
  ];
  const handler = (ctx: Parameters<Parameters<typeof engine.setMethodHandler>[1] & object>[0]): void => {
    engine.sendError(ctx, 400, 'no');
  };
  engine.setMethodHandler(METHOD.ALLOCATE, handler);
  for (let i = 0; i < 20000; i++) {
    let b: Uint8Array;
    if (i % 2) b = r.bytes(r.int(200));
    else {
      b = seeds[i % seeds.length]!.slice();
      for (let k = 0; k < 1 + r.int(3); k++) b[r.int(b.length)] = r.int(256);
    }
    out.length = 0;
    send(b);
    for (const o of out) {
      assert.ok(o.bytes.length <= Math.max(b.length, 120), `response ${o.bytes.length} to ${b.length}`);
      assert.equal(o.to.address, CLIENT.address);
    }
  }
  assert.equal(engine.counters.handlerErrors, 0);
});

test('the 20-byte fast path answers exactly as the general path', () => {
  const { out, send } = setup();
  send(binding([], false)); // fast path
  send(binding([{ type: 0x8055, value: new Uint8Array(4) }], true)); // general path
  assert.equal(out.length, 2);
  assert.deepEqual([...out[0]!.bytes], [...out[1]!.bytes]);
});
