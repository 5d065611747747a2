/**
 * AES in counter mode as SRTP uses it (RFC 3711 §4.1.1): keystream block i is AES_k(IV + i), with
 * the low 16 bits of IV zero. One `aes-*-ecb` cipher is created per key and reused: each call fills
 * the counter blocks, encrypts them in one `update`, and XORs the keystream over the data, which
 * measured about twice as fast here as creating an `aes-*-ctr` cipher per packet (bench/media.ts).
 * `AesCmStream` goes further for RTP: the packet indices of a stream are consecutive, so it
 * encrypts the counter blocks of the next several packets in one `update` and keeps that keystream.
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
    const ks = this.generate(iv, 1, nb * 16);
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

  /**
   * Keystream for `count` packets of `stride` bytes each (a multiple of 16): packet j's counter
   * blocks start at ivs[16j, 16j + 16). One cipher call for all of them.
   */
  generate(ivs: Uint8Array, count: number, stride: number): Uint8Array {
    const nb = stride >>> 4;
    const total = nb * count * 16;
    if (total > this.#blocks.length) {
      this.#blocks = new Uint8Array(total);
      this.#blocks32 = new Uint32Array(this.#blocks.buffer);
    }
    for (let j = 0; j < count; j++) this.#fill(ivs, j * 16, j * nb, nb);
    return this.#ecb.update(this.#blocks.subarray(0, total));
  }

  /** ECB-encrypt whole counter blocks (a multiple of 16 bytes): their keystream. */
  encrypt(blocks: Uint8Array): Buffer {
    return this.#ecb.update(blocks);
  }

  /** Counter blocks IV+0 .. IV+nb-1 at block `first` of the scratch. */
  #fill(iv: Uint8Array, ivAt: number, first: number, nb: number): void {
    const i14 = iv[ivAt + 14]!;
    const i15 = iv[ivAt + 15]!;
    if (LITTLE_ENDIAN) {
      const w0 = iv[ivAt]! | (iv[ivAt + 1]! << 8) | (iv[ivAt + 2]! << 16) | (iv[ivAt + 3]! << 24);
      const w1 = iv[ivAt + 4]! | (iv[ivAt + 5]! << 8) | (iv[ivAt + 6]! << 16) | (iv[ivAt + 7]! << 24);
      const w2 = iv[ivAt + 8]! | (iv[ivAt + 9]! << 8) | (iv[ivAt + 10]! << 16) | (iv[ivAt + 11]! << 24);
      const w3 = iv[ivAt + 12]! | (iv[ivAt + 13]! << 8);
      const b32 = this.#blocks32;
      for (let b = 0, o = first * 4; b < nb; b++, o += 4) {
        b32[o] = w0;
        b32[o + 1] = w1;
        b32[o + 2] = w2;
        b32[o + 3] = w3 | (((b >>> 8) ^ i14) << 16) | (((b & 0xff) ^ i15) << 24);
      }
    } else {
      const blocks = this.#blocks;
      for (let b = 0, o = first * 16; b < nb; b++, o += 16) {
        blocks.set(iv.subarray(ivAt, ivAt + 14), o);
        blocks[o + 14] = (b >>> 8) ^ i14;
        blocks[o + 15] = (b & 0xff) ^ i15;
      }
    }
  }
}

/**
 * d[d0, d0 + n) ^= k[k0, k0 + n) on 64-bit words, four a step (V8 compiles BigUint64Array XOR
 * to plain 64-bit loads and stores when the result is stored straight back; measured faster than
 * Int32Array words and than one word a step).
 */
function xor64(d: BigUint64Array, d0: number, k: BigUint64Array, k0: number, n: number): void {
  let w = d0;
  let j = k0;
  const end4 = d0 + (n & ~3);
  for (; w < end4; w += 4, j += 4) {
    d[w] = d[w]! ^ k[j]!;
    d[w + 1] = d[w + 1]! ^ k[j + 1]!;
    d[w + 2] = d[w + 2]! ^ k[j + 2]!;
    d[w + 3] = d[w + 3]! ^ k[j + 3]!;
  }
  for (const end = d0 + n; w < end; w++, j++) d[w] = d[w]! ^ k[j]!;
}

/** Most packets whose keystream one `AesCmStream` refill computes ahead. */
const MAX_BATCH = 16;
/**
 * Bytes before each packet's keystream in a batch (encrypted counter junk): room for the RTP header
 * when a packet is decrypted into its keystream (`decryptInto`). A multiple of 16 and of 8.
 */
export const HEADER_ROOM = 64;
/** Packets longer than this are encrypted on their own, not through the batch. */
const MAX_BATCH_STRIDE = 4096;

/**
 * The SRTP keystream of one RTP stream (one SSRC, one direction), computed ahead for the next
 * packet indices: a refill encrypts the counter blocks of up to 16 consecutive indices, each
 * `stride` bytes long (the longest payload seen, rounded up to a block), in one cipher call. The
 * batch adapts: it halves when a refill served fewer than two packets (reordering, jumps) and
 * doubles again when one was used up. Late packets (before the cached range) and packets longer
 * than the stride limit take the single-packet path. Only called after a packet authenticated,
 * so forged packets cannot make it work.
 *
 * A receiver decrypts into the keystream itself (`decryptInto`): each batch slot has HEADER_ROOM
 * bytes before its keystream for the header, so the plaintext packet is written into memory the
 * cipher call has just written (hot in cache, and already allocated) instead of into fresh slab
 * memory, and the slot is used up. The returned view shares its ArrayBuffer with the other slots'
 * keystream (as a slab's views share theirs with other packets and the HMAC pads).
 *
 * The counter blocks live in the stream's own scratch, one slot of HEADER_ROOM + `stride` bytes
 * per batch position: salt, SSRC and block numbers stay in place between refills, so a refill rewrites only
 * the two index bytes (12-13) of each block, and bytes 8-11 only when the rollover counter of a
 * slot changed.
 */
export class AesCmStream {
  readonly #cm: AesCmKeystream;
  readonly #salt: Uint8Array;
  readonly #ssrc: number;
  #first = -1;
  #count = 0;
  #stride = 0;
  #batch = MAX_BATCH;
  #hits = 0;
  #ks: Uint8Array = new Uint8Array(0);
  /** `#ks.buffer` (read once per refill: reading `buffer` is a runtime call). */
  #ksBuffer: ArrayBufferLike = new ArrayBuffer(0);
  #ks64: BigUint64Array = new BigUint64Array(0);
  /** Slots of the current batch already decrypted into (bit j: slot j), whose keystream is gone. */
  #used = 0;
  readonly #iv = new Uint8Array(16);
  /** Counter blocks: MAX_BATCH slots of HEADER_ROOM + `#stride` bytes. */
  #blocks = new Uint8Array(0);
  #blocks16 = new Uint16Array(0);
  /** Per slot, the index / 2^16 its bytes 0-11 were written for (-1: not yet). */
  readonly #slotHigh = new Float64Array(MAX_BATCH).fill(-1);

  constructor(cm: AesCmKeystream, salt: Uint8Array, ssrc: number) {
    this.#cm = cm;
    this.#salt = salt;
    this.#ssrc = ssrc;
  }

  /** The memory `decryptInto` wrote its latest packet to (the current batch's keystream). */
  get bytes(): Uint8Array {
    return this.#ks;
  }

  /** `bytes.buffer`. */
  get arrayBuffer(): ArrayBufferLike {
    return this.#ksBuffer;
  }

  /**
   * XOR bytes[at, at + n) with the keystream of packet `index` (roc * 2^16 + seq). `words` is a
   * 64-bit view of the same buffer from offset 0 (or undefined), used when `at` is a multiple of 8.
   */
  apply(index: number, bytes: Uint8Array, words: BigUint64Array | undefined, at: number, n: number): void {
    if (n <= 0) return;
    const k0 = this.#keystreamAt(index, n);
    if (k0 < 0) {
      this.#single(index, bytes, at, n);
      return;
    }
    const ks = this.#ks;
    let i = 0;
    if (words && (at & 7) === 0 && bytes.byteOffset === 0) {
      const nw = n >>> 3;
      xor64(words, at >>> 3, this.#ks64, k0 >>> 3, nw);
      i = nw << 3;
    }
    for (; i < n; i++) bytes[at + i]! ^= ks[k0 + i]!;
  }

  /**
   * Decrypt (or encrypt) packet `index` into its keystream: writes the h-byte header
   * src[at - h, at) and src[at, at + n) XOR the keystream over the keystream itself, and returns the
   * offset in `bytes` where those h + n bytes start; the slot's keystream is used up (an index
   * goes this way once: the replay list rejects a second packet with it, and a used slot is never
   * read again). `srcWords` is a 64-bit view of src's buffer from offset 0 (or undefined),
   * used when `at` is a multiple of 8. Returns -1, touching nothing, when the packet cannot go this
   * way (a header longer than HEADER_ROOM, no payload, a packet longer than the batch stride limit,
   * a late packet, a used slot): the caller then applies the keystream in place with `apply`.
   */
  decryptInto(
    index: number,
    src: Uint8Array,
    srcWords: BigUint64Array | undefined,
    at: number,
    h: number,
    n: number,
  ): number {
    if (n <= 0 || h > HEADER_ROOM || h > at) return -1;
    const k0 = this.#keystreamAt(index, n);
    if (k0 < 0) return -1;
    this.#used |= 1 << (index - this.#first);
    const ks = this.#ks;
    for (let i = 1; i <= h; i++) ks[k0 - i] = src[at - i]!;
    let i = 0;
    if (srcWords && (at & 7) === 0 && src.byteOffset === 0) {
      const nw = n >>> 3;
      xor64(this.#ks64, k0 >>> 3, srcWords, at >>> 3, nw);
      i = nw << 3;
    }
    for (; i < n; i++) ks[k0 + i]! ^= src[at + i]!;
    return k0 - h;
  }

  /**
   * Where packet `index`'s keystream (n bytes) starts in `#ks`, refilling the batch when the index
   * is past it (or the packet longer than its stride); counts the hit. -1 when the batch cannot
   * serve it: longer than the stride limit, before the batch (late), or its slot already decrypted
   * into.
   */
  #keystreamAt(index: number, n: number): number {
    let slot = index - this.#first;
    if (this.#first < 0 || slot < 0 || slot >= this.#count || n > this.#stride) {
      if (n > MAX_BATCH_STRIDE || (this.#first >= 0 && slot < 0)) return -1;
      this.#refill(index, n);
      slot = 0;
    } else if (this.#used & (1 << slot)) return -1;
    this.#hits++;
    return slot * (HEADER_ROOM + this.#stride) + HEADER_ROOM;
  }

  /** One packet's keystream on its own (not from the batch), applied in place. */
  #single(index: number, bytes: Uint8Array, at: number, n: number): void {
    this.#ivAt(this.#iv, 0, index);
    this.#cm.apply(this.#iv, bytes, at, at + n);
  }

  #refill(index: number, n: number): void {
    if (this.#first >= 0) {
      if (this.#hits < 2) this.#batch = Math.max(1, this.#batch >>> 1);
      else if (this.#hits >= this.#count) this.#batch = Math.min(MAX_BATCH, this.#batch * 2);
    }
    const stride = Math.max(this.#stride, (n + 15) & ~15);
    const pitch = HEADER_ROOM + stride;
    if (stride !== this.#stride) {
      this.#blocks = new Uint8Array(MAX_BATCH * pitch);
      this.#blocks16 = new Uint16Array(this.#blocks.buffer);
      this.#slotHigh.fill(-1);
    }
    const count = this.#batch;
    for (let j = 0; j < count; j++) this.#fillSlot(j * pitch + HEADER_ROOM, j, index + j, stride);
    const total = count * pitch;
    const blocks = this.#blocks;
    let ks = this.#cm.encrypt(total === blocks.length ? blocks : blocks.subarray(0, total));
    if ((ks.byteOffset & 7) !== 0) ks = ks.slice();
    this.#ks = ks;
    this.#ksBuffer = ks.buffer;
    this.#ks64 = new BigUint64Array(this.#ksBuffer, ks.byteOffset, ks.length >>> 3);
    this.#first = index;
    this.#count = count;
    this.#stride = stride;
    this.#hits = 0;
    this.#used = 0;
  }

  /** Counter blocks IV(index) + b for the `stride / 16` blocks of slot `j`, from blocks[o]. */
  #fillSlot(o: number, j: number, index: number, stride: number): void {
    const high = Math.floor(index / 65536);
    const blocks = this.#blocks;
    const nb = stride >>> 4;
    if (!LITTLE_ENDIAN || this.#slotHigh[j] !== high) {
      this.#ivAt(blocks, o, index);
      for (let b = 1, at = o + 16; b < nb; b++, at += 16) {
        blocks.copyWithin(at, o, o + 14);
        blocks[at + 14] = b >>> 8;
        blocks[at + 15] = b & 0xff;
      }
      this.#slotHigh[j] = high;
      return;
    }
    // Only bytes 12-13 (the low 16 bits of the index, XOR the salt) differ from the slot's last fill.
    const s = this.#salt;
    const v = (s[12]! ^ ((index >>> 8) & 0xff)) | ((s[13]! ^ (index & 0xff)) << 8);
    const b16 = this.#blocks16;
    for (let b = 0, at = (o + 12) >>> 1; b < nb; b++, at += 8) b16[at] = v;
  }

  /** RFC 3711 §4.1.1: IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16), at out[o, o + 16). */
  #ivAt(out: Uint8Array, o: number, index: number): void {
    const s = this.#salt;
    const ssrc = this.#ssrc;
    const hi = Math.floor(index / 4294967296);
    const lo = index >>> 0;
    out[o] = s[0]!;
    out[o + 1] = s[1]!;
    out[o + 2] = s[2]!;
    out[o + 3] = s[3]!;
    out[o + 4] = s[4]! ^ (ssrc >>> 24);
    out[o + 5] = s[5]! ^ ((ssrc >>> 16) & 0xff);
    out[o + 6] = s[6]! ^ ((ssrc >>> 8) & 0xff);
    out[o + 7] = s[7]! ^ (ssrc & 0xff);
    out[o + 8] = s[8]! ^ ((hi >>> 8) & 0xff);
    out[o + 9] = s[9]! ^ (hi & 0xff);
    out[o + 10] = s[10]! ^ (lo >>> 24);
    out[o + 11] = s[11]! ^ ((lo >>> 16) & 0xff);
    out[o + 12] = s[12]! ^ ((lo >>> 8) & 0xff);
    out[o + 13] = s[13]! ^ (lo & 0xff);
    out[o + 14] = 0;
    out[o + 15] = 0;
  }
}
