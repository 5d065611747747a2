/**
 * Token buckets per key (source IP) in a map of fixed capacity: when full, the least recently
 * inserted key is evicted, so a flood from many addresses costs bounded memory (at worst a few
 * evicted sources get a fresh bucket).
 */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #ratePerMs: number;
  readonly #burst: number;
  readonly #capacity: number;

  /**
   * @param perSecond sustained rate per key
   * @param burst bucket size
   * @param capacity most keys remembered at once
   */
  constructor(perSecond: number, burst: number, capacity = 8192) {
    this.#ratePerMs = perSecond / 1000;
    this.#burst = burst;
    this.#capacity = capacity;
  }

  /** Keys currently remembered (bounded by capacity). */
  get size(): number {
    return this.#buckets.size;
  }

  /** Take one token for `key` at time `now` (ms); false when the key is over its rate. */
  take(key: string, now: number): boolean {
    let b = this.#buckets.get(key);
    if (!b) {
      if (this.#buckets.size >= this.#capacity) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
      b = { tokens: this.#burst, at: now };
      this.#buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.#burst, b.tokens + (now - b.at) * this.#ratePerMs);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

/** A byte-rate cap for one allocation (coturn `--max-bps`, bytes per second). */
export class ByteBucket {
  #tokens: number;
  #at: number;
  readonly #perMs: number;
  readonly #burst: number;

  constructor(bytesPerSecond: number, now: number) {
    this.#perMs = bytesPerSecond / 1000;
    // One second's worth of burst, at least one full-size datagram.
    this.#burst = Math.max(bytesPerSecond, 2048);
    this.#tokens = this.#burst;
    this.#at = now;
  }

  take(bytes: number, now: number): boolean {
    const t = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#perMs);
    this.#at = now;
    if (t < bytes) {
      this.#tokens = t;
      return false;
    }
    this.#tokens = t - bytes;
    return true;
  }
}
