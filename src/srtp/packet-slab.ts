/**
 * Output buffers for protect/unprotect carved out of shared slabs (as Node's Buffer pool does), so
 * a packet costs one view, not one ArrayBuffer; the slab's 64-bit view lets the keystream XOR run
 * on 8-byte words without a new typed array per packet (a packet is placed so that its payload
 * starts on an 8-byte boundary). A packet keeps its slab alive while held. Slabs are not zeroed
 * (`Buffer.allocUnsafeSlow`, as Node's own pool): every byte a view exposes is written first.
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
  /** The current slab, whole (offset 0), and its 64-bit view. */
  bytes = newSlab(SLAB_SIZE);
  words = new BigUint64Array(this.bytes.buffer);
  #used = 0;

  /**
   * Reserve `n` bytes preceded by SLAB_HEADROOM bytes; returns the offset `at` of the first of the
   * `n` bytes in `this.bytes`, chosen so that `at + align` is a multiple of 8 (pass the RTP header
   * length to align the payload). Read `bytes`/`words` after the call: it may move on.
   */
  reserve(n: number, align = 0): number {
    let at = this.#used + SLAB_HEADROOM;
    at += (8 - ((at + align) & 7)) & 7;
    if (at + n > this.bytes.length) {
      this.bytes = newSlab(Math.max(SLAB_SIZE, SLAB_HEADROOM + n + 16));
      this.words = new BigUint64Array(this.bytes.buffer);
      at = SLAB_HEADROOM + ((8 - (align & 7)) & 7);
    }
    this.#used = at + n;
    return at;
  }

  /** A view of `n` bytes at `at` in the current slab. */
  view(at: number, n: number): Uint8Array {
    return new Uint8Array(this.bytes.buffer, at, n);
  }
}
