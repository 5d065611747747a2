/**
 * DATA (RFC 9260 §3.3.1) and I-DATA (RFC 8260 §2.1): the hot path, so writing goes straight into the
 * packet buffer and the payload is a view into the received datagram.
 *
 *  DATA:  type=0 | res|I|U|B|E | length          I-DATA: type=64 | res|I|U|B|E | length
 *         TSN                                            TSN
 *         stream id | SSN                                stream id | reserved
 *         PPID                                           MID
 *         payload...                                     PPID (B=1) or FSN (B=0)
 *                                                        payload...
 */
import { ParseError } from '../core/errors.js';
import type { DataChunk } from './chunk-types.js';
import { CHUNK_I_DATA, DATA_HEADER_SIZE, I_DATA_HEADER_SIZE } from './constants.js';

export const FLAG_END = 1;
export const FLAG_BEGINNING = 2;
export const FLAG_UNORDERED = 4;
export const FLAG_IMMEDIATE = 8;

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/**
 * Parse a DATA or I-DATA chunk whose header starts at `at` and whose declared length (without padding)
 * is `length`, already checked to lie inside `buf`.
 */
export function parseDataChunk(buf: Uint8Array, at: number, length: number): DataChunk {
  const type = buf[at]!;
  const flags = buf[at + 1]!;
  const idata = type === CHUNK_I_DATA;
  const header = idata ? I_DATA_HEADER_SIZE : DATA_HEADER_SIZE;
  if (length < header) throw new ParseError('sctp', 'data.length', at + 2, `length ${length} < ${header}`);
  if (length === header) throw new ParseError('sctp', 'data.payload', at + header, 'no user data');
  const beginning = (flags & FLAG_BEGINNING) !== 0;
  const tsn = u32(buf, at + 4);
  const streamId = (buf[at + 8]! << 8) | buf[at + 9]!;
  let seq: number;
  let fsn = 0;
  let ppid = 0;
  if (idata) {
    seq = u32(buf, at + 12);
    const last = u32(buf, at + 16);
    if (beginning) ppid = last;
    else fsn = last;
  } else {
    seq = (buf[at + 10]! << 8) | buf[at + 11]!;
    ppid = u32(buf, at + 12);
  }
  return {
    type: idata ? 64 : 0,
    unordered: (flags & FLAG_UNORDERED) !== 0,
    beginning,
    end: (flags & FLAG_END) !== 0,
    immediate: (flags & FLAG_IMMEDIATE) !== 0,
    tsn,
    streamId,
    seq,
    fsn,
    ppid,
    payload: buf.subarray(at + header, at + length),
  };
}

/** Size on the wire including padding. */
export function dataChunkSize(idata: boolean, payloadLength: number): number {
  return ((idata ? I_DATA_HEADER_SIZE : DATA_HEADER_SIZE) + payloadLength + 3) & ~3;
}

/**
 * Write a DATA / I-DATA chunk at `at` (padding zeroed) and return the offset after it. The caller
 * guarantees room.
 */
export function writeDataChunk(
  out: Uint8Array,
  at: number,
  idata: boolean,
  flags: number,
  tsn: number,
  streamId: number,
  seq: number,
  fsn: number,
  ppid: number,
  payload: Uint8Array,
): number {
  const header = idata ? I_DATA_HEADER_SIZE : DATA_HEADER_SIZE;
  const length = header + payload.length;
  out[at] = idata ? CHUNK_I_DATA : 0;
  out[at + 1] = flags;
  out[at + 2] = length >>> 8;
  out[at + 3] = length & 0xff;
  out[at + 4] = tsn >>> 24;
  out[at + 5] = tsn >>> 16;
  out[at + 6] = tsn >>> 8;
  out[at + 7] = tsn;
  out[at + 8] = streamId >>> 8;
  out[at + 9] = streamId;
  let last: number;
  if (idata) {
    out[at + 10] = 0;
    out[at + 11] = 0;
    out[at + 12] = seq >>> 24;
    out[at + 13] = seq >>> 16;
    out[at + 14] = seq >>> 8;
    out[at + 15] = seq;
    last = flags & FLAG_BEGINNING ? ppid : fsn;
    out[at + 16] = last >>> 24;
    out[at + 17] = last >>> 16;
    out[at + 18] = last >>> 8;
    out[at + 19] = last;
  } else {
    out[at + 10] = seq >>> 8;
    out[at + 11] = seq;
    out[at + 12] = ppid >>> 24;
    out[at + 13] = ppid >>> 16;
    out[at + 14] = ppid >>> 8;
    out[at + 15] = ppid;
  }
  out.set(payload, at + header);
  let end = at + length;
  while (end & 3) out[end++] = 0;
  return end;
}

export function dataChunkFlags(c: Pick<DataChunk, 'unordered' | 'beginning' | 'end' | 'immediate'>): number {
  return (
    (c.end ? FLAG_END : 0) |
    (c.beginning ? FLAG_BEGINNING : 0) |
    (c.unordered ? FLAG_UNORDERED : 0) |
    (c.immediate ? FLAG_IMMEDIATE : 0)
  );
}
