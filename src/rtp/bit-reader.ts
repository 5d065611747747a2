import { ParseError } from '../core/errors.js';

/** MSB-first bit reader with bounds checks; past the end it throws ParseError. */
export class BitReader {
  readonly #buf: Uint8Array;
  readonly #layer: string;
  #bit = 0;

  constructor(buf: Uint8Array, layer: string) {
    this.#buf = buf;
    this.#layer = layer;
  }

  get consumed(): number {
    return this.#bit;
  }
  get remaining(): number {
    return this.#buf.length * 8 - this.#bit;
  }

  /** f(n): n bits, n <= 32. */
  bits(n: number, field: string): number {
    if (n > this.remaining) {
      throw new ParseError(this.#layer, field, this.#bit >> 3, `need ${n} bit(s), have ${this.remaining}`);
    }
    let v = 0;
    for (let i = 0; i < n; i++) {
      const b = this.#bit++;
      v = v * 2 + ((this.#buf[b >> 3]! >> (7 - (b & 7))) & 1);
    }
    return v;
  }

  flag(field: string): boolean {
    return this.bits(1, field) === 1;
  }

  /** ns(n): non-symmetric unsigned value in [0, n) (AV1 spec §4.10.7). */
  ns(n: number, field: string): number {
    let w = 0;
    for (let x = n; x !== 0; x >>= 1) w++;
    const m = (1 << w) - n;
    const v = this.bits(w - 1, field);
    if (v < m) return v;
    return (v << 1) - m + this.bits(1, field);
  }
}
