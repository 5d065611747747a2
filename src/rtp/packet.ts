/**
 * RTP packets (RFC 3550 §5.1) with header extensions (RFC 8285).
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 *  |                           timestamp                           |
 *  |           synchronization source (SSRC) identifier            |
 *  |            contributing source (CSRC) identifiers  (CC x)     |
 *  |  extension profile            |  extension length (words)     |  (if X)
 *  |  extension elements ...                                       |
 *  |  payload ...                  | padding ... | padding count   |  (if P)
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { ByteReader } from '../core/bytes.js';
import {
  chooseExtensionProfile,
  headerExtensionsSize,
  isOneByteProfile,
  isTwoByteProfile,
  parseHeaderExtensions,
  type RtpHeaderExtension,
  writeHeaderExtensions,
} from './header-extensions.js';

/** RFC 3550 §5.1 */
export const RTP_VERSION = 2;
export const RTP_FIXED_HEADER_SIZE = 12;

export interface RtpPacket {
  readonly marker: boolean;
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly csrcs: readonly number[];
  /** Profile of the extension block (0xBEDE, 0x100X, or another); absent without one. */
  readonly extensionProfile?: number;
  /** Elements of a one-byte or two-byte block. */
  readonly extensions: readonly RtpHeaderExtension[];
  /** Raw block of an extension profile RFC 8285 does not define (kept for forwarding). */
  readonly extensionData?: Uint8Array;
  /** A view into the packet. */
  readonly payload: Uint8Array;
  /** Padding bytes at the end, count byte included (0: none). */
  readonly paddingSize: number;
}

/** Parse an RTP packet; views, not copies. Throws ParseError on malformed input. */
export function parseRtp(bytes: Uint8Array): RtpPacket {
  const r = new ByteReader(bytes, 'rtp');
  const b0 = r.u8('first byte');
  if (b0 >> 6 !== RTP_VERSION) r.fail('version', `expected 2, got ${b0 >> 6}`);
  const b1 = r.u8('marker/payload type');
  const sequenceNumber = r.u16('sequence number');
  const timestamp = r.u32('timestamp');
  const ssrc = r.u32('ssrc');
  const cc = b0 & 0x0f;
  const csrcs: number[] = [];
  for (let i = 0; i < cc; i++) csrcs.push(r.u32('csrc'));
  let extensionProfile: number | undefined;
  let extensions: RtpHeaderExtension[] = [];
  let extensionData: Uint8Array | undefined;
  if (b0 & 0x10) {
    extensionProfile = r.u16('extension profile');
    const block = r.bytes(4 * r.u16('extension length'), 'extension block');
    if (isOneByteProfile(extensionProfile) || isTwoByteProfile(extensionProfile)) {
      extensions = parseHeaderExtensions(extensionProfile, block);
    } else extensionData = block;
  }
  let paddingSize = 0;
  if (b0 & 0x20) {
    if (r.remaining === 0) r.fail('padding', 'padding bit set on an empty payload');
    paddingSize = bytes[bytes.length - 1]!;
    if (paddingSize === 0 || paddingSize > r.remaining)
      r.fail('padding', `count ${paddingSize} of ${r.remaining} bytes`);
  }
  const payload = r.bytes(r.remaining - paddingSize, 'payload');
  // Optional fields set after the literal (no conditional spreads: a temporary object per packet).
  const p: { -readonly [K in keyof RtpPacket]: RtpPacket[K] } = {
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber,
    timestamp,
    ssrc,
    csrcs,
    extensions,
    payload,
    paddingSize,
  };
  if (extensionProfile !== undefined) p.extensionProfile = extensionProfile;
  if (extensionData !== undefined) p.extensionData = extensionData;
  return p;
}

function extensionBlock(p: RtpPacket): { profile: number; size: number } | undefined {
  if (p.extensionData) return { profile: p.extensionProfile ?? 0, size: (p.extensionData.length + 3) & ~3 };
  if (p.extensions.length === 0 && p.extensionProfile === undefined) return undefined;
  // Keep a two-byte profile (and its app bits) when given; otherwise the smallest form that fits.
  const given = p.extensionProfile;
  const profile =
    given !== undefined && isTwoByteProfile(given) ? given : chooseExtensionProfile(p.extensions);
  return { profile, size: headerExtensionsSize(profile, p.extensions) };
}

/** Serialized size of a packet. */
export function rtpPacketSize(p: RtpPacket): number {
  const ext = extensionBlock(p);
  return 12 + 4 * p.csrcs.length + (ext ? 4 + ext.size : 0) + p.payload.length + p.paddingSize;
}

/** Write `p` into `out` at `offset` (hot path: no allocation); returns the bytes written. */
export function serializeRtpInto(p: RtpPacket, out: Uint8Array, offset = 0): number {
  const ext = extensionBlock(p);
  const size = 12 + 4 * p.csrcs.length + (ext ? 4 + ext.size : 0) + p.payload.length + p.paddingSize;
  if (offset + size > out.length)
    throw new RangeError(`RTP packet of ${size} bytes does not fit at ${offset}`);
  if (p.csrcs.length > 15) throw new RangeError('at most 15 CSRCs');
  if (p.paddingSize > 255) throw new RangeError('padding of at most 255 bytes');
  let at = offset;
  out[at++] = 0x80 | (p.paddingSize > 0 ? 0x20 : 0) | (ext ? 0x10 : 0) | p.csrcs.length;
  out[at++] = (p.marker ? 0x80 : 0) | (p.payloadType & 0x7f);
  out[at++] = (p.sequenceNumber >>> 8) & 0xff;
  out[at++] = p.sequenceNumber & 0xff;
  at = put32(out, at, p.timestamp);
  at = put32(out, at, p.ssrc);
  for (const c of p.csrcs) at = put32(out, at, c);
  if (ext) {
    out[at++] = ext.profile >>> 8;
    out[at++] = ext.profile & 0xff;
    out[at++] = ext.size >>> 10;
    out[at++] = (ext.size >>> 2) & 0xff;
    if (p.extensionData) {
      out.set(p.extensionData, at);
      out.fill(0, at + p.extensionData.length, at + ext.size);
      at += ext.size;
    } else at += writeHeaderExtensions(ext.profile, p.extensions, out, at);
  }
  out.set(p.payload, at);
  at += p.payload.length;
  if (p.paddingSize > 0) {
    out.fill(0, at, at + p.paddingSize - 1);
    at += p.paddingSize;
    out[at - 1] = p.paddingSize;
  }
  return at - offset;
}

export function serializeRtp(p: RtpPacket): Uint8Array {
  const out = new Uint8Array(rtpPacketSize(p));
  serializeRtpInto(p, out, 0);
  return out;
}

function put32(out: Uint8Array, at: number, v: number): number {
  out[at] = v >>> 24;
  out[at + 1] = (v >>> 16) & 0xff;
  out[at + 2] = (v >>> 8) & 0xff;
  out[at + 3] = v & 0xff;
  return at + 4;
}

/** The element with `id`, or undefined. */
export function findExtension(p: RtpPacket, id: number): Uint8Array | undefined {
  for (const e of p.extensions) if (e.id === id) return e.data;
  return undefined;
}
