/**
 * One periodic timer per clock for many callbacks: an SFU holds a MediaSession per subscriber, and
 * a 20 ms timer each (hundreds of timers re-armed 50 times a second) cost more than the ticks'
 * work. Callbacks run in the order they joined; one joining during a tick waits for the next; one
 * leaving during a tick is not called. The timer runs only while a callback is registered.
 */
import type { Clock, Timer } from '../core/clock.js';

class SharedTick {
  readonly #clock: Clock;
  readonly #ms: number;
  readonly #callbacks = new Set<() => void>();
  #timer: Timer | undefined;
  readonly #onRemoved: () => void;

  constructor(clock: Clock, ms: number, onRemoved: () => void) {
    this.#clock = clock;
    this.#ms = ms;
    this.#onRemoved = onRemoved;
  }

  add(fn: () => void): void {
    this.#callbacks.add(fn);
    if (!this.#timer) this.#schedule();
  }

  delete(fn: () => void): void {
    if (!this.#callbacks.delete(fn) || this.#callbacks.size > 0) return;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#onRemoved();
  }

  #schedule(): void {
    this.#timer = this.#clock.setTimeout(() => this.#fire(), this.#ms);
  }

  #fire(): void {
    this.#timer = undefined;
    const callbacks = this.#callbacks;
    if (callbacks.size > 0) this.#schedule();
    let failed = false;
    let error: unknown;
    for (const fn of [...callbacks]) {
      if (!callbacks.has(fn)) continue;
      try {
        fn();
      } catch (err) {
        // The others still tick; the first failure surfaces as the timer's own would have.
        if (!failed) error = err;
        failed = true;
      }
    }
    if (failed) throw error;
  }
}

const ticks = new Map<number, WeakMap<Clock, SharedTick>>();

/** Call `fn` every `ms` on `clock`, sharing one timer with every other caller; returns the stop. */
export function everyTick(clock: Clock, ms: number, fn: () => void): () => void {
  let byClock = ticks.get(ms);
  if (!byClock) ticks.set(ms, (byClock = new WeakMap()));
  let tick = byClock.get(clock);
  if (!tick) {
    const t = new SharedTick(clock, ms, () => {
      if (byClock.get(clock) === t) byClock.delete(clock);
    });
    byClock.set(clock, (tick = t));
  }
  const shared = tick;
  shared.add(fn);
  return () => shared.delete(fn);
}
