/**
 * Condenses an RTCPeerConnection's getStats() into what the call page shows and the server
 * collects: the selected candidate pair's path type, RTT, bitrate each way, packet loss and
 * decoded video frames. Bitrate and loss are over the interval since the previous summary.
 */
import type { CandidateType } from '../protocol/signaling.js';

export interface LinkStats {
  readonly at: number;
  readonly pathType: CandidateType | null;
  readonly localCandidateType: CandidateType | null;
  readonly remoteCandidateType: CandidateType | null;
  /** Local and remote addresses of the selected pair, "ip:port (protocol)". */
  readonly localAddress: string | null;
  readonly remoteAddress: string | null;
  readonly rttMs: number | null;
  readonly bitrateInKbps: number;
  readonly bitrateOutKbps: number;
  /** Fraction of inbound RTP packets lost over the interval (0-1). */
  readonly packetLoss: number;
  readonly framesDecoded: number;
  readonly audioPacketsReceived: number;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  readonly packetsReceived: number;
  readonly packetsLost: number;
}

export const EMPTY_STATS: LinkStats = {
  at: 0,
  pathType: null,
  localCandidateType: null,
  remoteCandidateType: null,
  localAddress: null,
  remoteAddress: null,
  rttMs: null,
  bitrateInKbps: 0,
  bitrateOutKbps: 0,
  packetLoss: 0,
  framesDecoded: 0,
  audioPacketsReceived: 0,
  bytesReceived: 0,
  bytesSent: 0,
  packetsReceived: 0,
  packetsLost: 0,
};

type Stat = Record<string, unknown> & { type: string; id: string };

const RANK: Record<CandidateType, number> = { host: 0, prflx: 1, srflx: 2, relay: 3 };

function candType(s: Stat | undefined): CandidateType | null {
  const t = s?.candidateType;
  return t === 'host' || t === 'srflx' || t === 'prflx' || t === 'relay' ? t : null;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function addr(s: Stat | undefined): string | null {
  if (!s) return null;
  const ip = (s.address ?? s.ip) as string | undefined;
  return ip ? `${ip}:${num(s.port)} (${String(s.protocol ?? '?')})` : null;
}

/** The path of a pair is its "most indirect" end: relay beats srflx beats prflx beats host. */
export function pathOf(local: CandidateType | null, remote: CandidateType | null): CandidateType | null {
  if (!local || !remote) return local ?? remote;
  return RANK[local] >= RANK[remote] ? local : remote;
}

export function summarize(report: RTCStatsReport, prev: LinkStats, nowMs: number): LinkStats {
  const byId = new Map<string, Stat>();
  report.forEach((s: Stat) => {
    byId.set(s.id, s);
  });
  let pair: Stat | undefined;
  for (const s of byId.values()) {
    if (s.type === 'transport' && typeof s.selectedCandidatePairId === 'string') {
      pair = byId.get(s.selectedCandidatePairId);
      if (pair) break;
    }
  }
  if (!pair) {
    for (const s of byId.values()) {
      if (
        s.type === 'candidate-pair' &&
        (s.selected === true || (s.nominated === true && s.state === 'succeeded'))
      ) {
        pair = s;
        break;
      }
    }
  }
  const local = pair ? byId.get(String(pair.localCandidateId)) : undefined;
  const remote = pair ? byId.get(String(pair.remoteCandidateId)) : undefined;
  let framesDecoded = 0;
  let audioPackets = 0;
  let packetsReceived = 0;
  let packetsLost = 0;
  for (const s of byId.values()) {
    if (s.type !== 'inbound-rtp') continue;
    packetsReceived += num(s.packetsReceived);
    packetsLost += Math.max(0, num(s.packetsLost));
    if (s.kind === 'video') framesDecoded += num(s.framesDecoded);
    else if (s.kind === 'audio') audioPackets += num(s.packetsReceived);
  }
  const bytesReceived = num(pair?.bytesReceived);
  const bytesSent = num(pair?.bytesSent);
  const dt = prev.at > 0 ? (nowMs - prev.at) / 1000 : 0;
  const rate = (now: number, before: number): number =>
    dt > 0 && now >= before ? ((now - before) * 8) / 1000 / dt : 0;
  const dRecv = packetsReceived - prev.packetsReceived;
  const dLost = packetsLost - prev.packetsLost;
  const lt = candType(local);
  const rt = candType(remote);
  const rtt = pair?.currentRoundTripTime;
  return {
    at: nowMs,
    pathType: pathOf(lt, rt),
    localCandidateType: lt,
    remoteCandidateType: rt,
    localAddress: addr(local),
    remoteAddress: addr(remote),
    rttMs: typeof rtt === 'number' ? Math.round(rtt * 10_000) / 10 : null,
    bitrateInKbps: Math.round(rate(bytesReceived, prev.bytesReceived)),
    bitrateOutKbps: Math.round(rate(bytesSent, prev.bytesSent)),
    packetLoss: dRecv + dLost > 0 && dLost > 0 ? dLost / (dRecv + dLost) : 0,
    framesDecoded,
    audioPacketsReceived: audioPackets,
    bytesReceived,
    bytesSent,
    packetsReceived,
    packetsLost,
  };
}
