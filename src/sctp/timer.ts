import type { Clock, Timer } from '../core/clock.js';

/**
 * A restartable timer that does not touch the clock on every restart: it keeps a deadline and one
 * scheduled clock timer, and when that fires early it reschedules for the remaining time. Restarting
 * T3-rtx on each SACK is then a field write, not a cancel plus a new timer.
 */
export class LazyTimer {
  readonly #clock: Clock;
  readonly #fn: () => void;
  #deadline = Number.POSITIVE_INFINITY;
  #handle: Timer | null = null;
  #due = Number.POSITIVE_INFINITY;

  constructor(clock: Clock, fn: () => void) {
    this.#clock = clock;
    this.#fn = fn;
  }
  get running(): boolean {
    return this.#deadline !== Number.POSITIVE_INFINITY;
  }
  /** (Re)start to fire `ms` from now. */
  start(ms: number): void {
    this.#deadline = this.#clock.now() + ms;
    if (this.#handle === null || this.#due > this.#deadline) this.#arm(ms);
  }
  /** Start only if not running. */
  ensure(ms: number): void {
    if (!this.running) this.start(ms);
  }
  /** Stop; the scheduled clock timer is left to fire into nothing (cheap on hot paths). */
  stop(): void {
    this.#deadline = Number.POSITIVE_INFINITY;
  }
  /** Stop and release the clock timer too (on close, so nothing is left scheduled). */
  cancel(): void {
    this.#deadline = Number.POSITIVE_INFINITY;
    if (this.#handle) {
      this.#handle.cancel();
      this.#handle = null;
      this.#due = Number.POSITIVE_INFINITY;
    }
  }
  #arm(ms: number): void {
    this.#handle?.cancel();
    this.#due = this.#clock.now() + ms;
    this.#handle = this.#clock.setTimeout(() => this.#fire(), ms);
  }
  #fire(): void {
    this.#handle = null;
    this.#due = Number.POSITIVE_INFINITY;
    const left = this.#deadline - this.#clock.now();
    if (this.#deadline === Number.POSITIVE_INFINITY) return;
    if (left > 0) {
      this.#arm(left);
      return;
    }
    this.#deadline = Number.POSITIVE_INFINITY;
    this.#fn();
  }
}
