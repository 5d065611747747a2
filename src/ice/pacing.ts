/**
 * Check pacing (RFC 8445 §6.1.4.2, Ta in §14.2): one new connectivity check every Ta for the whole
 * agent. The agent says when there may be work (`schedule`) and when a check went out (`sent`); the
 * pacer calls `tick` on the clock when the next check is due (0 ms when Ta has already passed).
 */
import type { Clock, Timer } from '../core/clock.js';

/** RFC 8445 §14.2: Ta default for a single data stream. */
export const DEFAULT_TA_MS = 50;

export class Pacer {
  readonly #clock: Clock;
  readonly #ta: number;
  readonly #tick: () => void;
  #timer: Timer | undefined;
  #lastCheckAt = Number.NEGATIVE_INFINITY;
  #stopped = false;

  /** `tick` runs when a check may be sent; it calls `schedule` again if more may follow. */
  constructor(clock: Clock, ta: number | undefined, tick: () => void) {
    this.#clock = clock;
    this.#ta = ta ?? DEFAULT_TA_MS;
    this.#tick = tick;
  }

  /** Arrange a tick for when the next check is allowed (no-op if one is pending). */
  schedule(): void {
    if (this.#timer || this.#stopped) return;
    // Always through the clock (a due check at 0 ms): the agent stays a pure function of its
    // inputs and the clock, and a test's synchronous clock.advance() sends every check.
    const wait = Math.max(0, this.#lastCheckAt + this.#ta - this.#clock.now());
    this.#timer = this.#clock.setTimeout(() => this.#fire(), wait);
  }

  /** A paced check went out now (the next one waits Ta from here). */
  sent(): void {
    this.#lastCheckAt = this.#clock.now();
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #fire(): void {
    this.#timer = undefined;
    this.#tick();
  }
}
