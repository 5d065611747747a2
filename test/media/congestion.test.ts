/**
 * Congestion control on the virtual network: a paced sender at the controller's target bitrate,
 * TWCC feedback from the receiver every 50 ms, a 1 Mbit/s bottleneck that drops to 300 kbit/s.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { VirtualNetwork } from '../../src/core/vnet/index.js';
import { CongestionController, Pacer, TwccRecorder } from '../../src/interceptor/index.js';
import { parseRtcp, serializeRtcp } from '../../src/rtcp/index.js';

const PACKET = 1200;

test('GCC-style controller: converges to a 1 Mbit/s bottleneck, backs off to 300 kbit/s, stays within ±30%', async (t) => {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock, seed: 7 });
  const a = net.host('a', {
    address: '203.0.113.1',
    link: { bandwidth: 1_000_000, queueBytes: 30_000, delay: 20 },
  });
  const b = net.host('b', { address: '203.0.113.2', link: { delay: 20 } });
  const sa = await a.bindUdp({ port: 5000 });
  const sb = await b.bindUdp({ port: 6000 });
  const cc = new CongestionController({ initialBitrate: 300_000 });
  const recorder = new TwccRecorder();
  let seq = 0;
  const pacer = new Pacer<{ size: number; seq: number; ssrc: number; cls: 'video' }>({
    clock,
    send: (p) => {
      const data = new Uint8Array(p.size);
      data[0] = p.seq >> 8;
      data[1] = p.seq & 0xff;
      sa.send(data, { address: '203.0.113.2', port: 6000 });
      cc.onPacketSent(p.seq, p.size, clock.now());
    },
  });
  sb.onMessage = (d) => recorder.record((d[0]! << 8) | d[1]!, clock.now());
  sa.onMessage = (d) => {
    for (const p of parseRtcp(d)) if (p.type === 'twcc') cc.onFeedback(p, clock.now());
  };
  const samples: { t: number; target: number }[] = [];
  let credit = 0;
  for (let now = 0; now < 30_000; now += 5) {
    if (now === 15_000) a.link.set({ bandwidth: 300_000, queueBytes: 30_000, delay: 20 }, 'up');
    pacer.bitrate = cc.targetBitrate;
    // An ideal encoder: produces exactly the target bitrate.
    credit += (cc.targetBitrate * 5) / 8000;
    while (credit >= PACKET) {
      credit -= PACKET;
      pacer.enqueue({ size: PACKET, seq: seq++ & 0xffff, ssrc: 1, cls: 'video' });
    }
    if (now % 50 === 0) {
      const fb = recorder.buildFeedback(1, 2);
      if (fb) sb.send(serializeRtcp([fb]), { address: '203.0.113.1', port: 5000 });
    }
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
  sa.close();
  sb.close();
  net.close();
});
