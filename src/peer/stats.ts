/**
 * getStats(): an RTCStatsReport (a Map from id to stats dictionaries, webrtc-stats) assembled from
 * the layers: peer-connection, transport, candidate-pair, local/remote candidates, certificates and
 * data channels. Every entry carries `id`, `type` and `timestamp`.
 */
import { toHex } from '../core/bytes.js';
import { fingerprintOf } from '../dtls/certificate.js';
import { ICE_TRANSPORT_ID } from '../ice/stats.js';
import type { RTCCertificate } from './certificate.js';
import type { TransportStack } from './transport-stack.js';

export type RTCStats = { id: string; type: string; timestamp: number; [key: string]: unknown };
export type RTCStatsReport = Map<string, RTCStats>;

export function collectPeerStats(o: {
  now: number;
  stack: TransportStack;
  certificate: RTCCertificate;
  connectionState: string;
}): RTCStatsReport {
  const report: RTCStatsReport = new Map();
  const put = (s: { id: string; type: string; [key: string]: unknown }): void => {
    report.set(s.id, { ...s, timestamp: o.now } as RTCStats);
  };
  const channels = o.stack.channels.channels;
  put({
    id: 'P',
    type: 'peer-connection',
    dataChannelsOpened: channels.filter((c) => c.readyState === 'open').length,
    dataChannelsClosed: channels.filter((c) => c.readyState === 'closed').length,
  });
  const localFp = o.certificate.getFingerprints()[0]!;
  put({
    id: `CERT_local_${localFp.value.replace(/:/g, '')}`,
    type: 'certificate',
    fingerprint: localFp.value,
    fingerprintAlgorithm: localFp.algorithm,
    base64Certificate: Buffer.from(o.certificate.dtls.der).toString('base64'),
  });
  const stack = o.stack;
  if (!stack.hasAgent) return report;
  const dtls = stack.dtls;
  const remoteDer = dtls?.remoteCertificate;
  let remoteCertId: string | undefined;
  if (remoteDer) {
    const fp = fingerprintOf(remoteDer);
    remoteCertId = `CERT_remote_${fp.value.replace(/:/g, '')}`;
    put({
      id: remoteCertId,
      type: 'certificate',
      fingerprint: fp.value,
      fingerprintAlgorithm: fp.algorithm,
      base64Certificate: Buffer.from(remoteDer).toString('base64'),
    });
  }
  const iceStats = stack.agent.getStats();
  let bytesSent = 0;
  let bytesReceived = 0;
  let packetsSent = 0;
  let packetsReceived = 0;
  let selectedPairId: string | undefined;
  for (const s of iceStats) {
    put(s as unknown as RTCStats);
    if (s.type === 'candidate-pair' && s.selected) {
      selectedPairId = s.id;
      bytesSent = s.bytesSent;
      bytesReceived = s.bytesReceived;
      packetsSent = s.packetsSent;
      packetsReceived = s.packetsReceived;
    }
  }
  put({
    id: ICE_TRANSPORT_ID,
    type: 'transport',
    bytesSent,
    bytesReceived,
    packetsSent,
    packetsReceived,
    iceRole: stack.agent.controlling ? 'controlling' : 'controlled',
    iceLocalUsernameFragment: stack.agent.localCredentials.ufrag,
    iceState: stack.agent.state,
    dtlsState: dtls?.state ?? 'new',
    dtlsRole: dtls ? (dtls.role === 'client' ? 'client' : 'server') : 'unknown',
    selectedCandidatePairId: selectedPairId,
    localCertificateId: `CERT_local_${localFp.value.replace(/:/g, '')}`,
    remoteCertificateId: remoteCertId,
    tlsVersion:
      dtls?.negotiatedVersion === '1.3' ? 'FEFC' : dtls?.negotiatedVersion === '1.2' ? 'FEFD' : undefined,
    dtlsCipher: dtls?.cipherSuite,
    srtpCipher: dtls?.srtpProfile,
    selectedCandidatePairChanges: stack.agent.selectedPairChanges,
  });
  for (const c of channels) {
    const st = stack.channels.statsOf(c);
    put({
      id: `D${c.id ?? `x${toHex(new TextEncoder().encode(c.label)).slice(0, 8)}`}`,
      type: 'data-channel',
      label: c.label,
      protocol: c.protocol,
      dataChannelIdentifier: c.id,
      state: c.readyState,
      messagesSent: st.messagesSent,
      bytesSent: st.bytesSent,
      messagesReceived: st.messagesReceived,
      bytesReceived: st.bytesReceived,
    });
  }
  return report;
}
