/**
 * Candidates learned from connectivity checks rather than signaling (RFC 8445 §7.2.5.3.1 local,
 * §7.3.1.3 remote), and the candidate announcement that hides host addresses behind mDNS names.
 * Pure builders: the agent keeps the lists.
 */
import type { TransportAddress } from '../core/net.js';
import { familyOf } from '../core/net.js';
import type { Base } from './base.js';
import { type Candidate, COMPONENT_RTP, computeFoundation } from './candidate.js';
import { serializeCandidate } from './candidate-attribute.js';
import type { MdnsResponder } from './mdns-responder.js';
import type { LocalCandidate, RemoteCandidate } from './pair.js';
import type { IceCandidateEvent } from './types.js';

/** RFC 8445 §7.3.1.3: the source of a check we did not know, with the PRIORITY it carried. */
export function remotePeerReflexive(
  from: TransportAddress,
  base: Pick<Base, 'protocol' | 'tcpType'>,
  priority: number,
  seq: number,
): Candidate {
  return {
    foundation: computeFoundation('prflx', from.address, base.protocol, `${seq}`),
    component: COMPONENT_RTP,
    protocol: base.protocol,
    priority,
    address: from.address,
    port: from.port,
    type: 'prflx',
    // RFC 6544 §7.2.1: a peer that connected to our passive candidate is active.
    ...(base.protocol === 'tcp' ? { tcpType: base.tcpType === 'passive' ? 'active' : 'passive' } : {}),
  };
}

/**
 * RFC 8445 §7.2.5.3.1: a mapped address in a success response that is none of our candidates on
 * that base: a local peer-reflexive candidate with the check's PRIORITY.
 */
export function localPeerReflexive(
  id: string,
  checked: LocalCandidate,
  mapped: TransportAddress,
  priority: number,
): LocalCandidate {
  return {
    id,
    foundation: computeFoundation('prflx', checked.baseAddress, checked.protocol),
    component: COMPONENT_RTP,
    protocol: checked.protocol,
    priority,
    address: mapped.address,
    port: mapped.port,
    type: 'prflx',
    relatedAddress: checked.baseAddress,
    relatedPort: checked.basePort,
    ...(checked.tcpType !== undefined ? { tcpType: checked.tcpType } : {}),
    baseId: checked.baseId,
    baseAddress: checked.baseAddress,
    basePort: checked.basePort,
  };
}

/** RFC 8445 §7.3.1.3: a signaled candidate replaces the peer-reflexive one learned first (in place). */
export function promoteToSignaled(
  learned: RemoteCandidate,
  signaled: Candidate,
  resolvedAddress: string | undefined,
): void {
  Object.assign(learned as { -readonly [K in keyof RemoteCandidate]: RemoteCandidate[K] }, {
    type: signaled.type,
    priority: signaled.priority,
    foundation: signaled.foundation,
    address: signaled.address,
    ...(signaled.relatedAddress !== undefined ? { relatedAddress: signaled.relatedAddress } : {}),
    ...(signaled.relatedPort !== undefined ? { relatedPort: signaled.relatedPort } : {}),
    ...(resolvedAddress !== undefined ? { resolvedAddress } : {}),
  });
}

/**
 * The 'candidate' event for a local candidate: the attribute with generation and ufrag; with an
 * mDNS responder, host addresses become `.local` names and related addresses are hidden.
 */
export function announcement(
  c: LocalCandidate,
  ufrag: string,
  responder: MdnsResponder | undefined,
): IceCandidateEvent {
  let shown: Candidate = c;
  if (responder && c.type === 'host') {
    // Hide the host address behind a `.local` name (the peer resolves it over mDNS).
    shown = { ...c, address: responder.register(c.address) };
  } else if (responder && c.relatedAddress !== undefined) {
    // ... and do not leak it as the related address of srflx/relay candidates either.
    shown = {
      ...c,
      relatedAddress: familyOf(c.relatedAddress) === 'IPv6' ? '::' : '0.0.0.0',
      relatedPort: 9,
    };
  }
  const extensions: [string, string][] = [
    ['generation', '0'],
    ['ufrag', ufrag],
  ];
  return { candidate: c, attribute: serializeCandidate({ ...shown, extensions }), usernameFragment: ufrag };
}
