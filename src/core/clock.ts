/**
 * Time for every engine comes from an injected Clock, so the same state machine runs on the system
 * clock in production and on a ManualClock in tests (no sleeping, no flakes).
 */
export interface Timer {
  /** Cancel the timer; harmless if it already fired or was cancelled. */
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds (fractional allowed). */
  now(): number;
  /** Wall-clock milliseconds since the Unix epoch (for credentials with expiry times). */
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  /** Timers scheduled and not yet fired or cancelled (for leak checks in tests). */
  readonly activeTimers: number;
}

/** The real clock: performance.now() and the event loop's timers. */
export class SystemClock implements Clock {
  #active = 0;
  readonly #unref: boolean;

  /** @param unref when true, pending timers do not keep the process alive. */
  constructor(options: { unref?: boolean } = {}) {
    this.#unref = options.unref ?? false;
  }
  now(): number {
    return performance.now();
  }
  wallNow(): number {
    return Date.now();
  }
  get activeTimers(): number {
    return this.#active;
  }
  setTimeout(fn: () => void, ms: number): Timer {
    let live = true;
    this.#active++;
    const h = setTimeout(
      () => {
        if (!live) return;
        live = false;
        this.#active--;
        fn();
      },
      Math.max(0, ms),
    );
    if (this.#unref) h.unref();
    return {
      cancel: () => {
        if (!live) return;
        live = false;
        this.#active--;
        clearTimeout(h);
      },
    };
  }
}

/** A shared system clock for code that is not handed one. */
export const systemClock: Clock = new SystemClock();

interface Pending {
  due: number;
  seq: number;
  fn: () => void;
  live: boolean;
}

/**
 * A clock that only moves when told to. Timers fire in due order (ties in scheduling order) as
 * time is advanced; a timer scheduled by a firing timer fires in the same advance if it is due.
 */
export class ManualClock implements Clock {
  #now: number;
  readonly #wallBase: number;
  #seq = 0;
  #queue: Pending[] = [];

  constructor(options: { start?: number; wallStart?: number } = {}) {
    this.#now = options.start ?? 0;
    this.#wallBase = options.wallStart ?? 1_700_000_000_000;
  }
  now(): number {
    return this.#now;
  }
  wallNow(): number {
    return this.#wallBase + this.#now;
  }
  get activeTimers(): number {
    let n = 0;
    for (const p of this.#queue) if (p.live) n++;
    return n;
  }
  setTimeout(fn: () => void, ms: number): Timer {
    const p: Pending = { due: this.#now + Math.max(0, ms), seq: this.#seq++, fn, live: true };
    // Keep the queue sorted by (due, seq); inserting near the end is the common case.
    let i = this.#queue.length;
    while (i > 0) {
      const q = this.#queue[i - 1]!;
      if (q.due < p.due || (q.due === p.due && q.seq < p.seq)) break;
      i--;
    }
    this.#queue.splice(i, 0, p);
    return {
      cancel: () => {
        p.live = false;
      },
    };
  }

  /** When the next live timer is due, or undefined if none. */
  nextDue(): number | undefined {
    this.#compact();
    return this.#queue[0]?.due;
  }

  #compact(): void {
    while (this.#queue.length > 0 && !this.#queue[0]!.live) this.#queue.shift();
  }

  #fireNext(limit: number): boolean {
    this.#compact();
    const p = this.#queue[0];
    if (!p || p.due > limit) return false;
    this.#queue.shift();
    this.#now = Math.max(this.#now, p.due);
    p.live = false;
    p.fn();
    return true;
  }

  /** Move time forward by ms, firing every timer that falls due, synchronously. */
  advance(ms: number): void {
    const target = this.#now + ms;
    while (this.#fireNext(target)) {
      /* fire in order */
    }
    this.#now = target;
  }

  /**
   * Like advance, but lets promise continuations run after each timer (for engines that await).
   * Uses setImmediate to drain microtasks: no wall-clock sleeping.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.#now + ms;
    await flushMicrotasks();
    while (this.#fireNext(target)) await flushMicrotasks();
    this.#now = target;
    await flushMicrotasks();
  }

  /**
   * Advance in steps until `cond()` holds or `maxMs` of virtual time passes. Returns whether the
   * condition held. Steps jump straight to the next timer, so idle time costs nothing.
   */
  async runUntil(cond: () => boolean, maxMs = 60_000): Promise<boolean> {
    const end = this.#now + maxMs;
    await flushMicrotasks();
    while (!cond()) {
      const next = this.nextDue();
      if (next === undefined || next > end) {
        this.#now = Math.max(this.#now, end);
        return cond();
      }
      this.#fireNext(next);
      await flushMicrotasks();
    }
    return true;
  }
}

/** Let queued promise continuations and immediates run. */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
