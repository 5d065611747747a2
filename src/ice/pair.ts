/**
 * Candidate pairs (RFC 8445 §6.1.2): priority, states and the per-pair counters that feed
 * RTCIceCandidatePairStats.
 */
import type { Candidate } from './candidate.js';

/** RFC 8445 §6.1.2.6 pair states (W3C RTCStatsIceCandidatePairState spells them the same). */
export type PairState = 'frozen' | 'waiting' | 'in-progress' | 'succeeded' | 'failed';

/**
 * A local candidate as the agent holds it: the candidate plus the id of the base it sends from.
 * For host and prflx candidates the base is a host socket; for relay candidates the allocation.
 */
export interface LocalCandidate extends Candidate {
  /** Stable stats id (`RTCIceCandidate_...`). */
  readonly id: string;
  /** Which base (socket or relay) sends for this candidate. */
  readonly baseId: string;
  /** Transport address of the base (RFC 8445 §5.1.1: for srflx, the host it came from). */
  readonly baseAddress: string;
  readonly basePort: number;
  /** For relayed candidates: the TURN server url, for stats. */
  readonly url?: string;
  readonly relayProtocol?: 'udp' | 'tcp' | 'tls';
}

export interface RemoteCandidate extends Candidate {
  readonly id: string;
  /** Resolved IP for mDNS candidates (address holds the `.local` name). */
  readonly resolvedAddress?: string;
}

/**
 * RFC 8445 §6.1.2.3: pair priority = 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0), G the controlling
 * agent's candidate priority, D the controlled's. Needs 64 bits: a bigint.
 */
export function pairPriority(controllingPriority: number, controlledPriority: number): bigint {
  const g = BigInt(controllingPriority >>> 0);
  const d = BigInt(controlledPriority >>> 0);
  const min = g < d ? g : d;
  const max = g < d ? d : g;
  return (min << 32n) + 2n * max + (g > d ? 1n : 0n);
}

export class CandidatePair {
  readonly id: string;
  readonly local: LocalCandidate;
  readonly remote: RemoteCandidate;
  state: PairState = 'frozen';
  priority = 0n;
  /** Set when a check with USE-CANDIDATE succeeded (controlling) or was received and answered (controlled). */
  nominated = false;
  /** Controlled: USE-CANDIDATE seen in a request before the pair succeeded. */
  nominateOnSuccess = false;
  /** Controlling: the next check on this pair carries USE-CANDIDATE. */
  useCandidate = false;
  /** RFC 8445 §7.2.5.3.4: the pair validated by the check sent from this pair (may be itself). */
  valid = false;

  // Counters (W3C RTCIceCandidatePairStats).
  requestsSent = 0;
  requestsReceived = 0;
  responsesSent = 0;
  responsesReceived = 0;
  consentRequestsSent = 0;
  packetsSent = 0;
  packetsReceived = 0;
  bytesSent = 0;
  bytesReceived = 0;
  totalRoundTripTime = 0;
  currentRoundTripTime: number | undefined;
  roundTripTimeMeasurements = 0;
  lastPacketSentTimestamp: number | undefined;
  lastPacketReceivedTimestamp: number | undefined;
  lastRequestTimestamp: number | undefined;
  lastResponseTimestamp: number | undefined;

  constructor(local: LocalCandidate, remote: RemoteCandidate, controlling: boolean) {
    this.local = local;
    this.remote = remote;
    this.id = `${local.id}_${remote.id}`;
    this.updatePriority(controlling);
  }

  /** Pair foundation (RFC 8445 §6.1.2.6): local and remote foundations joined. */
  get foundation(): string {
    const f = `${this.local.foundation}:${this.remote.foundation}`;
    if (f !== this.#foundation) this.#foundation = f;
    return this.#foundation;
  }
  #foundation = '';

  updatePriority(controlling: boolean): void {
    this.priority = controlling
      ? pairPriority(this.local.priority, this.remote.priority)
      : pairPriority(this.remote.priority, this.local.priority);
  }

  toString(): string {
    return `${this.local.type}:${this.local.address}:${this.local.port} -> ${this.remote.type}:${this.remote.address}:${this.remote.port}`;
  }
}

/** Sort helper: descending priority. */
export function byPriorityDesc(a: CandidatePair, b: CandidatePair): number {
  return a.priority > b.priority ? -1 : a.priority < b.priority ? 1 : 0;
}
