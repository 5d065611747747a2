/**
 * Output buffers for protect/unprotect carved out of shared slabs (as Node's Buffer pool does), so
 * a packet costs one view, not one ArrayBuffer; the slab's word view lets the keystream XOR run on
 * 32-bit words without a new typed array per packet. A packet keeps its slab alive while held.
 */

/** Bytes of headroom before each packet: room for the HMAC inner pad (SHA-1 block, RFC 2104). */
export const SLAB_HEADROOM = 64;
const SLAB_SIZE = 64 * 1024;

export class PacketSlab {
  /** The current slab, whole (offset 0), and its 32-bit view. */
  bytes = new Uint8Array(SLAB_SIZE);
  words = new Uint32Array(this.bytes.buffer);
  #used = 0;

  /**
   * Reserve `n` bytes preceded by SLAB_HEADROOM bytes; returns the offset of the first of the `n`
   * bytes in `this.bytes` (a multiple of 8). Read `bytes`/`words` after the call: it may move on.
   */
  reserve(n: number): number {
    const need = SLAB_HEADROOM + n;
    if (this.#used + need > this.bytes.length) {
      this.bytes = new Uint8Array(Math.max(SLAB_SIZE, need + 8));
      this.words = new Uint32Array(this.bytes.buffer);
      this.#used = 0;
    }
    const at = this.#used + SLAB_HEADROOM;
    this.#used = (at + n + 7) & ~7;
    return at;
  }

  /** A view of `n` bytes at `at` in the current slab. */
  view(at: number, n: number): Uint8Array {
    return new Uint8Array(this.bytes.buffer, at, n);
  }
}
