/**
 * Compound and reduced-size (RFC 5506) RTCP: a datagram is a sequence of RTCP packets; each is
 * parsed by type, unknown types are kept raw so forwarding and re-serialization lose nothing.
 */
import { ByteReader, type ByteWriter } from '../core/bytes.js';
import { ParseError } from '../core/errors.js';
import { type CongestionControlFeedback, parseCcfb, writeCcfb } from './ccfb.js';
import {
  type FullIntraRequest,
  type GenericNack,
  type PictureLossIndication,
  parseFir,
  parseNack,
  parseRemb,
  REMB_IDENTIFIER,
  type Remb,
  writeFir,
  writeNack,
  writeRemb,
} from './feedback.js';
import {
  newWriter,
  PSFB_AFB,
  PSFB_FIR,
  PSFB_PLI,
  RTCP_APP,
  RTCP_BYE,
  RTCP_PSFB,
  RTCP_RR,
  RTCP_RTPFB,
  RTCP_SDES,
  RTCP_SR,
  RTPFB_CCFB,
  RTPFB_NACK,
  RTPFB_TWCC,
  type RtcpPadding,
  writePacket,
} from './header.js';
import {
  parseReceiverReport,
  parseSenderReport,
  type ReceiverReport,
  type SenderReport,
  writeReceiverReport,
  writeSenderReport,
} from './reports.js';
import {
  type ApplicationDefined,
  type Goodbye,
  parseApp,
  parseBye,
  parseSdes,
  type SourceDescription,
  writeApp,
  writeBye,
  writeSdes,
} from './source.js';
import { parseTwcc, type TransportCcFeedback, writeTwcc } from './twcc.js';

/** A packet type we do not decode (XR, other feedback formats), kept as its body. */
export interface UnknownRtcp extends RtcpPadding {
  readonly type: 'unknown';
  readonly packetType: number;
  /** The 5-bit count / FMT field. */
  readonly count: number;
  readonly body: Uint8Array;
}

export type RtcpPacket =
  | SenderReport
  | ReceiverReport
  | SourceDescription
  | Goodbye
  | ApplicationDefined
  | GenericNack
  | PictureLossIndication
  | FullIntraRequest
  | Remb
  | TransportCcFeedback
  | CongestionControlFeedback
  | UnknownRtcp;

/** RFC 5761 §4: RTCP when the second byte (PT) is in 192..223 (ranges RTP does not use with mux). */
export function isRtcp(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0]! >> 6 === 2 && bytes[1]! >= 192 && bytes[1]! <= 223;
}

function parseOne(r: ByteReader, type: number, count: number, body: Uint8Array): RtcpPacket {
  switch (type) {
    case RTCP_SR:
      return parseSenderReport(r, count);
    case RTCP_RR:
      return parseReceiverReport(r, count);
    case RTCP_SDES:
      return parseSdes(r, count);
    case RTCP_BYE:
      return parseBye(r, count);
    case RTCP_APP:
      return parseApp(r, count);
    case RTCP_RTPFB: {
      if (count !== RTPFB_NACK && count !== RTPFB_TWCC && count !== RTPFB_CCFB) break;
      const sender = r.u32('sender ssrc');
      if (count === RTPFB_CCFB) return parseCcfb(r, sender);
      const media = r.u32('media ssrc');
      return count === RTPFB_NACK ? parseNack(r, sender, media) : parseTwcc(r, sender, media);
    }
    case RTCP_PSFB: {
      if (count === PSFB_PLI) {
        return { type: 'pli', senderSsrc: r.u32('sender ssrc'), mediaSsrc: r.u32('media ssrc') };
      }
      if (count === PSFB_FIR) {
        const sender = r.u32('sender ssrc');
        r.skip(4, 'media ssrc');
        return parseFir(r, sender);
      }
      if (count === PSFB_AFB && body.length >= 12) {
        const id = ((body[8]! << 24) | (body[9]! << 16) | (body[10]! << 8) | body[11]!) >>> 0;
        if (id === REMB_IDENTIFIER) {
          const sender = r.u32('sender ssrc');
          r.skip(4, 'media ssrc');
          return parseRemb(r, sender);
        }
      }
      break;
    }
  }
  return { type: 'unknown', packetType: type, count, body };
}

/** Parse a compound (or reduced-size, single) RTCP datagram. Throws ParseError. */
export function parseRtcp(bytes: Uint8Array): RtcpPacket[] {
  const r = new ByteReader(bytes, 'rtcp');
  const out: RtcpPacket[] = [];
  if (bytes.length === 0) r.fail('header', 'empty datagram');
  while (r.remaining > 0) {
    const at = r.offset;
    const b0 = r.u8('first byte');
    if (b0 >> 6 !== 2) r.fail('version', `expected 2, got ${b0 >> 6}`);
    const type = r.u8('packet type');
    const words = r.u16('length');
    const packet = r.sub(4 * words, 'packet body');
    let end = packet.end;
    if (b0 & 0x20) {
      // RFC 3550 §6.4.1: padding only on the last packet of a compound.
      if (r.remaining > 0)
        throw new ParseError('rtcp', 'padding', at, 'padding bit on a packet that is not last');
      const n = words > 0 ? bytes[packet.end - 1]! : 0;
      if (n === 0 || n > 4 * words) throw new ParseError('rtcp', 'padding', at, `padding count ${n}`);
      end -= n;
    }
    const bodyReader = new ByteReader(bytes, 'rtcp', packet.offset, end);
    const body = bytes.subarray(packet.offset, end);
    const parsed = parseOne(bodyReader, type, b0 & 0x1f, body);
    out.push(end < packet.end ? { ...parsed, padding: packet.end - end } : parsed);
  }
  return out;
}

function writeOne(w: ByteWriter, p: RtcpPacket): void {
  switch (p.type) {
    case 'sr':
      writePacket(w, p.reports.length, RTCP_SR, (x) => writeSenderReport(x, p), p.padding);
      return;
    case 'rr':
      writePacket(w, p.reports.length, RTCP_RR, (x) => writeReceiverReport(x, p), p.padding);
      return;
    case 'sdes':
      writePacket(w, p.chunks.length, RTCP_SDES, (x) => writeSdes(x, p), p.padding);
      return;
    case 'bye':
      writePacket(w, p.ssrcs.length, RTCP_BYE, (x) => writeBye(x, p), p.padding);
      return;
    case 'app':
      writePacket(w, p.subtype, RTCP_APP, (x) => writeApp(x, p), p.padding);
      return;
    case 'nack':
      writePacket(w, RTPFB_NACK, RTCP_RTPFB, (x) => writeNack(x, p), p.padding);
      return;
    case 'twcc':
      writePacket(w, RTPFB_TWCC, RTCP_RTPFB, (x) => writeTwcc(x, p), p.padding);
      return;
    case 'ccfb':
      writePacket(w, RTPFB_CCFB, RTCP_RTPFB, (x) => writeCcfb(x, p), p.padding);
      return;
    case 'pli':
      writePacket(w, PSFB_PLI, RTCP_PSFB, (x) => x.u32(p.senderSsrc).u32(p.mediaSsrc), p.padding);
      return;
    case 'fir':
      writePacket(w, PSFB_FIR, RTCP_PSFB, (x) => writeFir(x, p), p.padding);
      return;
    case 'remb':
      writePacket(w, PSFB_AFB, RTCP_PSFB, (x) => writeRemb(x, p), p.padding);
      return;
    case 'unknown':
      writePacket(w, p.count, p.packetType, (x) => x.bytes(p.body), p.padding);
      return;
  }
}

/** Serialize packets as one compound datagram (or one reduced-size packet). */
export function serializeRtcp(packets: readonly RtcpPacket[]): Uint8Array {
  const w = newWriter();
  for (const p of packets) writeOne(w, p);
  return w.finish();
}
