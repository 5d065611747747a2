/**
 * ICE candidates (RFC 8445 §5.1): types, priorities and foundations.
 *
 * WebRTC multiplexes RTP and RTCP on one transport (rtcp-mux), so every candidate here is for
 * component 1; the component field is kept for the wire format and for peers that send others.
 */
import { familyOf, type TransportAddress } from '../core/net.js';

export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';
export type CandidateProtocol = 'udp' | 'tcp';
/** RFC 6544 §4.5 TCP candidate types. */
export type TcpType = 'active' | 'passive' | 'so';

export interface Candidate {
  readonly foundation: string;
  readonly component: number;
  readonly protocol: CandidateProtocol;
  /** 32-bit priority (RFC 8445 §5.1.2). */
  readonly priority: number;
  /** IP address or, for mDNS-hidden hosts, a `<uuid>.local` name. */
  readonly address: string;
  readonly port: number;
  readonly type: CandidateType;
  readonly relatedAddress?: string;
  readonly relatedPort?: number;
  readonly tcpType?: TcpType;
  /** Extension attributes in order of appearance (`generation`, `ufrag`, `network-id`, ...). */
  readonly extensions?: readonly (readonly [string, string])[];
}

/** The only component WebRTC uses (rtcp-mux). */
export const COMPONENT_RTP = 1;

/** RFC 8445 §5.1.2.2 recommended type preferences. */
export const TYPE_PREFERENCE: Readonly<Record<CandidateType, number>> = {
  host: 126,
  prflx: 110,
  srflx: 100,
  relay: 0,
};

/**
 * RFC 8445 §5.1.2.1: priority = 2^24 * type preference + 2^8 * local preference + (256 - component).
 * `localPreference` is 0..65535 (higher is preferred).
 */
export function computePriority(
  type: CandidateType,
  localPreference: number,
  component = COMPONENT_RTP,
  protocol: CandidateProtocol = 'udp',
  tcpType?: TcpType,
): number {
  let typePref = TYPE_PREFERENCE[type];
  // RFC 6544 §4.2: prefer UDP over TCP, and within TCP prefer by tcptype; keep TCP below UDP of the
  // same type by lowering its type preference, and keep the direction preference in local preference.
  let lp = localPreference & 0xffff;
  if (protocol === 'tcp') {
    typePref = Math.max(0, typePref - 30);
    const dirPref = tcpType === 'active' ? 6 : tcpType === 'passive' ? 4 : 2;
    lp = (dirPref << 13) | (lp & 0x1fff);
  }
  return (typePref * 2 ** 24 + lp * 2 ** 8 + (256 - component)) >>> 0;
}

/**
 * Local preference for a host candidate (RFC 8445 §5.1.2.1, RFC 8421 for dual stack): IPv6 above
 * IPv4, earlier interfaces above later ones.
 */
export function hostLocalPreference(address: string, interfaceIndex: number): number {
  const v6 = familyOf(address) === 'IPv6';
  const base = v6 ? 60000 : 50000;
  return Math.max(0, base - interfaceIndex * 10);
}

/**
 * RFC 8445 §5.1.1.3: same foundation for candidates of the same type, base IP, server and transport.
 * A short stable hash keeps the foundation opaque and `ice-char` only.
 */
export function computeFoundation(
  type: CandidateType,
  baseAddress: string,
  protocol: CandidateProtocol,
  server = '',
): string {
  const text = `${type}|${baseAddress}|${protocol}|${server}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return String(h >>> 0);
}

export function candidateAddress(c: Candidate): TransportAddress {
  return { address: c.address, port: c.port };
}

/** True when the candidate hides its address behind an mDNS name (RFC draft mdns-ice-candidates). */
export function isMdnsCandidate(c: Candidate): boolean {
  return c.address.toLowerCase().endsWith('.local');
}

/** Key used to recognise the same transport address across candidates. */
export function addressKey(protocol: CandidateProtocol, a: TransportAddress): string {
  return `${protocol}|${a.address.toLowerCase()}|${a.port}`;
}
