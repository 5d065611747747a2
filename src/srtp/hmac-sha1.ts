/**
 * HMAC-SHA1 (RFC 2104) for SRTP authentication (RFC 3711 §4.2.1) with the key's inner and outer
 * pads computed once: a tag is two one-shot `crypto.hash` calls, over (ipad || message) and
 * (opad || inner digest), instead of a new `Hmac` object per packet (measured 1.6x faster here).
 * The message must sit in a buffer with 64 free bytes before it (see PacketSlab) so the inner pad
 * can be written in front of it without a copy. Node versions without `crypto.hash` (< 20.12) use
 * `createHmac`.
 */
import * as nodeCrypto from 'node:crypto';
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

/** SHA-1 block size, the HMAC pad length (RFC 2104 §2). */
const SHA1_BLOCK = 64;
const SHA1_LENGTH = 20;
const IPAD = 0x36;
const OPAD = 0x5c;

type OneShot = (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer;
const oneShot = (nodeCrypto as { hash?: OneShot }).hash;

export class HmacSha1 {
  readonly #ipad = new Uint8Array(SHA1_BLOCK);
  /** opad || inner digest, hashed as the outer step. */
  readonly #outer = new Uint8Array(SHA1_BLOCK + SHA1_LENGTH);
  readonly #key: KeyObject;

  constructor(key: Uint8Array) {
    if (key.length > SHA1_BLOCK)
      throw new RangeError('HMAC-SHA1 keys longer than 64 bytes are not used by SRTP');
    this.#key = createSecretKey(key);
    this.#ipad.fill(IPAD);
    this.#outer.fill(OPAD, 0, SHA1_BLOCK);
    for (let i = 0; i < key.length; i++) {
      this.#ipad[i]! ^= key[i]!;
      this.#outer[i]! ^= key[i]!;
    }
  }

  /**
   * HMAC of buf[start, end); buf[start - 64, start) is scratch that this overwrites. Returns the
   * 20-byte tag (a new buffer).
   */
  digestWithHeadroom(buf: Uint8Array, start: number, end: number): Uint8Array {
    if (!oneShot) return createHmac('sha1', this.#key).update(buf.subarray(start, end)).digest();
    const pad = start - SHA1_BLOCK;
    if (pad < 0) throw new RangeError('HMAC input needs 64 bytes of headroom');
    buf.set(this.#ipad, pad);
    const inner = oneShot('sha1', buf.subarray(pad, end), 'buffer');
    this.#outer.set(inner, SHA1_BLOCK);
    return oneShot('sha1', this.#outer, 'buffer');
  }

  /** HMAC of any bytes (no headroom needed). */
  digest(data: Uint8Array): Uint8Array {
    return createHmac('sha1', this.#key).update(data).digest();
  }
}
