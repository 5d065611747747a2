/**
 * Anti-replay sliding window (RFC 6347 §4.1.2.6, the algorithm of RFC 4303 §3.4.3): a 64-record
 * bitmap anchored at the highest sequence number accepted so far. `check` is called before the
 * record is authenticated, `accept` only after, so forged records cannot move the window.
 */
export class ReplayWindow {
  static readonly SIZE = 64;
  /** Highest sequence number accepted; -1 before the first. */
  #top = -1;
  /** Bit i set = (top - i) was received; two 32-bit halves: lo holds offsets 0..31, hi 32..63. */
  #lo = 0;
  #hi = 0;

  /** True when `seq` is new and not too old to judge. */
  check(seq: number): boolean {
    if (seq > this.#top) return true;
    const d = this.#top - seq;
    if (d >= ReplayWindow.SIZE) return false;
    return d < 32 ? ((this.#lo >>> d) & 1) === 0 : ((this.#hi >>> (d - 32)) & 1) === 0;
  }

  /** Mark `seq` as received (after it authenticated). */
  accept(seq: number): void {
    if (seq > this.#top) {
      const shift = this.#top < 0 ? ReplayWindow.SIZE : seq - this.#top;
      if (shift >= 64) {
        this.#lo = 0;
        this.#hi = 0;
      } else if (shift >= 32) {
        this.#hi = this.#lo << (shift - 32);
        this.#lo = 0;
      } else if (shift > 0) {
        this.#hi = (this.#hi << shift) | (this.#lo >>> (32 - shift));
        this.#lo = this.#lo << shift;
      }
      this.#lo |= 1;
      this.#top = seq;
      return;
    }
    const d = this.#top - seq;
    if (d >= ReplayWindow.SIZE) return;
    if (d < 32) this.#lo |= 1 << d;
    else this.#hi |= 1 << (d - 32);
  }

  get highest(): number {
    return this.#top;
  }
}
