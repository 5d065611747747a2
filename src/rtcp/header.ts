/**
 * RTCP common header (RFC 3550 §6.4.1) and packet type numbers.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |V=2|P|  count  |      PT       |     length (32-bit words - 1) |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { ByteWriter } from '../core/bytes.js';

/** RFC 3550 §12.1, RFC 4585 §6.1, RFC 3611. */
export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;
export const RTCP_APP = 204;
export const RTCP_RTPFB = 205;
export const RTCP_PSFB = 206;
export const RTCP_XR = 207;

/** RFC 4585 §6.2.1 generic NACK; RFC 8888 §3.1 CCFB; transport-cc draft §3.1. */
export const RTPFB_NACK = 1;
export const RTPFB_CCFB = 11;
export const RTPFB_TWCC = 15;
/** RFC 4585 §6.3.1 PLI; RFC 5104 §4.3.1 FIR; RFC 4585 §6.4 application layer feedback (REMB). */
export const PSFB_PLI = 1;
export const PSFB_FIR = 4;
export const PSFB_AFB = 15;

/**
 * RFC 3550 §6.4.1: the last packet of a compound may carry padding (P bit, count in its last byte);
 * kept so a padded packet (Chromium pads transport-cc feedback this way) re-serializes exactly.
 */
export interface RtcpPadding {
  /** Padding bytes after the body, count byte included. */
  readonly padding?: number;
}

/**
 * Write one RTCP packet: header, then `body` fills the rest; the length is patched in and the body
 * padded with zeros to a 32-bit boundary.
 */
export function writePacket(
  w: ByteWriter,
  count: number,
  type: number,
  body: (w: ByteWriter) => void,
  padding = 0,
): void {
  if (count < 0 || count > 31) throw new RangeError(`RTCP count ${count} out of range`);
  if (padding < 0 || padding > 255) throw new RangeError(`RTCP padding ${padding} out of range`);
  const start = w.length;
  w.u8((padding > 0 ? 0xa0 : 0x80) | count);
  w.u8(type).u16(0);
  body(w);
  if (padding > 0) {
    if ((w.length - start + padding) & 3)
      throw new RangeError('RTCP padding does not reach a 32-bit boundary');
    w.zeros(padding - 1).u8(padding);
  }
  while ((w.length - start) & 3) w.u8(0);
  w.patchU16(start + 2, (w.length - start) / 4 - 1);
}

export function newWriter(): ByteWriter {
  return new ByteWriter(128);
}
