/** Options, events and statistics of an SctpAssociation. */
import type { Clock } from '../core/clock.js';
import type { RtcError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Random } from '../core/random.js';

export type SctpState =
  | 'closed'
  | 'cookie-wait'
  | 'cookie-echoed'
  | 'established'
  | 'shutdown-pending'
  | 'shutdown-sent'
  | 'shutdown-received'
  | 'shutdown-ack-sent';

export interface SctpAssociationOptions {
  readonly clock: Clock;
  /** Hands one SCTP packet to the lower layer (DTLS). */
  readonly send: (packet: Uint8Array) => void;
  /** Verification tags, initial TSN, heartbeat nonces. Default: node:crypto. */
  readonly random?: Random;
  /** Default 5000 (RFC 8841 sctp-port default). */
  readonly localPort?: number;
  readonly remotePort?: number;
  /** Largest SCTP packet (RFC 8261 §5: 1200 keeps DTLS under common path MTUs). Default 1200. */
  readonly mtu?: number;
  /**
   * PLPMTUD (RFC 8899 with HEARTBEAT + PAD probes, RFC 4820): probe packet sizes up to this many bytes
   * and use the largest the path carries. Default: `mtu` (no probing). Over DTLS keep it at or below
   * 16000 (one record); on loopback and LANs it removes most per-packet cost.
   */
  readonly maxMtu?: number;
  /**
   * Announce in INIT that we accept SCTP packets up to 65507 bytes (rtcstack's own parameter, ignored
   * by other stacks). PLPMTUD probes past `mtu` only towards peers that announced it. Default true.
   */
  readonly announceLargePackets?: boolean;
  /** Largest message this side accepts (SDP max-message-size). Default 262144. */
  readonly maxMessageSize?: number;
  /**
   * Advertised receive window (a_rwnd) in bytes. Default 2 MiB: large enough for 20 MB/s at 100 ms,
   * small enough that a burst of 1200-byte packets fits a 4 MiB kernel UDP buffer (rmem_max here), so
   * a busy single-threaded receiver does not drop at the socket.
   */
  readonly receiveWindow?: number;
  /** The DTLS role, for callers that allocate stream ids; SCTP itself is symmetric here. */
  readonly isClient?: boolean;
  /** Offer RFC 9653 zero checksum (the DTLS lower layer detects errors). Default true. */
  readonly zeroChecksum?: boolean;
  /** Offer I-DATA (RFC 8260). Default true. */
  readonly interleaving?: boolean;
  /** Association.Max.Retrans (RFC 9260 §16). Default 10. */
  readonly maxRetransmissions?: number;
  /** Max.Init.Retransmits. Default 8. */
  readonly maxInitRetransmits?: number;
  readonly rtoInitial?: number;
  readonly rtoMin?: number;
  readonly rtoMax?: number;
  /** HB.interval in ms. Default 30000. */
  readonly heartbeatInterval?: number;
  /** Delayed SACK timer in ms. Default 200. */
  readonly sackDelay?: number;
  /** Defers sending after send() calls so they share packets. Default queueMicrotask. */
  readonly scheduleFlush?: (fn: () => void) => void;
  /**
   * Max.Burst: data packets sent in one go before yielding to let the peer and the socket catch up
   * X
   */
  readonly maxBurst?: number;
  /** How sending continues after a burst (a macrotask, so I/O can run). Default setImmediate. */
  readonly scheduleContinuation?: (fn: () => void) => void;
  readonly logger?: Logger;
}

export interface SctpEvents {
  [key: string]: unknown[];
  state: [SctpState];
  open: [];
  /** A complete message; `data` may be a view valid only during the call. */
  message: [streamId: number, ppid: number, data: Uint8Array, unordered: boolean];
  /** The peer reset these outgoing streams (our incoming). */
  streamReset: [streamIds: number[]];
  /** Our outgoing reset of these streams was performed by the peer. */
  streamResetDone: [streamIds: number[]];
  bufferedAmountLow: [streamId: number];
  /** The packet size limit changed (PLPMTUD confirmed a larger size, or the ceiling was lowered). */
  mtu: [size: number];
  /** The association ended: undefined after a graceful shutdown, an error otherwise. */
  close: [error?: RtcError];
}

export interface SctpStats {
  packetsSent: number;
  packetsReceived: number;
  bytesSent: number;
  bytesReceived: number;
  parseErrors: number;
  checksumErrors: number;
  retransmissions: number;
  fastRetransmits: number;
  t3Expiries: number;
  /** SACKs sent because the delayed-SACK timer ran out. */
  delayedSacks: number;
  abandonedMessages: number;
  cwnd: number;
  ssthresh: number;
  /** Bytes sent and not yet acked. */
  flightSize: number;
  /** The peer's receive window as we last computed it. */
  peerRwnd: number;
  /** Bytes queued and not yet given a TSN (all streams). */
  queuedBytes: number;
  rto: number;
  srtt: number | undefined;
}
