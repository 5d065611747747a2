/**
 * Congestion control on the virtual network: a paced sender at the controller's target bitrate,
 * TWCC feedback from the receiver every 50 ms, a 1 Mbit/s bottleneck that drops to 300 kbit/s.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CongestionController, Pacer } from '../../src/interceptor/index.js';
import { bottleneck } from '../helpers/bottleneck.js';

const PACKET = 1200;

test('GCC-style controller: converges to a 1 Mbit/s bottleneck, backs off to 300 kbit/s, stays within ±30%', async (t) => {
  const cc = new CongestionController({ initialBitrate: 300_000 });
  const net = await bottleneck({
    seed: 7,
    bandwidth: 1_000_000,
    onTwcc: (fb) => cc.onFeedback(fb, clock.now()),
  });
  const { clock } = net;
  let seq = 0;
  const pacer = new Pacer<{ size: number; seq: number; ssrc: number; cls: 'video' }>({
    clock,
    send: (p) => {
      net.send(p.seq, p.size);
      cc.onPacketSent(p.seq, p.size, clock.now());
    },
  });
  const samples: { t: number; target: number }[] = [];
  let credit = 0;
  for (let now = 0; now < 30_000; now += 5) {
    if (now === 15_000) net.setBandwidth(300_000);
    pacer.bitrate = cc.targetBitrate;
    // An ideal encoder: produces exactly the target bitrate.
    credit += (cc.targetBitrate * 5) / 8000;
    while (credit >= PACKET) {
      credit -= PACKET;
      pacer.enqueue({ size: PACKET, seq: seq++ & 0xffff, ssrc: 1, cls: 'video' });
    }
    if (now % 50 === 0) net.feedback();
    if (now % 100 === 0) samples.push({ t: now, target: cc.targetBitrate });
    clock.advance(5);
  }
  const check = (capacity: number, from: number, to: number): void => {
    const phase = samples.filter((s) => s.t >= from && s.t < to);
    // Converged: within 20% from some sample on, and never beyond ±30% after it.
    const within = (s: { target: number }, f: number): boolean =>
      Math.abs(s.target - capacity) <= f * capacity;
    const conv = phase.find((s, i) => within(s, 0.2) && phase.slice(i).every((x) => within(x, 0.3)));
    const trace = phase
      .filter((_, i) => i % 10 === 0)
      .map((s) => Math.round(s.target / 1000))
      .join(' ');
    assert.ok(conv, `never within 20% of ${capacity}: ${trace}`);
    t.diagnostic(
      `${capacity} bit/s: converged after ${conv.t - from} ms; trace (kbit/s, 1 s apart): ${trace}`,
    );
    assert.ok(conv.t - from < 10_000, `converged after ${conv.t - from} ms: ${trace}`);
    const after = phase.filter((s) => s.t >= conv.t);
    const bad = after.filter((s) => Math.abs(s.target - capacity) > 0.3 * capacity);
    assert.equal(
      bad.length,
      0,
      `outside ±30% of ${capacity} at ${bad.map((s) => `${s.t}:${Math.round(s.target / 1000)}k`).slice(0, 10)}: ${trace}`,
    );
  };
  check(1_000_000, 0, 15_000);
  check(300_000, 15_000, 30_000);
  pacer.close();
  net.close();
});
