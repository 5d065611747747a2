/**
 * SCTP packets (RFC 9260 §3): a 12-byte common header and bundled chunks.
 *
 *   |     Source Port Number        |     Destination Port Number   |
 *   |                      Verification Tag                         |
 *   |                           Checksum                            |
 *   |                     chunks (each padded to 4 bytes)...        |
 *
 * The checksum is CRC32c stored little-endian (the reflected CRC's natural byte order), or zero when
 * both ends agreed to RFC 9653 zero checksum.
 */
import { ByteWriter } from '../core/bytes.js';
import { ParseError } from '../core/errors.js';
import { parseChunk, writeChunk } from './chunk-codec.js';
import type { Chunk } from './chunk-types.js';
import { COMMON_HEADER_SIZE } from './constants.js';
import { sctpChecksum } from './crc32c.js';

export interface SctpPacket {
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly verificationTag: number;
  readonly chunks: readonly Chunk[];
}

export interface PacketHeader {
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly verificationTag: number;
  readonly checksum: number;
}

export function readHeader(buf: Uint8Array): PacketHeader {
  if (buf.length < COMMON_HEADER_SIZE) {
    throw new ParseError('sctp', 'header', 0, `packet of ${buf.length} byte(s) is shorter than 12`);
  }
  return {
    sourcePort: (buf[0]! << 8) | buf[1]!,
    destinationPort: (buf[2]! << 8) | buf[3]!,
    verificationTag: ((buf[4]! << 24) | (buf[5]! << 16) | (buf[6]! << 8) | buf[7]!) >>> 0,
    checksum: (buf[8]! | (buf[9]! << 8) | (buf[10]! << 16) | (buf[11]! << 24)) >>> 0,
  };
}

/** True when the stored checksum is the CRC32c, or is zero and zero checksum is acceptable. */
export function checksumOk(buf: Uint8Array, acceptZero: boolean): boolean {
  const stored = (buf[8]! | (buf[9]! << 8) | (buf[10]! << 16) | (buf[11]! << 24)) >>> 0;
  if (stored === 0 && acceptZero) return true;
  return stored === sctpChecksum(buf);
}

/** Write the checksum field: CRC32c, or zero. */
export function setChecksum(buf: Uint8Array, zero: boolean): void {
  const c = zero ? 0 : sctpChecksum(buf);
  buf[8] = c & 0xff;
  buf[9] = (c >>> 8) & 0xff;
  buf[10] = (c >>> 16) & 0xff;
  buf[11] = c >>> 24;
}

export function writeHeader(buf: Uint8Array, sourcePort: number, destinationPort: number, tag: number): void {
  buf[0] = sourcePort >>> 8;
  buf[1] = sourcePort & 0xff;
  buf[2] = destinationPort >>> 8;
  buf[3] = destinationPort & 0xff;
  buf[4] = tag >>> 24;
  buf[5] = (tag >>> 16) & 0xff;
  buf[6] = (tag >>> 8) & 0xff;
  buf[7] = tag & 0xff;
}

/**
 * Walk the chunks of a packet, calling `fn(type, at, length)` with each chunk's offset and declared
 * length (without padding). Throws ParseError on a truncated or zero-length chunk; `fn` returns false
 * to stop early.
 */
export function forEachChunk(
  buf: Uint8Array,
  fn: (type: number, at: number, length: number) => boolean,
): void {
  let at = COMMON_HEADER_SIZE;
  while (at < buf.length) {
    if (buf.length - at < 4) throw new ParseError('sctp', 'chunk.header', at, 'truncated chunk header');
    const length = (buf[at + 2]! << 8) | buf[at + 3]!;
    if (length < 4) throw new ParseError('sctp', 'chunk.length', at + 2, `chunk length ${length} < 4`);
    if (at + length > buf.length) {
      throw new ParseError('sctp', 'chunk.length', at + 2, `chunk of ${length} runs past the packet`);
    }
    if (!fn(buf[at]!, at, length)) return;
    at += (length + 3) & ~3;
  }
}

/** Parse a whole packet (checksum not checked: see checksumOk). */
export function parsePacket(buf: Uint8Array): SctpPacket {
  const h = readHeader(buf);
  const chunks: Chunk[] = [];
  forEachChunk(buf, (_type, at, length) => {
    chunks.push(parseChunk(buf, at, length));
    return true;
  });
  return {
    sourcePort: h.sourcePort,
    destinationPort: h.destinationPort,
    verificationTag: h.verificationTag,
    chunks,
  };
}

/** Serialize a packet with its chunks bundled, with a CRC32c (or zero) checksum. */
export function serializePacket(p: SctpPacket, options: { zeroChecksum?: boolean } = {}): Uint8Array {
  const w = new ByteWriter(256);
  w.u16(p.sourcePort).u16(p.destinationPort).u32(p.verificationTag).u32(0);
  for (const c of p.chunks) writeChunk(w, c);
  const out = w.finish();
  setChecksum(out, options.zeroChecksum ?? false);
  return out;
}
