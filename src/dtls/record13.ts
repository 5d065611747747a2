import {
  type Cipher,
  type CipherGCMTypes,
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  type KeyObject,
} from 'node:crypto';
import type { Hash13 } from './key-schedule13.js';
import { hkdfExpandLabel } from './key-schedule13.js';

/** TLS 1.3 cipher suites (RFC 8446 §B.4). */
export interface Suite13 {
  readonly id: number;
  readonly name: string;
  readonly cipher: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';
  readonly keyLength: number;
  readonly hash: Hash13;
}

export const TLS_AES_128_GCM_SHA256 = 0x1301;
export const TLS_AES_256_GCM_SHA384 = 0x1302;
export const TLS_CHACHA20_POLY1305_SHA256 = 0x1303;

export const SUITES13: readonly Suite13[] = [
  {
    id: TLS_AES_128_GCM_SHA256,
    name: 'TLS_AES_128_GCM_SHA256',
    cipher: 'aes-128-gcm',
    keyLength: 16,
    hash: 'sha256',
  },
  {
    id: TLS_AES_256_GCM_SHA384,
    name: 'TLS_AES_256_GCM_SHA384',
    cipher: 'aes-256-gcm',
    keyLength: 32,
    hash: 'sha384',
  },
  {
    id: TLS_CHACHA20_POLY1305_SHA256,
    name: 'TLS_CHACHA20_POLY1305_SHA256',
    cipher: 'chacha20-poly1305',
    keyLength: 32,
    hash: 'sha256',
  },
];

export const suite13ById = (id: number): Suite13 | undefined => SUITES13.find((s) => s.id === id);

/**
 * Unified header flags (RFC 9147 §4): 001CSLEE. We send C=0 (no connection id), S=1 (16-bit
 * sequence number) and L=1 (length present), so several records can share a datagram.
 */
const UNIFIED_FIXED = 0x20;
const UNIFIED_S = 0x08;
const UNIFIED_L = 0x04;
const UNIFIED_C = 0x10;
const TAG = 16;
/** Header we write: flags, 16-bit sequence number, 16-bit length. */
const HEADER = 5;

/** A DTLSCiphertext record as received, before its sequence number is decrypted. */
export interface UnifiedRecord {
  /** Low two bits of the epoch. */
  readonly epochBits: number;
  /** The header bytes as on the wire (sequence number still encrypted). */
  readonly header: Uint8Array;
  readonly seqLength: 1 | 2;
  /** AEAD ciphertext with tag. */
  readonly encrypted: Uint8Array;
}

/** True when the first byte marks a DTLS 1.3 unified header (RFC 9147 §4.1 demultiplexing). */
export const isUnifiedHeader = (b: number): boolean => (b & 0xe0) === UNIFIED_FIXED;

/**
 * Parse a unified-header record at `at`; returns the record and the offset after it, or undefined
 * when the header is unusable (connection id, truncated): such records are dropped.
 */
export function parseUnified(d: Uint8Array, at: number): { rec: UnifiedRecord; next: number } | undefined {
  const flags = d[at]!;
  if (flags & UNIFIED_C) return undefined;
  const seqLength: 1 | 2 = flags & UNIFIED_S ? 2 : 1;
  let p = at + 1 + seqLength;
  let len: number;
  if (flags & UNIFIED_L) {
    if (p + 2 > d.length) return undefined;
    len = (d[p]! << 8) | d[p + 1]!;
    p += 2;
  } else len = d.length - p;
  if (p + len > d.length || len < 16) return undefined;
  return {
    rec: { epochBits: flags & 3, header: d.subarray(at, p), seqLength, encrypted: d.subarray(p, p + len) },
    next: p + len,
  };
}

/** Options for every AEAD cipher object (one object, not one per record). */
const AEAD_OPTIONS = { authTagLength: TAG } as const;
/** ChaCha20 keystream input for the record number mask (RFC 9147 §4.2.3: two bytes are used). */
const ZERO2 = new Uint8Array(2);

/**
 * Plaintext scratch for sealing (content || type), shared by every epoch of every connection: a
 * seal uses it only within its own synchronous call, and one per epoch kept 16 KiB alive per
 * connection after a single large record.
 */
let scratch = Buffer.alloc(0);
function sealScratch(n: number): Buffer {
  if (scratch.length < n) scratch = Buffer.allocUnsafe(Math.max(n, 2048));
  return scratch;
}

/**
 * Record protection for one direction of one DTLS 1.3 epoch: AEAD with nonce = iv XOR the 64-bit
 * record sequence number (epoch not included, RFC 9147 §4), additional data = the unified header
 * before record number encryption, and record number encryption with `sn_key` (RFC 9147 §4.2.3).
 *
 * Keys are KeyObjects, and the nonce, header/AAD and inner-plaintext buffers are reused; the
 * AES-ECB cipher for record numbers is created once per epoch. Per record only the AEAD cipher
 * object (node:crypto cannot re-IV one) and, for ChaCha20, the record number cipher (its sample is
 * its IV) are created.
 */
export class Protection13 {
  readonly suite: Suite13;
  readonly epoch: number;
  /** Bytes a record adds to its content: header, inner content type, tag. */
  readonly overhead = HEADER + 1 + TAG;
  /**
   * The AEAD name, typed as a GCM one: node's typings overload createCipheriv per mode, and
   * ChaCha20-Poly1305 objects take the same calls (setAAD, setAuthTag, getAuthTag) here.
   */
  readonly #alg: CipherGCMTypes;
  readonly #key: KeyObject;
  readonly #iv: Uint8Array;
  readonly #snKey: KeyObject;
  readonly #nonce = Buffer.alloc(12);
  /** The header as additional data: ours when sealing, the received one (record number decrypted) when opening. */
  // One allocation for the six header lengths (0..5 bytes), each a view of its own bytes.
  readonly #aad = ((b) => [0, 0, 1, 3, 6, 10].map((at, len) => b.subarray(at, at + len)))(Buffer.alloc(15));
  readonly #ecb: Cipher | undefined;

  constructor(suite: Suite13, secret: Uint8Array, epoch: number) {
    this.suite = suite;
    this.epoch = epoch;
    this.#alg = suite.cipher as CipherGCMTypes;
    const h = suite.hash;
    this.#key = createSecretKey(hkdfExpandLabel(h, secret, 'key', new Uint8Array(0), suite.keyLength));
    this.#iv = hkdfExpandLabel(h, secret, 'iv', new Uint8Array(0), 12);
    this.#snKey = createSecretKey(hkdfExpandLabel(h, secret, 'sn', new Uint8Array(0), suite.keyLength));
    if (suite.cipher !== 'chacha20-poly1305') {
      const ecb = suite.cipher === 'aes-128-gcm' ? 'aes-128-ecb' : 'aes-256-ecb';
      this.#ecb = createCipheriv(ecb, this.#snKey, null).setAutoPadding(false);
    }
  }

  #makeNonce(seq: number): void {
    const n = this.#nonce;
    const iv = this.#iv;
    const hi = Math.floor(seq / 2 ** 32);
    n[0] = iv[0]!;
    n[1] = iv[1]!;
    n[2] = iv[2]!;
    n[3] = iv[3]!;
    n[4] = iv[4]!;
    n[5] = iv[5]!;
    n[6] = iv[6]! ^ ((hi >>> 8) & 0xff);
    n[7] = iv[7]! ^ (hi & 0xff);
    n[8] = iv[8]! ^ ((seq >>> 24) & 0xff);
    n[9] = iv[9]! ^ ((seq >>> 16) & 0xff);
    n[10] = iv[10]! ^ ((seq >>> 8) & 0xff);
    n[11] = iv[11]! ^ (seq & 0xff);
  }

  /** The record number mask from the first 16 ciphertext bytes (RFC 9147 §4.2.3). */
  #mask(sample: Uint8Array): Uint8Array {
    // AES: one ECB block; the cipher lives as long as the epoch (ECB has no IV to change).
    if (this.#ecb) return this.#ecb.update(sample);
    // ChaCha20: the sample is counter and nonce, so it needs a cipher object of its own.
    return createCipheriv('chacha20', this.#snKey, sample).update(ZERO2);
  }

  /** Encrypt content of `type` as a record with sequence number `seq`. */
  seal(type: number, seq: number, content: Uint8Array): Uint8Array {
    const inner = content.length + 1;
    const out = Buffer.allocUnsafe(HEADER + inner + TAG);
    const aad = this.#aad[HEADER]!;
    aad[0] = UNIFIED_FIXED | UNIFIED_S | UNIFIED_L | (this.epoch & 3);
    aad[1] = (seq >>> 8) & 0xff;
    aad[2] = seq & 0xff;
    aad[3] = (inner + TAG) >> 8;
    aad[4] = (inner + TAG) & 0xff;
    this.#makeNonce(seq);
    const c = createCipheriv(this.#alg, this.#key, this.#nonce, AEAD_OPTIONS);
    c.setAAD(aad);
    // DTLSInnerPlaintext = content || type, encrypted in one call.
    const pt = sealScratch(inner);
    pt.set(content, 0);
    pt[inner - 1] = type;
    const ct = c.update(pt.subarray(0, inner));
    out.set(ct, HEADER);
    const f = c.final(); // stream modes: empty
    if (f.length) out.set(f, HEADER + ct.length);
    out.set(c.getAuthTag(), HEADER + inner);
    const mask = this.#mask(out.subarray(HEADER, HEADER + 16));
    out[0] = aad[0];
    out[1] = aad[1]! ^ mask[0]!;
    out[2] = aad[2]! ^ mask[1]!;
    out[3] = aad[3];
    out[4] = aad[4];
    return out;
  }

  /** Low bits of the record's sequence number (record number decryption). */
  sequenceBits(rec: UnifiedRecord): number {
    const mask = this.#mask(rec.encrypted.subarray(0, 16));
    const h = rec.header;
    return rec.seqLength === 2 ? ((h[1]! ^ mask[0]!) << 8) | (h[2]! ^ mask[1]!) : h[1]! ^ mask[0]!;
  }

  /** Decrypt with the reconstructed full sequence number; undefined when it does not authenticate. */
  open(rec: UnifiedRecord, seq: number): { type: number; content: Uint8Array } | undefined {
    const h = rec.header;
    const header = this.#aad[h.length];
    if (!header) return undefined;
    header.set(h);
    if (rec.seqLength === 2) {
      header[1] = (seq >>> 8) & 0xff;
      header[2] = seq & 0xff;
    } else header[1] = seq & 0xff;
    const e = rec.encrypted;
    const n = e.length - TAG;
    this.#makeNonce(seq);
    const d = createDecipheriv(this.#alg, this.#key, this.#nonce, AEAD_OPTIONS);
    d.setAAD(header);
    d.setAuthTag(e.subarray(n));
    const pt = d.update(e.subarray(0, n));
    try {
      d.final();
    } catch {
      return undefined;
    }
    // DTLSInnerPlaintext: content, type, zero padding (RFC 9147 §4, RFC 8446 §5.4).
    let i = pt.length - 1;
    while (i >= 0 && pt[i] === 0) i--;
    if (i < 0) return undefined;
    return { type: pt[i]!, content: pt.subarray(0, i) };
  }
}

/** Full sequence number closest to `expected` whose low `bits` bits are `low` (RFC 9147 §4.2.2). */
export function reconstructSequence(expected: number, low: number, bits: number): number {
  const span = 2 ** bits;
  const base = expected - (expected % span);
  let best = base + low;
  for (const cand of [base + low - span, base + low + span]) {
    if (cand >= 0 && Math.abs(cand - expected) < Math.abs(best - expected)) best = cand;
  }
  return best;
}
