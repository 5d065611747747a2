/**
 * A link between a host (or a NAT's WAN side) and its router, one `LinkDirection` each way.
 * Every impairment is seeded: loss, duplication, reordering, delay with jitter, MTU, and a
 * bandwidth limit modelled as a token bucket feeding a FIFO queue of bounded size.
 */
import type { Random } from '../random.js';
import type { Fabric } from './fabric.js';
import { type VirtualPacket, wireSize } from './packet.js';

export interface LinkConditions {
  /** One-way delay in ms. Default 0 (delivery still goes through the clock). */
  delay?: number;
  /** Extra delay drawn uniformly from [0, jitter) ms per packet. Jitter alone never reorders. */
  jitter?: number;
  /** Probability in [0, 1] that a UDP packet is lost. TCP is never lost. */
  loss?: number;
  /** Probability in [0, 1] that a UDP packet is delivered twice. */
  duplicate?: number;
  /** Probability in [0, 1] that a UDP packet is held back by `reorderDelay` ms, letting later ones pass. */
  reorder?: number;
  /** Hold-back of a reordered packet in ms. Default 20. */
  reorderDelay?: number;
  /** Largest packet in bytes, IP and UDP/TCP headers included (payload + 28 for UDP/IPv4). Default none. */
  mtu?: number;
  /** Bandwidth limit in bits per second. Default unlimited. */
  bandwidth?: number;
  /** Token bucket depth in bytes (burst sent at line rate after idle). Default 1500. */
  burst?: number;
  /** Bytes the queue in front of a bandwidth-limited link holds; UDP beyond it is dropped. Default 64 KiB. */
  queueBytes?: number;
}

/** Statistics of one direction of a link. */
export interface LinkDirectionStats {
  packets: number;
  bytes: number;
  lost: number;
  duplicated: number;
  reordered: number;
  mtuDropped: number;
  queueDropped: number;
  /** Longest time a packet waited in the bandwidth queue, in ms. */
  maxQueueDelay: number;
}

export class LinkDirection {
  readonly name: string;
  readonly #fabric: Fabric;
  readonly #random: Random;
  #c: LinkConditions;
  /** When the last packet leaves the bandwidth queue. */
  #lastDeparture = Number.NEGATIVE_INFINITY;
  #tokens = 0;
  #tokenTime = Number.NEGATIVE_INFINITY;
  /** Latest in-order arrival time scheduled (keeps jitter FIFO). */
  #lastArrival = Number.NEGATIVE_INFINITY;
  readonly stats: LinkDirectionStats = {
    packets: 0,
    bytes: 0,
    lost: 0,
    duplicated: 0,
    reordered: 0,
    mtuDropped: 0,
    queueDropped: 0,
    maxQueueDelay: 0,
  };

  constructor(fabric: Fabric, name: string, conditions: LinkConditions = {}) {
    this.#fabric = fabric;
    this.name = name;
    this.#random = fabric.deriveRandom();
    this.#c = { ...conditions };
  }

  get conditions(): Readonly<LinkConditions> {
    return this.#c;
  }

  /** Replace the conditions (queue state is kept). */
  set(conditions: LinkConditions): void {
    this.#c = { ...conditions };
  }

  /** Would this packet fit the MTU? */
  fits(p: VirtualPacket): boolean {
    return this.#c.mtu === undefined || wireSize(p) <= this.#c.mtu;
  }

  /** Carry p across the link; `arrive` runs on the clock when (and if) it gets to the other end. */
  send(p: VirtualPacket, arrive: (p: VirtualPacket) => void): void {
    const udp = p.proto === 'udp';
    const c = this.#c;
    if (udp && !this.fits(p)) {
      this.stats.mtuDropped++;
      this.#fabric.drop(p, 'mtu', this.name);
      return;
    }
    if (udp && c.loss && this.#random.float() < c.loss) {
      this.stats.lost++;
      this.#fabric.drop(p, 'loss', this.name);
      return;
    }
    this.#transmit(p, arrive);
    if (udp && c.duplicate && this.#random.float() < c.duplicate) {
      this.stats.duplicated++;
      this.#fabric.counters(p.proto).duplicated++;
      this.#fabric.record('duplicate', p, this.name);
      this.#transmit(p, arrive);
    }
  }

  #transmit(p: VirtualPacket, arrive: (p: VirtualPacket) => void): void {
    const c = this.#c;
    const now = this.#fabric.clock.now();
    const size = wireSize(p);
    let departure = now;
    if (c.bandwidth !== undefined && c.bandwidth > 0) {
      const rate = c.bandwidth / 8 / 1000; // bytes per ms
      const burst = c.burst ?? 1500;
      const start = Math.max(now, this.#lastDeparture);
      const tokens =
        this.#tokenTime === Number.NEGATIVE_INFINITY
          ? burst
          : Math.min(burst, this.#tokens + rate * (start - this.#tokenTime));
      departure = tokens >= size ? start : start + (size - tokens) / rate;
      const backlog = (departure - now) * rate;
      if (p.proto === 'udp' && backlog > (c.queueBytes ?? 65536)) {
        this.stats.queueDropped++;
        this.#fabric.drop(p, 'queue', this.name);
        return;
      }
      this.#tokens = Math.max(0, tokens - size);
      this.#tokenTime = departure;
      this.#lastDeparture = departure;
      this.stats.maxQueueDelay = Math.max(this.stats.maxQueueDelay, departure - now);
    }
    this.stats.packets++;
    this.stats.bytes += size;
    let arrival = departure + (c.delay ?? 0) + (c.jitter ? this.#random.float() * c.jitter : 0);
    if (p.proto === 'udp' && c.reorder && this.#random.float() < c.reorder) {
      this.stats.reordered++;
      arrival += c.reorderDelay ?? 20;
    } else {
      arrival = Math.max(arrival, this.#lastArrival);
      this.#lastArrival = arrival;
    }
    this.#fabric.schedule(arrival - now, () => arrive(p));
  }
}

/** Both directions of the link between a node and its router. */
export class Link {
  /** Node to router (uplink). */
  readonly up: LinkDirection;
  /** Router to node (downlink). */
  readonly down: LinkDirection;

  constructor(fabric: Fabric, name: string, conditions: LinkConditions = {}) {
    this.up = new LinkDirection(fabric, `${name}/up`, conditions);
    this.down = new LinkDirection(fabric, `${name}/down`, conditions);
  }

  /** Set conditions on both directions, or only one. */
  set(conditions: LinkConditions, direction: 'both' | 'up' | 'down' = 'both'): void {
    if (direction !== 'down') this.up.set(conditions);
    if (direction !== 'up') this.down.set(conditions);
  }
}
