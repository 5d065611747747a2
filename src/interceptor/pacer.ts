/**
 * The send pacer, as in GCC senders (draft-ietf-rmcat-gcc-02 §4 "pacing"; libwebrtc's pacing
 * controller works the same way): packets leave spread at `pacingFactor` × the target bitrate
 * instead of in the bursts encoders produce (a keyframe is tens of packets at once), so the
 * bottleneck queue does not fill and the delay-based estimator does not read a burst as congestion.
 *
 * - Budget: a media debt in bytes that drains at the pacing rate; a packet may leave while the
 *   debt is under `burstMs` worth of the rate (the burst allowance), so on an idle link a packet
 *   goes at once (no added latency) and a frame's packets leave back to back up to the allowance.
 * - Priority: audio first (it bypasses the budget: a few small packets that must not wait behind
 *   video, only counted in the debt), then retransmissions, then video, then padding.
 * - Bounded queue: when what is queued would take longer than `maxQueueMs` at the pacing rate, the
 *   rate rises so the queue drains within it (latency bounded, nothing dropped, as libwebrtc's
 *   queue time limit); past `maxQueuePackets` (a stalled clock or a runaway writer) the queued
 *   video and retransmissions are flushed and `onOverflow` names the SSRCs (ask for a keyframe).
 * - Padding and probing: with a padding rate (or during a probe) and an empty queue, `padding`
 *   is asked for packets to keep the link at that rate (RTX padding or history replays).
 * Time only from the injected Clock; timers only while something is queued or padding runs.
 */
import type { Clock, Timer } from '../core/clock.js';

export type PacketClass = 'audio' | 'retransmission' | 'video' | 'padding';

export interface PacedPacket {
  /** Bytes on the wire (for the budget). */
  readonly size: number;
  readonly ssrc: number;
  readonly cls: PacketClass;
}

export interface PacerOptions<T extends PacedPacket> {
  readonly clock: Clock;
  readonly send: (packet: T) => void;
  /** Pacing rate = factor × target bitrate (libwebrtc: 2.5). */
  readonly pacingFactor?: number;
  /** Bytes that may leave back to back, as ms of the pacing rate. */
  readonly burstMs?: number;
  /** Longest queueing delay: beyond it the rate rises to drain the queue in time. */
  readonly maxQueueMs?: number;
  /** Hard bound on queued packets: beyond it video and retransmissions are flushed. */
  readonly maxQueuePackets?: number;
  /** Queued packets of these SSRCs were flushed: the stream needs a keyframe. */
  readonly onOverflow?: (ssrcs: ReadonlySet<number>) => void;
  /** Padding packets of about `bytes` in total (may return fewer, or none). */
  readonly padding?: (bytes: number) => readonly T[];
}

export interface PacerStats {
  packetsSent: number;
  bytesSent: number;
  paddingBytesSent: number;
  packetsFlushed: number;
  overflows: number;
  /** Largest queueing delay seen, ms. */
  maxQueueDelayMs: number;
}

export const DEFAULT_PACING_FACTOR = 2.5;
const DEFAULT_BURST_MS = 5;
const DEFAULT_MAX_QUEUE_MS = 2000;
const DEFAULT_MAX_QUEUE_PACKETS = 10_000;
/** Padding is generated in steps of this much time at the padding rate. */
const PADDING_STEP_MS = 5;
/** Padding a late timer missed is made up for this long at most. */
const PADDING_CATCHUP_MS = 20;
/** Smallest wait between two releases (timers are no finer in practice). */
const MIN_WAIT_MS = 1;

/** A FIFO with O(1) push and shift (an array with a moving head, compacted now and then). */
class Fifo<T> {
  #items: T[] = [];
  #head = 0;
  get length(): number {
    return this.#items.length - this.#head;
  }
  push(x: T): void {
    this.#items.push(x);
  }
  peek(): T | undefined {
    return this.#items[this.#head];
  }
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const x = this.#items[this.#head++];
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return x;
  }
  drain(): T[] {
    const out = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return out;
  }
}

interface Queued<T> {
  readonly packet: T;
  readonly at: number;
}

export class Pacer<T extends PacedPacket> {
  readonly #clock: Clock;
  readonly #send: (packet: T) => void;
  readonly #factor: number;
  readonly #burstMs: number;
  readonly #maxQueueMs: number;
  readonly #maxQueuePackets: number;
  readonly #onOverflow: ((ssrcs: ReadonlySet<number>) => void) | undefined;
  readonly #padding: ((bytes: number) => readonly T[]) | undefined;
  /** retransmission, video (audio never waits). */
  readonly #rtx = new Fifo<Queued<T>>();
  readonly #video = new Fifo<Queued<T>>();
  #queuedBytes = 0;
  #debt = 0;
  #paddingDebt = 0;
  #last: number;
  #timer: Timer | undefined;
  #timerDue = Infinity;
  #bitrate = Infinity;
  #paddingBitrate = 0;
  #probe: { bitrate: number; until: number } | undefined;
  #closed = false;
  readonly stats: PacerStats = {
    packetsSent: 0,
    bytesSent: 0,
    paddingBytesSent: 0,
    packetsFlushed: 0,
    overflows: 0,
    maxQueueDelayMs: 0,
  };

  constructor(o: PacerOptions<T>) {
    this.#clock = o.clock;
    this.#send = o.send;
    this.#factor = o.pacingFactor ?? DEFAULT_PACING_FACTOR;
    this.#burstMs = o.burstMs ?? DEFAULT_BURST_MS;
    this.#maxQueueMs = o.maxQueueMs ?? DEFAULT_MAX_QUEUE_MS;
    this.#maxQueuePackets = o.maxQueuePackets ?? DEFAULT_MAX_QUEUE_PACKETS;
    this.#onOverflow = o.onOverflow;
    this.#padding = o.padding;
    this.#last = o.clock.now();
  }

  /** The target bitrate (bits/s) the pacing rate follows; Infinity: no pacing. */
  get bitrate(): number {
    return this.#bitrate;
  }
  set bitrate(bps: number) {
    if (bps === this.#bitrate || !(bps > 0)) return;
    this.#drainDebt(this.#clock.now());
    this.#bitrate = bps;
    this.#process();
  }

  /** Padding to keep the link at (bits/s, media included) while the queue is empty; 0: none. */
  get paddingBitrate(): number {
    return this.#paddingBitrate;
  }
  set paddingBitrate(bps: number) {
    this.#paddingBitrate = Math.max(0, bps);
    this.#process();
  }

  /** A probe: for `durationMs`, pace at least at `bitrate` and pad up to it. */
  probe(bitrate: number, durationMs: number): void {
    this.#probe = { bitrate, until: this.#clock.now() + durationMs };
    this.#process();
  }

  get queuedPackets(): number {
    return this.#rtx.length + this.#video.length;
  }
  get queuedBytes(): number {
    return this.#queuedBytes;
  }
  /** How long the oldest queued packet has waited, ms. */
  get queueDelayMs(): number {
    const oldest = Math.min(this.#rtx.peek()?.at ?? Infinity, this.#video.peek()?.at ?? Infinity);
    return oldest === Infinity ? 0 : this.#clock.now() - oldest;
  }

  /** The pacing rate now, bits/s: factor × target (or a probe's), raised to drain a long queue. */
  get pacingRate(): number {
    return this.#rate(this.#clock.now());
  }

  enqueue(packet: T): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    if (packet.cls === 'audio' || this.#bitrate === Infinity) {
      this.#drainDebt(now);
      this.#emit(packet);
      return;
    }
    const waiting = this.queuedPackets > 0;
    this.#queuedBytes += packet.size;
    // Nothing waits and the budget allows it: it leaves now, as #process would release it at once
    // (the same budget: the rate counts it as queued since `now`), without a queue entry for it.
    if (!waiting && this.#maxQueuePackets >= 1) {
      this.#drainDebt(now);
      if (this.#debt <= this.#allowance(now)) {
        this.#queuedBytes -= packet.size;
        this.#emit(packet);
        this.#pad(now);
        this.#reschedule();
        return;
      }
    }
    (packet.cls === 'retransmission' ? this.#rtx : this.#video).push({ packet, at: now });
    if (this.queuedPackets > this.#maxQueuePackets) this.#flush();
    // Others wait: their timer releases this one in turn. Otherwise it may go now.
    if (!waiting) this.#process();
  }

  /** Stop: nothing more leaves, the timer is cancelled. */
  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #rate(now: number): number {
    let rate = this.#bitrate * this.#factor;
    const probe = this.#probe;
    if (probe && now < probe.until) rate = Math.max(rate, probe.bitrate);
    if (this.#queuedBytes > 0) {
      const oldest = Math.min(this.#rtx.peek()?.at ?? now, this.#video.peek()?.at ?? now);
      const left = Math.max(MIN_WAIT_MS, this.#maxQueueMs - (now - oldest));
      rate = Math.max(rate, (this.#queuedBytes * 8000) / left);
    }
    return rate;
  }

  #drainDebt(now: number): void {
    const dt = Math.max(0, now - this.#last);
    this.#last = now;
    if (dt === 0) return;
    const rate = this.#rate(now);
    this.#debt = Math.max(0, this.#debt - (rate * dt) / 8000);
    // Without a padding rate nothing drains it: what was sent before a probe does not count.
    const padding = this.#paddingRate(now);
    // Below zero by up to PADDING_CATCHUP_MS: a late timer's padding is made up (within reason).
    this.#paddingDebt =
      padding > 0
        ? Math.max((-padding * PADDING_CATCHUP_MS) / 8000, this.#paddingDebt - (padding * dt) / 8000)
        : 0;
  }

  #paddingRate(now: number): number {
    const probe = this.#probe;
    return Math.max(this.#paddingBitrate, probe && now < probe.until ? probe.bitrate : 0);
  }

  #allowance(now: number): number {
    return (this.#rate(now) * this.#burstMs) / 8000;
  }

  #emit(packet: T): void {
    this.#debt += packet.size;
    this.#paddingDebt += packet.size;
    this.stats.packetsSent++;
    this.stats.bytesSent += packet.size;
    this.#send(packet);
  }

  #next(): Queued<T> | undefined {
    return this.#rtx.length ? this.#rtx.shift() : this.#video.shift();
  }

  #process(): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    this.#drainDebt(now);
    const allowance = this.#allowance(now);
    while (this.queuedPackets > 0 && this.#debt <= allowance) {
      const q = this.#next()!;
      this.#queuedBytes -= q.packet.size;
      const waited = now - q.at;
      if (waited > this.stats.maxQueueDelayMs) this.stats.maxQueueDelayMs = waited;
      this.#emit(q.packet);
    }
    if (this.queuedPackets === 0) this.#pad(now);
    this.#reschedule();
  }

  /** With an empty queue, fill up to the padding (or probe) rate. */
  #pad(now: number): void {
    const rate = this.#paddingRate(now);
    if (rate <= 0 || !this.#padding) return;
    // Padding debt counts everything sent, so media already under way is not padded again.
    const target = (rate * PADDING_STEP_MS) / 8000;
    while (this.#paddingDebt < target && this.#debt <= this.#allowance(now)) {
      const packets = this.#padding(Math.ceil(target - this.#paddingDebt));
      if (packets.length === 0) return;
      for (const p of packets) {
        this.stats.paddingBytesSent += p.size;
        this.#emit(p);
      }
    }
  }

  #reschedule(): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    let wait = Infinity;
    const queued = this.queuedPackets > 0;
    const rate = queued ? this.#rate(now) : Infinity;
    if (queued && rate !== Infinity) {
      wait = Math.max(MIN_WAIT_MS, ((this.#debt - this.#allowance(now)) * 8000) / rate);
    } else if (this.#paddingRate(now) > 0 && this.#padding) {
      wait = PADDING_STEP_MS;
    }
    const due = now + wait;
    if (this.#timer && this.#timerDue <= due) return;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#timerDue = Infinity;
    if (wait === Infinity) return;
    this.#timerDue = due;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerDue = Infinity;
      this.#process();
    }, wait);
  }

  #flush(): void {
    const ssrcs = new Set<number>();
    for (const q of [...this.#rtx.drain(), ...this.#video.drain()]) {
      ssrcs.add(q.packet.ssrc);
      this.stats.packetsFlushed++;
    }
    this.#queuedBytes = 0;
    this.stats.overflows++;
    this.#onOverflow?.(ssrcs);
  }
}
