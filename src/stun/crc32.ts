/**
 * CRC-32 (ISO 3309 / ITU-T V.42, the one FINGERPRINT uses, RFC 8489 §14.7). Node 20.15+ ships
 * zlib.crc32 (native); older runtimes get a table-driven fallback. Not a cryptographic primitive.
 */
import * as zlib from 'node:zlib';

type Crc32 = (data: Uint8Array) => number;

let TABLE: Uint32Array | undefined;
function tableCrc32(data: Uint8Array): number {
  if (!TABLE) {
    TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      TABLE[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const native = (zlib as unknown as { crc32?: (d: Uint8Array) => number }).crc32;

/** CRC-32 of the bytes as an unsigned 32-bit number. */
export const crc32: Crc32 = native ? (d) => native(d) >>> 0 : tableCrc32;

/** The portable implementation, exported so tests can compare it with the native one. */
export const crc32Table: Crc32 = tableCrc32;
