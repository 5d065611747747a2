/**
 * ICE (RFC 8445, RFC 8838 trickle, RFC 7675 consent) for the peer connection:
 *
 *   const agent = new IceAgent({ clock, network, iceServers, iceTransportPolicy, controlling });
 *   agent.on('candidate', (c) => signal(c?.attribute ?? null));   // trickle; null = end-of-candidates
 *   agent.on('statechange', (s) => ...);       // W3C RTCIceTransportState values
 *   agent.on('gatheringstatechange', (s) => ...);
 *   agent.on('selectedpairchange', (pair) => ...);
 *   agent.on('data', (bytes, pair) => ...);    // DTLS / SRTP / anything that is not STUN
 *   agent.setRemoteCredentials(ufrag, pwd, { lite });
 *   agent.addRemoteCandidate('candidate:...' | candidate | null);
 *   agent.start(); await agent.gather();
 *   agent.send(bytes); agent.restart(); agent.getStats(); agent.close();
 *
 * See `IceAgentOptions` in types.ts for every option and its default.
 */
export { IceAgent } from './agent.js';
export type { Base } from './base.js';
export {
  type Candidate,
  type CandidateProtocol,
  type CandidateType,
  COMPONENT_RTP,
  computeFoundation,
  computePriority,
  isMdnsCandidate,
  type TcpType,
  TYPE_PREFERENCE,
} from './candidate.js';
export { parseCandidate, serializeCandidate } from './candidate-attribute.js';
export { CheckList } from './checklist.js';
export { randomCredentials } from './credentials.js';
export { MdnsResolver } from './mdns.js';
export { bindMulticastMdns, MdnsResponder } from './mdns-responder.js';
export {
  CandidatePair,
  type LocalCandidate,
  type PairState,
  pairPriority,
  type RemoteCandidate,
} from './pair.js';
export type { IceCandidatePairStats, IceCandidateStats, IceStats } from './stats.js';
export type {
  IceAgentEvents,
  IceAgentOptions,
  IceCandidateError,
  IceCandidateEvent,
  IceCredentials,
  IceGatheringState,
  IceRole,
  IceServer,
  IceTransportState,
} from './types.js';
export { type IceServerUrl, parseIceServerUrl } from './url.js';
