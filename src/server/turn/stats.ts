/**
 * Plain counters updated on the hot path (a property increment, no label lookups); the Prometheus
 * registry in `metrics.ts` reads them at scrape time.
 */
export class TurnStats {
  /** Client -> peer: datagrams and payload bytes relayed. */
  packetsToPeer = 0;
  bytesToPeer = 0;
  /** Peer -> client. */
  packetsToClient = 0;
  bytesToClient = 0;
  /** Peer datagrams dropped: no permission for the source IP. */
  droppedNoPermission = 0;
  /** Client data dropped: unbound channel, no permission, or unknown 5-tuple. */
  droppedClientData = 0;
  /** Datagrams dropped by the per-allocation bandwidth cap. */
  droppedBandwidth = 0;
  /** Malformed STUN/ChannelData (ParseError) dropped. */
  parseErrors = 0;
  /** Requests refused with 401 (bad or missing credentials) or 441. */
  authFailures = 0;
  /** 438 Stale Nonce answers. */
  staleNonces = 0;
  /** Peer addresses refused by policy (403). */
  refusedPeers = 0;
  /** Allocations refused for quota (486) or capacity (508). */
  quotaRefusals = 0;
  /** Unauthenticated requests dropped by the per-source rate limit. */
  rateLimited = 0;
  /** Stream connections closed for garbage framing. */
  badStreams = 0;
  /** Allocations created / expired or deleted, by transport. */
  allocationsCreated = 0;
  allocationsEnded = 0;
  /** Current state sizes. */
  allocations = { udp: 0, tcp: 0, tls: 0 };
  permissions = 0;
  channels = 0;
  connections = 0;
}
