import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALR_PROBE_INTERVAL_MS, ProbeController } from './probe-controller.js';
import { PROBE_MIN_PACKETS, ProbeEstimator } from './probe-estimator.js';

test('probe estimator: a path that carries the probe yields its rate; one that cannot, 0.95 x what it carried', () => {
  const e = new ProbeEstimator();
  // 10 packets of 1000 bytes, 4 ms apart (2 Mbit/s), arriving 4 ms apart (carried).
  for (let i = 0; i < 10; i++) e.onPacket(1, i * 4, 50 + i * 4, 1000, 100);
  const ok = e.result(1)!;
  assert.ok(Math.abs(ok.bitrate - 2_000_000) < 1000, `${ok.bitrate}`);
  assert.equal(ok.saturated, false);
  // Same sends, arrivals 8 ms apart (a 1 Mbit/s bottleneck).
  for (let i = 0; i < 10; i++) e.onPacket(2, i * 4, 50 + i * 8, 1000, 100);
  const full = e.result(2)!;
  assert.equal(full.saturated, true);
  assert.ok(Math.abs(full.receiveRate - 1_000_000) < 1000);
  assert.ok(Math.abs(full.bitrate - 950_000) < 1000);
  // Too few packets: nothing yet.
  for (let i = 0; i < PROBE_MIN_PACKETS - 1; i++) e.onPacket(3, i, i, 1000, 100);
  assert.equal(e.result(3), undefined);
  // Arrivals bunched far above the send rate (a queue let go): no result.
  for (let i = 0; i < 10; i++) e.onPacket(4, i * 10, 100 + i, 1000, 100);
  assert.equal(e.result(4), undefined);
  e.prune(100 + 6000);
  assert.equal(e.result(1), undefined, 'forgotten');
});

test('probe controller: initial probes, exponential continuation, ALR probes, recovery after a drop', () => {
  const c = new ProbeController({ startBitrate: 300_000, maxBitrate: 5_000_000 });
  assert.equal(c.next(0, 300_000, false, false), undefined, 'nothing sent yet: no probe');
  const p1 = c.next(10, 300_000, true, false)!;
  const p2 = c.next(60, 300_000, true, false)!;
  assert.deepEqual([p1.bitrate, p2.bitrate], [900_000, 1_800_000]);
  assert.ok(p1.durationMs >= 40);
  // The second found no ceiling: the next goes at twice its result.
  c.onResult(p2.cluster, 1_700_000);
  c.onResult(p2.cluster, 1_700_000); // judged once
  const p3 = c.next(200, 1_700_000, true, false)!;
  assert.equal(p3.bitrate, 3_400_000);
  assert.equal(c.next(250, 1_700_000, true, false), undefined);
  // Saturated (a 2 Mbit/s path): stop.
  c.onResult(p3.cluster, 1_900_000);
  assert.equal(c.next(300, 1_900_000, true, false), undefined);
  // Application-limited: every ALR_PROBE_INTERVAL_MS at 2 x the estimate.
  assert.equal(c.next(200 + ALR_PROBE_INTERVAL_MS - 100, 1_900_000, true, true), undefined);
  assert.equal(c.next(200 + ALR_PROBE_INTERVAL_MS, 1_900_000, true, true)!.bitrate, 3_800_000);
  // A drop to 300k: once it stopped falling, recovery probes toward the old high, backing off.
  let t = 10_000;
  assert.equal(c.next(t, 300_000, true, false), undefined);
  assert.ok(c.recoveringTo! > 1_000_000, `${c.recoveringTo}`);
  const times: number[] = [];
  for (; t < 40_000; t += 100) {
    const p = c.next(t, 300_000, true, false);
    if (p) {
      times.push(t);
      assert.equal(p.bitrate, 600_000);
    }
  }
  assert.deepEqual(
    times.map((x, i) => x - (times[i - 1] ?? 10_000)),
    [2000, 2000, 4000, 8000, 8000],
  );
  // Back near the old high: recovered, no more recovery probes.
  c.next(t, 1_800_000, true, false);
  assert.equal(c.recoveringTo, undefined);
  assert.equal(c.next(t + 20_000, 1_800_000, true, false), undefined);
});

test('probe controller: a cap (what the application could use) bounds every probe, and ALR probing stops at it', () => {
  const c = new ProbeController({ startBitrate: 300_000, maxBitrate: 10_000_000 });
  c.cap = 1_200_000;
  const p1 = c.next(0, 300_000, true, false)!;
  const p2 = c.next(50, 300_000, true, false)!;
  assert.deepEqual([p1.bitrate, p2.bitrate], [900_000, 1_200_000], 'the 6x probe capped');
  // The capped probe found no ceiling, but it was at the cap: no continuation.
  c.onResult(p2.cluster, 1_150_000);
  assert.equal(c.next(200, 1_150_000, true, false), undefined);
  // At the cap: application-limited or not, no more probes.
  assert.equal(c.next(200 + 2 * ALR_PROBE_INTERVAL_MS, 1_200_000, true, true), undefined);
  // The application can use more now: ALR probing resumes, up to the new cap.
  c.cap = 2_000_000;
  assert.equal(c.next(300 + 3 * ALR_PROBE_INTERVAL_MS, 1_200_000, true, true)?.bitrate, 2_000_000);
  // 0 means unknown: the max bitrate bounds probes again.
  c.cap = 0;
  assert.equal(c.next(300 + 5 * ALR_PROBE_INTERVAL_MS, 2_000_000, true, true)?.bitrate, 4_000_000);
});
