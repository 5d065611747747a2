/**
 * Packet index estimation (RFC 3711 §3.3.1, Appendix A) and the replay list as a sliding bit
 * window (RFC 3711 §3.3.2).
 */

/** Per-SSRC receive state: rollover counter and highest sequence number seen (s_l). */
export interface RocState {
  roc: number;
  sl: number;
  started: boolean;
}

/**
 * The rollover counter value v the packet with `seq` most likely belongs to (Appendix A).
 * The 48-bit index is v * 65536 + seq. May return roc - 1 (a late packet from before a wrap).
 */
export function estimateRoc(s: RocState, seq: number): number {
  if (!s.started) return s.roc;
  if (s.sl < 32768) return seq - s.sl > 32768 ? s.roc - 1 : s.roc;
  return s.sl - 32768 > seq ? s.roc + 1 : s.roc;
}

/** Update after the packet authenticated (§3.3.1: only then). */
export function updateRoc(s: RocState, v: number, seq: number): void {
  if (!s.started) {
    s.started = true;
    s.roc = v;
    s.sl = seq;
  } else if (v > s.roc) {
    s.roc = v;
    s.sl = seq;
  } else if (v === s.roc && seq > s.sl) {
    s.sl = seq;
  }
}

/** A replay window over packet indices (48-bit SRTP or 31-bit SRTCP); `size` a multiple of 32. */
export class ReplayWindow {
  readonly size: number;
  #top = -1;
  readonly #bits: Uint32Array;
  /** size - 1 when size is a power of two, else -1. */
  readonly #mask: number;

  constructor(size = 128) {
    if (size < 64 || size % 32 !== 0)
      throw new RangeError('replay window must be >= 64 and a multiple of 32');
    this.size = size;
    this.#bits = new Uint32Array(size / 32);
    this.#mask = (size & (size - 1)) === 0 ? size - 1 : -1;
  }

  /** 'ok', 'replay' (seen before) or 'old' (left of the window). */
  check(index: number): 'ok' | 'replay' | 'old' {
    if (this.#top < 0 || index > this.#top) return 'ok';
    if (this.#top - index >= this.size) return 'old';
    const bit = this.#bit(index);
    return this.#bits[bit >>> 5]! & (1 << (bit & 31)) ? 'replay' : 'ok';
  }

  /** Record an authenticated index. */
  accept(index: number): void {
    if (index > this.#top) {
      if (this.#top < 0 || index - this.#top >= this.size) this.#bits.fill(0);
      else for (let i = this.#top + 1; i < index; i++) this.#clear(this.#bit(i));
      this.#top = index;
    }
    const bit = this.#bit(index);
    this.#bits[bit >>> 5]! |= 1 << (bit & 31);
  }

  /**
   * index mod size: with a power-of-two size (the default 128) from the low 32 bits (ToUint32 is
   * exact modulo 2^32 for the integer indices here), sparing a floating-point `%` per packet.
   */
  #bit(index: number): number {
    return this.#mask >= 0 ? (index >>> 0) & this.#mask : index % this.size;
  }

  #clear(bit: number): void {
    this.#bits[bit >>> 5]! &= ~(1 << (bit & 31));
  }
}
