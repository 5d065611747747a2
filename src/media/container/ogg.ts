/**
 * Ogg pages (RFC 3533) and the Ogg encapsulation of Opus (RFC 7845).
 *
 *   "OggS" | version | header type | granule position (i64 LE) | serial (u32 LE) |
 *   page sequence (u32 LE) | CRC (u32 LE) | segment count | lacing values | data
 */
import { ByteReader } from '../../core/bytes.js';

/** RFC 3533 §6 header_type flags. */
export const OGG_CONTINUED = 0x01;
export const OGG_BOS = 0x02;
export const OGG_EOS = 0x04;

const CRC_TABLE = (() => {
  // CRC-32 with polynomial 0x04c11db7, not reflected, initial value 0 (RFC 3533 §6).
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

export function oggCrc(data: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < data.length; i++)
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ data[i]!) & 0xff]!) >>> 0;
  return crc;
}

export interface OggPacket {
  readonly data: Uint8Array;
  /** Granule position of the page where the packet ends (-1 when no packet ends there). */
  readonly granule: number;
  readonly serial: number;
}

/** The packets of an Ogg file (one logical stream or several, in page order). CRCs are checked. */
export function parseOgg(file: Uint8Array): OggPacket[] {
  const r = new ByteReader(file, 'ogg');
  const out: OggPacket[] = [];
  const partial = new Map<number, Uint8Array[]>();
  while (r.remaining > 0) {
    const start = r.offset;
    if (String.fromCharCode(...r.bytes(4, 'capture pattern')) !== 'OggS')
      r.fail('capture pattern', 'not OggS');
    if (r.u8('version') !== 0) r.fail('version', 'not 0');
    const type = r.u8('header type');
    const g = r.bytes(8, 'granule position');
    const granuleHi = (g[4]! | (g[5]! << 8) | (g[6]! << 16) | (g[7]! << 24)) >>> 0;
    const granuleLo = (g[0]! | (g[1]! << 8) | (g[2]! << 16) | (g[3]! << 24)) >>> 0;
    const granule = granuleHi === 0xffffffff ? -1 : granuleHi * 2 ** 32 + granuleLo;
    const s = r.bytes(4, 'serial');
    const serial = (s[0]! | (s[1]! << 8) | (s[2]! << 16) | (s[3]! << 24)) >>> 0;
    r.skip(4, 'page sequence');
    const c = r.bytes(4, 'crc');
    const crc = (c[0]! | (c[1]! << 8) | (c[2]! << 16) | (c[3]! << 24)) >>> 0;
    const lacing = r.bytes(r.u8('segment count'), 'lacing values');
    const bodySize = lacing.reduce((a, b) => a + b, 0);
    const body = r.bytes(bodySize, 'page body');
    const page = Uint8Array.from(file.subarray(start, r.offset));
    page.fill(0, 22, 26);
    if (oggCrc(page) !== crc) r.fail('crc', 'page checksum mismatch');
    let parts = type & OGG_CONTINUED ? (partial.get(serial) ?? []) : [];
    let at = 0;
    let seg = 0;
    for (let i = 0; i < lacing.length; i++) {
      seg += lacing[i]!;
      if (lacing[i]! < 255) {
        parts.push(body.subarray(at, at + seg));
        at += seg;
        seg = 0;
        out.push({ data: Buffer.concat(parts), granule, serial });
        parts = [];
      }
    }
    if (seg > 0 || (lacing.length > 0 && lacing[lacing.length - 1] === 255))
      parts.push(body.subarray(at, at + seg));
    partial.set(serial, parts);
  }
  return out;
}

/** Writes one logical stream: each `write` call puts one packet on a page of its own. */
export class OggWriter {
  readonly #sink: (chunk: Uint8Array) => void;
  readonly #serial: number;
  #sequence = 0;
  #first = true;

  constructor(sink: (chunk: Uint8Array) => void, serial: number) {
    this.#sink = sink;
    this.#serial = serial >>> 0;
  }

  /** One packet on one page; `granule` is the page's granule position (RFC 3533 §6). */
  write(packet: Uint8Array, granule: number, last = false): void {
    // Packets up to 255*255-1 bytes fit one page; Opus packets and headers always do.
    if (packet.length > 255 * 255 - 1) throw new RangeError(`Ogg packet of ${packet.length} bytes`);
    const segs = Math.floor(packet.length / 255) + 1;
    const page = Buffer.alloc(27 + segs + packet.length);
    page.write('OggS', 0, 'latin1');
    page[5] = (this.#first ? OGG_BOS : 0) | (last ? OGG_EOS : 0);
    page.writeUInt32LE(granule % 2 ** 32, 6);
    page.writeUInt32LE(Math.floor(granule / 2 ** 32), 10);
    page.writeUInt32LE(this.#serial, 14);
    page.writeUInt32LE(this.#sequence++, 18);
    page[26] = segs;
    for (let i = 0; i < segs - 1; i++) page[27 + i] = 255;
    page[27 + segs - 1] = packet.length % 255;
    page.set(packet, 27 + segs);
    page.writeUInt32LE(oggCrc(page), 22);
    this.#first = false;
    this.#sink(new Uint8Array(page.buffer, page.byteOffset, page.length));
  }
}
