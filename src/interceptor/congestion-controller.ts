/**
 * Send-side bandwidth estimation, GCC-style (draft-ietf-rmcat-gcc-02), from transport-wide
 * feedback:
 * - delay-based: packets grouped in 5 ms send bursts; the one-way delay variation between groups
 *   is accumulated, smoothed, and its slope over the last 20 groups (the trendline) is compared
 *   with an adaptive threshold (§5.4) to detect overuse / underuse;
 * - rate control (§5.5): AIMD — multiplicative increase far from the last congestion point,
 *   additive near it, decrease to 0.85 × the acknowledged rate on overuse; an increase stops at
 *   1.5 × acked (as libwebrtc clamps: the cap never pulls the target down by itself);
 * - loss-based (§6): above 10% loss the target shrinks by half the loss fraction, at most once per
 *   RTT + 300 ms (the reaction to one loss burst must show in the feedback before the next cut);
 * - probing (probe-controller.ts, probe-estimator.ts): the owner asks `takeProbe(now)` now and then
 *   and runs what it returns through the pacer (`Pacer.probe`: padding up to the probe's rate); the
 *   packets sent meanwhile carry the probe's cluster id, and what the path delivered of them (from
 *   TWCC feedback) feeds the target: above it, the target takes the probe's result at once (the
 *   1.5 × acked cap cannot), and two probes in a row that saturated the path set the target to what they carried.
 *   ALR (application-limited) is detected here from what is sent against the target.
 * `targetBitrate` is what the application (encoder) and the pacer use.
 */
import { type TransportCcFeedback, TWCC_DELTA_TICK_US, TWCC_REFERENCE_TIME_TICK_MS } from '../rtcp/twcc.js';
import { ProbeController, type ProbeRequest } from './probe-controller.js';
import { ProbeEstimator } from './probe-estimator.js';
import { SequenceUnwrapper } from './sequence.js';

export type BandwidthUsage = 'normal' | 'overuse' | 'underuse';

export interface CongestionControllerOptions {
  readonly initialBitrate?: number;
  readonly minBitrate?: number;
  readonly maxBitrate?: number;
}

interface Group {
  firstSend: number;
  lastSend: number;
  lastArrival: number;
  size: number;
}

const BURST_MS = 5;
const WINDOW = 20;
const SMOOTHING = 0.9;
const TREND_GAIN = 4;
const K_UP = 0.0087;
const K_DOWN = 0.039;
const BETA = 0.85;
/** ALR (libwebrtc's alr detector): a budget at this share of the target, over ALR_WINDOW_MS. */
const ALR_SHARE = 0.65;
const ALR_WINDOW_MS = 500;
/** ALR starts when this much of the budget is unused, ends when under ALR_END. */
const ALR_START = 0.8;
const ALR_END = 0.5;
/** Probing only while media left within this long. */
const SENDING_MS = 2000;
/** For this long after a probe result, an over-use cut stops at BETA x that result (the probe's own queue). */
const PROBE_SETTLE_MS = 1000;
/** Loss cuts at most once per RTT + this. */
const LOSS_CUT_INTERVAL_MS = 300;
/**
 * Sent packets remembered until acknowledged (a ring by extended sequence number: a record lives
 * until this many later packets were sent, seconds even at the max bitrate; feedback comes within
 * an RTT).
 */
const SENT_RING = 8192;
const SENT_MASK = SENT_RING - 1;
/** What the acknowledged bitrate is measured over, ms. */
const ACKED_WINDOW_MS = 500;

export class CongestionController {
  // Sent packets by extended sequence number & SENT_MASK (no object per packet): the slot's
  // extended number (-1: empty or acknowledged), send time, size and probe cluster (-1: none).
  readonly #sentSeq = new Float64Array(SENT_RING).fill(-1);
  readonly #sentTime = new Float64Array(SENT_RING);
  readonly #sentSize = new Int32Array(SENT_RING);
  readonly #sentCluster = new Int32Array(SENT_RING);
  // One feedback's acknowledged packets (send time, arrival, size), reused.
  #ackSend = new Float64Array(256);
  #ackArrival = new Float64Array(256);
  #ackSize = new Float64Array(256);
  readonly #seq = new SequenceUnwrapper();
  readonly #fbSeq = new SequenceUnwrapper();
  readonly #min: number;
  readonly #max: number;
  #target: number;
  // delay-based state
  #group: Group | undefined;
  #prevGroup: Group | undefined;
  #firstArrival = -1;
  #accumulated = 0;
  #smoothed = 0;
  /** The trendline's last WINDOW points (arrival ms, smoothed delay), a ring from #windowAt. */
  readonly #windowX = new Float64Array(WINDOW);
  readonly #windowY = new Float64Array(WINDOW);
  #windowAt = 0;
  #windowLength = 0;
  #numDeltas = 0;
  #prevTrend = 0;
  #threshold = 12.5;
  #lastThresholdUpdate = -1;
  #overusingSince = -1;
  #overuseCount = 0;
  usage: BandwidthUsage = 'normal';
  // rate control state
  #lastUpdate = -1;
  #avgMax: number | undefined;
  #holdUntil = -1;
  /** Acknowledged bytes and packets per feedback over the last ACKED_WINDOW_MS. */
  #acked: { at: number; bytes: number; count: number }[] = [];
  #ackedBytes = 0;
  #ackedCount = 0;
  /** Bits per second received by the peer over the last 500 ms (from feedback). */
  ackedBitrate: number | undefined;
  lossFraction = 0;
  /**
   * The last feedback's one-way delays (arrival - send, ms, arrival on the peer's clock): the
   * mean over its received packets, and the smallest seen so far (NaN / Infinity: none yet).
   * Packets already acknowledged or not sent by us are not counted.
   */
  meanDelay = Number.NaN;
  minDelay = Number.POSITIVE_INFINITY;
  /** The last feedback's packets known as sent, and of them reported lost. */
  feedbackTotal = 0;
  feedbackLost = 0;
  rttMs = 100;
  #lastLossCut = Number.NEGATIVE_INFINITY;
  // probing
  readonly #prober: ProbeController;
  readonly #probeResults = new ProbeEstimator();
  #cluster = -1;
  #clusterUntil = Number.NEGATIVE_INFINITY;
  #lastSent = Number.NEGATIVE_INFINITY;
  #alrBudget = 0;
  #alrAt = Number.NEGATIVE_INFINITY;
  /** Application-limited: sending clearly less than the target. */
  alr = false;
  /** The last probe result taken (bits/s), for stats. */
  lastProbeResult: number | undefined;
  #probeResultAt = Number.NEGATIVE_INFINITY;
  #probeCarried = 0;
  /** A saturated probe's result below the target, waiting for a second one to agree. */
  #lowerFrom: { cluster: number; bitrate: number } | undefined;
  probeResults = 0;

  constructor(o: CongestionControllerOptions = {}) {
    this.#target = o.initialBitrate ?? 300_000;
    this.#min = o.minBitrate ?? 30_000;
    this.#max = o.maxBitrate ?? 10_000_000;
    this.#prober = new ProbeController({ startBitrate: this.#target, maxBitrate: this.#max });
  }

  get targetBitrate(): number {
    return this.#target;
  }

  /** Probes launched so far (takeProbe). */
  get probesSent(): number {
    return this.#prober.probesSent;
  }

  /**
   * A packet left with transport-wide sequence number `seq` (16-bit) at `now`, `size` bytes;
   * `cluster`: the probe cluster it belongs to (default: the probe this controller runs, if any).
   * Returns the packet's cluster id (-1: none).
   */
  onPacketSent(seq: number, size: number, now: number, cluster?: number): number {
    const ext = this.#seq.unwrap(seq);
    const c = cluster ?? (now < this.#clusterUntil ? this.#cluster : -1);
    const i = ext & SENT_MASK;
    this.#sentSeq[i] = ext;
    this.#sentTime[i] = now;
    this.#sentSize[i] = size;
    this.#sentCluster[i] = c;
    this.#alrUpdate(now);
    this.#alrBudget -= size;
    this.#lastSent = now;
    return c;
  }

  /**
   * The probe to run now (through the pacer: `pacer.probe(bitrate, durationMs)`), if one is due;
   * the packets sent until it ends are its cluster. Ask every few tens of ms and after feedback.
   */
  takeProbe(now: number): ProbeRequest | undefined {
    if (now < this.#clusterUntil) return undefined;
    this.#alrUpdate(now);
    const p = this.#prober.next(now, this.#target, now - this.#lastSent < SENDING_MS, this.alr);
    if (!p) return undefined;
    this.#cluster = p.cluster;
    this.#clusterUntil = now + p.durationMs;
    return p;
  }

  /**
   * The most the application could send (bits/s): probes stay under it (0: unknown, the max
   * bitrate bounds them). The target itself may still grow past it on acknowledged media.
   */
  set probeCap(bps: number) {
    this.#prober.cap = bps;
  }

  /** Whether an earlier drop is being probed back from (the old high, bits/s). */
  get recoveringTo(): number | undefined {
    return this.#prober.recoveringTo;
  }

  /** The ALR budget: fills at ALR_SHARE x target, drained by what is sent. */
  #alrUpdate(now: number): void {
    const rate = (ALR_SHARE * this.#target) / 8000; // bytes per ms
    const cap = rate * ALR_WINDOW_MS;
    const dt = this.#alrAt === Number.NEGATIVE_INFINITY ? 0 : Math.min(now - this.#alrAt, ALR_WINDOW_MS);
    this.#alrAt = now;
    this.#alrBudget = Math.max(-cap, Math.min(cap, this.#alrBudget + rate * dt));
    const unused = this.#alrBudget / cap;
    if (!this.alr && unused > ALR_START) this.alr = true;
    else if (this.alr && unused < ALR_END) this.alr = false;
  }

  onFeedback(fb: TransportCcFeedback, now: number): void {
    let arrival = fb.referenceTime * TWCC_REFERENCE_TIME_TICK_MS;
    let lost = 0;
    let total = 0;
    let n = 0;
    let bytes = 0;
    let delaySum = 0;
    let sorted = true;
    let probed = -1;
    const seqs = this.#sentSeq;
    for (const p of fb.packets) {
      const ext = this.#fbSeq.unwrap(p.sequenceNumber);
      const i = ext & SENT_MASK;
      if (seqs[i] !== ext) continue;
      total++;
      if (!p.received) {
        lost++;
        continue;
      }
      arrival += ((p.delta ?? 0) * TWCC_DELTA_TICK_US) / 1000;
      const send = this.#sentTime[i]!;
      const size = this.#sentSize[i]!;
      const cluster = this.#sentCluster[i]!;
      seqs[i] = -1;
      if (n === this.#ackSend.length) this.#growAcks();
      if (n > 0 && send < this.#ackSend[n - 1]!) sorted = false;
      this.#ackSend[n] = send;
      this.#ackArrival[n] = arrival;
      this.#ackSize[n] = size;
      n++;
      bytes += size;
      const d = arrival - send;
      if (d < this.minDelay) this.minDelay = d;
      delaySum += d;
      if (cluster >= 0) {
        this.#probeResults.onPacket(cluster, send, arrival, size, now);
        probed = cluster;
      }
    }
    this.feedbackTotal = total;
    this.feedbackLost = lost;
    this.meanDelay = n > 0 ? delaySum / n : Number.NaN;
    if (total === 0) return;
    this.lossFraction = lost / total;
    this.#ackedUpdate(now, bytes, n);
    if (sorted)
      for (let k = 0; k < n; k++) this.#onArrival(this.#ackSend[k]!, this.#ackArrival[k]!, this.#ackSize[k]!);
    else {
      // Sent out of sequence order (rare): group by send time.
      const order = Array.from({ length: n }, (_, k) => k).sort(
        (a, b) => this.#ackSend[a]! - this.#ackSend[b]! || a - b,
      );
      for (const k of order) this.#onArrival(this.#ackSend[k]!, this.#ackArrival[k]!, this.#ackSize[k]!);
    }
    this.#updateRate(now);
    if (probed >= 0) this.#onProbeResult(probed, now);
  }

  #growAcks(): void {
    const grow = (a: Float64Array) => {
      const b = new Float64Array(a.length * 2);
      b.set(a);
      return b;
    };
    this.#ackSend = grow(this.#ackSend);
    this.#ackArrival = grow(this.#ackArrival);
    this.#ackSize = grow(this.#ackSize);
  }

  /** The acknowledged bitrate over the last ACKED_WINDOW_MS, with `bytes` in `count` packets acknowledged now. */
  #ackedUpdate(now: number, bytes: number, count: number): void {
    if (count > 0) {
      this.#acked.push({ at: now, bytes, count });
      this.#ackedBytes += bytes;
      this.#ackedCount += count;
    }
    while (this.#acked.length && this.#acked[0]!.at < now - ACKED_WINDOW_MS) {
      const old = this.#acked.shift()!;
      this.#ackedBytes -= old.bytes;
      this.#ackedCount -= old.count;
    }
    if (this.#acked.length === 0) this.#ackedBytes = this.#ackedCount = 0; // no drift from float sums
    const span = Math.max(100, Math.min(ACKED_WINDOW_MS, now - (this.#acked[0]?.at ?? now)));
    if (this.#ackedCount > 3) this.ackedBitrate = (this.#ackedBytes * 8 * 1000) / span;
  }

  /** A probe cluster's result (so far) feeds the target (see the file comment). */
  #onProbeResult(cluster: number, now: number): void {
    this.#probeResults.prune(now);
    const r = this.#probeResults.result(cluster);
    if (!r) return;
    this.#prober.onResult(cluster, r.bitrate);
    // What the path carried of the probe bounds an over-use cut for a while (see #updateRate).
    this.#probeCarried = r.bitrate;
    this.#probeResultAt = now;
    const before = this.#target;
    let bitrate = Math.max(this.#min, Math.min(this.#max, r.bitrate));
    if (bitrate > before) {
      // A new, higher operating point: AIMD starts again from it (multiplicative, far mode).
      if (this.#avgMax !== undefined && bitrate > 1.3 * this.#avgMax) this.#avgMax = undefined;
      this.#lowerFrom = undefined;
    } else {
      if (!r.saturated) return;
      // Lower only when two probes in a row found the path short (a stall of our own process
      // while one cluster arrived reads like a saturated path), to the higher of the two.
      const first = this.#lowerFrom;
      if (!first || first.cluster === cluster) {
        this.#lowerFrom = { cluster, bitrate };
        return;
      }
      bitrate = Math.max(bitrate, first.bitrate);
      this.#lowerFrom = undefined;
      if (bitrate >= before) return;
      if (this.usage !== 'overuse') this.#avgMax = bitrate;
    }
    this.#target = bitrate;
    this.lastProbeResult = bitrate;
    this.probeResults++;
  }

  #onArrival(send: number, arrival: number, size: number): void {
    const g = this.#group;
    if (g && send - g.firstSend <= BURST_MS) {
      g.lastSend = Math.max(g.lastSend, send);
      g.lastArrival = Math.max(g.lastArrival, arrival);
      g.size += size;
      return;
    }
    if (g) {
      if (this.#prevGroup) this.#onGroupDelta(g, this.#prevGroup);
      this.#prevGroup = g;
    }
    this.#group = { firstSend: send, lastSend: send, lastArrival: arrival, size };
  }

  #onGroupDelta(g: Group, prev: Group): void {
    const sendDelta = g.lastSend - prev.lastSend;
    const arrivalDelta = g.lastArrival - prev.lastArrival;
    const d = arrivalDelta - sendDelta;
    if (this.#firstArrival < 0) this.#firstArrival = g.lastArrival;
    this.#numDeltas = Math.min(this.#numDeltas + 1, 1000);
    this.#accumulated += d;
    this.#smoothed = SMOOTHING * this.#smoothed + (1 - SMOOTHING) * this.#accumulated;
    const end = (this.#windowAt + this.#windowLength) % WINDOW;
    this.#windowX[end] = g.lastArrival - this.#firstArrival;
    this.#windowY[end] = this.#smoothed;
    if (this.#windowLength < WINDOW) this.#windowLength++;
    else this.#windowAt = (this.#windowAt + 1) % WINDOW;
    if (this.#windowLength < WINDOW) return;
    const slope = linearSlope(this.#windowX, this.#windowY, this.#windowAt);
    const trend = slope * Math.min(this.#numDeltas, 60) * TREND_GAIN;
    this.#detect(trend, arrivalDelta, g.lastArrival);
  }

  /** §5.4: over-use detector with the adaptive threshold. */
  #detect(trend: number, dt: number, now: number): void {
    if (trend > this.#threshold) {
      if (this.#overusingSince < 0) this.#overusingSince = now - dt / 2;
      this.#overuseCount++;
      if (now - this.#overusingSince > 10 && this.#overuseCount > 1 && trend >= this.#prevTrend) {
        this.usage = 'overuse';
        this.#overusingSince = -1;
        this.#overuseCount = 0;
      }
    } else if (trend < -this.#threshold) {
      this.usage = 'underuse';
      this.#overusingSince = -1;
      this.#overuseCount = 0;
    } else {
      this.usage = 'normal';
      this.#overusingSince = -1;
      this.#overuseCount = 0;
    }
    this.#prevTrend = trend;
    const abs = Math.abs(trend);
    if (this.#lastThresholdUpdate < 0) this.#lastThresholdUpdate = now;
    if (abs <= this.#threshold + 15) {
      const k = abs < this.#threshold ? K_DOWN : K_UP;
      const dtUpdate = Math.min(now - this.#lastThresholdUpdate, 100);
      this.#threshold = Math.max(6, Math.min(600, this.#threshold + k * (abs - this.#threshold) * dtUpdate));
    }
    this.#lastThresholdUpdate = now;
  }

  /** §5.5 AIMD rate control plus the §6 loss-based cap. */
  #updateRate(now: number): void {
    const dt = this.#lastUpdate < 0 ? 0 : Math.min(now - this.#lastUpdate, 1000);
    this.#lastUpdate = now;
    const acked = this.ackedBitrate;
    let target = this.#target;
    if (this.usage === 'overuse' && now >= this.#holdUntil) {
      const base = acked ?? target;
      // Right after a probe its own burst is what queued: the path carried the probe's result.
      const settling = now - this.#probeResultAt < PROBE_SETTLE_MS;
      target = Math.min(target, BETA * (settling ? Math.max(base, this.#probeCarried) : base));
      // A congestion point far from the average means the link changed: start averaging again.
      const far = this.#avgMax === undefined || Math.abs(base - this.#avgMax) > 0.3 * this.#avgMax;
      this.#avgMax = far ? base : 0.9 * this.#avgMax! + 0.1 * base;
      this.#holdUntil = now + this.rttMs + 100;
      this.usage = 'normal';
    } else if (this.usage === 'normal' && now >= this.#holdUntil) {
      const near = this.#avgMax !== undefined && Math.abs(target - this.#avgMax) < 0.2 * this.#avgMax;
      if (this.#avgMax !== undefined && target > 1.3 * this.#avgMax) this.#avgMax = undefined; // the link grew
      if (near) {
        // Additive: about half a 1200-byte packet per response time (§5.5).
        target += (600 * 8 * dt) / (this.rttMs + 100);
      } else {
        target *= 1.08 ** (dt / Math.min(this.rttMs + 100, 1000) / 2);
      }
    }
    // An increase stops at 1.5 x acked (the cap never lowers the target by itself).
    if (acked !== undefined && target > this.#target)
      target = Math.max(this.#target, Math.min(target, 1.5 * acked + 10_000));
    if (this.lossFraction > 0.1 && now - this.#lastLossCut >= this.rttMs + LOSS_CUT_INTERVAL_MS) {
      this.#lastLossCut = now;
      target *= 1 - 0.5 * this.lossFraction;
    }
    this.#target = Math.max(this.#min, Math.min(this.#max, target));
  }
}

/** Least-squares slope of the WINDOW points of a full ring (oldest at `at`). */
function linearSlope(xs: Float64Array, ys: Float64Array, at: number): number {
  let sx = 0;
  let sy = 0;
  for (let k = 0; k < WINDOW; k++) {
    const i = (at + k) % WINDOW;
    sx += xs[i]!;
    sy += ys[i]!;
  }
  const mx = sx / WINDOW;
  const my = sy / WINDOW;
  let num = 0;
  let den = 0;
  for (let k = 0; k < WINDOW; k++) {
    const i = (at + k) % WINDOW;
    const dx = xs[i]! - mx;
    num += dx * (ys[i]! - my);
    den += dx ** 2;
  }
  return den === 0 ? 0 : num / den;
}
