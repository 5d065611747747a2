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
  isOneByteProfile,
  isTwoByteProfile,
  ONE_BYTE_PROFILE,
  parseHeaderExtensions,
  type RtpHeaderExtension,
  TWO_BYTE_PROFILE,
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

/**
 * How a packet serializes (see layoutRtp): its size and extension block, worked out once per send
 * by a caller that needs the size before writing (an SRTP output buffer), instead of once for the
 * size and again for the write. Mutable: a caller keeps one and lays out each packet into it.
 */
export interface RtpLayout {
  /** Serialized bytes of the whole packet. */
  size: number;
  /** The extension block's profile (when extSize >= 0). */
  extProfile: number;
  /** The extension block's bytes after its 4-byte header, padded to 4 (-1: no block). */
  extSize: number;
}

export const newRtpLayout = (): RtpLayout => ({ size: 0, extProfile: 0, extSize: -1 });

/** The layout rtpPacketSize, serializeRtpInto and serializeRtp work out (one caller at a time: no reentrancy here). */
const scratch = newRtpLayout();

/**
 * Lay `p` out into `into`; returns its serialized size. Keeps a given two-byte profile (and its app
 * bits); otherwise the smallest form that fits (RFC 8285 §4.2: one-byte ids 1-14, 1-16 bytes).
 */
export function layoutRtp(p: RtpPacket, into: RtpLayout): number {
  const data = p.extensionData;
  const exts = p.extensions;
  const given = p.extensionProfile;
  let extProfile = 0;
  let extSize = -1;
  if (data) {
    extProfile = given ?? 0;
    extSize = (data.length + 3) & ~3;
  } else if (exts.length !== 0 || given !== undefined) {
    const keep = given !== undefined && isTwoByteProfile(given);
    let twoByte = keep;
    let n = 0;
    for (let i = 0; i < exts.length; i++) {
      const e = exts[i]!;
      const len = e.data.length;
      if (e.id > 14 || len === 0 || len > 16) twoByte = true;
      n += len;
    }
    extProfile = keep ? given : twoByte ? TWO_BYTE_PROFILE : ONE_BYTE_PROFILE;
    extSize = (n + (twoByte ? 2 : 1) * exts.length + 3) & ~3;
  }
  into.extProfile = extProfile;
  into.extSize = extSize;
  const size = 12 + 4 * p.csrcs.length + (extSize >= 0 ? 4 + extSize : 0) + p.payload.length + p.paddingSize;
  into.size = size;
  return size;
}

/** Serialized size of a packet. */
export function rtpPacketSize(p: RtpPacket): number {
  return layoutRtp(p, scratch);
}

/** Write `p` into `out` at `offset` (hot path: no allocation); returns the bytes written. */
export function serializeRtpInto(p: RtpPacket, out: Uint8Array, offset = 0): number {
  layoutRtp(p, scratch);
  return serializeRtpLaidOut(p, scratch, out, offset);
}

/**
 * serializeRtpInto with `layout` as layoutRtp gave it for `p` (unchanged since): writes `p` into
 * `out` at `offset`; returns the bytes written.
 */
export function serializeRtpLaidOut(
  p: RtpPacket,
  layout: RtpLayout,
  out: Uint8Array,
  offset: number,
): number {
  const size = layout.size;
  const extSize = layout.extSize;
  if (offset + size > out.length)
    throw new RangeError(`RTP packet of ${size} bytes does not fit at ${offset}`);
  if (p.csrcs.length > 15) throw new RangeError('at most 15 CSRCs');
  if (p.paddingSize > 255) throw new RangeError('padding of at most 255 bytes');
  let at = offset;
  out[at++] = 0x80 | (p.paddingSize > 0 ? 0x20 : 0) | (extSize >= 0 ? 0x10 : 0) | p.csrcs.length;
  out[at++] = (p.marker ? 0x80 : 0) | (p.payloadType & 0x7f);
  out[at++] = (p.sequenceNumber >>> 8) & 0xff;
  out[at++] = p.sequenceNumber & 0xff;
  at = put32(out, at, p.timestamp);
  at = put32(out, at, p.ssrc);
  for (const c of p.csrcs) at = put32(out, at, c);
  if (extSize >= 0) {
    const profile = layout.extProfile;
    out[at++] = profile >>> 8;
    out[at++] = profile & 0xff;
    out[at++] = extSize >>> 10;
    out[at++] = (extSize >>> 2) & 0xff;
    if (p.extensionData) {
      out.set(p.extensionData, at);
      out.fill(0, at + p.extensionData.length, at + extSize);
      at += extSize;
    } else at += writeHeaderExtensions(profile, p.extensions, out, at);
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
  const out = new Uint8Array(layoutRtp(p, scratch));
  serializeRtpLaidOut(p, scratch, out, 0);
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
