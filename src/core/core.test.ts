import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteReader, ByteWriter, fromHex, toHex } from './bytes.js';
import { ManualClock } from './clock.js';
import { ParseError } from './errors.js';
import { parseAddress } from './net.js';
import { cryptoRandom, SeededRandom } from './random.js';

test('ByteWriter and ByteReader round-trip every width', () => {
  const w = new ByteWriter(2);
  w.u8(0xab).u16(0xbeef).u24(0x123456).u32(0xdeadbeef).u48(0x123456789abc).u64(0x0102030405060708n);
  w.bytes(new Uint8Array([9, 8, 7]));
  const r = new ByteReader(w.finish(), 'test');
  assert.equal(r.u8('a'), 0xab);
  assert.equal(r.u16('b'), 0xbeef);
  assert.equal(r.u24('c'), 0x123456);
  assert.equal(r.u32('d'), 0xdeadbeef);
  assert.equal(r.u48('e'), 0x123456789abc);
  assert.equal(r.u64('f'), 0x0102030405060708n);
  assert.deepEqual([...r.bytes(3, 'g')], [9, 8, 7]);
  assert.equal(r.remaining, 0);
});

test('ByteReader reads from a view at an offset into a larger buffer, top bits set, as DataView does', () => {
  const whole = new Uint8Array(64);
  for (let i = 0; i < whole.length; i++) whole[i] = 0xff - i * 3;
  for (const offset of [0, 1, 3, 5]) {
    const view = whole.subarray(offset, offset + 40);
    const dv = new DataView(whole.buffer, offset);
    const r = new ByteReader(view, 'test', 2);
    assert.equal(r.u16('a'), dv.getUint16(2));
    assert.equal(r.u32('b'), dv.getUint32(4));
    assert.equal(r.u48('c'), dv.getUint16(8) * 2 ** 32 + dv.getUint32(10));
    assert.equal(r.u64('d'), dv.getBigUint64(14));
    assert.equal(r.u32('e'), dv.getUint32(22));
  }
  const max = new ByteReader(new Uint8Array(20).fill(0xff), 'test');
  assert.equal(max.u16('a'), 0xffff);
  assert.equal(max.u32('b'), 0xffffffff);
  assert.equal(max.u48('c'), 2 ** 48 - 1);
  assert.equal(max.u64('d'), 2n ** 64n - 1n);
});

test('ByteReader throws ParseError naming layer, field and offset on short input', () => {
  const r = new ByteReader(new Uint8Array([1, 2, 3]), 'stun');
  r.u16('type');
  assert.throws(
    () => r.u16('length'),
    (e: unknown) => e instanceof ParseError && e.layer === 'stun' && e.field === 'length' && e.offset === 2,
  );
  assert.equal(r.offset, 2, 'a failed read does not move the cursor');
  assert.throws(() => new ByteReader(new Uint8Array(2), 'x', 0, 5), ParseError);
});

test('sub-readers are bounded by their window', () => {
  const r = new ByteReader(new Uint8Array([0, 1, 2, 3, 4]), 'x');
  const s = r.sub(2, 'inner');
  s.u16('v');
  assert.throws(() => s.u8('past'), ParseError);
  assert.equal(r.u8('next'), 2);
});

test('hex helpers', () => {
  assert.equal(toHex(fromHex('00ff10')), '00ff10');
  assert.throws(() => fromHex('abc'), TypeError);
});

test('ManualClock fires timers in due order, ties in scheduling order, and only when advanced', () => {
  const c = new ManualClock();
  const fired: string[] = [];
  c.setTimeout(() => fired.push('b'), 20);
  c.setTimeout(() => fired.push('a'), 10);
  c.setTimeout(() => fired.push('a2'), 10);
  const t = c.setTimeout(() => fired.push('cancelled'), 5);
  t.cancel();
  assert.equal(c.activeTimers, 3);
  c.advance(9);
  assert.equal(fired.length, 0);
  c.advance(1);
  assert.deepEqual(fired, ['a', 'a2']);
  c.setTimeout(() => {
    fired.push('c');
    c.setTimeout(() => fired.push('d'), 1);
  }, 5);
  c.advance(100);
  assert.deepEqual(fired, ['a', 'a2', 'c', 'd', 'b']);
  assert.equal(c.now(), 110);
  assert.equal(c.activeTimers, 0);
});

test('ManualClock.runUntil jumps to timers and stops when the condition holds', async () => {
  const c = new ManualClock();
  let n = 0;
  const tick = (): void => {
    n++;
    c.setTimeout(tick, 1000);
  };
  c.setTimeout(tick, 1000);
  assert.equal(await c.runUntil(() => n >= 5), true);
  assert.equal(c.now(), 5000);
  assert.equal(await c.runUntil(() => n >= 1000, 3000), false);
});

test('cryptoRandom: fresh bytes of any length across pool refills, u32 and float in range', () => {
  const seen = new Set<string>();
  // 12-byte values (transaction ids) across several 4 KiB pool refills: all distinct, none shared.
  for (let i = 0; i < 1000; i++) {
    const b = cryptoRandom.bytes(12);
    assert.equal(b.length, 12);
    seen.add(Buffer.from(b).toString('hex'));
  }
  assert.equal(seen.size, 1000);
  const a = cryptoRandom.bytes(16);
  a.fill(0);
  assert.notDeepEqual(cryptoRandom.bytes(16), a, 'a returned value is a copy, not the pool');
  assert.equal(cryptoRandom.bytes(10_000).length, 10_000);
  assert.equal(cryptoRandom.bytes(0).length, 0);
  const bits = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const u = cryptoRandom.u32();
    assert.ok(Number.isInteger(u) && u >= 0 && u < 2 ** 32);
    bits.add(u >>> 31);
    const f = cryptoRandom.float();
    assert.ok(f >= 0 && f < 1);
  }
  assert.equal(bits.size, 2, 'the top bit varies (unsigned, not sign-extended)');
});

test('SeededRandom is reproducible and roughly uniform', () => {
  const a = new SeededRandom(42);
  const b = new SeededRandom(42);
  const xs = Array.from({ length: 1000 }, () => a.float());
  assert.deepEqual(
    xs,
    Array.from({ length: 1000 }, () => b.float()),
  );
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(mean > 0.45 && mean < 0.55, `mean ${mean}`);
  assert.notDeepEqual(new SeededRandom(1).bytes(8), new SeededRandom(2).bytes(8));
});

test('parseAddress', () => {
  assert.deepEqual(parseAddress('1.2.3.4:5'), { address: '1.2.3.4', port: 5 });
  assert.deepEqual(parseAddress('[::1]:3478'), { address: '::1', port: 3478 });
  assert.throws(() => parseAddress('nope'), TypeError);
  assert.throws(() => parseAddress('1.2.3.4:70000'), TypeError);
});

test('RFC 7983 demultiplexing by first byte', async () => {
  const { classifyDatagram } = await import('./demux.js');
  assert.equal(classifyDatagram(new Uint8Array([0, 1])), 'stun');
  assert.equal(classifyDatagram(new Uint8Array([22, 0xfe])), 'dtls');
  assert.equal(classifyDatagram(new Uint8Array([0x40, 0])), 'turn-channel');
  assert.equal(classifyDatagram(new Uint8Array([0x80, 96])), 'rtp');
  assert.equal(classifyDatagram(new Uint8Array([0x80, 200])), 'rtcp');
  assert.equal(classifyDatagram(new Uint8Array([0x80, 0xe0])), 'rtp', 'marker bit + PT 96 is RTP');
  assert.equal(classifyDatagram(new Uint8Array([255])), 'unknown');
  assert.equal(classifyDatagram(new Uint8Array([])), 'unknown');
});
