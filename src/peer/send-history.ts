/**
 * A sender's history of sent RTP packets by sequence number, to answer NACKs (RFC 4585 §6.2.1),
 * kept without keeping the packets: each slot holds the header fields in typed arrays and only
 * references to the parts packets share (payload, CSRC list, extension list). An SFU's sender
 * gets a fresh packet object per forwarded packet whose payload is the publisher's, shared by
 * every subscriber; holding those objects (a thousand per sender, ten seconds each) made every
 * one of them survive into the old generation, which the garbage collector then copies and marks
 * (at 200 subscribers the largest cost after SRTP). `get` builds the packet again, equal in every
 * field to the one added.
 */
import type { RtpHeaderExtension } from '../rtp/header-extensions.js';
import type { RtpPacket } from '../rtp/packet.js';

const NO_PROFILE = -1;

export class PacketHistory {
  readonly #mask: number;
  /** Sequence number per slot (-1: empty). */
  readonly #seq: Int32Array;
  readonly #timestamp: Uint32Array;
  readonly #ssrc: Uint32Array;
  /** Payload type in the low 7 bits, the marker in bit 7. */
  readonly #ptMarker: Uint8Array;
  readonly #padding: Uint16Array;
  readonly #profile: Int32Array;
  readonly #payload: (Uint8Array | undefined)[];
  readonly #csrcs: (readonly number[] | undefined)[];
  readonly #extensions: (readonly RtpHeaderExtension[] | undefined)[];
  readonly #extensionData: (Uint8Array | undefined)[];

  constructor(size = 1024) {
    if (size & (size - 1) || size <= 0) throw new RangeError('history size must be a power of two');
    this.#mask = size - 1;
    this.#seq = new Int32Array(size).fill(-1);
    this.#timestamp = new Uint32Array(size);
    this.#ssrc = new Uint32Array(size);
    this.#ptMarker = new Uint8Array(size);
    this.#padding = new Uint16Array(size);
    this.#profile = new Int32Array(size);
    this.#payload = new Array(size).fill(undefined);
    this.#csrcs = new Array(size).fill(undefined);
    this.#extensions = new Array(size).fill(undefined);
    this.#extensionData = new Array(size).fill(undefined);
  }

  add(p: RtpPacket): void {
    const i = p.sequenceNumber & this.#mask;
    this.#seq[i] = p.sequenceNumber;
    this.#timestamp[i] = p.timestamp;
    this.#ssrc[i] = p.ssrc;
    this.#ptMarker[i] = (p.payloadType & 0x7f) | (p.marker ? 0x80 : 0);
    this.#padding[i] = p.paddingSize;
    this.#profile[i] = p.extensionProfile ?? NO_PROFILE;
    this.#payload[i] = p.payload;
    this.#csrcs[i] = p.csrcs;
    this.#extensions[i] = p.extensions;
    this.#extensionData[i] = p.extensionData;
  }

  /** The packet sent with sequence number `seq`, if the history still has it. */
  get(seq: number): RtpPacket | undefined {
    const i = seq & this.#mask;
    if (this.#seq[i] !== seq) return undefined;
    const pm = this.#ptMarker[i]!;
    const profile = this.#profile[i]!;
    const extensionData = this.#extensionData[i];
    return {
      marker: (pm & 0x80) !== 0,
      payloadType: pm & 0x7f,
      sequenceNumber: seq,
      timestamp: this.#timestamp[i]!,
      ssrc: this.#ssrc[i]!,
      csrcs: this.#csrcs[i]!,
      ...(profile !== NO_PROFILE && { extensionProfile: profile }),
      extensions: this.#extensions[i]!,
      ...(extensionData !== undefined && { extensionData }),
      payload: this.#payload[i]!,
      paddingSize: this.#padding[i]!,
    };
  }
}
