/**
 * Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01
 * §3.1): RTPFB FMT 15.
 *
 *  |        SSRC of packet sender / SSRC of media source          |
 *  |      base sequence number     |      packet status count      |
 *  |            reference time (24, x64 ms)        |  fb pkt count |
 *  |  packet chunk  |  packet chunk  | ...  | recv delta | ...     |
 *
 *  run length chunk:  0 | S (2) | run length (13)
 *  status vector:     1 | 0 | 14 x 1-bit symbol   or   1 | 1 | 7 x 2-bit symbol
 *  symbols: 0 not received, 1 received with 1-byte delta, 2 received with 2-byte signed delta
 *  deltas are in 250 µs ticks.
 */

import type { ByteReader, ByteWriter } from '../core/bytes.js';
import type { RtcpPadding } from './header.js';

export const TWCC_DELTA_TICK_US = 250;
export const TWCC_REFERENCE_TIME_TICK_MS = 64;

export interface TwccPacketStatus {
  readonly sequenceNumber: number;
  readonly received: boolean;
  /** Receive delta from the previous received packet (or the reference time), in 250 µs ticks. */
  readonly delta?: number;
}

export interface TransportCcFeedback extends RtcpPadding {
  readonly type: 'twcc';
  readonly senderSsrc: number;
  readonly mediaSsrc: number;
  readonly baseSequenceNumber: number;
  /** 24-bit, in 64 ms units, wrapping. */
  readonly referenceTime: number;
  readonly feedbackPacketCount: number;
  readonly packets: readonly TwccPacketStatus[];
}

const NOT_RECEIVED = 0;
const SMALL = 1;
const LARGE = 2;

function symbolOf(p: TwccPacketStatus): number {
  if (!p.received) return NOT_RECEIVED;
  const d = p.delta ?? 0;
  if (d >= 0 && d <= 255) return SMALL;
  if (d < -32768 || d > 32767) throw new RangeError(`TWCC delta ${d} out of range`);
  return LARGE;
}

export function parseTwcc(r: ByteReader, senderSsrc: number, mediaSsrc: number): TransportCcFeedback {
  const baseSequenceNumber = r.u16('twcc base sequence');
  const count = r.u16('twcc status count');
  const referenceTime = r.u24('twcc reference time');
  const feedbackPacketCount = r.u8('twcc feedback count');
  const symbols: number[] = [];
  while (symbols.length < count) {
    const chunk = r.u16('twcc chunk');
    if ((chunk & 0x8000) === 0) {
      const s = (chunk >> 13) & 3;
      const run = chunk & 0x1fff;
      for (let i = 0; i < run && symbols.length < count; i++) symbols.push(s);
    } else if ((chunk & 0x4000) === 0) {
      for (let i = 13; i >= 0 && symbols.length < count; i--) symbols.push((chunk >> i) & 1);
    } else {
      for (let i = 6; i >= 0 && symbols.length < count; i--) symbols.push((chunk >> (2 * i)) & 3);
    }
  }
  const packets: TwccPacketStatus[] = [];
  for (let i = 0; i < count; i++) {
    const s = symbols[i]!;
    const sequenceNumber = (baseSequenceNumber + i) & 0xffff;
    if (s === NOT_RECEIVED) packets.push({ sequenceNumber, received: false });
    else if (s === SMALL) packets.push({ sequenceNumber, received: true, delta: r.u8('twcc small delta') });
    else if (s === LARGE) {
      const v = r.u16('twcc large delta');
      packets.push({ sequenceNumber, received: true, delta: v & 0x8000 ? v - 0x10000 : v });
    } else r.fail('twcc symbol', 'reserved status symbol 3');
  }
  return {
    type: 'twcc',
    senderSsrc,
    mediaSsrc,
    baseSequenceNumber,
    referenceTime,
    feedbackPacketCount,
    packets,
  };
}

/** Chunks for a symbol list: runs where they pay, else 1-bit or 2-bit status vectors. */
export function encodeTwccChunks(symbols: readonly number[]): number[] {
  const chunks: number[] = [];
  let i = 0;
  while (i < symbols.length) {
    const s = symbols[i]!;
    let run = 1;
    while (i + run < symbols.length && symbols[i + run] === s && run < 0x1fff) run++;
    if (run >= 14 || i + run === symbols.length) {
      chunks.push((s << 13) | run);
      i += run;
      continue;
    }
    const next14 = symbols.slice(i, i + 14);
    if (next14.length === 14 && next14.every((x) => x <= 1)) {
      let c = 0x8000;
      next14.forEach((x, k) => {
        c |= x << (13 - k);
      });
      chunks.push(c);
      i += 14;
      continue;
    }
    const next7 = symbols.slice(i, i + 7);
    let c = 0xc000;
    next7.forEach((x, k) => {
      c |= x << (2 * (6 - k));
    });
    chunks.push(c);
    i += next7.length;
  }
  return chunks;
}

export function writeTwcc(w: ByteWriter, p: TransportCcFeedback): void {
  if (p.packets.length > 0xffff) throw new RangeError('too many TWCC packet statuses');
  const symbols = p.packets.map(symbolOf);
  w.u32(p.senderSsrc).u32(p.mediaSsrc);
  w.u16(p.baseSequenceNumber)
    .u16(p.packets.length)
    .u24(p.referenceTime & 0xffffff)
    .u8(p.feedbackPacketCount);
  for (const c of encodeTwccChunks(symbols)) w.u16(c);
  p.packets.forEach((pkt, i) => {
    if (symbols[i] === SMALL) w.u8(pkt.delta ?? 0);
    else if (symbols[i] === LARGE) w.u16((pkt.delta ?? 0) & 0xffff);
  });
}
