/**
 * A sender's history of sent RTP packets by sequence number, to answer NACKs (RFC 4585 §6.2.1),
 * kept without keeping the packets: each slot holds the header fields in a typed array and only
 * references to the parts packets share (payload, CSRC list, extension list), a slot's fields side
 * by side (a sender per subscriber writes one slot per packet: two cache lines, not ten). An SFU's
 * sender gets a fresh packet object per forwarded packet whose payload is the publisher's, shared
 * by every subscriber; holding those objects (a thousand per sender, ten seconds each) made every
 * one of them survive into the old generation, which the garbage collector then copies and marks
 * (at 200 subscribers the largest cost after SRTP). `get` builds the packet again, equal in every
 * field to the one added.
 */
import type { RtpHeaderExtension } from '../rtp/header-extensions.js';
import type { RtpPacket } from '../rtp/packet.js';

/** Words per slot in the header array: sequence (with flags), timestamp, SSRC, the small fields. */
const WORDS = 4;
/** In a slot's first word, above the 16-bit sequence number. */
const USED = 0x10000;
const HAS_PROFILE = 0x20000;
/** References per slot: payload, CSRC list, extension list, raw extension block. */
const REFS = 4;

export class PacketHistory {
  readonly #mask: number;
  /**
   * Per slot, 4 words in one array (one cache line for a packet's header fields, not one per
   * field): sequence number | USED | HAS_PROFILE, timestamp, SSRC, and payload type (7 bits),
   * marker (bit 7), padding size (8 bits: RTP's padding count is one byte), extension profile.
   */
  readonly #header: Uint32Array;
  /** Per slot, REFS references side by side. */
  readonly #refs: unknown[];

  constructor(size = 1024) {
    if (size & (size - 1) || size <= 0) throw new RangeError('history size must be a power of two');
    this.#mask = size - 1;
    this.#header = new Uint32Array(size * WORDS);
    this.#refs = new Array(size * REFS).fill(undefined);
  }

  add(p: RtpPacket): void {
    const i = p.sequenceNumber & this.#mask;
    const h = this.#header;
    const w = i * WORDS;
    const profile = p.extensionProfile;
    h[w] = (p.sequenceNumber & 0xffff) | USED | (profile !== undefined ? HAS_PROFILE : 0);
    h[w + 1] = p.timestamp;
    h[w + 2] = p.ssrc;
    h[w + 3] =
      (p.payloadType & 0x7f) |
      (p.marker ? 0x80 : 0) |
      ((p.paddingSize & 0xff) << 8) |
      (((profile ?? 0) & 0xffff) << 16);
    const refs = this.#refs;
    const r = i * REFS;
    refs[r] = p.payload;
    refs[r + 1] = p.csrcs;
    refs[r + 2] = p.extensions;
    refs[r + 3] = p.extensionData;
  }

  /** The packet sent with sequence number `seq`, if the history still has it. */
  get(seq: number): RtpPacket | undefined {
    const i = seq & this.#mask;
    const h = this.#header;
    const w = i * WORDS;
    const first = h[w]!;
    if (!(first & USED) || (first & 0xffff) !== seq) return undefined;
    const small = h[w + 3]!;
    const refs = this.#refs;
    const r = i * REFS;
    const extensionData = refs[r + 3] as Uint8Array | undefined;
    return {
      marker: (small & 0x80) !== 0,
      payloadType: small & 0x7f,
      sequenceNumber: seq,
      timestamp: h[w + 1]!,
      ssrc: h[w + 2]!,
      csrcs: refs[r + 1] as readonly number[],
      ...((first & HAS_PROFILE) !== 0 && { extensionProfile: small >>> 16 }),
      extensions: refs[r + 2] as readonly RtpHeaderExtension[],
      ...(extensionData !== undefined && { extensionData }),
      payload: refs[r] as Uint8Array,
      paddingSize: (small >>> 8) & 0xff,
    };
  }
}
