/**
 * Modelled subscriber downlinks for the SFU's TWCC tests on a ManualClock: a bottleneck queue (a
 * capacity, a 20 ms base delay, tail drop past 300 ms of queue) whose receiver reports arrivals as
 * TWCC feedback every 50 ms, as a browser does, and a room of simulcast publishers and subscribers
 * on such links.
 */
import assert from 'node:assert/strict';
import { SeededRandom } from '../../src/core/random.js';
import { TwccRecorder } from '../../src/interceptor/twcc-recorder.js';
import { serializeRtcp } from '../../src/rtcp/compound.js';
import type { ForwardedRtp } from '../../src/server/sfu/forwarded.js';
import type { RoomOptions } from '../../src/server/sfu/room.js';
import { Harness } from './harness.js';

/**
 * A subscriber's downlink: FIFO at `capacity` bits/s, then TWCC feedback from arrival times.
 * `numbering` 'room': the room numbers packets (ForwardedRtp.transportSequence) and gets feedback
 * as RTCP; 'transport': the link numbers them itself, as a peer connection's transport does, and
 * reports through Room.transportSent / transportFeedback.
 */
export class Downlink {
  capacity = Number.POSITIVE_INFINITY;
  /** The receiver reads a packet that arrived at `t` at readAt(t) (a busy receiving process). */
  readAt: (t: number) => number = (t) => t;
  readonly #queue: { seq: number; arrival: number }[] = [];
  readonly #twcc = new TwccRecorder();
  #busyUntil = 0;
  #lastFeedback = 0;
  #seq = 0;
  dropped = 0;
  constructor(
    readonly id: string,
    readonly h: Harness,
    readonly numbering: 'room' | 'transport' = 'room',
  ) {}

  send(p: ForwardedRtp, now: number): void {
    let seq = p.transportSequence;
    if (this.numbering === 'transport') {
      assert.equal(seq, undefined, 'the room leaves numbering to the transport');
      seq = this.#seq++ & 0xffff;
      this.h.room.transportSent(this.id, seq, p.bytes.length);
    }
    if (seq === undefined) throw new Error('no transport-wide sequence number');
    const start = Math.max(now, this.#busyUntil);
    if (start - now > 300) {
      this.dropped++; // tail drop: the bottleneck's buffer is full
      return;
    }
    const done = start + (p.bytes.length * 8 * 1000) / this.capacity;
    this.#busyUntil = done;
    this.#queue.push({ seq, arrival: done + 20 });
  }

  step(now: number): void {
    while (this.#queue.length > 0 && this.readAt(this.#queue[0]!.arrival) <= now) {
      const a = this.#queue.shift()!;
      this.#twcc.record(a.seq, this.readAt(a.arrival));
    }
    if (now - this.#lastFeedback >= 50) {
      this.#lastFeedback = now;
      const fb = this.#twcc.buildFeedback(1, 0);
      if (!fb) return;
      if (this.numbering === 'transport') this.h.room.transportFeedback(this.id, fb);
      else this.h.room.handleRtcp(this.id, serializeRtcp([fb]));
    }
  }
}

/**
 * From `from` on, `link`'s receiving process reads each packet 0-`maxMs` ms late, in order (a busy
 * receiver: queuing delay all along, yet nothing lost and the link not full).
 */
export function readLate(link: Downlink, from: number, seed: number, maxMs = 150): void {
  const random = new SeededRandom(seed);
  const late = new Map<number, number>();
  let lastRead = 0;
  link.readAt = (t) => {
    if (t < from) return t;
    let r = late.get(t);
    if (r === undefined) {
      r = Math.max(lastRead, t + random.float() * maxMs);
      lastRead = r;
      late.set(t, r);
    }
    return r;
  };
}

/** A subscriber's modelled link: takes what the room forwards, and runs on each clock step. */
export interface SubscriberLink {
  send(p: ForwardedRtp, now: number): void;
  step(now: number): void;
}

/**
 * Two simulcast publishers A and B and subscribers S and T, each subscriber's packets on a link
 * of `makeLink`'s: `step` runs every link, `layers` gives a subscriber's video layers.
 */
export function twoByTwoRoom<L extends SubscriberLink>(
  options: Partial<RoomOptions>,
  makeLink: (id: string, h: Harness) => L,
) {
  const h = new Harness({ twcc: true, ...options });
  h.addPublisher('A', 21);
  h.addPublisher('B', 22);
  h.room.join('S');
  h.room.join('T');
  const links = new Map(['S', 'T'].map((id) => [id, makeLink(id, h)]));
  h.onRtp = (id, p) => links.get(id)?.send(p, h.clock.now());
  const step = (now: number) => {
    for (const l of links.values()) l.step(now);
  };
  const layers = (id: string): number[] =>
    h.room
      .downTracksOf(id)
      .filter((d) => d.track.kind === 'video')
      .map((d) => d.current);
  return { h, links, step, layers };
}

/** Two simulcast publishers and subscribers S and T on modelled downlinks. */
export function twoByTwo(numbering: 'room' | 'transport', initialBandwidth = 1_000_000) {
  return twoByTwoRoom(
    { transportSequence: numbering, initialBandwidth },
    (id, h) => new Downlink(id, h, numbering),
  );
}
