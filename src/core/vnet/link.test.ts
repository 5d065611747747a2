import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { collect } from '../../../test/helpers/vnet.js';
import { ManualClock } from '../clock.js';
import type { LinkConditions } from './index.js';
import { VirtualNetwork } from './index.js';

const N = 10_000;

/** Two public hosts; the sender's link has `conditions`; sends N numbered datagrams 1 ms apart. */
async function run(conditions: LinkConditions, options: { seed?: number; n?: number; size?: number } = {}) {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock, seed: options.seed ?? 7, trace: true });
  const a = net.host('a', { address: '203.0.113.1', link: conditions });
  const b = net.host('b', { address: '203.0.113.2' });
  const sa = await a.bindUdp();
  const sb = await b.bindUdp({ port: 9000 });
  const got = collect(sb, clock);
  const n = options.n ?? N;
  const sentAt: number[] = [];
  for (let i = 0; i < n; i++) {
    const d = new Uint8Array(options.size ?? 100);
    new DataView(d.buffer).setUint32(0, i);
    sentAt.push(clock.now());
    sa.send(d, { address: '203.0.113.2', port: 9000 });
    clock.advance(1);
  }
  await clock.runUntil(() => net.inFlight === 0, 600_000);
  const seqs = got.map((g) => new DataView(g.data.buffer, g.data.byteOffset).getUint32(0));
  sa.close();
  sb.close();
  net.close();
  net.assertNoOpenSockets();
  assert.equal(clock.activeTimers, 0);
  return { net, got, seqs, sentAt, link: a.link };
}

describe('link impairments (seeded)', () => {
  test('loss: about 10% of 10000 datagrams, counted by reason', async () => {
    const { net, seqs, link } = await run({ loss: 0.1 });
    const lost = N - seqs.length;
    assert.ok(lost > 850 && lost < 1150, `lost ${lost}`);
    assert.equal(net.stats.udp.dropped.loss, lost);
    assert.equal(link.up.stats.lost, lost);
    assert.equal(net.stats.udp.sent, N);
    assert.equal(net.stats.udp.delivered, seqs.length);
    assert.deepEqual(
      seqs,
      [...seqs].sort((x, y) => x - y),
      'no reordering without reorder',
    );
  });

  test('duplication: about 5% extra copies', async () => {
    const { net, seqs } = await run({ duplicate: 0.05 });
    const extra = seqs.length - N;
    assert.ok(extra > 400 && extra < 600, `duplicates ${extra}`);
    assert.equal(net.stats.udp.duplicated, extra);
    assert.equal(new Set(seqs).size, N, 'every datagram arrives');
  });

  test('reordering: about 10% held back and overtaken', async () => {
    const { seqs, link } = await run({ reorder: 0.1, reorderDelay: 5 });
    assert.equal(seqs.length, N);
    let late = 0;
    let max = -1;
    for (const s of seqs) {
      if (s < max) late++;
      max = Math.max(max, s);
    }
    assert.ok(late > 850 && late < 1150, `late ${late}`);
    const held = link.up.stats.reordered;
    assert.ok(
      late <= held && late >= held - 5,
      `late ${late}, held back ${held} (the last few have nothing to overtake them)`,
    );
  });

  test('delay and jitter: one-way delay within [delay, delay + jitter), order kept', async () => {
    const { got, seqs, sentAt } = await run({ delay: 40, jitter: 10 }, { n: 1000 });
    assert.equal(got.length, 1000);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => i),
    );
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    got.forEach((g, i) => {
      const d = g.at - sentAt[i]!;
      min = Math.min(min, d);
      max = Math.max(max, d);
    });
    assert.ok(min >= 40 && max < 50 + 1, `delay ${min}..${max}`);
    assert.ok(max - min > 5, 'jitter varies the delay');
  });

  test('delay 0 still goes through the clock', async () => {
    const clock = new ManualClock();
    const net = new VirtualNetwork({ clock });
    const a = net.host('a');
    const b = net.host('b');
    const sa = await a.bindUdp();
    const sb = await b.bindUdp();
    const got = collect(sb, clock);
    sa.send(new Uint8Array([1]), { address: b.addresses[0]!, port: sb.local.port });
    assert.equal(got.length, 0, 'not delivered synchronously');
    assert.ok(net.inFlight > 0);
    clock.advance(0);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.at, 0);
    net.close();
  });

  test('MTU: datagrams over the MTU (IP + UDP headers included) are dropped', async () => {
    const clock = new ManualClock();
    const net = new VirtualNetwork({ clock });
    const a = net.host('a', { address: '203.0.113.1', link: { mtu: 1500 } });
    const b = net.host('b', { address: '203.0.113.2', link: { mtu: 1280 } });
    const sa = await a.bindUdp();
    const sb = await b.bindUdp({ port: 9 });
    const got = collect(sb, clock);
    const to = { address: '203.0.113.2', port: 9 };
    assert.equal(sa.send(new Uint8Array(1501 - 28), to), false, 'over the sender link MTU: local failure');
    assert.equal(sa.send(new Uint8Array(1500 - 28), to), true, 'fits the sender link, not the receiver link');
    assert.equal(sa.send(new Uint8Array(1280 - 28), to), true);
    await clock.runUntil(() => false, 10);
    assert.deepEqual(
      got.map((g) => g.data.length),
      [1252],
    );
    assert.equal(net.stats.udp.dropped.mtu, 2);
    net.close();
  });

  test('bandwidth: a 1 Mbit/s link delivers 1 Mbit/s and drops the excess at the queue', async () => {
    // 2 Mbit/s offered for 5 s: 1000-byte payloads (1028 bytes on the wire) every 4 ms.
    const clock = new ManualClock();
    const net = new VirtualNetwork({ clock });
    const a = net.host('a', { address: '203.0.113.1', link: { bandwidth: 1_000_000, queueBytes: 20_000 } });
    const b = net.host('b', { address: '203.0.113.2' });
    const sa = await a.bindUdp();
    const sb = await b.bindUdp({ port: 9 });
    const got = collect(sb, clock);
    for (let t = 0; t < 5000; t += 4) {
      sa.send(new Uint8Array(1000), { address: '203.0.113.2', port: 9 });
      clock.advance(4);
    }
    await clock.runUntil(() => net.inFlight === 0, 10_000);
    const last = got.at(-1)!.at;
    const wireBits = got.length * 1028 * 8;
    const rate = wireBits / (last / 1000);
    assert.ok(rate > 0.97e6 && rate < 1.03e6, `rate ${rate}`);
    assert.ok(net.stats.udp.dropped.queue > 500, `queue drops ${net.stats.udp.dropped.queue}`);
    assert.equal(got.length + net.stats.udp.dropped.queue, 1250);
    assert.ok(
      a.link.up.stats.maxQueueDelay <= ((20_000 * 8) / 1e6) * 1000 + 10,
      'queue delay bounded by its size',
    );
    net.close();
  });

  test('bandwidth under the limit: no queueing beyond serialization', async () => {
    const { got, link, net } = await run({ bandwidth: 10_000_000 }, { n: 1000, size: 500 });
    assert.equal(got.length, 1000);
    assert.equal(net.stats.udp.dropped.queue, 0);
    assert.ok(link.up.stats.maxQueueDelay < 1);
  });
});

describe('determinism', () => {
  const impaired: LinkConditions = { loss: 0.05, duplicate: 0.02, reorder: 0.05, delay: 20, jitter: 15 };
  test('the same seed gives the same trace; another seed another', async () => {
    const a = await run(impaired, { seed: 11, n: 2000 });
    const b = await run(impaired, { seed: 11, n: 2000 });
    const c = await run(impaired, { seed: 12, n: 2000 });
    assert.ok(a.net.trace.length > 4000);
    assert.deepEqual(b.net.trace, a.net.trace);
    assert.deepEqual(b.seqs, a.seqs);
    assert.notDeepEqual(c.net.trace, a.net.trace);
  });
});
