/**
 * AES in counter mode as SRTP uses it (RFC 3711 §4.1.1): keystream block i is AES_k(IV + i), with
 * the low 16 bits of IV zero. One `aes-*-ecb` cipher is created per key and reused: each call fills
 * the counter blocks, encrypts them in one `update`, and XORs the keystream over the data, which
 * measured about twice as fast here as creating an `aes-*-ctr` cipher per packet (bench/media.ts).
 */
import { type Cipher, createCipheriv } from 'node:crypto';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** RFC 3711 §4.1.1: at most 2^16 keystream blocks per packet. */
export const MAX_AES_CM_BLOCKS = 65536;

export class AesCmKeystream {
  readonly #ecb: Cipher;
  #blocks: Uint8Array;
  #blocks32: Uint32Array;

  constructor(key: Uint8Array) {
    this.#ecb = createCipheriv(`aes-${key.length * 8}-ecb`, key, null);
    this.#ecb.setAutoPadding(false);
    this.#blocks = new Uint8Array(16 * 128);
    this.#blocks32 = new Uint32Array(this.#blocks.buffer);
  }

  /** XOR buf[start, end) in place with the keystream that starts at counter block `iv`. */
  apply(iv: Uint8Array, buf: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (n <= 0) return;
    const nb = (n + 15) >>> 4;
    if (nb > MAX_AES_CM_BLOCKS) throw new RangeError('AES-CM payload longer than 2^16 blocks');
    if (nb * 16 > this.#blocks.length) {
      this.#blocks = new Uint8Array(nb * 16);
      this.#blocks32 = new Uint32Array(this.#blocks.buffer);
    }
    const blocks = this.#blocks;
    if (LITTLE_ENDIAN) {
      const w0 = iv[0]! | (iv[1]! << 8) | (iv[2]! << 16) | (iv[3]! << 24);
      const w1 = iv[4]! | (iv[5]! << 8) | (iv[6]! << 16) | (iv[7]! << 24);
      const w2 = iv[8]! | (iv[9]! << 8) | (iv[10]! << 16) | (iv[11]! << 24);
      const w3 = iv[12]! | (iv[13]! << 8);
      const b32 = this.#blocks32;
      for (let b = 0, o = 0; b < nb; b++, o += 4) {
        b32[o] = w0;
        b32[o + 1] = w1;
        b32[o + 2] = w2;
        b32[o + 3] = w3 | (((b >>> 8) ^ iv[14]!) << 16) | (((b & 0xff) ^ iv[15]!) << 24);
      }
    } else {
      for (let b = 0, o = 0; b < nb; b++, o += 16) {
        blocks.set(iv.subarray(0, 14), o);
        blocks[o + 14] = (b >>> 8) ^ iv[14]!;
        blocks[o + 15] = (b & 0xff) ^ iv[15]!;
      }
    }
    const ks = this.#ecb.update(blocks.subarray(0, nb * 16));
    let i = 0;
    const at = buf.byteOffset + start;
    if ((at & 3) === 0 && (ks.byteOffset & 3) === 0) {
      const words = n >>> 2;
      const d32 = new Uint32Array(buf.buffer, at, words);
      const k32 = new Uint32Array(ks.buffer, ks.byteOffset, words);
      for (let w = 0; w < words; w++) d32[w]! ^= k32[w]!;
      i = words << 2;
    }
    for (; i < n; i++) buf[start + i]! ^= ks[i]!;
  }
}
