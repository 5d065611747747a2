/**
 * One encoding of an RTCRtpSender: with simulcast (RFC 8853) each rid is its own RTP stream with
 * its own SSRC, RTX SSRC, sequence numbers, send history and outbound-rtp statistics. A sender
 * without simulcast has exactly one layer (no rid).
 */
import { randomInt } from 'node:crypto';
import type { Packetizer } from '../media/payload/index.js';
import { VideoFrameMeter } from './frame-meter.js';
import { PacketHistory } from './send-history.js';

export interface OutboundLayerStats {
  packetsSent: number;
  bytesSent: number;
  headerBytesSent: number;
  framesSent: number;
  keyFramesSent: number;
  nackCount: number;
  pliCount: number;
  firCount: number;
  retransmittedPacketsSent: number;
  retransmittedBytesSent: number;
  lastRtpTimestamp: number;
  lastPacketSentAt: number;
}

export class SendLayer {
  readonly rid: string | undefined;
  readonly ssrc = randomInt(1, 2 ** 32 - 1);
  readonly rtxSsrc = randomInt(1, 2 ** 32 - 1);
  readonly history = new PacketHistory(1024);
  /** Picture size and frame rate of the frames written to this layer (video). */
  readonly video = new VideoFrameMeter();
  packetizer: Packetizer | undefined;
  /** Forwarding: offset from the source's timestamps to ours, re-based on a source change. */
  fwd: { ssrc: number; tsOffset: number; lastTs: number } | undefined;
  #seq = randomInt(0, 0x8000);
  #rtxSeq = randomInt(0, 0x8000);
  /** From the peer's report blocks about this SSRC. */
  remoteReport: { fractionLost: number; packetsLost: number; jitter: number } | undefined;
  readonly stats: OutboundLayerStats = {
    packetsSent: 0,
    bytesSent: 0,
    headerBytesSent: 0,
    framesSent: 0,
    keyFramesSent: 0,
    nackCount: 0,
    pliCount: 0,
    firCount: 0,
    retransmittedPacketsSent: 0,
    retransmittedBytesSent: 0,
    lastRtpTimestamp: 0,
    lastPacketSentAt: -1,
  };

  constructor(rid: string | undefined) {
    this.rid = rid;
  }

  nextSeq(): number {
    const s = this.#seq;
    this.#seq = (s + 1) & 0xffff;
    return s;
  }

  nextRtxSeq(): number {
    const s = this.#rtxSeq;
    this.#rtxSeq = (s + 1) & 0xffff;
    return s;
  }
}
