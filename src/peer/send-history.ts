/**
 * A sender's history of sent RTP packets by sequence number, to answer NACKs (RFC 4585 §6.2.1),
 * kept without keeping the packets: each slot holds the header fields in a typed array and only
 * references to the parts packets share (payload, CSRC list, extension list), a slot's fields side
 * by side (a sender per subscriber writes one slot per packet). `get` builds the packet again,
 * equal in every field to the one added.
 *
 * A forwarded packet (`addForwarded`: an SFU's subscriber leg) keeps no reference to what it was
 * made from, only its source's SSRC and sequence number: its payload is the publisher's, shared
 * by every subscriber, and a thousand references per sender to every received payload (N per
 * received packet) kept each one alive for ten seconds, so every one of them was promoted into
 * the old generation, which the garbage collector then marks (at 50 subscribers old-generation
 * marking was 13-14% of the live SFU's CPU). `get` then asks the caller's `source` for that
 * packet (the SFU's one packet cache per room) and answers nothing once it is gone from there.
 */
import type { RtpHeaderExtension } from '../rtp/header-extensions.js';
import type { RtpPacket } from '../rtp/packet.js';

/** Words per slot: sequence (with flags), timestamp, SSRC, the small fields, source SSRC and sequence. */
const WORDS = 6;
/** In a slot's first word, above the 16-bit sequence number. */
const USED = 0x10000;
const HAS_PROFILE = 0x20000;
/** The slot holds a forwarded packet: payload, CSRCs and raw extension block come from its source. */
const FORWARDED = 0x40000;
/** References per slot: payload, CSRC list, extension list, raw extension block. */
const REFS = 4;

/** A forwarded packet's source as `addForwarded` was told: the packet it was made from, if still kept. */
export type ForwardedSource = (ssrc: number, sequenceNumber: number) => RtpPacket | undefined;

export class PacketHistory {
  readonly #mask: number;
  /**
   * Per slot, 6 words in one array: sequence number | USED | HAS_PROFILE | FORWARDED, timestamp,
   * SSRC, payload type (7 bits), marker (bit 7), padding size (8 bits: RTP's padding count is one
   * byte), extension profile (16 bits); for a forwarded packet its source's SSRC and sequence.
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
    const i = this.#fields(p, 0);
    const refs = this.#refs;
    const r = i * REFS;
    refs[r] = p.payload;
    refs[r + 1] = p.csrcs;
    refs[r + 2] = p.extensions;
    refs[r + 3] = p.extensionData;
  }

  /**
   * Keep `p`, made from the packet `sourceSequence` of `sourceSsrc` (its payload, CSRCs, extension
   * profile and raw extension block are that packet's): header fields and the extension list only.
   */
  addForwarded(p: RtpPacket, sourceSsrc: number, sourceSequence: number): void {
    const i = this.#fields(p, FORWARDED);
    const w = i * WORDS;
    this.#header[w + 4] = sourceSsrc;
    this.#header[w + 5] = sourceSequence & 0xffff;
    const refs = this.#refs;
    const r = i * REFS;
    refs[r] = undefined;
    refs[r + 1] = undefined;
    refs[r + 2] = p.extensions;
    refs[r + 3] = undefined;
  }

  #fields(p: RtpPacket, flags: number): number {
    const i = p.sequenceNumber & this.#mask;
    const h = this.#header;
    const w = i * WORDS;
    const profile = p.extensionProfile;
    h[w] = (p.sequenceNumber & 0xffff) | USED | flags | (profile !== undefined ? HAS_PROFILE : 0);
    h[w + 1] = p.timestamp;
    h[w + 2] = p.ssrc;
    h[w + 3] =
      (p.payloadType & 0x7f) |
      (p.marker ? 0x80 : 0) |
      ((p.paddingSize & 0xff) << 8) |
      (((profile ?? 0) & 0xffff) << 16);
    return i;
  }

  /**
   * The packet sent with sequence number `seq`, if the history still has it (a forwarded one:
   * if `source` still has the packet it was made from).
   */
  get(seq: number, source?: ForwardedSource): RtpPacket | undefined {
    const i = seq & this.#mask;
    const h = this.#header;
    const w = i * WORDS;
    const first = h[w]!;
    if (!(first & USED) || (first & 0xffff) !== seq) return undefined;
    const small = h[w + 3]!;
    const refs = this.#refs;
    const r = i * REFS;
    let payload = refs[r] as Uint8Array;
    let csrcs = refs[r + 1] as readonly number[];
    let extensionData = refs[r + 3] as Uint8Array | undefined;
    if (first & FORWARDED) {
      const from = source?.(h[w + 4]!, h[w + 5]!);
      if (!from) return undefined;
      payload = from.payload;
      csrcs = from.csrcs;
      extensionData = from.extensionData;
    }
    return {
      marker: (small & 0x80) !== 0,
      payloadType: small & 0x7f,
      sequenceNumber: seq,
      timestamp: h[w + 1]!,
      ssrc: h[w + 2]!,
      csrcs,
      ...((first & HAS_PROFILE) !== 0 && { extensionProfile: small >>> 16 }),
      extensions: refs[r + 2] as readonly RtpHeaderExtension[],
      ...(extensionData !== undefined && { extensionData }),
      payload,
      paddingSize: (small >>> 8) & 0xff,
    };
  }
}
