/** What the room hands a subscriber's leg to send, and helpers to put it on the wire. */
import type { RtpPacket } from '../../rtp/packet.js';
import type { RewrittenHeader } from './rewriter.js';
import type { TrackKind } from './track.js';

export interface ForwardedRtp {
  readonly publisherId: string;
  readonly trackId: string;
  readonly kind: TrackKind;
  /** The rewritten SSRC, sequence number and timestamp. */
  readonly header: RewrittenHeader;
  /** The packet as the publisher sent it (payload type, marker, extensions, payload). */
  readonly packet: RtpPacket;
  /** Its raw bytes as received. */
  readonly bytes: Uint8Array;
  /** An answer to the subscriber's NACK (send it on RTX where negotiated). */
  readonly retransmission: boolean;
  /**
   * Transport-wide sequence number for the subscriber's leg (RFC 8888's predecessor,
   * draft-holmer-rmcat-transport-wide-cc-extensions-01), when the room estimates its downlink from
   * TWCC feedback: the sender writes it in the transport-wide-cc header extension.
   */
  readonly transportSequence?: number;
  /**
   * The AV1 dependency descriptor to send instead of the packet's own, when the room rewrote it
   * for this subscriber (its active decode targets, for SVC layers dropped).
   */
  readonly dependencyDescriptor?: Uint8Array | undefined;
}

/**
 * The forwarded packet as bytes: the received packet with SSRC, sequence number, timestamp (and
 * payload type, when the subscriber's leg numbers the codec differently; the marker, when an SVC
 * picture was cut) patched; extensions kept.
 * Writes into `out` when given (it must hold `bytes.length`), returns the packet's view.
 */
export function rewriteRtpBytes(f: ForwardedRtp, payloadType?: number, out?: Uint8Array): Uint8Array {
  const src = f.bytes;
  const b = out ? out.subarray(0, src.length) : new Uint8Array(src.length);
  b.set(src);
  const h = f.header;
  if (payloadType !== undefined) b[1] = (b[1]! & 0x80) | (payloadType & 0x7f);
  if (h.marker !== undefined) b[1] = (b[1]! & 0x7f) | (h.marker ? 0x80 : 0);
  b[2] = h.sequenceNumber >>> 8;
  b[3] = h.sequenceNumber & 0xff;
  b[4] = h.timestamp >>> 24;
  b[5] = (h.timestamp >>> 16) & 0xff;
  b[6] = (h.timestamp >>> 8) & 0xff;
  b[7] = h.timestamp & 0xff;
  b[8] = h.ssrc >>> 24;
  b[9] = (h.ssrc >>> 16) & 0xff;
  b[10] = (h.ssrc >>> 8) & 0xff;
  b[11] = h.ssrc & 0xff;
  return b;
}
