/**
 * Sender and receiver reports (RFC 3550 §6.4.1, §6.4.2) and their report blocks.
 */

import type { ByteReader, ByteWriter } from '../core/bytes.js';
import type { RtcpPadding } from './header.js';

export interface ReportBlock {
  readonly ssrc: number;
  /** Fraction lost since the last report, in 1/256. */
  readonly fractionLost: number;
  /** Cumulative packets lost (24-bit signed). */
  readonly packetsLost: number;
  readonly highestSequence: number;
  readonly jitter: number;
  /** Middle 32 bits of the NTP time of the last SR received (0: none). */
  readonly lastSr: number;
  /** Delay since that SR, in 1/65536 s. */
  readonly delaySinceLastSr: number;
}

export interface SenderReport extends RtcpPadding {
  readonly type: 'sr';
  readonly ssrc: number;
  /** NTP timestamp, seconds and fraction (RFC 3550 §4). */
  readonly ntpSeconds: number;
  readonly ntpFraction: number;
  readonly rtpTimestamp: number;
  readonly packetCount: number;
  readonly octetCount: number;
  readonly reports: readonly ReportBlock[];
  /** Profile-specific extension after the report blocks. */
  readonly extension?: Uint8Array;
}

export interface ReceiverReport extends RtcpPadding {
  readonly type: 'rr';
  readonly ssrc: number;
  readonly reports: readonly ReportBlock[];
  readonly extension?: Uint8Array;
}

function readBlock(r: ByteReader): ReportBlock {
  const ssrc = r.u32('report ssrc');
  const fractionLost = r.u8('fraction lost');
  const lost = r.u24('cumulative lost');
  return {
    ssrc,
    fractionLost,
    packetsLost: lost & 0x800000 ? lost - 0x1000000 : lost,
    highestSequence: r.u32('extended highest sequence'),
    jitter: r.u32('jitter'),
    lastSr: r.u32('lsr'),
    delaySinceLastSr: r.u32('dlsr'),
  };
}

function writeBlock(w: ByteWriter, b: ReportBlock): void {
  w.u32(b.ssrc)
    .u8(b.fractionLost)
    .u24(b.packetsLost & 0xffffff);
  w.u32(b.highestSequence).u32(b.jitter).u32(b.lastSr).u32(b.delaySinceLastSr);
}

export function parseSenderReport(r: ByteReader, count: number): SenderReport {
  const ssrc = r.u32('sr ssrc');
  const ntpSeconds = r.u32('ntp seconds');
  const ntpFraction = r.u32('ntp fraction');
  const rtpTimestamp = r.u32('rtp timestamp');
  const packetCount = r.u32('packet count');
  const octetCount = r.u32('octet count');
  const reports = Array.from({ length: count }, () => readBlock(r));
  const ext = r.rest();
  return {
    type: 'sr',
    ssrc,
    ntpSeconds,
    ntpFraction,
    rtpTimestamp,
    packetCount,
    octetCount,
    reports,
    ...(ext.length > 0 && { extension: ext }),
  };
}

export function parseReceiverReport(r: ByteReader, count: number): ReceiverReport {
  const ssrc = r.u32('rr ssrc');
  const reports = Array.from({ length: count }, () => readBlock(r));
  const ext = r.rest();
  return { type: 'rr', ssrc, reports, ...(ext.length > 0 && { extension: ext }) };
}

export function writeSenderReport(w: ByteWriter, p: SenderReport): void {
  w.u32(p.ssrc).u32(p.ntpSeconds).u32(p.ntpFraction).u32(p.rtpTimestamp).u32(p.packetCount).u32(p.octetCount);
  for (const b of p.reports) writeBlock(w, b);
  if (p.extension) w.bytes(p.extension);
}

export function writeReceiverReport(w: ByteWriter, p: ReceiverReport): void {
  w.u32(p.ssrc);
  for (const b of p.reports) writeBlock(w, b);
  if (p.extension) w.bytes(p.extension);
}

/** The middle 32 bits of an NTP timestamp, as LSR carries it (RFC 3550 §6.4.1). */
export const ntpMiddle = (seconds: number, fraction: number): number =>
  (((seconds & 0xffff) << 16) | (fraction >>> 16)) >>> 0;
