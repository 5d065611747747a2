/**
 * CRC32c (Castagnoli, reflected polynomial 0x82F63B78), the SCTP checksum (RFC 9260 appendix A).
 * node:crypto has no CRC, and it is not a cryptographic primitive, so it lives here. Slice-by-8:
 * eight 256-entry tables let the loop consume eight bytes per iteration.
 */
const POLY = 0x82f63b78;

const TABLES: Uint32Array = (() => {
  const t = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    let c = t[i]!;
    for (let s = 1; s < 8; s++) {
      c = (t[c & 0xff]! ^ (c >>> 8)) >>> 0;
      t[s * 256 + i] = c;
    }
  }
  return t;
})();

/** Continue a CRC32c over `buf[start..end)`; pass the raw (not inverted) state. */
function update(crc: number, buf: Uint8Array, start: number, end: number): number {
  const T = TABLES;
  let i = start;
  let c = crc;
  const fast = end - ((end - i) & 7);
  while (i < fast) {
    const lo = c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    const hi = buf[i + 4]! | (buf[i + 5]! << 8) | (buf[i + 6]! << 16) | (buf[i + 7]! << 24);
    c =
      T[1792 + (lo & 0xff)]! ^
      T[1536 + ((lo >>> 8) & 0xff)]! ^
      T[1280 + ((lo >>> 16) & 0xff)]! ^
      T[1024 + (lo >>> 24)]! ^
      T[768 + (hi & 0xff)]! ^
      T[512 + ((hi >>> 8) & 0xff)]! ^
      T[256 + ((hi >>> 16) & 0xff)]! ^
      T[hi >>> 24]!;
    i += 8;
  }
  while (i < end) c = T[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
  return c;
}

/** CRC32c of `buf[start..end)`, as an unsigned 32-bit number. */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  return ~update(0xffffffff, buf, start, end) >>> 0;
}

const ZERO4 = new Uint8Array(4);

/**
 * The SCTP packet checksum: CRC32c over the packet with the checksum field (bytes 8..11) taken as
 * zero, without modifying the packet.
 */
export function sctpChecksum(packet: Uint8Array): number {
  let c = update(0xffffffff, packet, 0, 8);
  c = update(c, ZERO4, 0, 4);
  c = update(c, packet, 12, packet.length);
  return ~c >>> 0;
}
