/**
 * Statistics shaped like W3C RTCIceCandidateStats and RTCIceCandidatePairStats (webrtc-stats §7.x).
 * Timestamps are wall-clock milliseconds from the agent's Clock; round-trip times in seconds.
 */
import type { CandidatePair, LocalCandidate, RemoteCandidate } from './pair.js';
import type { IceCredentials } from './types.js';

export interface IceCandidateStats {
  readonly type: 'local-candidate' | 'remote-candidate';
  readonly id: string;
  /** Wall-clock ms when the stats were taken (W3C RTCStats.timestamp). */
  readonly timestamp: number;
  readonly transportId: string;
  readonly address: string;
  readonly port: number;
  readonly protocol: 'udp' | 'tcp';
  readonly candidateType: 'host' | 'srflx' | 'prflx' | 'relay';
  readonly priority: number;
  readonly foundation: string;
  readonly usernameFragment?: string;
  readonly relatedAddress?: string;
  readonly relatedPort?: number;
  readonly url?: string;
  readonly relayProtocol?: 'udp' | 'tcp' | 'tls';
  readonly tcpType?: 'active' | 'passive' | 'so';
}

export interface IceCandidatePairStats {
  readonly type: 'candidate-pair';
  readonly id: string;
  readonly timestamp: number;
  readonly transportId: string;
  readonly localCandidateId: string;
  readonly remoteCandidateId: string;
  readonly state: CandidatePair['state'];
  readonly nominated: boolean;
  readonly selected: boolean;
  readonly priority: number;
  readonly packetsSent: number;
  readonly packetsReceived: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly currentRoundTripTime?: number;
  readonly totalRoundTripTime: number;
  readonly requestsSent: number;
  readonly requestsReceived: number;
  readonly responsesSent: number;
  readonly responsesReceived: number;
  readonly consentRequestsSent: number;
  readonly lastPacketSentTimestamp?: number;
  readonly lastPacketReceivedTimestamp?: number;
}

export type IceStats = IceCandidateStats | IceCandidatePairStats;

export const ICE_TRANSPORT_ID = 'RTCIceTransport_0';

function candidateStats(
  kind: 'local-candidate' | 'remote-candidate',
  c: LocalCandidate | RemoteCandidate,
  ufrag: string | undefined,
  timestamp: number,
): IceCandidateStats {
  const l = c as Partial<LocalCandidate>;
  return {
    type: kind,
    id: c.id,
    timestamp,
    transportId: ICE_TRANSPORT_ID,
    address: c.address,
    port: c.port,
    protocol: c.protocol,
    candidateType: c.type,
    priority: c.priority,
    foundation: c.foundation,
    ...(ufrag !== undefined ? { usernameFragment: ufrag } : {}),
    ...(c.relatedAddress !== undefined ? { relatedAddress: c.relatedAddress } : {}),
    ...(c.relatedPort !== undefined ? { relatedPort: c.relatedPort } : {}),
    ...(l.url !== undefined ? { url: l.url } : {}),
    ...(l.relayProtocol !== undefined ? { relayProtocol: l.relayProtocol } : {}),
    ...(c.tcpType !== undefined ? { tcpType: c.tcpType } : {}),
  };
}

export function pairStats(p: CandidatePair, selected: boolean, timestamp: number): IceCandidatePairStats {
  return {
    type: 'candidate-pair',
    id: `RTCIceCandidatePair_${p.id}`,
    timestamp,
    transportId: ICE_TRANSPORT_ID,
    localCandidateId: p.local.id,
    remoteCandidateId: p.remote.id,
    state: p.state,
    nominated: p.nominated,
    selected,
    // Stats carry a double; a 64-bit priority loses low bits, which is what browsers report too.
    priority: Number(p.priority),
    packetsSent: p.packetsSent,
    packetsReceived: p.packetsReceived,
    bytesSent: p.bytesSent,
    bytesReceived: p.bytesReceived,
    ...(p.currentRoundTripTime !== undefined ? { currentRoundTripTime: p.currentRoundTripTime } : {}),
    totalRoundTripTime: p.totalRoundTripTime,
    requestsSent: p.requestsSent,
    requestsReceived: p.requestsReceived,
    responsesSent: p.responsesSent,
    responsesReceived: p.responsesReceived,
    consentRequestsSent: p.consentRequestsSent,
    ...(p.lastPacketSentTimestamp !== undefined
      ? { lastPacketSentTimestamp: p.lastPacketSentTimestamp }
      : {}),
    ...(p.lastPacketReceivedTimestamp !== undefined
      ? { lastPacketReceivedTimestamp: p.lastPacketReceivedTimestamp }
      : {}),
  };
}

export function collectStats(
  locals: readonly LocalCandidate[],
  remotes: readonly RemoteCandidate[],
  pairs: readonly CandidatePair[],
  selected: CandidatePair | undefined,
  localCreds: IceCredentials,
  remoteCreds: IceCredentials | undefined,
  timestamp: number,
): IceStats[] {
  const out: IceStats[] = [];
  for (const c of locals) out.push(candidateStats('local-candidate', c, localCreds.ufrag, timestamp));
  for (const c of remotes) out.push(candidateStats('remote-candidate', c, remoteCreds?.ufrag, timestamp));
  for (const p of pairs) out.push(pairStats(p, p === selected, timestamp));
  return out;
}
