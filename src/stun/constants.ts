/**
 * STUN wire constants: RFC 8489 (STUN), RFC 5780 (NAT behaviour discovery), RFC 8445 (ICE),
 * RFC 8656 (TURN), RFC 6062 (TURN over TCP), RFC 8016 (mobility is not implemented).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |0 0|     STUN Message Type     |         Message Length        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                         Magic Cookie                          |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                     Transaction ID (96 bits)                  |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

/** RFC 8489 §5 */
export const MAGIC_COOKIE = 0x2112a442;
/** RFC 8489 §5: header size in bytes. */
export const HEADER_SIZE = 20;
/** RFC 8489 §5: transaction id size in bytes. */
export const TRANSACTION_ID_SIZE = 12;
/** RFC 8489 §14.7: FINGERPRINT is the CRC-32 of the message XOR this value. */
export const FINGERPRINT_XOR = 0x5354554e;

/** RFC 8489 §5: message classes (C1 C0 bits). */
export type StunClass = 'request' | 'indication' | 'success' | 'error';

/** Methods: RFC 8489 §18.2, RFC 8656 §17, RFC 6062 §6.1. */
export const METHOD = {
  BINDING: 0x001,
  ALLOCATE: 0x003,
  REFRESH: 0x004,
  SEND: 0x006,
  DATA: 0x007,
  CREATE_PERMISSION: 0x008,
  CHANNEL_BIND: 0x009,
  CONNECT: 0x00a,
  CONNECTION_BIND: 0x00b,
  CONNECTION_ATTEMPT: 0x00c,
} as const;

/** Attribute types. Comprehension-required below 0x8000 (RFC 8489 §14). */
export const ATTR = {
  /** RFC 8489 §14.1 */
  MAPPED_ADDRESS: 0x0001,
  /** RFC 5780 §7.2 */
  CHANGE_REQUEST: 0x0003,
  /** RFC 8489 §14.3 */
  USERNAME: 0x0006,
  /** RFC 8489 §14.5 */
  MESSAGE_INTEGRITY: 0x0008,
  /** RFC 8489 §14.8 */
  ERROR_CODE: 0x0009,
  /** RFC 8489 §14.13 */
  UNKNOWN_ATTRIBUTES: 0x000a,
  /** RFC 8656 §18.1 */
  CHANNEL_NUMBER: 0x000c,
  /** RFC 8656 §18.2 */
  LIFETIME: 0x000d,
  /** RFC 8656 §18.3 */
  XOR_PEER_ADDRESS: 0x0012,
  /** RFC 8656 §18.4 */
  DATA: 0x0013,
  /** RFC 8489 §14.9 */
  REALM: 0x0014,
  /** RFC 8489 §14.10 */
  NONCE: 0x0015,
  /** RFC 8656 §18.5 */
  XOR_RELAYED_ADDRESS: 0x0016,
  /** RFC 8656 §18.6 */
  REQUESTED_ADDRESS_FAMILY: 0x0017,
  /** RFC 8656 §18.7 */
  EVEN_PORT: 0x0018,
  /** RFC 8656 §18.8 */
  REQUESTED_TRANSPORT: 0x0019,
  /** RFC 8656 §18.9 */
  DONT_FRAGMENT: 0x001a,
  /** RFC 8489 §14.6 */
  MESSAGE_INTEGRITY_SHA256: 0x001c,
  /** RFC 8489 §14.12 */
  PASSWORD_ALGORITHM: 0x001d,
  /** RFC 8489 §14.4 */
  USERHASH: 0x001e,
  /** RFC 8489 §14.2 */
  XOR_MAPPED_ADDRESS: 0x0020,
  /** RFC 8656 §18.10 */
  RESERVATION_TOKEN: 0x0022,
  /** RFC 8445 §16.1 */
  PRIORITY: 0x0024,
  /** RFC 8445 §16.1 */
  USE_CANDIDATE: 0x0025,
  /** RFC 5780 §7.6 */
  PADDING: 0x0026,
  /** RFC 5780 §7.5 */
  RESPONSE_PORT: 0x0027,
  /** RFC 6062 §6.2.1 */
  CONNECTION_ID: 0x002a,
  /** RFC 8656 §18.11 */
  ADDITIONAL_ADDRESS_FAMILY: 0x8000,
  /** RFC 8656 §18.12 */
  ADDRESS_ERROR_CODE: 0x8001,
  /** RFC 8489 §14.11 */
  PASSWORD_ALGORITHMS: 0x8002,
  /** RFC 8489 §14.16 */
  ALTERNATE_DOMAIN: 0x8003,
  /** RFC 8656 §18.13 */
  ICMP: 0x8004,
  /** RFC 8489 §14.14 */
  SOFTWARE: 0x8022,
  /** RFC 8489 §14.15 */
  ALTERNATE_SERVER: 0x8023,
  /** RFC 8489 §14.7 */
  FINGERPRINT: 0x8028,
  /** RFC 8445 §16.1 */
  ICE_CONTROLLED: 0x8029,
  /** RFC 8445 §16.1 */
  ICE_CONTROLLING: 0x802a,
  /** RFC 5780 §7.3 */
  RESPONSE_ORIGIN: 0x802b,
  /** RFC 5780 §7.4 */
  OTHER_ADDRESS: 0x802c,
} as const;

/** Attributes in 0x0000-0x7FFF must be understood by the receiver (RFC 8489 §14). */
export function isComprehensionRequired(type: number): boolean {
  return type < 0x8000;
}

/** Attribute types this codec understands (used to find unknown comprehension-required ones). */
export const KNOWN_ATTRIBUTES: ReadonlySet<number> = new Set(Object.values(ATTR));

/** Error codes: RFC 8489 §14.8, RFC 8656 §19, RFC 8445 §7.3.1.1. */
export const ERROR = {
  TRY_ALTERNATE: 300,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  UNKNOWN_ATTRIBUTE: 420,
  ALLOCATION_MISMATCH: 437,
  STALE_NONCE: 438,
  ADDRESS_FAMILY_NOT_SUPPORTED: 440,
  WRONG_CREDENTIALS: 441,
  UNSUPPORTED_TRANSPORT_PROTOCOL: 442,
  PEER_ADDRESS_FAMILY_MISMATCH: 443,
  CONNECTION_ALREADY_EXISTS: 446,
  CONNECTION_TIMEOUT_OR_FAILURE: 447,
  ALLOCATION_QUOTA_REACHED: 486,
  ROLE_CONFLICT: 487,
  SERVER_ERROR: 500,
  INSUFFICIENT_CAPACITY: 508,
} as const;

/** RFC 8489 §18.5: PASSWORD-ALGORITHM values. */
export const PASSWORD_ALGORITHM = {
  MD5: 0x0001,
  SHA256: 0x0002,
} as const;

/** RFC 5780 §7.2: CHANGE-REQUEST flags. */
export const CHANGE_IP = 0x04;
export const CHANGE_PORT = 0x02;

/** RFC 8489 §14.1: address family values in (XOR-)MAPPED-ADDRESS. */
export const FAMILY_IPV4 = 0x01;
export const FAMILY_IPV6 = 0x02;
