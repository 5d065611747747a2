/**
 * Feedback messages (RFC 4585 §6): generic NACK, PLI, FIR (RFC 5104 §4.3.1) and REMB
 * (draft-alvestrand-rmcat-remb-03 §2.2).
 *
 *  common feedback header:  |V=2|P|  FMT  |  PT  |  length  |
 *                           |     SSRC of packet sender      |
 *                           |     SSRC of media source       |
 *                           :  feedback control information  :
 */

import type { ByteReader, ByteWriter } from '../core/bytes.js';
import type { RtcpPadding } from './header.js';

export interface GenericNack extends RtcpPadding {
  readonly type: 'nack';
  readonly senderSsrc: number;
  readonly mediaSsrc: number;
  /** Lost sequence numbers. */
  readonly lost: readonly number[];
}
export interface PictureLossIndication extends RtcpPadding {
  readonly type: 'pli';
  readonly senderSsrc: number;
  readonly mediaSsrc: number;
}
export interface FullIntraRequest extends RtcpPadding {
  readonly type: 'fir';
  readonly senderSsrc: number;
  readonly entries: readonly { readonly ssrc: number; readonly sequenceNumber: number }[];
}
export interface Remb extends RtcpPadding {
  readonly type: 'remb';
  readonly senderSsrc: number;
  /** Estimated total bitrate in bits per second. */
  readonly bitrate: number;
  readonly ssrcs: readonly number[];
}

/** NACK FCI (RFC 4585 §6.2.1): PID (16) | BLP (16); bit i of BLP means PID + i + 1 was lost. */
export function parseNack(r: ByteReader, senderSsrc: number, mediaSsrc: number): GenericNack {
  const lost: number[] = [];
  while (r.remaining >= 4) {
    const pid = r.u16('nack pid');
    const blp = r.u16('nack blp');
    lost.push(pid);
    for (let i = 0; i < 16; i++) if (blp & (1 << i)) lost.push((pid + i + 1) & 0xffff);
  }
  return { type: 'nack', senderSsrc, mediaSsrc, lost };
}

export function writeNack(w: ByteWriter, p: GenericNack): void {
  w.u32(p.senderSsrc).u32(p.mediaSsrc);
  let i = 0;
  const lost = p.lost;
  while (i < lost.length) {
    const pid = lost[i]! & 0xffff;
    let blp = 0;
    i++;
    while (i < lost.length) {
      const d = (lost[i]! - pid) & 0xffff;
      if (d === 0 || d > 16) break;
      blp |= 1 << (d - 1);
      i++;
    }
    w.u16(pid).u16(blp);
  }
}

/** FIR FCI (RFC 5104 §4.3.1.1): SSRC (32) | seq nr (8) | reserved (24); media SSRC field is 0. */
export function parseFir(r: ByteReader, senderSsrc: number): FullIntraRequest {
  const entries: { ssrc: number; sequenceNumber: number }[] = [];
  while (r.remaining >= 8) {
    const ssrc = r.u32('fir ssrc');
    const sequenceNumber = r.u8('fir sequence');
    r.skip(3, 'fir reserved');
    entries.push({ ssrc, sequenceNumber });
  }
  return { type: 'fir', senderSsrc, entries };
}

export function writeFir(w: ByteWriter, p: FullIntraRequest): void {
  w.u32(p.senderSsrc).u32(0);
  for (const e of p.entries) w.u32(e.ssrc).u8(e.sequenceNumber).u24(0);
}

/** REMB FCI: 'R' 'E' 'M' 'B' | num SSRC (8) | BR exp (6) | BR mantissa (18) | SSRC feedback... */
export const REMB_IDENTIFIER = 0x52454d42;

export function parseRemb(r: ByteReader, senderSsrc: number): Remb {
  r.skip(4, 'remb identifier');
  const n = r.u8('remb ssrc count');
  const v = r.u24('remb bitrate');
  const bitrate = (v & 0x3ffff) * 2 ** (v >>> 18);
  const ssrcs = Array.from({ length: n }, () => r.u32('remb ssrc'));
  return { type: 'remb', senderSsrc, bitrate, ssrcs };
}

export function writeRemb(w: ByteWriter, p: Remb): void {
  if (p.ssrcs.length > 255) throw new RangeError('REMB carries at most 255 SSRCs');
  let exp = 0;
  let mantissa = Math.floor(p.bitrate);
  while (mantissa > 0x3ffff) {
    mantissa = Math.floor(mantissa / 2);
    exp++;
  }
  if (exp > 63) throw new RangeError('REMB bitrate out of range');
  w.u32(p.senderSsrc)
    .u32(0)
    .u32(REMB_IDENTIFIER)
    .u8(p.ssrcs.length)
    .u24((exp << 18) | mantissa);
  for (const s of p.ssrcs) w.u32(s);
}
