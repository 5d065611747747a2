/**
 * STUN message serialization (RFC 8489 §5, §14.5-§14.7). Attributes are written in order with
 * zero padding; MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT are appended on request,
 * each computed with the header length covering itself, as the RFC specifies.
 */
import { createHmac } from 'node:crypto';
import { ATTR, FINGERPRINT_XOR, HEADER_SIZE, MAGIC_COOKIE, TRANSACTION_ID_SIZE } from './constants.js';
import { crc32 } from './crc32.js';
import { encodeMessageType, type StunMessage } from './message.js';

export interface SerializeOptions {
  /** Append MESSAGE-INTEGRITY (HMAC-SHA1) with this key (RFC 8489 §9). */
  readonly integrity?: Uint8Array;
  /** Append MESSAGE-INTEGRITY-SHA256 (HMAC-SHA256, 32 bytes) with this key. */
  readonly integritySha256?: Uint8Array;
  /** Append FINGERPRINT (RFC 8489 §14.7). */
  readonly fingerprint?: boolean;
}

const MI_SIZE = 4 + 20;
const MI256_SIZE = 4 + 32;
const FP_SIZE = 4 + 4;

/** Size in bytes of the serialized message. */
export function stunMessageSize(msg: StunMessage, options?: SerializeOptions): number {
  let n = HEADER_SIZE;
  for (const a of msg.attributes) n += 4 + ((a.value.length + 3) & ~3);
  if (options?.integrity) n += MI_SIZE;
  if (options?.integritySha256) n += MI256_SIZE;
  if (options?.fingerprint) n += FP_SIZE;
  return n;
}

function put16(out: Uint8Array, at: number, v: number): void {
  out[at] = (v >>> 8) & 0xff;
  out[at + 1] = v & 0xff;
}
function put32(out: Uint8Array, at: number, v: number): void {
  out[at] = (v >>> 24) & 0xff;
  out[at + 1] = (v >>> 16) & 0xff;
  out[at + 2] = (v >>> 8) & 0xff;
  out[at + 3] = v & 0xff;
}

/** Serialize into `out` at `offset`; returns the number of bytes written. */
export function serializeStunMessageInto(
  msg: StunMessage,
  out: Uint8Array,
  offset: number,
  options?: SerializeOptions,
): number {
  const total = stunMessageSize(msg, options);
  if (offset + total > out.length) throw new RangeError('output buffer too small for STUN message');
  if (msg.transactionId.length !== TRANSACTION_ID_SIZE)
    throw new RangeError('transaction id must be 12 bytes');
  const start = offset;
  put16(out, start, encodeMessageType(msg.method, msg.cls));
  put32(out, start + 4, MAGIC_COOKIE);
  out.set(msg.transactionId, start + 8);
  let at = start + HEADER_SIZE;
  for (const a of msg.attributes) {
    const len = a.value.length;
    if (len > 0xffff) throw new RangeError(`attribute 0x${a.type.toString(16)} longer than 65535 bytes`);
    put16(out, at, a.type);
    put16(out, at + 2, len);
    out.set(a.value, at + 4);
    at += 4 + len;
    const pad = (4 - (len & 3)) & 3;
    for (let i = 0; i < pad; i++) out[at++] = 0;
  }
  const setLength = (end: number): void => put16(out, start + 2, end - start - HEADER_SIZE);
  if (options?.integrity) {
    setLength(at + MI_SIZE);
    const mac = createHmac('sha1', options.integrity).update(out.subarray(start, at)).digest();
    put16(out, at, ATTR.MESSAGE_INTEGRITY);
    put16(out, at + 2, 20);
    out.set(mac, at + 4);
    at += MI_SIZE;
  }
  if (options?.integritySha256) {
    setLength(at + MI256_SIZE);
    const mac = createHmac('sha256', options.integritySha256).update(out.subarray(start, at)).digest();
    put16(out, at, ATTR.MESSAGE_INTEGRITY_SHA256);
    put16(out, at + 2, 32);
    out.set(mac, at + 4);
    at += MI256_SIZE;
  }
  if (options?.fingerprint) {
    setLength(at + FP_SIZE);
    const fp = (crc32(out.subarray(start, at)) ^ FINGERPRINT_XOR) >>> 0;
    put16(out, at, ATTR.FINGERPRINT);
    put16(out, at + 2, 4);
    put32(out, at + 4, fp);
    at += FP_SIZE;
  }
  setLength(at);
  return at - start;
}

export function serializeStunMessage(msg: StunMessage, options?: SerializeOptions): Uint8Array {
  const out = new Uint8Array(stunMessageSize(msg, options));
  serializeStunMessageInto(msg, out, 0, options);
  return out;
}
