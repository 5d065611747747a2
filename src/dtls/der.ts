/**
 * The few DER encodings (ITU-T X.690 §8, §10) a self-signed X.509 certificate needs: every value is
 * tag, definite length, contents. Enough for self-signed.ts; certificates are parsed by node:crypto.
 */

/** X.690 universal tags (§8.1.2) and the context-specific constructed [0] of TBSCertificate.version. */
const TAG_INTEGER = 0x02;
const TAG_BIT_STRING = 0x03;
const TAG_NULL = 0x05;
const TAG_OID = 0x06;
const TAG_UTF8_STRING = 0x0c;
const TAG_UTC_TIME = 0x17;
const TAG_GENERALIZED_TIME = 0x18;
const TAG_SEQUENCE = 0x30;
const TAG_SET = 0x31;
const TAG_CONTEXT_0 = 0xa0;

/** One TLV: X.690 §8.1.3 definite length, short form below 128, else long form. */
export function tlv(tag: number, ...contents: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const c of contents) len += c.length;
  const lenBytes: number[] = [];
  if (len < 0x80) lenBytes.push(len);
  else {
    for (let n = len; n > 0; n >>>= 8) lenBytes.unshift(n & 0xff);
    lenBytes.unshift(0x80 | lenBytes.length);
  }
  const out = new Uint8Array(1 + lenBytes.length + len);
  out[0] = tag;
  out.set(lenBytes, 1);
  let o = 1 + lenBytes.length;
  for (const c of contents) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

export const sequence = (...items: Uint8Array[]): Uint8Array => tlv(TAG_SEQUENCE, ...items);
export const set = (...items: Uint8Array[]): Uint8Array => tlv(TAG_SET, ...items);
export const explicit0 = (item: Uint8Array): Uint8Array => tlv(TAG_CONTEXT_0, item);
export const derNull = (): Uint8Array => tlv(TAG_NULL);
export const utf8String = (s: string): Uint8Array => tlv(TAG_UTF8_STRING, new TextEncoder().encode(s));
/** BIT STRING of whole bytes (X.690 §8.6: first content byte = unused bits, here 0). */
export const bitString = (bytes: Uint8Array): Uint8Array => tlv(TAG_BIT_STRING, Uint8Array.of(0), bytes);

/**
 * INTEGER from big-endian unsigned bytes (X.690 §8.3): leading zeros dropped, one 0x00 added when
 * the top bit is set (the value stays positive).
 */
export function unsignedInteger(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const v = bytes.subarray(i);
  return (v[0] ?? 0) & 0x80 ? tlv(TAG_INTEGER, Uint8Array.of(0), v) : tlv(TAG_INTEGER, v);
}

export const smallInteger = (n: number): Uint8Array => unsignedInteger(Uint8Array.of(n));

/** OBJECT IDENTIFIER from dotted text (X.690 §8.19: first two arcs joined, base-128 arcs). */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [];
  const push = (n: number): void => {
    const groups = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) groups.unshift((v & 0x7f) | 0x80);
    out.push(...groups);
  };
  push((arcs[0] ?? 0) * 40 + (arcs[1] ?? 0));
  for (const a of arcs.slice(2)) push(a);
  return tlv(TAG_OID, Uint8Array.from(out));
}

/**
 * RFC 5280 §4.1.2.5 Time: UTCTime (YYMMDDHHMMSSZ) through 2049, GeneralizedTime
 * (YYYYMMDDHHMMSSZ) from 2050; seconds, no fraction.
 */
export function x509Time(d: Date): Uint8Array {
  const two = (n: number): string => String(n).padStart(2, '0');
  const year = d.getUTCFullYear();
  const rest = `${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
  const enc = new TextEncoder();
  return year < 2050
    ? tlv(TAG_UTC_TIME, enc.encode(`${two(year % 100)}${rest}`))
    : tlv(TAG_GENERALIZED_TIME, enc.encode(`${String(year).padStart(4, '0')}${rest}`));
}
