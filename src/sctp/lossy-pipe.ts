/**
 * A tiny in-memory datagram link between two endpoints on a Clock, with seeded loss, duplication,
 * reordering (random extra delay) and latency. For SCTP and data channel tests and benchmarks; the
 * general virtual network with hosts and NATs lives in core/vnet.
 */
import type { Clock } from '../core/clock.js';
import type { Random } from '../core/random.js';

export interface LinkOptions {
  /** One-way latency in ms. Default 5. */
  readonly delay?: number;
  /** Drop probability per datagram. */
  readonly loss?: number;
  /** Duplication probability per datagram. */
  readonly duplicate?: number;
  /** Probability that a datagram gets an extra random delay of up to `jitter` ms (reordering). */
  readonly reorder?: number;
  readonly jitter?: number;
  /** Largest datagram the path carries; larger ones are dropped. Default unlimited. */
  readonly mtu?: number;
  /**
   * A bottleneck: bytes per ms the link forwards (per direction). Datagrams wait in a queue of
   * `buffer` bytes and are dropped when it is full (a router queue, or a socket buffer). Default none.
   */
  readonly rate?: number;
  /** Queue size in bytes for `rate`. Default 64 KiB. */
  readonly buffer?: number;
}

export interface Endpoint {
  handle(packet: Uint8Array): void;
}

export class LossyLink {
  readonly #clock: Clock;
  readonly #random: Random;
  options: LinkOptions;
  /** When true, everything is dropped (a vanished peer). */
  down = false;
  sent = 0;
  dropped = 0;
  #ends: [Endpoint | null, Endpoint | null] = [null, null];
  /** Per direction (index = receiving side): when the bottleneck is free again. */
  #busyUntil = [0, 0];
  /** Datagrams dropped because the bottleneck queue was full. */
  queueDrops = 0;

  constructor(clock: Clock, random: Random, options: LinkOptions = {}) {
    this.#clock = clock;
    this.#random = random;
    this.options = options;
  }

  /** Attach the two ends; returns the send function each end uses. */
  attach(side: 0 | 1, ep: Endpoint): void {
    this.#ends[side] = ep;
  }

  sender(from: 0 | 1): (packet: Uint8Array) => void {
    return (packet) => this.#send(from === 0 ? 1 : 0, packet);
  }

  #send(to: 0 | 1, packet: Uint8Array): void {
    this.sent++;
    const o = this.options;
    const r = this.#random;
    if (this.down || (o.mtu !== undefined && packet.length > o.mtu) || (o.loss && r.float() < o.loss)) {
      this.dropped++;
      return;
    }
    let wait = 0;
    if (o.rate) {
      const now = this.#clock.now();
      const start = Math.max(now, this.#busyUntil[to]!);
      if ((start - now) * o.rate + packet.length > (o.buffer ?? 65536)) {
        this.dropped++;
        this.queueDrops++;
        return;
      }
      this.#busyUntil[to] = start + packet.length / o.rate;
      wait = this.#busyUntil[to]! - now;
    }
    const copy = packet.slice();
    const copies = o.duplicate && r.float() < o.duplicate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      let d = (o.delay ?? 5) + wait;
      if (o.reorder && r.float() < o.reorder) d += r.float() * (o.jitter ?? 20);
      this.#clock.setTimeout(() => {
        if (!this.down) this.#ends[to]?.handle(copy);
      }, d);
    }
  }
}
