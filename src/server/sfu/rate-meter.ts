/** Bitrate of a stream over a sliding window, in buckets of `bucketMs`. */
export class RateMeter {
  readonly #bucketMs: number;
  readonly #buckets: Float64Array;
  #head = -1;
  #headIndex = 0;
  #first = -1;

  constructor(windowMs = 1000, bucketMs = 100) {
    this.#bucketMs = bucketMs;
    this.#buckets = new Float64Array(Math.max(1, Math.round(windowMs / bucketMs)));
  }

  add(bytes: number, now: number): void {
    if (this.#first < 0) this.#first = now;
    this.#advance(now);
    this.#buckets[this.#headIndex] = (this.#buckets[this.#headIndex] ?? 0) + bytes;
  }

  /** Bits per second over the window ending at `now` (over the time seen, while shorter). */
  bitrate(now: number): number {
    if (this.#first < 0) return 0;
    this.#advance(now);
    let sum = 0;
    for (const b of this.#buckets) sum += b;
    const span = Math.min(
      this.#buckets.length * this.#bucketMs,
      Math.max(this.#bucketMs, now - this.#first + this.#bucketMs),
    );
    return (sum * 8 * 1000) / span;
  }

  #advance(now: number): void {
    const slot = Math.floor(now / this.#bucketMs);
    if (this.#head < 0) {
      this.#head = slot;
      return;
    }
    const steps = Math.min(slot - this.#head, this.#buckets.length);
    for (let i = 0; i < steps; i++) {
      this.#headIndex = (this.#headIndex + 1) % this.#buckets.length;
      this.#buckets[this.#headIndex] = 0;
    }
    if (slot > this.#head) this.#head = slot;
  }
}
