/**
 * The network's own event queue: a binary heap ordered by (due, sequence) behind a single clock
 * timer armed for the earliest event. One event runs per clock firing, so promise continuations
 * interleave with deliveries exactly as with one clock timer per packet, but scheduling costs
 * O(log n) instead of a sorted insert into the clock's queue.
 */
import type { Clock, Timer } from '../clock.js';

interface Event {
  due: number;
  seq: number;
  fn: () => void;
  live: boolean;
}

export class Scheduler {
  readonly #clock: Clock;
  readonly #heap: Event[] = [];
  #seq = 0;
  #live = 0;
  #armed: { timer: Timer; due: number } | null = null;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Events scheduled and not yet run or cancelled. */
  get pending(): number {
    return this.#live;
  }

  schedule(ms: number, fn: () => void): Timer {
    const e: Event = { due: this.#clock.now() + Math.max(0, ms), seq: this.#seq++, fn, live: true };
    this.#push(e);
    this.#live++;
    if (!this.#armed || e.due < this.#armed.due) this.#arm();
    return {
      cancel: () => {
        if (!e.live) return;
        e.live = false;
        this.#live--;
      },
    };
  }

  /** Cancel everything. */
  clear(): void {
    for (const e of this.#heap) e.live = false;
    this.#heap.length = 0;
    this.#live = 0;
    this.#armed?.timer.cancel();
    this.#armed = null;
  }

  #arm(): void {
    this.#armed?.timer.cancel();
    this.#armed = null;
    while (this.#heap.length > 0 && !this.#heap[0]!.live) this.#pop();
    const top = this.#heap[0];
    if (!top) return;
    const timer = this.#clock.setTimeout(() => this.#fire(), top.due - this.#clock.now());
    this.#armed = { timer, due: top.due };
  }

  #fire(): void {
    this.#armed = null;
    while (this.#heap.length > 0 && !this.#heap[0]!.live) this.#pop();
    const e = this.#heap[0];
    if (e && e.due <= this.#clock.now()) {
      this.#pop();
      e.live = false;
      this.#live--;
      try {
        e.fn();
      } finally {
        if (!this.#armed) this.#arm();
      }
      return;
    }
    this.#arm();
  }

  // ---------------------------------------------------------------- heap
  static #before(a: Event, b: Event): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  #push(e: Event): void {
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!Scheduler.#before(e, h[parent]!)) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = e;
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop();
    if (!last || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && Scheduler.#before(h[r]!, h[l]!) ? r : l;
      if (!Scheduler.#before(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}
