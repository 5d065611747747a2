/**
 * CRC-32 (ISO 3309 / ITU-T V.42, the one FINGERPRINT uses, RFC 8489 §14.7). Node 20.15+ ships
 * zlib.crc32 (native); older runtimes get a table-driven fallback. Not a cryptographic primitive.
 */
import * as zlib from 'node:zlib';

type Crc32 = (data: Uint8Array) => number;

const TABLE = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c >>> 0;
}

/**
 * CRC-32 of `data[start..end)` in JavaScript. For the short messages of STUN's hot path this beats
 * a native call (no subarray, no crossing into C++).
 */
export function crc32Range(data: Uint8Array, start: number, end: number): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function tableCrc32(data: Uint8Array): number {
  return crc32Range(data, 0, data.length);
}

const native = (zlib as unknown as { crc32?: (d: Uint8Array) => number }).crc32;

/** CRC-32 of the bytes as an unsigned 32-bit number. */
export const crc32: Crc32 = native ? (d) => native(d) >>> 0 : tableCrc32;

/** The portable implementation, exported so tests can compare it with the native one. */
export const crc32Table: Crc32 = tableCrc32;
