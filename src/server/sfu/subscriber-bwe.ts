/**
 * Downlink bandwidth estimation for one subscriber from its transport-wide congestion control
 * feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01): every packet the SFU forwards to
 * it carries a transport-wide sequence number; the subscriber reports arrival times; the GCC
 * controller (src/interceptor) turns them into a target bitrate, which layer selection uses as the
 * subscriber's budget.
 *
 * Application-limited periods: the controller clamps its target to 1.5 × what was acknowledged, so
 * while the SFU forwards little (video paused, low layers) its target sinks although the path is
 * idle. The estimate here follows the controller down only when the path shows congestion (queuing
 * delay over CONGESTION_DELAY_MS above the smallest seen, or loss over CONGESTION_LOSS), and up
 * whenever the controller grows (as libwebrtc clamps only increases).
 *
 * Our own scheduling jitter: on a loaded host either end may read packets late, which looks like
 * queuing delay. Delay counts as congestion only once it has lasted DELAY_SUSTAIN_MS, and delay
 * alone never takes the estimate below `floor` (what every subscribed track's lowest layer needs:
 * the room sets it), so jitter cannot starve a subscriber; loss can (the path really drops).
 *
 * Probing: GCC never lets the target exceed 1.5 × what was acknowledged, so a subscriber held on a
 * low layer could never earn a higher one. Now and then, when the estimate has been quiet and a
 * higher layer is wanted, the SFU probes with real media: for a while the budget is raised to what
 * one more step up needs, the subscriber is fed the higher layer, and the controller sees whether
 * the path carries it. The probe fails when the estimate falls, or when, a second after the higher
 * rate started, the subscriber acknowledges clearly less than is sent (the path is full): the
 * budget returns to the estimate at once and the next probe backs off (doubling, up to
 * PROBE_MAX_BACKOFF_MS). It succeeds when, a second after the higher rate started, the subscriber
 * acknowledges what is sent (the estimate takes the delivered rate) or the controller's own
 * estimate grows to cover it; either keeps the higher layer.
 *
 * One controller per leg: when the subscriber's transport runs its own (a peer connection's
 * MediaCongestion stamps, paces and reads the feedback), this estimator reads that controller
 * after each feedback (`controller` option) and keeps none of its own; the per-packet send record
 * and the per-feedback GCC pass are done once. Only where the room numbers the packets itself
 * (RoomOptions.transportSequence 'room', or a transport without a controller) does it run one.
 */
import { CongestionController } from '../../interceptor/congestion-controller.js';
import type { TransportCcFeedback } from '../../rtcp/twcc.js';

/** What the estimator reads of a congestion controller after each feedback. */
export type ControllerFigures = Readonly<
  Pick<
    CongestionController,
    | 'targetBitrate'
    | 'ackedBitrate'
    | 'lossFraction'
    | 'feedbackTotal'
    | 'feedbackLost'
    | 'meanDelay'
    | 'minDelay'
  >
>;

/** Quiet time (no decrease) before a probe, and the first back-off after a failed one. */
export const PROBE_INTERVAL_MS = 3000;
export const PROBE_MAX_BACKOFF_MS = 30_000;
/** Longest a probe may take to be confirmed by the estimate. */
export const PROBE_MAX_MS = 8000;
/** Queuing delay (mean over a feedback, above the smallest one-way delay seen) that means congestion. */
export const CONGESTION_DELAY_MS = 40;
/** Loss fraction in a feedback that means congestion. */
export const CONGESTION_LOSS = 0.1;
/** How long queuing delay must last before it counts as congestion. */
export const DELAY_SUSTAIN_MS = 300;

export class SubscriberBwe {
  /** The controller read: the transport's, or (without one) this estimator's own. */
  readonly cc: ControllerFigures;
  /** Our own controller, fed here (undefined when reading the transport's). */
  readonly #own: CongestionController | undefined;
  #seq = 0;
  #probe:
    | { budget: number; until: number; startEstimate: number; startForwarded: number; raisedAt: number }
    | undefined;
  #nextProbeAt: number;
  #backoff = PROBE_INTERVAL_MS;
  #lastEstimate: number;
  #lastDecreaseAt = -Infinity;
  /** Our estimate (see the file comment), bits/s. */
  #estimate: number;
  /** After a failed probe: the queue it built drains; its congestion is not the path's news. */
  #settleUntil = -Infinity;
  /** Since when feedback has shown queuing delay over CONGESTION_DELAY_MS (Infinity: it does not). */
  #delayedSince = Number.POSITIVE_INFINITY;
  /** Mean queuing delay of the last feedback, ms (for stats). */
  queuingDelay = 0;
  /** Feedback packets received. */
  feedbacks = 0;
  /** Delay alone never takes the estimate below this (bits/s; the room sets it, see above). */
  floor = 0;
  probes = 0;
  failedProbes = 0;

  /**
   * `controller`: the subscriber's transport's controller, which that transport feeds (sent
   * packets, feedback) before this estimator's onFeedback; without it the estimator runs its own
   * (`initialBitrate`, `minBitrate`, `maxBitrate`), fed through onSend/onSent and onFeedback.
   */
  constructor(
    initialBitrate: number,
    now: number,
    o: { minBitrate?: number; maxBitrate?: number; controller?: ControllerFigures } = {},
  ) {
    const { controller, ...limits } = o;
    this.#own = controller ? undefined : new CongestionController({ initialBitrate, ...limits });
    this.cc = controller ?? this.#own!;
    this.#lastEstimate = initialBitrate;
    this.#estimate = initialBitrate;
    this.#nextProbeAt = now + PROBE_INTERVAL_MS;
  }

  get estimate(): number {
    return this.#estimate;
  }

  get probing(): boolean {
    return this.#probe !== undefined;
  }

  /** Whether this estimator reads the transport's controller (see the file comment). */
  get shared(): boolean {
    return this.#own === undefined;
  }

  /** The transport-wide sequence number for the next packet to this subscriber, recorded as sent. */
  onSend(size: number, now: number): number {
    const seq = this.#seq;
    this.#seq = (seq + 1) & 0xffff;
    this.onSent(seq, size, now);
    return seq;
  }

  /**
   * A packet left with transport-wide sequence number `seq` given out by the transport itself;
   * `cluster`: the probe cluster the transport's pacer sent it in (-1: none). The transport probes
   * (its congestion controller, padding through its pacer); what the subscriber received of a
   * cluster lifts this estimator's controller as it does the transport's. Reading the transport's
   * controller, there is nothing to record: the transport did.
   */
  onSent(seq: number, size: number, now: number, cluster = -1): void {
    this.#own?.onPacketSent(seq, size, now, cluster);
  }

  /**
   * The subscriber's feedback: our own controller reads it, or the transport's already has (then
   * `fb` is not read again); the estimate follows from the controller's figures.
   */
  onFeedback(fb: TransportCcFeedback, now: number): void {
    this.feedbacks++;
    // The controller reads the feedback once against its record of sent packets; loss and delay
    // come from that pass (no second record or loop here).
    const cc = this.cc;
    this.#own?.onFeedback(fb, now);
    const lossy = cc.feedbackTotal > 0 && cc.feedbackLost / cc.feedbackTotal > CONGESTION_LOSS;
    // Queuing delay: the feedback's mean one-way delay above the smallest seen.
    this.queuingDelay = Number.isNaN(cc.meanDelay) ? 0 : cc.meanDelay - cc.minDelay;
    if (this.queuingDelay <= CONGESTION_DELAY_MS) this.#delayedSince = Number.POSITIVE_INFINITY;
    else if (this.#delayedSince > now) this.#delayedSince = now;
    const congested = lossy || now - this.#delayedSince >= DELAY_SUSTAIN_MS;
    const t = this.cc.targetBitrate;
    const before = this.#estimate;
    if (t > before) this.#estimate = t;
    else if (congested && now >= this.#settleUntil) {
      // Down to the controller's target, but not below β × the delivered rate (GCC §5.5: the path
      // carried that much; the controller's loss-based cut can overshoot after a burst of drops).
      const acked = this.cc.ackedBitrate ?? 0;
      let next = Math.min(before, Math.max(t, 0.85 * acked));
      // Delay without loss: never below what the lowest layers need (see the file comment).
      if (!lossy) next = Math.max(next, Math.min(before, this.floor));
      this.#estimate = next;
    }
    const e = this.#estimate;
    if (e < this.#lastEstimate * 0.97) {
      this.#lastDecreaseAt = now;
      // The path did not carry the probe: back to the estimate, and wait longer next time.
      if (this.#probe && e < this.#probe.startEstimate) this.#failProbe(now);
    }
    this.#lastEstimate = e;
  }

  /**
   * The budget layer selection should use now. `forwarded`: what is being sent (bits/s);
   * `nextStep`: the budget one more layer step up would need (undefined: nothing higher is wanted).
   */
  budget(now: number, forwarded: number, nextStep: number | undefined): number {
    const e = this.#estimate;
    const p = this.#probe;
    if (p) {
      if (p.raisedAt < 0 && forwarded > p.startForwarded * 1.15) p.raisedAt = now;
      const acked = this.cc.ackedBitrate ?? 0;
      const full = p.raisedAt >= 0 && now - p.raisedAt >= 1000 && acked < 0.85 * forwarded;
      if (full || now >= p.until) {
        this.#failProbe(now);
        return e;
      }
      const carried =
        p.raisedAt >= 0 &&
        now - p.raisedAt >= 1000 &&
        acked >= 0.95 * forwarded &&
        this.queuingDelay < CONGESTION_DELAY_MS;
      if ((p.raisedAt >= 0 && e >= forwarded * 1.1) || carried) {
        // Confirmed: the path delivered the higher rate without congestion (or the controller's
        // estimate already covers it); the estimate takes it and rules again.
        if (carried) this.#estimate = Math.max(e, forwarded * 1.1);
        this.#lastEstimate = this.#estimate;
        this.#probe = undefined;
        this.#backoff = PROBE_INTERVAL_MS;
        this.#nextProbeAt = now + this.#backoff;
        return this.#estimate;
      }
      return Math.max(e, p.budget);
    }
    if (
      nextStep !== undefined &&
      nextStep > e &&
      now >= this.#nextProbeAt &&
      now - this.#lastDecreaseAt >= PROBE_INTERVAL_MS
    ) {
      this.#probe = {
        budget: nextStep,
        until: now + PROBE_MAX_MS,
        startEstimate: e * 0.9,
        startForwarded: forwarded,
        raisedAt: -1,
      };
      this.probes++;
      return nextStep;
    }
    return e;
  }

  #failProbe(now: number): void {
    // Back to what held before the probe; the layers drop at once and the probe's queue drains.
    if (this.#probe) this.#estimate = this.#probe.startEstimate / 0.9;
    this.#lastEstimate = this.#estimate;
    this.#settleUntil = now + 1000;
    this.#probe = undefined;
    this.failedProbes++;
    this.#backoff = Math.min(PROBE_MAX_BACKOFF_MS, this.#backoff * 2);
    this.#nextProbeAt = now + this.#backoff;
  }
}
