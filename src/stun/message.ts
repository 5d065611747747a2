/**
 * STUN message codec (RFC 8489 §5, §14). A message is a plain value: method, class, transaction
 * id and a list of raw attributes (type + value view). Typed encoders and decoders for each
 * attribute are in `attributes.ts`; integrity and fingerprint in `integrity.ts`.
 */
import { ByteReader } from '../core/bytes.js';
import { ParseError } from '../core/errors.js';
import {
  ATTR,
  FINGERPRINT_XOR,
  HEADER_SIZE,
  MAGIC_COOKIE,
  type StunClass,
  TRANSACTION_ID_SIZE,
} from './constants.js';
import { crc32 } from './crc32.js';

export interface StunAttribute {
  readonly type: number;
  /** The value without padding (a view into the parsed bytes). */
  readonly value: Uint8Array;
}

export interface StunMessage {
  /** 12-bit method (METHOD.BINDING, ...). */
  readonly method: number;
  readonly cls: StunClass;
  /** 12 bytes. */
  readonly transactionId: Uint8Array;
  /**
   * Attributes in wire order. For a parsed message, attributes that follow MESSAGE-INTEGRITY
   * (other than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT) are left out, as RFC 8489 §14.5 says to
   * ignore them.
   */
  readonly attributes: readonly StunAttribute[];
}

/** A message as received: it keeps its bytes so integrity can be checked over the right range. */
export interface ParsedStunMessage extends StunMessage {
  /** The whole message, exactly (header included). */
  readonly raw: Uint8Array;
  /** Byte offset in `raw` of the MESSAGE-INTEGRITY attribute header, or -1. */
  readonly integrityOffset: number;
  /** Byte offset in `raw` of the MESSAGE-INTEGRITY-SHA256 attribute header, or -1. */
  readonly integritySha256Offset: number;
  /** Byte offset in `raw` of the FINGERPRINT attribute header, or -1. */
  readonly fingerprintOffset: number;
}

export interface ParseOptions {
  /** Check FINGERPRINT when present and reject a mismatch (default true). */
  readonly checkFingerprint?: boolean;
}

const CLASS_BITS: Record<StunClass, number> = {
  request: 0x000,
  indication: 0x010,
  success: 0x100,
  error: 0x110,
};
const CLASSES: readonly StunClass[] = ['request', 'indication', 'success', 'error'];

/** RFC 8489 §5: interleave the method bits M0-M11 with the class bits C0 C1. */
export function encodeMessageType(method: number, cls: StunClass): number {
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | CLASS_BITS[cls];
}

export function decodeMessageType(type: number): { method: number; cls: StunClass } {
  const method = (type & 0x000f) | ((type >> 1) & 0x0070) | ((type >> 2) & 0x0f80);
  const cls = CLASSES[((type >> 4) & 0x1) | ((type >> 7) & 0x2)]!;
  return { method, cls };
}

/**
 * Cheap check for demultiplexing (RFC 7983 and RFC 8489 §5): top two bits zero, the magic
 * cookie, a length that is a multiple of 4 and matches the datagram. Does not look at attributes.
 */
export function isStunMessage(b: Uint8Array): boolean {
  if (b.length < HEADER_SIZE || (b[0]! & 0xc0) !== 0) return false;
  const len = (b[2]! << 8) | b[3]!;
  return (
    (len & 3) === 0 &&
    len + HEADER_SIZE === b.length &&
    b[4] === 0x21 &&
    b[5] === 0x12 &&
    b[6] === 0xa4 &&
    b[7] === 0x42
  );
}

/** Parse one STUN message; the bytes must be exactly one message (a datagram or a framed chunk). */
export function parseStunMessage(bytes: Uint8Array, options?: ParseOptions): ParsedStunMessage {
  const r = new ByteReader(bytes, 'stun');
  const type = r.u16('message type');
  if (type & 0xc000) r.fail('message type', 'top two bits must be zero', 'ERR_STUN_NOT_STUN');
  const length = r.u16('message length');
  if (length & 3) r.fail('message length', `${length} is not a multiple of 4`);
  if (length + HEADER_SIZE !== bytes.length) {
    r.fail('message length', `header says ${length + HEADER_SIZE} bytes, have ${bytes.length}`);
  }
  if (r.u32('magic cookie') !== MAGIC_COOKIE) r.fail('magic cookie', 'not 0x2112A442', 'ERR_STUN_NOT_STUN');
  const transactionId = r.bytes(TRANSACTION_ID_SIZE, 'transaction id');
  const { method, cls } = decodeMessageType(type);

  const attributes: StunAttribute[] = [];
  let integrityOffset = -1;
  let integritySha256Offset = -1;
  let fingerprintOffset = -1;
  while (r.remaining > 0) {
    const at = r.offset;
    if (fingerprintOffset >= 0) r.fail('attribute', 'attribute after FINGERPRINT');
    const atype = r.u16('attribute type');
    const alen = r.u16('attribute length');
    const value = r.bytes(alen, 'attribute value');
    r.skip((4 - (alen & 3)) & 3, 'attribute padding');
    if (atype === ATTR.FINGERPRINT) {
      if (alen !== 4) r.fail('FINGERPRINT', `length ${alen}, expected 4`);
      fingerprintOffset = at;
    } else if (atype === ATTR.MESSAGE_INTEGRITY) {
      if (integrityOffset >= 0 || integritySha256Offset >= 0) continue; // ignored after integrity
      if (alen !== 20) r.fail('MESSAGE-INTEGRITY', `length ${alen}, expected 20`);
      integrityOffset = at;
    } else if (atype === ATTR.MESSAGE_INTEGRITY_SHA256) {
      if (integritySha256Offset >= 0) continue;
      if (alen < 16 || alen > 32 || alen & 3) r.fail('MESSAGE-INTEGRITY-SHA256', `bad length ${alen}`);
      integritySha256Offset = at;
    } else if (integrityOffset >= 0 || integritySha256Offset >= 0) {
      continue; // RFC 8489 §14.5/§14.6: ignore attributes after the integrity attributes
    }
    attributes.push({ type: atype, value });
  }
  if (fingerprintOffset >= 0 && options?.checkFingerprint !== false) {
    const want = crc32(bytes.subarray(0, fingerprintOffset)) ^ FINGERPRINT_XOR;
    const v = fingerprintOffset + 4;
    const got = ((bytes[v]! << 24) | (bytes[v + 1]! << 16) | (bytes[v + 2]! << 8) | bytes[v + 3]!) >>> 0;
    if (got !== want >>> 0) {
      throw new ParseError(
        'stun',
        'FINGERPRINT',
        fingerprintOffset,
        'CRC mismatch',
        'ERR_STUN_BAD_FINGERPRINT',
      );
    }
  }
  return {
    method,
    cls,
    transactionId,
    attributes,
    raw: bytes,
    integrityOffset,
    integritySha256Offset,
    fingerprintOffset,
  };
}

/** First attribute of a type, or undefined. */
export function getAttribute(msg: StunMessage, type: number): StunAttribute | undefined {
  for (const a of msg.attributes) if (a.type === type) return a;
  return undefined;
}

export function hasAttribute(msg: StunMessage, type: number): boolean {
  return getAttribute(msg, type) !== undefined;
}

export function createMessage(
  method: number,
  cls: StunClass,
  transactionId: Uint8Array,
  attributes: readonly StunAttribute[] = [],
): StunMessage {
  if (transactionId.length !== TRANSACTION_ID_SIZE) {
    throw new RangeError(`transaction id must be ${TRANSACTION_ID_SIZE} bytes`);
  }
  return { method, cls, transactionId, attributes };
}
