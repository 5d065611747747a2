/**
 * Check pacing (RFC 8445 §6.1.4.2, Ta in §14.2): one new connectivity check every Ta for the whole
 * agent. The agent says when there may be work (`schedule`) and when a check went out (`sent`); the
 * pacer calls `tick` on the clock when the next check is due (0 ms when Ta has already passed).
 */
import type { Clock, Timer } from '../core/clock.js';

/** The next event-loop turn, as a cancellable Timer (for Pacer's `soon` on the real clock). */
export function nextTurn(fn: () => void): Timer {
  const h = setImmediate(fn);
  return { cancel: () => clearImmediate(h) };
}

/** RFC 8445 §14.2: Ta default for a single data stream. */
export const DEFAULT_TA_MS = 50;

export class Pacer {
  readonly #clock: Clock;
  readonly #ta: number;
  readonly #tick: () => void;
  #timer: Timer | undefined;
  #lastCheckAt = Number.NEGATIVE_INFINITY;
  #stopped = false;

  readonly #soon: ((fn: () => void) => Timer) | undefined;

  /**
   * `tick` runs when a check may be sent; it calls `schedule` again if more may follow. `soon`, if
   * given, runs a check that is already due on the next event-loop turn instead of a 0 ms clock
   * timer (node's setTimeout waits at least 1 ms, on the path of every connection setup).
   */
  constructor(clock: Clock, ta: number | undefined, tick: () => void, soon?: (fn: () => void) => Timer) {
    this.#clock = clock;
    this.#ta = ta ?? DEFAULT_TA_MS;
    this.#tick = tick;
    this.#soon = soon;
  }

  /** Arrange a tick for when the next check is allowed (no-op if one is pending). */
  schedule(): void {
    if (this.#timer || this.#stopped) return;
    // Never synchronously (a due check at 0 ms still waits for the clock or `soon`): the agent
    // stays a pure function of its inputs and the clock, and a test's synchronous clock.advance()
    // sends every check.
    const wait = Math.max(0, this.#lastCheckAt + this.#ta - this.#clock.now());
    const fire = (): void => this.#fire();
    this.#timer = wait === 0 && this.#soon ? this.#soon(fire) : this.#clock.setTimeout(fire, wait);
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
