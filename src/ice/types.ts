/**
 * Public types of the ICE agent: options, states (spelled as W3C RTCIceTransportState and
 * RTCIceGatheringState), ICE server configuration and events.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { InterfaceAddress, Network, TransportAddress } from '../core/net.js';
import type { Random } from '../core/random.js';
import type { MdnsResponder } from './mdns-responder.js';
import type { CandidatePair, LocalCandidate } from './pair.js';

/** W3C RTCIceTransportState. */
export type IceTransportState =
  | 'new'
  | 'checking'
  | 'connected'
  | 'completed'
  | 'disconnected'
  | 'failed'
  | 'closed';

/** W3C RTCIceGatheringState. */
export type IceGatheringState = 'new' | 'gathering' | 'complete';

export type IceRole = 'controlling' | 'controlled';

/** W3C RTCIceServer. */
export interface IceServer {
  urls: string | readonly string[];
  username?: string;
  credential?: string;
}

export interface IceCredentials {
  readonly ufrag: string;
  readonly pwd: string;
}

/** A local candidate as the `candidate` event delivers it. */
export interface IceCandidateEvent {
  readonly candidate: LocalCandidate;
  /** The attribute value (`candidate:...`) for signaling. */
  readonly attribute: string;
  readonly usernameFragment: string;
}

/** W3C RTCPeerConnectionIceErrorEvent fields. */
export interface IceCandidateError {
  readonly url: string;
  readonly errorCode: number;
  readonly errorText: string;
  readonly address?: string;
  readonly port?: number;
}

export type IceAgentEvents = {
  /** A gathered local candidate, or null when gathering is complete (end-of-candidates). */
  candidate: [IceCandidateEvent | null];
  statechange: [IceTransportState];
  gatheringstatechange: [IceGatheringState];
  selectedpairchange: [CandidatePair];
  /** A non-STUN datagram (DTLS, SRTP, ...) received on a pair of this agent. */
  data: [Uint8Array, CandidatePair];
  rolechange: [IceRole];
  candidateerror: [IceCandidateError];
};

export interface IceAgentOptions {
  /** Time source; default the system clock. Use a ManualClock in tests. */
  clock?: Clock;
  /** Where sockets come from; default the real network (NodeNetwork). */
  network?: Network;
  /** Jitter, tie-breaker and transaction ids; default node:crypto backed. */
  random?: Random;
  logger?: Logger;
  /** Initial role; default true (the offerer). Role conflicts (487) may flip it. */
  controlling?: boolean;
  /** STUN and TURN servers (`stun:`, `turn:`, `turns:` urls with `?transport=udp|tcp`). */
  iceServers?: readonly IceServer[];
  /** 'relay' gathers and uses only relayed candidates. Default 'all'. */
  iceTransportPolicy?: 'all' | 'relay';
  /** Host candidate ports in [min, max]; default any port. */
  portRange?: { min: number; max: number };
  /** Gather on loopback interfaces too (default false; tests on one machine set it). */
  includeLoopback?: boolean;
  /** Gather IPv6 host candidates (default true; link-local addresses are skipped). */
  ipv6?: boolean;
  /** Also gather RFC 6544 ICE-TCP host candidates (passive and active). Default false. */
  iceTcp?: boolean;
  /** Extra filter on interfaces (return false to skip). */
  interfaceFilter?: (iface: InterfaceAddress) => boolean;
  /** Pacing interval Ta between new checks, for the whole agent (RFC 8445 §14.2). Default 50 ms. */
  ta?: number;
  /** First retransmission timeout of a check; doubles up to `checkRtoMax`. Default 500 ms. */
  checkRto?: number;
  /** Default 4000 ms. */
  checkRtoMax?: number;
  /** Transmissions of a check before its pair fails. Default 7. */
  checkTransmissions?: number;
  /**
   * Controlling agent: how long after the first valid pair to wait for a better (higher-priority,
   * still pending) pair before nominating the best valid one. Default 3 round trips of the best
   * pair, between 100 and 500 ms.
   */
  nominationTimeout?: number;
  /** The same wait when the best valid pair is relayed (a direct path may still succeed). Default 2000 ms. */
  relayNominationTimeout?: number;
  /** RFC 7675 consent check interval (randomised ×0.8..1.2). Default 5000 ms. */
  consentInterval?: number;
  /** No consent response for this long: `disconnected`. Default 10000 ms (two missed checks). */
  disconnectedTimeout?: number;
  /** RFC 7675 §5.1: no consent for this long: `failed`. Default 30000 ms. */
  consentTimeout?: number;
  /** Gathering gives up on a STUN/TURN server after this long. Default 5000 ms. */
  gatherTimeout?: number;
  /** After end-of-candidates with no pair at all, fail after this long. Default 10000 ms. */
  noPairTimeout?: number;
  /** Pair limit (RFC 8445 §6.1.2.5). Default 100. */
  maxPairs?: number;
  /** Resolve `.local` remote candidates over mDNS (default true; pass false to ignore them). */
  mdns?: boolean | { server?: TransportAddress; timeoutMs?: number };
  /**
   * Announce host candidates under `.local` names registered with this responder instead of their
   * addresses (browsers do this for privacy), and hide related addresses. Default: addresses shown.
   */
  mdnsResponder?: MdnsResponder;
  /** Our credentials (default random). */
  localCredentials?: IceCredentials;
  /** Name resolution for ICE server hosts; default node:dns lookup. */
  resolveHost?: (host: string) => Promise<string>;
  /** node:tls options for `turns:` servers (ca, rejectUnauthorized, ...). */
  turnTls?: import('node:tls').ConnectionOptions;
  /** Passed to the TURN client and in SOFTWARE. */
  software?: string;
}
