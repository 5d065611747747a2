/**
 * Probing on the virtual network (ManualClock): a paced sender whose application sends less than
 * the link (or an ideal encoder), TWCC feedback every 50 ms, the controller's probes run through the
 * pacer (padding up to the probe rate), a bottleneck that changes. GCC's delay-based AIMD alone
 * cannot raise the target past 1.5 x what is acknowledged; probes find the link.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CongestionController, Pacer } from '../../src/interceptor/index.js';
import { bottleneck } from '../helpers/bottleneck.js';

const PACKET = 1200;

interface Sample {
  t: number;
  target: number;
}

/**
 * Runs `ms` of a sender on a link of `schedule[0].bandwidth`, changed at each later entry's time.
 * `appRate(target)`: what the application sends (bits/s) given the target.
 */
async function run(o: {
  ms: number;
  schedule: { at: number; bandwidth: number }[];
  appRate: (target: number) => number;
  queueBytes?: number;
}): Promise<{ samples: Sample[]; cc: CongestionController; paddingBytes: number; lost: number }> {
  const cc = new CongestionController({ initialBitrate: 300_000 });
  const net = await bottleneck({
    seed: 11,
    bandwidth: o.schedule[0]!.bandwidth,
    ...(o.queueBytes !== undefined && { queueBytes: o.queueBytes }),
    onTwcc: (fb) => {
      cc.onFeedback(fb, clock.now());
      pacer.bitrate = cc.targetBitrate;
      probe();
    },
  });
  const { clock } = net;
  let seq = 0;
  let sentCount = 0;
  type P = { size: number; seq: number; ssrc: number; cls: 'video' | 'padding' };
  const pacer = new Pacer<P>({
    clock,
    send: (p) => {
      sentCount++;
      net.send(p.seq, p.size);
      cc.onPacketSent(p.seq, p.size, clock.now());
    },
    // As RTX of recent packets: full-size padding.
    padding: (bytes) => [
      { size: Math.min(PACKET, Math.max(200, bytes)), seq: seq++ & 0xffff, ssrc: 2, cls: 'padding' },
    ],
  });
  const probe = () => {
    const p = cc.takeProbe(clock.now());
    if (p) pacer.probe(p.bitrate, p.durationMs);
  };
  const samples: Sample[] = [];
  let credit = 0;
  for (let now = 0; now < o.ms; now += 5) {
    for (const s of o.schedule) if (s.at === now && now > 0) net.setBandwidth(s.bandwidth);
    pacer.bitrate = cc.targetBitrate;
    credit += (o.appRate(cc.targetBitrate) * 5) / 8000;
    while (credit >= PACKET) {
      credit -= PACKET;
      pacer.enqueue({ size: PACKET, seq: seq++ & 0xffff, ssrc: 1, cls: 'video' });
    }
    if (now % 20 === 0) probe();
    if (now % 50 === 0) net.feedback();
    if (now % 100 === 0) samples.push({ t: now, target: cc.targetBitrate });
    clock.advance(5);
  }
  const paddingBytes = pacer.stats.paddingBytesSent;
  pacer.close();
  net.close();
  return { samples, cc, paddingBytes, lost: sentCount - net.received };
}

const trace = (samples: Sample[], from: number, to: number): string =>
  samples
    .filter((s) => s.t >= from && s.t < to && s.t % 1000 === 0)
    .map((s) => Math.round(s.target / 1000))
    .join(' ');

/** First time from `from` on when the target is within `f` of `capacity` and stays within 0.3 after. */
function settledAt(
  samples: Sample[],
  capacity: number,
  from: number,
  to: number,
  f = 0.2,
): number | undefined {
  const phase = samples.filter((s) => s.t >= from && s.t < to);
  const within = (s: Sample, g: number) => Math.abs(s.target - capacity) <= g * capacity;
  return phase.find((s, i) => within(s, f) && phase.slice(i).every((x) => within(x, 0.3)))?.t;
}

test('probing: an application sending 200 kbit/s over a 2 Mbit/s link sees the target rise toward the link', async (t) => {
  const { samples, cc, paddingBytes } = await run({
    ms: 20_000,
    schedule: [{ at: 0, bandwidth: 2_000_000 }],
    appRate: () => 200_000,
  });
  t.diagnostic(`target (kbit/s, 1 s apart): ${trace(samples, 0, 20_000)}; probes ${cc.probesSent}`);
  const reached = samples.find((s) => s.target >= 1_400_000);
  assert.ok(reached, `never reached 1.4 Mbit/s: ${trace(samples, 0, 20_000)}`);
  t.diagnostic(`at 70% of the link after ${reached.t} ms`);
  assert.ok(reached.t < 5000, `reached 1.4 Mbit/s only after ${reached.t} ms`);
  // Not beyond the link, and the rate held (no collapse back to 1.5 x what the application sends).
  const late = samples.filter((s) => s.t >= 5000);
  assert.ok(
    late.every((s) => s.target <= 2_400_000),
    `above the link: ${trace(samples, 0, 20_000)}`,
  );
  assert.ok(
    late.every((s) => s.target >= 1_000_000),
    `fell back toward the application's rate: ${trace(samples, 0, 20_000)}`,
  );
  assert.ok(cc.alr, 'application-limited');
  assert.ok(cc.probeResults > 0);
  // The padding stayed a small share: probes are short (on average < 5% of the link over 20 s).
  t.diagnostic(`padding: ${Math.round((paddingBytes * 8) / 20 / 1000)} kbit/s on average`);
  assert.ok(paddingBytes * 8 < 0.05 * 2_000_000 * 20, `${paddingBytes} bytes of padding`);
});

test('probing: an application-limited sender finds the link again after it drops to 300 kbit/s and comes back at 1 Mbit/s', async (t) => {
  const { samples } = await run({
    ms: 45_000,
    schedule: [
      { at: 0, bandwidth: 2_000_000 },
      { at: 10_000, bandwidth: 300_000 },
      { at: 25_000, bandwidth: 1_000_000 },
    ],
    appRate: (target) => Math.min(200_000, target),
  });
  t.diagnostic(`target (kbit/s, 1 s apart): ${trace(samples, 0, 45_000)}`);
  const back = samples.find((s) => s.t >= 25_000 && s.target >= 800_000);
  assert.ok(back, `never back to 800 kbit/s: ${trace(samples, 0, 45_000)}`);
  t.diagnostic(`back to 80% of 1 Mbit/s ${back.t - 25_000} ms after the link came back`);
  assert.ok(back.t - 25_000 < 12_000, `recovered only after ${back.t - 25_000} ms`);
  const late = samples.filter((s) => s.t >= back.t);
  assert.ok(
    late.every((s) => s.target <= 1_300_000),
    `above the link: ${trace(samples, 25_000, 45_000)}`,
  );
});

test('probing: an encoder that follows the target recovers from a drop to 300 kbit/s within a bounded time when the link comes back', async (t) => {
  const { samples } = await run({
    ms: 45_000,
    schedule: [
      { at: 0, bandwidth: 1_000_000 },
      { at: 15_000, bandwidth: 300_000 },
      { at: 30_000, bandwidth: 1_000_000 },
    ],
    appRate: (target) => target,
  });
  const first = settledAt(samples, 1_000_000, 0, 15_000);
  const low = settledAt(samples, 300_000, 15_000, 30_000);
  const again = settledAt(samples, 1_000_000, 30_000, 45_000);
  t.diagnostic(
    `converged after ${first} ms, backed off after ${low === undefined ? '-' : low - 15_000} ms, recovered after ${again === undefined ? '-' : again - 30_000} ms; trace ${trace(samples, 0, 45_000)}`,
  );
  assert.ok(first !== undefined && first < 10_000, `1 Mbit/s: ${trace(samples, 0, 15_000)}`);
  assert.ok(low !== undefined && low - 15_000 < 10_000, `300 kbit/s: ${trace(samples, 15_000, 30_000)}`);
  assert.ok(again !== undefined, `never back within 20% of 1 Mbit/s: ${trace(samples, 30_000, 45_000)}`);
  assert.ok(again - 30_000 < 8000, `recovered after ${again - 30_000} ms: ${trace(samples, 30_000, 45_000)}`);
});
