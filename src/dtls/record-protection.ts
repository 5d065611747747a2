import {
  type CipherGCMTypes,
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  type KeyObject,
  randomFillSync,
  timingSafeEqual,
} from 'node:crypto';
import type { CipherSuite } from './cipher-suites.js';
import { RECORD_HEADER_LENGTH } from './constants.js';
import type { DtlsRecord } from './record.js';
import { writeRecordHeader } from './record.js';

/**
 * Record protection for one direction of one epoch (RFC 5246 §6.2.3 with the DTLS sequence
 * number of RFC 6347 §4.1.2.1). Keys (as KeyObjects), IVs, nonce and additional-data buffers are
 * prepared once per epoch and rewritten in place per record. Per record only the node:crypto
 * cipher object and the output buffer are created: node:crypto has no way to re-key or re-IV a
 * Cipheriv, and an AEAD tag cannot be had without one (measured: creating it is about a third of
 * the cost of sealing a 1200-byte record; see bench/dtls.ts for the floor this sets).
 */
export interface RecordProtection {
  /** Bytes a record grows by at most (explicit nonce, tag or IV, MAC and padding). */
  readonly overhead: number;
  /** Encrypt `plaintext` and return the whole record, header included. */
  seal(type: number, version: number, epoch: number, seq: number, plaintext: Uint8Array): Uint8Array;
  /** Decrypt and authenticate a record; undefined when it does not authenticate. */
  open(rec: DtlsRecord): Uint8Array | undefined;
}

const TAG = 16;
/** Options for every AEAD cipher object (hoisted: one object, not one per record). */
const AEAD_OPTIONS = { authTagLength: TAG } as const;

/** The 13-byte additional data / MAC header: seq_num(8) + type + version + length. */
function writeAad(
  aad: Buffer,
  epoch: number,
  seq: number,
  type: number,
  version: number,
  length: number,
): void {
  aad[0] = epoch >> 8;
  aad[1] = epoch & 0xff;
  const hi = Math.floor(seq / 2 ** 32);
  aad[2] = (hi >> 8) & 0xff;
  aad[3] = hi & 0xff;
  aad.writeUInt32BE(seq >>> 0, 4);
  aad[8] = type;
  aad[9] = version >> 8;
  aad[10] = version & 0xff;
  aad[11] = length >> 8;
  aad[12] = length & 0xff;
}

/** AES-GCM with a 4-byte salt and 8-byte explicit nonce (RFC 5288 §3). */
class GcmProtection implements RecordProtection {
  readonly overhead = 8 + TAG;
  readonly #alg: CipherGCMTypes;
  readonly #key: KeyObject;
  readonly #nonce = Buffer.alloc(12);
  readonly #aad = Buffer.alloc(13);

  constructor(alg: CipherGCMTypes, key: Uint8Array, salt: Uint8Array) {
    this.#alg = alg;
    this.#key = createSecretKey(key);
    this.#nonce.set(salt, 0);
  }

  seal(type: number, version: number, epoch: number, seq: number, plaintext: Uint8Array): Uint8Array {
    const n = plaintext.length;
    const out = Buffer.allocUnsafe(RECORD_HEADER_LENGTH + 8 + n + TAG);
    writeRecordHeader(out, 0, type, version, epoch, seq, 8 + n + TAG);
    const aad = this.#aad;
    const nonce = this.#nonce;
    writeAad(aad, epoch, seq, type, version, n);
    // Explicit nonce = the record's own epoch and sequence number: unique per key. The header
    // already holds those 8 bytes at offset 3.
    for (let i = 0; i < 8; i++) {
      const b = aad[i]!;
      nonce[4 + i] = b;
      out[RECORD_HEADER_LENGTH + i] = b;
    }
    const c = createCipheriv(this.#alg, this.#key, nonce, AEAD_OPTIONS);
    c.setAAD(aad);
    const ct = c.update(plaintext);
    out.set(ct, RECORD_HEADER_LENGTH + 8);
    const fin = c.final(); // GCM is a stream mode: empty
    if (fin.length > 0) out.set(fin, RECORD_HEADER_LENGTH + 8 + ct.length);
    out.set(c.getAuthTag(), RECORD_HEADER_LENGTH + 8 + n);
    return out;
  }

  open(rec: DtlsRecord): Uint8Array | undefined {
    const f = rec.fragment;
    const n = f.length - 8 - TAG;
    if (n < 0) return undefined;
    const nonce = this.#nonce;
    for (let i = 0; i < 8; i++) nonce[4 + i] = f[i]!;
    writeAad(this.#aad, rec.epoch, rec.seq, rec.type, rec.version, n);
    const d = createDecipheriv(this.#alg, this.#key, nonce, AEAD_OPTIONS);
    d.setAAD(this.#aad);
    d.setAuthTag(f.subarray(8 + n));
    const pt = d.update(f.subarray(8, 8 + n));
    try {
      d.final();
    } catch {
      return undefined;
    }
    return pt;
  }
}

/** ChaCha20-Poly1305: nonce = IV XOR padded seq_num, no explicit nonce (RFC 7905 §2). */
class ChaChaProtection implements RecordProtection {
  readonly overhead = TAG;
  readonly #key: KeyObject;
  readonly #iv: Uint8Array;
  readonly #nonce = Buffer.alloc(12);
  readonly #aad = Buffer.alloc(13);

  constructor(key: Uint8Array, iv: Uint8Array) {
    this.#key = createSecretKey(key);
    this.#iv = Uint8Array.from(iv);
    this.#nonce.set(this.#iv.subarray(0, 4), 0);
  }

  /** Nonce bytes 4..11 = IV XOR the 64-bit epoch and sequence number (first 8 bytes of the AAD). */
  #makeNonce(): void {
    const iv = this.#iv;
    const nonce = this.#nonce;
    const aad = this.#aad;
    for (let i = 4; i < 12; i++) nonce[i] = iv[i]! ^ aad[i - 4]!;
  }

  seal(type: number, version: number, epoch: number, seq: number, plaintext: Uint8Array): Uint8Array {
    const n = plaintext.length;
    const out = Buffer.allocUnsafe(RECORD_HEADER_LENGTH + n + TAG);
    writeRecordHeader(out, 0, type, version, epoch, seq, n + TAG);
    writeAad(this.#aad, epoch, seq, type, version, n);
    this.#makeNonce();
    const c = createCipheriv('chacha20-poly1305', this.#key, this.#nonce, AEAD_OPTIONS);
    c.setAAD(this.#aad, { plaintextLength: n });
    out.set(c.update(plaintext), RECORD_HEADER_LENGTH);
    c.final(); // a stream cipher: empty
    out.set(c.getAuthTag(), RECORD_HEADER_LENGTH + n);
    return out;
  }

  open(rec: DtlsRecord): Uint8Array | undefined {
    const f = rec.fragment;
    const n = f.length - TAG;
    if (n < 0) return undefined;
    writeAad(this.#aad, rec.epoch, rec.seq, rec.type, rec.version, n);
    this.#makeNonce();
    const d = createDecipheriv('chacha20-poly1305', this.#key, this.#nonce, AEAD_OPTIONS);
    d.setAAD(this.#aad, { plaintextLength: n });
    d.setAuthTag(f.subarray(n));
    const pt = d.update(f.subarray(0, n));
    try {
      d.final();
    } catch {
      return undefined;
    }
    return pt;
  }
}

/** AES-CBC with HMAC-SHA1, MAC-then-encrypt and a random explicit IV (RFC 5246 §6.2.3.2). */
class CbcProtection implements RecordProtection {
  /** IV + MAC + up to a full block of padding. */
  readonly overhead = 16 + 20 + 16;
  readonly #alg: string;
  readonly #key: KeyObject;
  readonly #macKey: KeyObject;
  readonly #aad = Buffer.alloc(13);

  constructor(alg: string, key: Uint8Array, macKey: Uint8Array) {
    this.#alg = alg;
    this.#key = createSecretKey(key);
    this.#macKey = createSecretKey(macKey);
  }

  seal(type: number, version: number, epoch: number, seq: number, plaintext: Uint8Array): Uint8Array {
    const n = plaintext.length;
    writeAad(this.#aad, epoch, seq, type, version, n);
    const mac = createHmac('sha1', this.#macKey).update(this.#aad).update(plaintext).digest();
    const pad = 15 - ((n + 20) % 16); // total n + 20 + pad + 1 is a multiple of 16
    const inner = Buffer.allocUnsafe(n + 20 + pad + 1);
    inner.set(plaintext, 0);
    mac.copy(inner, n);
    inner.fill(pad, n + 20);
    const out = Buffer.allocUnsafe(RECORD_HEADER_LENGTH + 16 + inner.length);
    writeRecordHeader(out, 0, type, version, epoch, seq, 16 + inner.length);
    const iv = out.subarray(RECORD_HEADER_LENGTH, RECORD_HEADER_LENGTH + 16);
    randomFillSync(iv);
    const c = createCipheriv(this.#alg, this.#key, iv).setAutoPadding(false);
    c.update(inner).copy(out, RECORD_HEADER_LENGTH + 16);
    c.final();
    return out;
  }

  open(rec: DtlsRecord): Uint8Array | undefined {
    const f = rec.fragment;
    if (f.length < 16 + 32 || f.length % 16 !== 0) return undefined;
    const d = createDecipheriv(this.#alg, this.#key, f.subarray(0, 16)).setAutoPadding(false);
    const inner = Buffer.concat([d.update(f.subarray(16)), d.final()]);
    const pad = inner[inner.length - 1]!;
    // Check padding and MAC without an early exit on bad padding (Lucky 13 mitigation is partial).
    let bad = pad + 1 + 20 > inner.length ? 1 : 0;
    const padLen = bad ? 0 : pad;
    for (let i = inner.length - 1 - padLen; i < inner.length - 1; i++) bad |= inner[i]! ^ pad;
    const n = inner.length - 1 - padLen - 20;
    writeAad(this.#aad, rec.epoch, rec.seq, rec.type, rec.version, n);
    const mac = createHmac('sha1', this.#macKey).update(this.#aad).update(inner.subarray(0, n)).digest();
    const ok = timingSafeEqual(mac, inner.subarray(n, n + 20));
    if (!ok || bad) return undefined;
    return inner.subarray(0, n);
  }
}

/** Keys for both directions of an epoch, cut from the key block (RFC 5246 §6.3). */
export interface EpochKeys {
  readonly clientWrite: RecordProtection;
  readonly serverWrite: RecordProtection;
}

export function keyBlockLength(s: CipherSuite): number {
  return 2 * (s.macLength + s.keyLength + s.fixedIvLength);
}

export function deriveEpochKeys(s: CipherSuite, block: Uint8Array): EpochKeys {
  let at = 0;
  const take = (n: number): Uint8Array => {
    const v = block.subarray(at, at + n);
    at += n;
    return v;
  };
  const cMac = take(s.macLength);
  const sMac = take(s.macLength);
  const cKey = take(s.keyLength);
  const sKey = take(s.keyLength);
  const cIv = take(s.fixedIvLength);
  const sIv = take(s.fixedIvLength);
  return { clientWrite: makeProtection(s, cKey, cIv, cMac), serverWrite: makeProtection(s, sKey, sIv, sMac) };
}

export function makeProtection(
  s: CipherSuite,
  key: Uint8Array,
  iv: Uint8Array,
  macKey: Uint8Array,
): RecordProtection {
  switch (s.cipher) {
    case 'aes-128-gcm':
    case 'aes-256-gcm':
      return new GcmProtection(s.cipher, key, iv);
    case 'chacha20-poly1305':
      return new ChaChaProtection(key, iv);
    case 'aes-128-cbc':
    case 'aes-256-cbc':
      return new CbcProtection(s.cipher, key, macKey);
  }
}
