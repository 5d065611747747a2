import type { ManualClock } from '../core/clock.js';
import type { Random } from '../core/random.js';

/** Impairments of an in-memory link between two endpoints (tests only). */
export interface PipeOptions {
  readonly clock: ManualClock;
  readonly random: Random;
  /** Probability a datagram is dropped. */
  readonly loss?: number;
  /** Probability a datagram is delivered twice. */
  readonly duplicate?: number;
  /** Probability a datagram is held back (delivered after later ones). */
  readonly reorder?: number;
  /** One-way delay in ms. */
  readonly delay?: number;
  /** Datagrams larger than this are dropped (like an IP path without fragmentation). */
  readonly mtu?: number;
}

/**
 * A two-way lossy link on a ManualClock: `a(datagram)` sends from A to B, `b(datagram)` from B to
 * A; deliveries happen on clock timers. Counters show what the link did.
 */
export class LossyPipe {
  readonly o: PipeOptions;
  toA: ((d: Uint8Array) => void) | null = null;
  toB: ((d: Uint8Array) => void) | null = null;
  sent = 0;
  dropped = 0;
  oversize = 0;
  /** Largest datagram seen. */
  largest = 0;

  constructor(o: PipeOptions) {
    this.o = o;
  }

  readonly a = (d: Uint8Array): void => this.#carry(Uint8Array.from(d), () => this.toB);
  readonly b = (d: Uint8Array): void => this.#carry(Uint8Array.from(d), () => this.toA);

  #carry(d: Uint8Array, target: () => ((d: Uint8Array) => void) | null): void {
    const { clock, random } = this.o;
    this.sent++;
    this.largest = Math.max(this.largest, d.length);
    if (this.o.mtu !== undefined && d.length > this.o.mtu) {
      this.oversize++;
      return;
    }
    if (random.float() < (this.o.loss ?? 0)) {
      this.dropped++;
      return;
    }
    const delay = this.o.delay ?? 5;
    const copies = random.float() < (this.o.duplicate ?? 0) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const extra = random.float() < (this.o.reorder ?? 0) ? delay * 3 + random.int(20) : 0;
      clock.setTimeout(() => target()?.(d), delay + extra + i);
    }
  }
}
