import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CongestionController } from './congestion-controller.js';
import { TwccRecorder } from './twcc-recorder.js';

/** Sends `count` packets of `size` bytes from `seq0`, one per `gapMs`; arrivals `delay(k)` ms later. */
function exchange(
  cc: CongestionController,
  rec: TwccRecorder,
  o: {
    seq0: number;
    count: number;
    start: number;
    gapMs: number;
    size: number;
    delay: (k: number) => number;
    drop?: (k: number) => boolean;
  },
): void {
  for (let k = 0; k < o.count; k++) {
    const seq = (o.seq0 + k) & 0xffff;
    const at = o.start + k * o.gapMs;
    cc.onPacketSent(seq, o.size, at);
    if (!o.drop?.(k)) rec.record(seq, at + o.delay(k));
  }
}

test('controller: one pass over a feedback gives loss, one-way delays and the acknowledged rate', () => {
  const cc = new CongestionController({ initialBitrate: 300_000 });
  const rec = new TwccRecorder();
  // 400 packets (more than one feedback's scratch space) across a sequence wrap, 1 ms apart,
  // every 10th lost, arrivals 30 ms after sending.
  exchange(cc, rec, {
    seq0: 65400,
    count: 400,
    start: 1000,
    gapMs: 1,
    size: 1000,
    delay: () => 30,
    drop: (k) => k % 10 === 8,
  });
  const fb = rec.buildFeedback(1, 2)!;
  cc.onFeedback(fb, 1450);
  assert.equal(cc.feedbackTotal, 400);
  assert.equal(cc.feedbackLost, 40);
  assert.equal(cc.lossFraction, 0.1);
  // Arrivals are on the peer's clock quantized to 250 us: the delays are 30 ms give or take that.
  assert.ok(Math.abs(cc.meanDelay - 30) < 0.5, `mean ${cc.meanDelay}`);
  assert.ok(Math.abs(cc.minDelay - 30) < 0.5, `min ${cc.minDelay}`);
  // 360 x 1000 bytes acknowledged at one instant: measured over the minimum span of 100 ms.
  assert.equal(cc.ackedBitrate, (360_000 * 8 * 1000) / 100);

  // The same feedback again: its packets are already acknowledged or lost, nothing new is counted
  // as received, and the acknowledged rate does not grow.
  cc.onFeedback(fb, 1460);
  assert.equal(cc.feedbackTotal, 40);
  assert.equal(cc.feedbackLost, 40);
  assert.ok(Number.isNaN(cc.meanDelay));
  assert.equal(cc.ackedBitrate, (360_000 * 8 * 1000) / 100);

  // Later packets queue (delay growing by 1 ms per packet): the mean rises above the smallest.
  exchange(cc, rec, { seq0: 264, count: 50, start: 1500, gapMs: 2, size: 500, delay: (k) => 30 + k });
  cc.onFeedback(rec.buildFeedback(1, 2)!, 1700);
  assert.equal(cc.feedbackLost, 0);
  assert.ok(Math.abs(cc.meanDelay - cc.minDelay - 24.5) < 0.5, `queuing ${cc.meanDelay - cc.minDelay}`);
  // Older than 500 ms, the first feedback's bytes leave the acknowledged window.
  exchange(cc, rec, { seq0: 314, count: 10, start: 2000, gapMs: 2, size: 500, delay: () => 30 });
  cc.onFeedback(rec.buildFeedback(1, 2)!, 2100);
  assert.equal(cc.ackedBitrate, (60 * 500 * 8 * 1000) / 400);
});

test('controller: packets sent out of sequence order are grouped by send time (same estimate as in order)', () => {
  const run = (swap: boolean): number => {
    const cc = new CongestionController({ initialBitrate: 300_000 });
    const rec = new TwccRecorder();
    let seq = 0;
    for (let t = 0; t < 3000; t += 50) {
      // Packets 10 ms apart; with `swap`, each pair's numbers are given out in reverse send order.
      for (let k = 0; k < 50; k += 20) {
        const a = t + k;
        const b = a + 10;
        const [sa, sb] = swap ? [seq + 1, seq] : [seq, seq + 1];
        seq += 2;
        cc.onPacketSent(sa, 1200, a);
        cc.onPacketSent(sb, 1200, b);
        const queue = t > 1500 ? (t - 1500) / 10 : 0;
        rec.record(sa, a + 20 + queue);
        rec.record(sb, b + 20 + queue);
      }
      cc.onFeedback(rec.buildFeedback(1, 2)!, t + 50);
    }
    return cc.targetBitrate;
  };
  const inOrder = run(false);
  const swapped = run(true);
  assert.equal(swapped, inOrder);
  assert.notEqual(inOrder, 300_000);
});
