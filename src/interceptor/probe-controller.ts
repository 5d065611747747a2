/**
 * When to probe the path, and how hard (the GCC probing design; libwebrtc's probe controller works
 * the same way). A probe is a short burst at a chosen rate (the pacer pads up to it); what the path
 * delivered of it (ProbeEstimator) feeds the estimate, which the delay-based AIMD alone could only
 * grow slowly, and not at all while the application sends less than the estimate (the increase is
 * capped at 1.5x what is acknowledged).
 *
 * - Start: two probes at INITIAL_FACTORS x the start bitrate once the first packet has left.
 * - Exponential continuation: a probe whose result reached more than CONTINUE_RATIO of its rate
 *   found no ceiling yet; the next one goes at 2x that result (any probe kind), up to the max.
 * - Application-limited (ALR): while the application sends clearly less than the estimate, a
 *   probe at 2x the estimate every ALR_INTERVAL_MS (the path may have grown, or shrunk, unseen).
 * - After a drop (the estimate fell under DROP_RATIO of its recent high): once it has stopped
 *   falling for a second, probes at 2x the estimate (capped at the old high) try the old rate
 *   again: after RECOVERY_FIRST_MS, doubling the wait after each one that does not recover it, up to
 *   RECOVERY_MAX_MS, until the estimate is back near the old high.
 */

export interface ProbeRequest {
  readonly cluster: number;
  readonly bitrate: number;
  readonly durationMs: number;
}

const INITIAL_FACTORS = [3, 6] as const;
const CONTINUE_RATIO = 0.7;
export const ALR_PROBE_INTERVAL_MS = 5000;
const DROP_RATIO = 0.66;
const RECOVERED_RATIO = 0.85;
const RECOVERY_FIRST_MS = 2000;
const RECOVERY_MAX_MS = 8000;
/** The high-water mark decays toward the estimate with this time constant (a drop is recent). */
const HIGH_DECAY_MS = 10_000;
/** A probe lasts long enough for this many 1200-byte packets, and at least MIN_PROBE_MS. */
const PROBE_PACKETS = 6;
const MIN_PROBE_MS = 40;
const MAX_PROBE_MS = 200;

export class ProbeController {
  readonly #start: number;
  readonly #max: number;
  #started = false;
  readonly #pending: number[] = [];
  #nextCluster = 1;
  /** The last probe launched: its id and rate (results of older ones do not steer). */
  #last: { cluster: number; bitrate: number; judged: boolean } | undefined;
  #lastProbeAt = Number.NEGATIVE_INFINITY;
  #high = 0;
  #highAt = 0;
  #dropFrom: number | undefined;
  #recoveryWait = RECOVERY_FIRST_MS;
  #nextRecoveryAt = Number.POSITIVE_INFINITY;
  #lastEstimate = 0;
  #lastDecreaseAt = Number.NEGATIVE_INFINITY;
  /** The most the application could use (bits/s): no probe goes above it (see `cap`). */
  #cap = Number.POSITIVE_INFINITY;
  probesSent = 0;

  constructor(o: { startBitrate: number; maxBitrate: number }) {
    this.#start = o.startBitrate;
    this.#max = o.maxBitrate;
  }

  /**
   * The most the application could send (bits/s; Infinity: unknown, the max bitrate bounds probes).
   * Probing a path past what the senders could ever use only costs both ends CPU and the path
   * bandwidth (an SFU subscriber padded toward 10 Mbit/s while its tracks' top layers needed 2).
   */
  set cap(bps: number) {
    this.#cap = bps > 0 ? bps : Number.POSITIVE_INFINITY;
  }

  /** Whether a drop is being recovered from (the old high, bits/s). */
  get recoveringTo(): number | undefined {
    return this.#dropFrom;
  }

  /**
   * The probe to run now, if any. `sending`: media has left recently (no probing an idle
   * connection); `alr`: the application sends clearly less than the estimate.
   */
  next(now: number, estimate: number, sending: boolean, alr: boolean): ProbeRequest | undefined {
    this.#track(now, estimate);
    if (!sending) return undefined;
    if (!this.#started) {
      this.#started = true;
      for (const f of INITIAL_FACTORS) this.#pending.push(f * this.#start);
    }
    const limit = Math.min(this.#max, this.#cap);
    let bitrate = this.#pending.shift();
    if (bitrate === undefined && estimate < limit) {
      if (alr && now - this.#lastProbeAt >= ALR_PROBE_INTERVAL_MS) bitrate = 2 * estimate;
      else if (
        this.#dropFrom !== undefined &&
        now >= this.#nextRecoveryAt &&
        now - this.#lastDecreaseAt >= 1000
      ) {
        bitrate = Math.min(2 * estimate, this.#dropFrom);
        this.#nextRecoveryAt = now + this.#recoveryWait;
        this.#recoveryWait = Math.min(RECOVERY_MAX_MS, 2 * this.#recoveryWait);
      }
    }
    if (bitrate === undefined) return undefined;
    bitrate = Math.min(bitrate, limit);
    if (bitrate <= estimate) return undefined; // nothing to learn below what the estimate says
    const cluster = this.#nextCluster++;
    this.#last = { cluster, bitrate, judged: false };
    this.#lastProbeAt = now;
    this.probesSent++;
    const durationMs = Math.max(
      MIN_PROBE_MS,
      Math.min(MAX_PROBE_MS, (PROBE_PACKETS * 1200 * 8000) / bitrate),
    );
    return { cluster, bitrate, durationMs };
  }

  /** What probe cluster `cluster` found (bits/s), as the estimate took it. */
  onResult(cluster: number, bitrate: number): void {
    const last = this.#last;
    if (!last || last.cluster !== cluster || last.judged) return;
    last.judged = true;
    if (bitrate > CONTINUE_RATIO * last.bitrate && last.bitrate < Math.min(this.#max, this.#cap)) {
      this.#pending.length = 0;
      this.#pending.push(2 * bitrate);
    }
  }

  /** The high-water mark, drops from it, and recovery. */
  #track(now: number, estimate: number): void {
    if (estimate < this.#lastEstimate * 0.97) this.#lastDecreaseAt = now;
    this.#lastEstimate = estimate;
    if (this.#high > 0)
      this.#high -= ((this.#high - estimate) * Math.min(now - this.#highAt, HIGH_DECAY_MS)) / HIGH_DECAY_MS;
    this.#highAt = now;
    if (estimate >= this.#high) this.#high = estimate;
    if (this.#dropFrom !== undefined && estimate >= RECOVERED_RATIO * this.#dropFrom) {
      this.#dropFrom = undefined;
      this.#nextRecoveryAt = Number.POSITIVE_INFINITY;
    }
    if (estimate < DROP_RATIO * this.#high && (this.#dropFrom === undefined || this.#high > this.#dropFrom)) {
      this.#dropFrom = this.#high;
      this.#recoveryWait = RECOVERY_FIRST_MS;
      this.#nextRecoveryAt = now + RECOVERY_FIRST_MS;
    }
  }
}
