/**
 * SACK (RFC 9260 §3.3.4) written straight into an outgoing packet, without a chunk object:
 *
 *   | Type = 3 | Flags | Length | Cumulative TSN Ack | a_rwnd | #gaps | #dups |
 *   | gap start | gap end | ... | duplicate TSN | ...
 */
import type { Inbound } from './inbound.js';

function put32(buf: Uint8Array, o: number, v: number): void {
  buf[o] = v >>> 24;
  buf[o + 1] = v >>> 16;
  buf[o + 2] = v >>> 8;
  buf[o + 3] = v;
}

/** Write the receiver's current SACK at `at`; returns the offset after it. */
export function writeSack(buf: Uint8Array, at: number, inb: Inbound): number {
  const gaps = inb.gapBlocks();
  const dups = inb.takeDups();
  const len = 16 + 4 * gaps.length + 4 * dups.length;
  buf[at] = 3;
  buf[at + 1] = 0;
  buf[at + 2] = len >>> 8;
  buf[at + 3] = len;
  put32(buf, at + 4, inb.cumTsn);
  put32(buf, at + 8, inb.aRwnd);
  buf[at + 12] = gaps.length >>> 8;
  buf[at + 13] = gaps.length;
  buf[at + 14] = dups.length >>> 8;
  buf[at + 15] = dups.length;
  let o = at + 16;
  for (const g of gaps) {
    buf[o] = g.start >>> 8;
    buf[o + 1] = g.start;
    buf[o + 2] = g.end >>> 8;
    buf[o + 3] = g.end;
    o += 4;
  }
  for (const d of dups) {
    put32(buf, o, d);
    o += 4;
  }
  return o;
}
