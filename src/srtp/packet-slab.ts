/**
 * Output buffers for protect/unprotect carved out of shared slabs (as Node's Buffer pool does), so
 * a packet costs one view, not one ArrayBuffer; the slab's 64-bit view lets the keystream XOR run
 * on 8-byte words without a new typed array per packet (a packet is placed so that its payload
 * starts on an 8-byte boundary). A packet keeps its slab alive while held. Slabs are not zeroed
 * (`Buffer.allocUnsafeSlow`, as Node's own pool): every byte a view exposes is written first.
 *
 * A caller that knows nothing holds the latest packet any more (a sender whose socket handed it to
 * the kernel before returning) gives it back with `release`: the next packet is written over the
 * same bytes, which stay in cache, instead of fresh slab memory (and a new 64 KiB slab every ~50
 * packets for the collector to free).
 */

/** Bytes of headroom before each packet: room for the HMAC inner pad (SHA-1 block, RFC 2104). */
export const SLAB_HEADROOM = 64;
const SLAB_SIZE = 64 * 1024;

/**
 * A slab as a plain Uint8Array (not a Buffer): its subarrays, which the HMAC passes to
 * node:crypto per packet, skip Buffer's subarray wrapper.
 */
const newSlab = (n: number): Uint8Array => new Uint8Array(Buffer.allocUnsafeSlow(n).buffer, 0, n);

export class PacketSlab {
  /** The current slab, whole (offset 0), its ArrayBuffer and its 64-bit view. */
  bytes = newSlab(SLAB_SIZE);
  /**
   * `bytes.buffer`, kept: reading a typed array's `buffer` is a call into the runtime (a C++
   * builtin, not inlined by TurboFan), and the hot paths build a view per packet and per hash.
   */
  buffer: ArrayBuffer = this.bytes.buffer as ArrayBuffer;
  words = new BigUint64Array(this.buffer);
  #used = 0;
  /** The latest reservation: its offset, and where the slab's use stood before it (-1: none). */
  #lastAt = -1;
  #lastFrom = 0;
  /** The view `view` returned for the latest reservation (what `release` accepts). */
  #lastView: Uint8Array | undefined;

  /**
   * Reserve `n` bytes preceded by SLAB_HEADROOM bytes; returns the offset `at` of the first of the
   * `n` bytes in `this.bytes`, chosen so that `at + align` is a multiple of 8 (pass the RTP header
   * length to align the payload). Read `bytes`/`buffer`/`words` after the call: it may move on.
   */
  reserve(n: number, align = 0): number {
    let from = this.#used;
    let at = from + SLAB_HEADROOM;
    at += (8 - ((at + align) & 7)) & 7;
    if (at + n > this.bytes.length) {
      this.bytes = newSlab(Math.max(SLAB_SIZE, SLAB_HEADROOM + n + 16));
      this.buffer = this.bytes.buffer as ArrayBuffer;
      this.words = new BigUint64Array(this.buffer);
      from = 0;
      at = SLAB_HEADROOM + ((8 - (align & 7)) & 7);
    }
    this.#lastFrom = from;
    this.#lastAt = at;
    this.#lastView = undefined;
    this.#used = at + n;
    return at;
  }

  /**
   * Give back the latest reservation, `view` the view `view()` returned for it: the next
   * reservation may reuse its bytes. Only for a caller sure that nothing holds `view` (or any other
   * view of those bytes) any more. Anything else (an older reservation, a view of another slab, a
   * copy, a second release) is left alone; returns whether the bytes were given back.
   */
  release(view: Uint8Array): boolean {
    return view === this.#lastView && this.unreserve(this.#lastAt);
  }

  /**
   * Give back the latest reservation by its offset (as `reserve` returned it), for a caller that
   * handed out no view of it; anything else is left alone. Returns whether it was given back.
   */
  unreserve(at: number): boolean {
    if (at !== this.#lastAt || at < 0) return false;
    this.#used = this.#lastFrom;
    this.#lastAt = -1;
    this.#lastView = undefined;
    return true;
  }

  /** A view of `n` bytes at `at` in the current slab (`at` from the latest `reserve`). */
  view(at: number, n: number): Uint8Array {
    const v = new Uint8Array(this.buffer, at, n);
    if (at === this.#lastAt) this.#lastView = v;
    return v;
  }
}
