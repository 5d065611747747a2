/**
 * Credentials and message integrity (RFC 8489 §9, §14.5, §14.6). Keys come from the short-term
 * password as is, or from MD5/SHA-256 of username:realm:password for long-term credentials.
 * Verification covers the bytes before the integrity attribute with the header length adjusted to
 * end at it, so attributes after MESSAGE-INTEGRITY (other than FINGERPRINT) do not matter.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { HEADER_SIZE, PASSWORD_ALGORITHM } from './constants.js';
import type { ParsedStunMessage } from './message.js';

// RFC 3454 table B.1: code points "commonly mapped to nothing".
function mappedToNothing(cp: number): boolean {
  return (
    cp === 0xad ||
    cp === 0x34f ||
    cp === 0x1806 ||
    (cp >= 0x180b && cp <= 0x180d) ||
    (cp >= 0x200b && cp <= 0x200d) ||
    cp === 0x2060 ||
    (cp >= 0xfe00 && cp <= 0xfe0f) ||
    cp === 0xfeff
  );
}
// RFC 3454 table C.1.2: non-ASCII space characters, mapped to U+0020.
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g;

/**
 * SASLprep-lite (RFC 4013 mapping and normalization; the prohibited-output and bidi checks are not
 * applied). Enough for the RFC 5769 vectors and for every password a browser or coturn sends.
 */
export function saslprep(s: string): string {
  let out = '';
  for (const ch of s.replace(NON_ASCII_SPACE, ' ')) if (!mappedToNothing(ch.codePointAt(0)!)) out += ch;
  return out.normalize('NFKC');
}

const utf8 = new TextEncoder();

/** RFC 8489 §9.1.1: the short-term key is the (SASLprep'd) password. */
export function shortTermKey(password: string): Uint8Array {
  return utf8.encode(saslprep(password));
}

export type PasswordAlgorithm = 'md5' | 'sha256';

/** RFC 8489 §9.2.2: key = H(username ":" realm ":" password), H = MD5 or SHA-256. */
export function longTermKey(
  username: string,
  realm: string,
  password: string,
  algorithm: PasswordAlgorithm = 'md5',
): Uint8Array {
  const text = `${username}:${saslprep(realm)}:${saslprep(password)}`;
  return new Uint8Array(createHash(algorithm).update(text, 'utf8').digest());
}

export function passwordAlgorithmNumber(a: PasswordAlgorithm): number {
  return a === 'md5' ? PASSWORD_ALGORITHM.MD5 : PASSWORD_ALGORITHM.SHA256;
}

/** RFC 8489 §14.4: USERHASH = SHA-256(username ":" realm). */
export function userHash(username: string, realm: string): Uint8Array {
  return new Uint8Array(
    createHash('sha256')
      .update(`${username}:${saslprep(realm)}`, 'utf8')
      .digest(),
  );
}

function macOver(
  algorithm: 'sha1' | 'sha256',
  key: Uint8Array,
  raw: Uint8Array,
  attrOffset: number,
  attrSize: number,
): Buffer {
  const len = attrOffset + attrSize - HEADER_SIZE;
  const hmac = createHmac(algorithm, key);
  hmac.update(raw.subarray(0, 2));
  hmac.update(new Uint8Array([(len >>> 8) & 0xff, len & 0xff]));
  hmac.update(raw.subarray(4, attrOffset));
  return hmac.digest();
}

/** True when the message has MESSAGE-INTEGRITY and it matches `key`. */
export function verifyIntegrity(msg: ParsedStunMessage, key: Uint8Array): boolean {
  const at = msg.integrityOffset;
  if (at < 0) return false;
  const mac = macOver('sha1', key, msg.raw, at, 24);
  return timingSafeEqual(mac, msg.raw.subarray(at + 4, at + 24));
}

/** True when the message has MESSAGE-INTEGRITY-SHA256 and it matches `key` (truncated MACs too). */
export function verifyIntegritySha256(msg: ParsedStunMessage, key: Uint8Array): boolean {
  const at = msg.integritySha256Offset;
  if (at < 0) return false;
  const len = (msg.raw[at + 2]! << 8) | msg.raw[at + 3]!;
  const mac = macOver('sha256', key, msg.raw, at, 4 + len);
  return timingSafeEqual(mac.subarray(0, len), msg.raw.subarray(at + 4, at + 4 + len));
}

/** True when the message carries either integrity attribute. */
export function hasIntegrity(msg: ParsedStunMessage): boolean {
  return msg.integrityOffset >= 0 || msg.integritySha256Offset >= 0;
}

/**
 * Verify whichever integrity attribute the message carries, preferring SHA-256 (RFC 8489 §9.1.3:
 * when both are present the receiver uses MESSAGE-INTEGRITY-SHA256).
 */
export function verifyAnyIntegrity(msg: ParsedStunMessage, key: Uint8Array): boolean {
  if (msg.integritySha256Offset >= 0) return verifyIntegritySha256(msg, key);
  return verifyIntegrity(msg, key);
}
