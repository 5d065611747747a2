/**
 * Send and Data indications on the relay's hot path (RFC 8656 §11), without building attribute
 * objects: a Send indication is read in place (`readSendIndication`), a Data indication is written
 * straight into an output buffer (`writeDataIndication`). Both handle the one shape that matters
 * (XOR-PEER-ADDRESS + DATA, optionally DONT-FRAGMENT and FINGERPRINT); anything else is left to
 * the generic STUN codec, so behaviour on odd input is the codec's.
 *
 *   Send/Data indication:  | 0x0016/0x0017 | Length | Magic Cookie | Transaction ID (96 bits) |
 *                          | XOR-PEER-ADDRESS (0x0012): 0x00 | Family | X-Port | X-Address |
 *                          | DATA (0x0013): Length | bytes ... padded to 4 |
 */
import { ByteReader } from '../../core/bytes.js';
import { ParseError } from '../../core/errors.js';
import type { Random } from '../../core/random.js';
import { padTo4 } from '../../stun/channel-data.js';
import {
  ATTR,
  FAMILY_IPV4,
  FAMILY_IPV6,
  FINGERPRINT_XOR,
  HEADER_SIZE,
  MAGIC_COOKIE,
  METHOD,
} from '../../stun/constants.js';
import { crc32 } from '../../stun/crc32.js';
import { encodeMessageType } from '../../stun/message.js';

/** RFC 8656 §18.1: Send indication message type (method 0x006, class indication). */
export const SEND_INDICATION_TYPE = encodeMessageType(METHOD.SEND, 'indication');
/** RFC 8656 §18.1: Data indication message type (method 0x007, class indication). */
export const DATA_INDICATION_TYPE = encodeMessageType(METHOD.DATA, 'indication');

/** Where the parts of a Send indication are, as offsets into its bytes (filled in place). */
export interface SendIndicationFields {
  /** Offset of the XOR-mapped address bytes (4 for IPv4, 16 for IPv6). */
  ipOffset: number;
  ipLength: number;
  /** The peer port (un-XORed). */
  port: number;
  dataOffset: number;
  dataLength: number;
}

/**
 * Read a Send indication in place into `out`. False when `bytes` is not a Send indication of the
 * usual shape (other attributes, a bad FINGERPRINT, malformed): the caller then hands it to the
 * generic codec, which counts and drops what is malformed.
 */
export function readSendIndication(bytes: Uint8Array, out: SendIndicationFields): boolean {
  try {
    return readSend(bytes, out);
  } catch (err) {
    if (err instanceof ParseError) return false;
    throw err;
  }
}

function readSend(bytes: Uint8Array, out: SendIndicationFields): boolean {
  const r = new ByteReader(bytes, 'turn');
  if (r.u16('message type') !== SEND_INDICATION_TYPE) return false;
  const length = r.u16('message length');
  if (length + HEADER_SIZE !== bytes.length || (length & 3) !== 0) return false;
  if (r.u32('magic cookie') !== MAGIC_COOKIE) return false;
  r.skip(12, 'transaction id');
  let peer = false;
  let data = false;
  while (r.remaining > 0) {
    const at = r.offset;
    const type = r.u16('attribute type');
    const len = r.u16('attribute length');
    const valueAt = r.offset;
    r.skip(padTo4(len), 'attribute value');
    if (type === ATTR.XOR_PEER_ADDRESS) {
      if (peer) continue; // later copies are ignored, as the codec's first-match reading does
      if (len < 4) return false;
      const family = bytes[valueAt + 1];
      const ipLength = family === FAMILY_IPV4 ? 4 : family === FAMILY_IPV6 ? 16 : 0;
      if (ipLength === 0 || len !== 4 + ipLength) return false;
      out.port = ((bytes[valueAt + 2]! << 8) | bytes[valueAt + 3]!) ^ (MAGIC_COOKIE >>> 16);
      out.ipOffset = valueAt + 4;
      out.ipLength = ipLength;
      peer = true;
    } else if (type === ATTR.DATA) {
      if (data) continue;
      out.dataOffset = valueAt;
      out.dataLength = len;
      data = true;
    } else if (type === ATTR.FINGERPRINT) {
      // RFC 8489 §14.7: last attribute, CRC-32 of everything before it XOR 0x5354554E.
      if (len !== 4 || r.remaining !== 0) return false;
      const want = (crc32(bytes.subarray(0, at)) ^ FINGERPRINT_XOR) >>> 0;
      const got =
        ((bytes[valueAt]! << 24) |
          (bytes[valueAt + 1]! << 16) |
          (bytes[valueAt + 2]! << 8) |
          bytes[valueAt + 3]!) >>>
        0;
      if (got !== want) return false;
    } else if (type !== ATTR.DONT_FRAGMENT) {
      return false;
    }
  }
  return peer && data;
}

/** Bytes of a Data indication carrying `dataLength` bytes from a peer with an IP of `ipLength`. */
export function dataIndicationLength(ipLength: number, dataLength: number): number {
  return HEADER_SIZE + 4 + 4 + ipLength + 4 + padTo4(dataLength);
}

/**
 * Write a Data indication (RFC 8656 §11.3) into `out` (at least `dataIndicationLength` bytes):
 * XOR-PEER-ADDRESS for the peer (`ip`: 4 or 16 bytes) and DATA. A fresh transaction id from
 * `random`. Returns the length written.
 */
export function writeDataIndication(
  out: Uint8Array,
  random: Random,
  ip: Uint8Array,
  port: number,
  data: Uint8Array,
): number {
  const ipLength = ip.length;
  const dataLength = data.length;
  const total = dataIndicationLength(ipLength, dataLength);
  const bodyLength = total - HEADER_SIZE;
  out[0] = DATA_INDICATION_TYPE >> 8;
  out[1] = DATA_INDICATION_TYPE & 0xff;
  out[2] = bodyLength >> 8;
  out[3] = bodyLength & 0xff;
  out[4] = 0x21;
  out[5] = 0x12;
  out[6] = 0xa4;
  out[7] = 0x42;
  for (let i = 8; i < 20; i += 4) {
    const v = random.u32();
    out[i] = v >>> 24;
    out[i + 1] = (v >>> 16) & 0xff;
    out[i + 2] = (v >>> 8) & 0xff;
    out[i + 3] = v & 0xff;
  }
  // XOR-PEER-ADDRESS (RFC 8656 §18.3, encoded as XOR-MAPPED-ADDRESS, RFC 8489 §14.2).
  out[20] = ATTR.XOR_PEER_ADDRESS >> 8;
  out[21] = ATTR.XOR_PEER_ADDRESS & 0xff;
  out[22] = 0;
  out[23] = 4 + ipLength;
  out[24] = 0;
  out[25] = ipLength === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
  const xport = port ^ (MAGIC_COOKIE >>> 16);
  out[26] = xport >> 8;
  out[27] = xport & 0xff;
  // The address is XORed with the magic cookie and then the transaction id (bytes 4..19 of the header).
  for (let i = 0; i < ipLength; i++) out[28 + i] = ip[i]! ^ out[4 + i]!;
  let at = 28 + ipLength;
  out[at] = ATTR.DATA >> 8;
  out[at + 1] = ATTR.DATA & 0xff;
  out[at + 2] = dataLength >> 8;
  out[at + 3] = dataLength & 0xff;
  at += 4;
  out.set(data, at);
  at += dataLength;
  while (at < total) out[at++] = 0;
  return total;
}
