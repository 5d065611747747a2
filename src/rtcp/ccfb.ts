/**
 * RTP Control Protocol feedback for congestion control (RFC 8888 §3.1): RTPFB FMT 11.
 *
 *  |                 SSRC of RTCP packet sender                    |
 *  |                   SSRC of 1st RTP stream                      |
 *  |          begin_seq            |          num_reports          |
 *  |R|ECN|  Arrival time offset    | ...  (padded to 32 bits)      |
 *  ...                                 (more streams)
 *  |                 Report Timestamp (32 bits)                    |
 */

import type { ByteReader, ByteWriter } from '../core/bytes.js';
import type { RtcpPadding } from './header.js';

/** RFC 8888 §3.1: ATO values in 1/1024 s; these two are special. */
export const CCFB_ATO_OVER_RANGE = 0x1ffe;
export const CCFB_ATO_UNAVAILABLE = 0x1fff;

export interface CcfbReport {
  readonly received: boolean;
  /** ECN bits (RFC 3168). */
  readonly ecn: number;
  /** Arrival time offset before the report timestamp, 1/1024 s. */
  readonly arrivalTimeOffset: number;
}

export interface CcfbStream {
  readonly ssrc: number;
  readonly beginSequence: number;
  readonly reports: readonly CcfbReport[];
}

export interface CongestionControlFeedback extends RtcpPadding {
  readonly type: 'ccfb';
  readonly senderSsrc: number;
  readonly streams: readonly CcfbStream[];
  /** Middle 32 bits of an NTP timestamp. */
  readonly reportTimestamp: number;
}

export function parseCcfb(r: ByteReader, senderSsrc: number): CongestionControlFeedback {
  const streams: CcfbStream[] = [];
  while (r.remaining > 4) {
    const ssrc = r.u32('ccfb ssrc');
    const beginSequence = r.u16('ccfb begin_seq');
    const n = r.u16('ccfb num_reports');
    const reports: CcfbReport[] = [];
    for (let i = 0; i < n; i++) {
      const v = r.u16('ccfb report');
      reports.push({ received: (v & 0x8000) !== 0, ecn: (v >> 13) & 3, arrivalTimeOffset: v & 0x1fff });
    }
    if (n % 2 === 1) r.skip(2, 'ccfb padding');
    streams.push({ ssrc, beginSequence, reports });
  }
  return { type: 'ccfb', senderSsrc, streams, reportTimestamp: r.u32('ccfb report timestamp') };
}

export function writeCcfb(w: ByteWriter, p: CongestionControlFeedback): void {
  w.u32(p.senderSsrc);
  for (const s of p.streams) {
    if (s.reports.length > 0xffff) throw new RangeError('too many CCFB reports');
    w.u32(s.ssrc).u16(s.beginSequence).u16(s.reports.length);
    for (const rep of s.reports) {
      w.u16((rep.received ? 0x8000 : 0) | ((rep.ecn & 3) << 13) | (rep.arrivalTimeOffset & 0x1fff));
    }
    if (s.reports.length % 2 === 1) w.u16(0);
  }
  w.u32(p.reportTimestamp);
}
