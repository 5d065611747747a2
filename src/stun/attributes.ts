/**
 * Typed attribute values (RFC 8489 §14, RFC 5780 §7, RFC 8445 §16.1, RFC 8656 §18, RFC 6062).
 * `attr.*` builds a `StunAttribute`; `decode*` reads one value and throws ParseError on bad bytes;
 * `read.*` finds an attribute in a message and decodes it (undefined when absent).
 */
import { ByteReader } from '../core/bytes.js';
import type { TransportAddress } from '../core/net.js';
import { ATTR, CHANGE_IP, CHANGE_PORT, FAMILY_IPV4, FAMILY_IPV6, MAGIC_COOKIE } from './constants.js';
import { bytesToIp, ipToBytes } from './ip.js';
import { getAttribute, type StunAttribute, type StunMessage } from './message.js';

const utf8 = new TextEncoder();
const utf8d = new TextDecoder('utf-8', { fatal: true });

/* ----------------------------------------------------------------------------------------------
 * Addresses (RFC 8489 §14.1, §14.2)
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |0 0 0 0 0 0 0 0|    Family     |         (X-)Port              |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                 (X-)Address (32 bits or 128 bits)             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

function addressBytes(a: TransportAddress): Uint8Array {
  const ip = ipToBytes(a.address);
  if (!ip) throw new TypeError(`not an IP address: ${a.address}`);
  if (!(a.port >= 0 && a.port <= 0xffff)) throw new TypeError(`bad port: ${a.port}`);
  return ip;
}

export function encodeAddress(a: TransportAddress): Uint8Array {
  const ip = addressBytes(a);
  const out = new Uint8Array(4 + ip.length);
  out[1] = ip.length === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
  out[2] = a.port >> 8;
  out[3] = a.port & 0xff;
  out.set(ip, 4);
  return out;
}

function readAddress(value: Uint8Array, name: string): { family: number; port: number; ip: Uint8Array } {
  const r = new ByteReader(value, 'stun');
  r.u8(`${name} reserved`);
  const family = r.u8(`${name} family`);
  const port = r.u16(`${name} port`);
  if (family !== FAMILY_IPV4 && family !== FAMILY_IPV6) r.fail(`${name} family`, `unknown family ${family}`);
  const ip = r.bytes(family === FAMILY_IPV4 ? 4 : 16, `${name} address`);
  if (r.remaining !== 0) r.fail(name, `${r.remaining} trailing byte(s)`);
  return { family, port, ip };
}

export function decodeAddress(value: Uint8Array): TransportAddress {
  const { port, ip } = readAddress(value, 'address');
  return { address: bytesToIp(ip), port };
}

/** XOR the address bytes with the cookie (IPv4) or cookie + transaction id (IPv6), in place. */
function xorIp(ip: Uint8Array, transactionId: Uint8Array): void {
  const mask = [0x21, 0x12, 0xa4, 0x42];
  for (let i = 0; i < ip.length; i++) ip[i]! ^= i < 4 ? mask[i]! : transactionId[i - 4]!;
}

export function encodeXorAddress(a: TransportAddress, transactionId: Uint8Array): Uint8Array {
  const out = encodeAddress(a);
  const port = a.port ^ (MAGIC_COOKIE >>> 16);
  out[2] = port >> 8;
  out[3] = port & 0xff;
  xorIp(out.subarray(4), transactionId);
  return out;
}

export function decodeXorAddress(value: Uint8Array, transactionId: Uint8Array): TransportAddress {
  const { port, ip } = readAddress(value, 'xor-address');
  const copy = ip.slice();
  xorIp(copy, transactionId);
  return { address: bytesToIp(copy), port: port ^ (MAGIC_COOKIE >>> 16) };
}

/* ---------------------------------------------------------------------------------------------- */

function decodeString(value: Uint8Array, name: string, maxBytes: number): string {
  if (value.length > maxBytes) {
    new ByteReader(value, 'stun').fail(name, `${value.length} bytes, at most ${maxBytes}`);
  }
  try {
    return utf8d.decode(value);
  } catch {
    return new ByteReader(value, 'stun').fail(name, 'not valid UTF-8');
  }
}

export interface ErrorCodeValue {
  readonly code: number;
  readonly reason: string;
}

/**
 * RFC 8489 §14.8
 *   |           Reserved, should be 0         |Class|     Number    |
 *   |      Reason Phrase (variable)                                ..
 */
export function encodeErrorCode(e: ErrorCodeValue): Uint8Array {
  if (!(e.code >= 300 && e.code <= 699)) throw new TypeError(`error code out of range: ${e.code}`);
  const reason = utf8.encode(e.reason);
  const out = new Uint8Array(4 + reason.length);
  out[2] = Math.floor(e.code / 100);
  out[3] = e.code % 100;
  out.set(reason, 4);
  return out;
}

export function decodeErrorCode(value: Uint8Array): ErrorCodeValue {
  const r = new ByteReader(value, 'stun');
  r.u16('ERROR-CODE reserved');
  const cls = r.u8('ERROR-CODE class') & 0x07;
  const num = r.u8('ERROR-CODE number');
  if (cls < 3 || cls > 6 || num > 99) r.fail('ERROR-CODE', `invalid code ${cls}${num}`);
  return { code: cls * 100 + num, reason: decodeString(r.rest(), 'ERROR-CODE reason', 763) };
}

/** RFC 8489 §14.13: a list of 16-bit attribute types. */
export function encodeUnknownAttributes(types: readonly number[]): Uint8Array {
  const out = new Uint8Array(types.length * 2);
  types.forEach((t, i) => {
    out[i * 2] = t >> 8;
    out[i * 2 + 1] = t & 0xff;
  });
  return out;
}

export function decodeUnknownAttributes(value: Uint8Array): number[] {
  const r = new ByteReader(value, 'stun');
  if (value.length & 1) r.fail('UNKNOWN-ATTRIBUTES', 'odd length');
  const out: number[] = [];
  while (r.remaining > 0) out.push(r.u16('UNKNOWN-ATTRIBUTES type'));
  return out;
}

function u32(v: number): Uint8Array {
  return new Uint8Array([(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
}
function decodeU32(value: Uint8Array, name: string): number {
  const r = new ByteReader(value, 'stun');
  const v = r.u32(name);
  if (r.remaining !== 0) r.fail(name, 'expected 4 bytes');
  return v;
}
function u64(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, v));
  return out;
}
function decodeU64(value: Uint8Array, name: string): bigint {
  const r = new ByteReader(value, 'stun');
  const v = r.u64(name);
  if (r.remaining !== 0) r.fail(name, 'expected 8 bytes');
  return v;
}

export interface PasswordAlgorithmValue {
  readonly algorithm: number;
  readonly parameters: Uint8Array;
}

/** RFC 8489 §14.11/§14.12: algorithm u16, parameters length u16, parameters, padding. */
function encodeAlgorithms(list: readonly PasswordAlgorithmValue[]): Uint8Array {
  let n = 0;
  for (const a of list) n += 4 + ((a.parameters.length + 3) & ~3);
  const out = new Uint8Array(n);
  let at = 0;
  for (const a of list) {
    out[at] = a.algorithm >> 8;
    out[at + 1] = a.algorithm & 0xff;
    out[at + 2] = a.parameters.length >> 8;
    out[at + 3] = a.parameters.length & 0xff;
    out.set(a.parameters, at + 4);
    at += 4 + ((a.parameters.length + 3) & ~3);
  }
  return out;
}
export function decodePasswordAlgorithms(value: Uint8Array): PasswordAlgorithmValue[] {
  const r = new ByteReader(value, 'stun');
  const out: PasswordAlgorithmValue[] = [];
  while (r.remaining > 0) {
    const algorithm = r.u16('PASSWORD-ALGORITHMS algorithm');
    const len = r.u16('PASSWORD-ALGORITHMS parameters length');
    const parameters = r.bytes(len, 'PASSWORD-ALGORITHMS parameters');
    const pad = (4 - (len & 3)) & 3;
    r.skip(Math.min(pad, r.remaining), 'PASSWORD-ALGORITHMS padding');
    out.push({ algorithm, parameters });
  }
  return out;
}
export function decodePasswordAlgorithm(value: Uint8Array): PasswordAlgorithmValue {
  const list = decodePasswordAlgorithms(value);
  if (list.length !== 1) new ByteReader(value, 'stun').fail('PASSWORD-ALGORITHM', 'expected one algorithm');
  return list[0]!;
}

export interface ChangeRequestValue {
  readonly changeIp: boolean;
  readonly changePort: boolean;
}

export interface AddressErrorCodeValue {
  readonly family: number;
  readonly code: number;
  readonly reason: string;
}

export interface IcmpValue {
  readonly type: number;
  readonly code: number;
  readonly data: number;
}

/** Builders: each returns a ready `StunAttribute`. */
export const attr = {
  mappedAddress: (a: TransportAddress): StunAttribute => ({
    type: ATTR.MAPPED_ADDRESS,
    value: encodeAddress(a),
  }),
  xorMappedAddress: (a: TransportAddress, tid: Uint8Array): StunAttribute => ({
    type: ATTR.XOR_MAPPED_ADDRESS,
    value: encodeXorAddress(a, tid),
  }),
  xorPeerAddress: (a: TransportAddress, tid: Uint8Array): StunAttribute => ({
    type: ATTR.XOR_PEER_ADDRESS,
    value: encodeXorAddress(a, tid),
  }),
  xorRelayedAddress: (a: TransportAddress, tid: Uint8Array): StunAttribute => ({
    type: ATTR.XOR_RELAYED_ADDRESS,
    value: encodeXorAddress(a, tid),
  }),
  alternateServer: (a: TransportAddress): StunAttribute => ({
    type: ATTR.ALTERNATE_SERVER,
    value: encodeAddress(a),
  }),
  responseOrigin: (a: TransportAddress): StunAttribute => ({
    type: ATTR.RESPONSE_ORIGIN,
    value: encodeAddress(a),
  }),
  otherAddress: (a: TransportAddress): StunAttribute => ({
    type: ATTR.OTHER_ADDRESS,
    value: encodeAddress(a),
  }),
  username: (s: string): StunAttribute => ({ type: ATTR.USERNAME, value: utf8.encode(s) }),
  userhash: (h: Uint8Array): StunAttribute => ({ type: ATTR.USERHASH, value: h }),
  realm: (s: string): StunAttribute => ({ type: ATTR.REALM, value: utf8.encode(s) }),
  nonce: (s: string): StunAttribute => ({ type: ATTR.NONCE, value: utf8.encode(s) }),
  software: (s: string): StunAttribute => ({ type: ATTR.SOFTWARE, value: utf8.encode(s) }),
  alternateDomain: (s: string): StunAttribute => ({ type: ATTR.ALTERNATE_DOMAIN, value: utf8.encode(s) }),
  errorCode: (code: number, reason: string): StunAttribute => ({
    type: ATTR.ERROR_CODE,
    value: encodeErrorCode({ code, reason }),
  }),
  unknownAttributes: (types: readonly number[]): StunAttribute => ({
    type: ATTR.UNKNOWN_ATTRIBUTES,
    value: encodeUnknownAttributes(types),
  }),
  passwordAlgorithms: (list: readonly PasswordAlgorithmValue[]): StunAttribute => ({
    type: ATTR.PASSWORD_ALGORITHMS,
    value: encodeAlgorithms(list),
  }),
  passwordAlgorithm: (a: PasswordAlgorithmValue): StunAttribute => ({
    type: ATTR.PASSWORD_ALGORITHM,
    value: encodeAlgorithms([a]),
  }),
  priority: (p: number): StunAttribute => ({ type: ATTR.PRIORITY, value: u32(p) }),
  useCandidate: (): StunAttribute => ({ type: ATTR.USE_CANDIDATE, value: new Uint8Array(0) }),
  iceControlled: (tieBreaker: bigint): StunAttribute => ({
    type: ATTR.ICE_CONTROLLED,
    value: u64(tieBreaker),
  }),
  iceControlling: (tieBreaker: bigint): StunAttribute => ({
    type: ATTR.ICE_CONTROLLING,
    value: u64(tieBreaker),
  }),
  changeRequest: (c: ChangeRequestValue): StunAttribute => ({
    type: ATTR.CHANGE_REQUEST,
    value: u32((c.changeIp ? CHANGE_IP : 0) | (c.changePort ? CHANGE_PORT : 0)),
  }),
  /** RFC 5780 §7.5: port u16 + 2 reserved bytes. */
  responsePort: (port: number): StunAttribute => ({
    type: ATTR.RESPONSE_PORT,
    value: u32((port & 0xffff) << 16),
  }),
  padding: (n: number): StunAttribute => ({ type: ATTR.PADDING, value: new Uint8Array(n) }),
  /** RFC 8656 §18.1: channel number u16 + RFFU u16. */
  channelNumber: (n: number): StunAttribute => ({
    type: ATTR.CHANNEL_NUMBER,
    value: u32((n & 0xffff) << 16),
  }),
  lifetime: (seconds: number): StunAttribute => ({ type: ATTR.LIFETIME, value: u32(seconds) }),
  data: (d: Uint8Array): StunAttribute => ({ type: ATTR.DATA, value: d }),
  /** RFC 8656 §18.6/§18.11: family u8 + 3 reserved bytes. */
  requestedAddressFamily: (family: number): StunAttribute => ({
    type: ATTR.REQUESTED_ADDRESS_FAMILY,
    value: u32((family & 0xff) << 24),
  }),
  additionalAddressFamily: (family: number): StunAttribute => ({
    type: ATTR.ADDITIONAL_ADDRESS_FAMILY,
    value: u32((family & 0xff) << 24),
  }),
  /** RFC 8656 §18.7: one byte, R bit first. */
  evenPort: (reserveNext: boolean): StunAttribute => ({
    type: ATTR.EVEN_PORT,
    value: new Uint8Array([reserveNext ? 0x80 : 0]),
  }),
  /** RFC 8656 §18.8: protocol u8 (17 = UDP, 6 = TCP) + 3 RFFU bytes. */
  requestedTransport: (protocol: number): StunAttribute => ({
    type: ATTR.REQUESTED_TRANSPORT,
    value: u32((protocol & 0xff) << 24),
  }),
  dontFragment: (): StunAttribute => ({ type: ATTR.DONT_FRAGMENT, value: new Uint8Array(0) }),
  reservationToken: (token: Uint8Array): StunAttribute => ({ type: ATTR.RESERVATION_TOKEN, value: token }),
  /** RFC 8656 §18.12: family u8, reserved u8, class, number, reason. */
  addressErrorCode: (e: AddressErrorCodeValue): StunAttribute => {
    const v = encodeErrorCode(e);
    v[0] = e.family;
    return { type: ATTR.ADDRESS_ERROR_CODE, value: v };
  },
  /** RFC 8656 §18.13: reserved u16, ICMP type u8, ICMP code u8, error data u32. */
  icmp: (i: IcmpValue): StunAttribute => {
    const v = new Uint8Array(8);
    v[2] = i.type;
    v[3] = i.code;
    v.set(u32(i.data), 4);
    return { type: ATTR.ICMP, value: v };
  },
  /** RFC 6062 §6.2.1 */
  connectionId: (id: number): StunAttribute => ({ type: ATTR.CONNECTION_ID, value: u32(id) }),
} as const;

/* Decoders for single values. */
export const decode = {
  address: decodeAddress,
  xorAddress: decodeXorAddress,
  errorCode: decodeErrorCode,
  unknownAttributes: decodeUnknownAttributes,
  passwordAlgorithms: decodePasswordAlgorithms,
  passwordAlgorithm: decodePasswordAlgorithm,
  /** USERNAME is at most 513 bytes (RFC 8489 §14.3). */
  username: (v: Uint8Array): string => decodeString(v, 'USERNAME', 513),
  /** REALM, NONCE, SOFTWARE: fewer than 128 characters, at most 763 bytes (RFC 8489 §14.9-§14.14). */
  realm: (v: Uint8Array): string => decodeString(v, 'REALM', 763),
  nonce: (v: Uint8Array): string => decodeString(v, 'NONCE', 763),
  software: (v: Uint8Array): string => decodeString(v, 'SOFTWARE', 763),
  alternateDomain: (v: Uint8Array): string => decodeString(v, 'ALTERNATE-DOMAIN', 255),
  userhash: (v: Uint8Array): Uint8Array => {
    if (v.length !== 32) new ByteReader(v, 'stun').fail('USERHASH', `length ${v.length}, expected 32`);
    return v;
  },
  priority: (v: Uint8Array): number => decodeU32(v, 'PRIORITY'),
  tieBreaker: (v: Uint8Array): bigint => decodeU64(v, 'ICE-CONTROLLED/CONTROLLING'),
  changeRequest: (v: Uint8Array): ChangeRequestValue => {
    const f = decodeU32(v, 'CHANGE-REQUEST');
    return { changeIp: (f & CHANGE_IP) !== 0, changePort: (f & CHANGE_PORT) !== 0 };
  },
  responsePort: (v: Uint8Array): number => decodeU32(v, 'RESPONSE-PORT') >>> 16,
  channelNumber: (v: Uint8Array): number => decodeU32(v, 'CHANNEL-NUMBER') >>> 16,
  lifetime: (v: Uint8Array): number => decodeU32(v, 'LIFETIME'),
  addressFamily: (v: Uint8Array): number => decodeU32(v, 'ADDRESS-FAMILY') >>> 24,
  evenPort: (v: Uint8Array): boolean => {
    const r = new ByteReader(v, 'stun');
    const b = r.u8('EVEN-PORT');
    if (r.remaining !== 0) r.fail('EVEN-PORT', 'expected 1 byte');
    return (b & 0x80) !== 0;
  },
  requestedTransport: (v: Uint8Array): number => decodeU32(v, 'REQUESTED-TRANSPORT') >>> 24,
  reservationToken: (v: Uint8Array): Uint8Array => {
    if (v.length !== 8) new ByteReader(v, 'stun').fail('RESERVATION-TOKEN', `length ${v.length}, expected 8`);
    return v;
  },
  addressErrorCode: (v: Uint8Array): AddressErrorCodeValue => {
    const e = decodeErrorCode(v);
    return { family: v[0]!, code: e.code, reason: e.reason };
  },
  icmp: (v: Uint8Array): IcmpValue => {
    const r = new ByteReader(v, 'stun');
    r.u16('ICMP reserved');
    const type = r.u8('ICMP type');
    const code = r.u8('ICMP code');
    const data = r.u32('ICMP data');
    if (r.remaining !== 0) r.fail('ICMP', 'expected 8 bytes');
    return { type, code, data };
  },
  connectionId: (v: Uint8Array): number => decodeU32(v, 'CONNECTION-ID'),
} as const;

function find<T>(msg: StunMessage, type: number, f: (v: Uint8Array) => T): T | undefined {
  const a = getAttribute(msg, type);
  return a ? f(a.value) : undefined;
}

/** Find and decode an attribute of a message; undefined when absent, ParseError when malformed. */
export const read = {
  mappedAddress: (m: StunMessage) => find(m, ATTR.MAPPED_ADDRESS, decodeAddress),
  xorMappedAddress: (m: StunMessage) =>
    find(m, ATTR.XOR_MAPPED_ADDRESS, (v) => decodeXorAddress(v, m.transactionId)),
  xorPeerAddress: (m: StunMessage) =>
    find(m, ATTR.XOR_PEER_ADDRESS, (v) => decodeXorAddress(v, m.transactionId)),
  /** All XOR-PEER-ADDRESS attributes (CreatePermission may carry several). */
  xorPeerAddresses: (m: StunMessage): TransportAddress[] =>
    m.attributes
      .filter((a) => a.type === ATTR.XOR_PEER_ADDRESS)
      .map((a) => decodeXorAddress(a.value, m.transactionId)),
  xorRelayedAddress: (m: StunMessage) =>
    find(m, ATTR.XOR_RELAYED_ADDRESS, (v) => decodeXorAddress(v, m.transactionId)),
  alternateServer: (m: StunMessage) => find(m, ATTR.ALTERNATE_SERVER, decodeAddress),
  responseOrigin: (m: StunMessage) => find(m, ATTR.RESPONSE_ORIGIN, decodeAddress),
  otherAddress: (m: StunMessage) => find(m, ATTR.OTHER_ADDRESS, decodeAddress),
  username: (m: StunMessage) => find(m, ATTR.USERNAME, decode.username),
  userhash: (m: StunMessage) => find(m, ATTR.USERHASH, decode.userhash),
  realm: (m: StunMessage) => find(m, ATTR.REALM, decode.realm),
  nonce: (m: StunMessage) => find(m, ATTR.NONCE, decode.nonce),
  software: (m: StunMessage) => find(m, ATTR.SOFTWARE, decode.software),
  alternateDomain: (m: StunMessage) => find(m, ATTR.ALTERNATE_DOMAIN, decode.alternateDomain),
  errorCode: (m: StunMessage) => find(m, ATTR.ERROR_CODE, decodeErrorCode),
  unknownAttributes: (m: StunMessage) => find(m, ATTR.UNKNOWN_ATTRIBUTES, decodeUnknownAttributes),
  passwordAlgorithms: (m: StunMessage) => find(m, ATTR.PASSWORD_ALGORITHMS, decodePasswordAlgorithms),
  passwordAlgorithm: (m: StunMessage) => find(m, ATTR.PASSWORD_ALGORITHM, decodePasswordAlgorithm),
  priority: (m: StunMessage) => find(m, ATTR.PRIORITY, decode.priority),
  useCandidate: (m: StunMessage): boolean => getAttribute(m, ATTR.USE_CANDIDATE) !== undefined,
  iceControlled: (m: StunMessage) => find(m, ATTR.ICE_CONTROLLED, decode.tieBreaker),
  iceControlling: (m: StunMessage) => find(m, ATTR.ICE_CONTROLLING, decode.tieBreaker),
  changeRequest: (m: StunMessage) => find(m, ATTR.CHANGE_REQUEST, decode.changeRequest),
  responsePort: (m: StunMessage) => find(m, ATTR.RESPONSE_PORT, decode.responsePort),
  padding: (m: StunMessage) => find(m, ATTR.PADDING, (v) => v),
  channelNumber: (m: StunMessage) => find(m, ATTR.CHANNEL_NUMBER, decode.channelNumber),
  lifetime: (m: StunMessage) => find(m, ATTR.LIFETIME, decode.lifetime),
  data: (m: StunMessage) => find(m, ATTR.DATA, (v) => v),
  requestedAddressFamily: (m: StunMessage) => find(m, ATTR.REQUESTED_ADDRESS_FAMILY, decode.addressFamily),
  additionalAddressFamily: (m: StunMessage) => find(m, ATTR.ADDITIONAL_ADDRESS_FAMILY, decode.addressFamily),
  evenPort: (m: StunMessage) => find(m, ATTR.EVEN_PORT, decode.evenPort),
  requestedTransport: (m: StunMessage) => find(m, ATTR.REQUESTED_TRANSPORT, decode.requestedTransport),
  dontFragment: (m: StunMessage): boolean => getAttribute(m, ATTR.DONT_FRAGMENT) !== undefined,
  reservationToken: (m: StunMessage) => find(m, ATTR.RESERVATION_TOKEN, decode.reservationToken),
  addressErrorCode: (m: StunMessage) => find(m, ATTR.ADDRESS_ERROR_CODE, decode.addressErrorCode),
  icmp: (m: StunMessage) => find(m, ATTR.ICMP, decode.icmp),
  connectionId: (m: StunMessage) => find(m, ATTR.CONNECTION_ID, decode.connectionId),
} as const;

/**
 * Comprehension-required attribute types in the message that this codec does not know (RFC 8489
 * §6.3.1: a request with any of them gets a 420 with UNKNOWN-ATTRIBUTES).
 */
export function unknownComprehensionRequired(msg: StunMessage, known: ReadonlySet<number>): number[] {
  const out: number[] = [];
  for (const a of msg.attributes)
    if (a.type < 0x8000 && !known.has(a.type) && !out.includes(a.type)) out.push(a.type);
  return out;
}
