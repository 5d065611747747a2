/**
 * getStats() entries for media (webrtc-stats): inbound-rtp, outbound-rtp, remote-inbound-rtp (from
 * the peer's receiver reports), remote-outbound-rtp (from its sender reports), codec, media-source.
 */
import { ICE_TRANSPORT_ID } from '../ice/stats.js';
import type { RTCRtpTransceiver } from './rtp-transceiver.js';
import type { RTCStats, RTCStatsReport } from './stats.js';

export function addMediaStats(
  report: RTCStatsReport,
  now: number,
  transceivers: readonly RTCRtpTransceiver[],
): void {
  const put = (s: { id: string; type: string; [key: string]: unknown }): void => {
    report.set(s.id, { ...s, timestamp: now } as RTCStats);
  };
  for (const t of transceivers) {
    const mid = t.mid ?? undefined;
    const codecId = (pt: number): string => `CIT_${mid}_${pt}`;
    for (const c of t.receiver.codecs) {
      put({
        id: codecId(c.payloadType),
        type: 'codec',
        transportId: ICE_TRANSPORT_ID,
        payloadType: c.payloadType,
        mimeType: `${t.kind}/${c.name}`,
        clockRate: c.clockRate,
        ...(c.channels !== undefined && { channels: c.channels }),
        ...(c.fmtp !== undefined && { sdpFmtpLine: c.fmtp }),
      });
    }
    for (const s of t.receiver.streams.values()) {
      put({
        id: `IT_${s.ssrc}`,
        type: 'inbound-rtp',
        kind: t.kind,
        ssrc: s.ssrc,
        mid,
        ...(s.rid !== undefined && { rid: s.rid }),
        transportId: ICE_TRANSPORT_ID,
        codecId: codecId(s.payloadType),
        trackIdentifier: t.receiver.track.id,
        packetsReceived: s.stats.packetsReceived,
        bytesReceived: s.stats.payloadBytesReceived,
        headerBytesReceived: s.stats.bytesReceived - s.stats.payloadBytesReceived,
        packetsLost: s.stats.packetsLost,
        jitter: s.stats.jitter / s.stats.clockRate,
        framesReceived: s.framesReceived,
        ...(t.kind === 'video' && { keyFramesDecoded: s.keyFramesReceived, pliCount: s.pliCount }),
        ...s.video?.stats(now),
        ...s.audio?.stats(),
        nackCount: s.nack.nacksSent,
        retransmittedPacketsReceived: s.retransmittedPacketsReceived,
        framesDropped: s.jitter?.framesDropped ?? 0,
        lastPacketReceivedTimestamp: s.stats.lastPacketReceivedAt,
        ...(s.remoteSender && { remoteId: `RO_${s.ssrc}` }),
      });
      if (s.remoteSender) {
        put({
          id: `RO_${s.ssrc}`,
          type: 'remote-outbound-rtp',
          kind: t.kind,
          ssrc: s.ssrc,
          transportId: ICE_TRANSPORT_ID,
          codecId: codecId(s.payloadType),
          localId: `IT_${s.ssrc}`,
          remoteTimestamp: s.remoteSender.remoteTimestamp,
          packetsSent: s.remoteSender.packetsSent,
          bytesSent: s.remoteSender.bytesSent,
          reportsSent: s.remoteSender.reportsSent,
        });
      }
    }
    const snd = t.sender;
    if (snd.stats.packetsSent > 0 || snd.out) {
      for (const layer of snd.layers) {
        const st = layer.stats;
        if (snd.layers.length > 1 && st.packetsSent === 0) continue;
        put({
          id: `OT_${layer.ssrc}`,
          type: 'outbound-rtp',
          kind: t.kind,
          ssrc: layer.ssrc,
          ...(layer.rid !== undefined && { rid: layer.rid }),
          mid,
          transportId: ICE_TRANSPORT_ID,
          ...(snd.codec && { codecId: codecId(snd.codec.payloadType) }),
          packetsSent: st.packetsSent,
          bytesSent: st.bytesSent,
          headerBytesSent: st.headerBytesSent,
          framesSent: st.framesSent,
          ...(t.kind === 'video' && {
            ...layer.video.stats(now),
            keyFramesEncoded: st.keyFramesSent,
            pliCount: st.pliCount,
            firCount: st.firCount,
          }),
          nackCount: st.nackCount,
          retransmittedPacketsSent: st.retransmittedPacketsSent,
          retransmittedBytesSent: st.retransmittedBytesSent,
          active: snd.active,
          ...(snd.track && { mediaSourceId: `SO_${snd.track.id}` }),
          ...(snd.targetBitrate !== undefined && { targetBitrate: snd.targetBitrate }),
          ...(layer.remoteReport && { remoteId: `RI_${layer.ssrc}` }),
        });
        if (layer.remoteReport) {
          put({
            id: `RI_${layer.ssrc}`,
            type: 'remote-inbound-rtp',
            kind: t.kind,
            ssrc: layer.ssrc,
            localId: `OT_${layer.ssrc}`,
            packetsLost: layer.remoteReport.packetsLost,
            fractionLost: layer.remoteReport.fractionLost,
            ...(snd.roundTripTime !== undefined && { roundTripTime: snd.roundTripTime / 1000 }),
          });
        }
      }
      if (snd.track)
        put({ id: `SO_${snd.track.id}`, type: 'media-source', kind: t.kind, trackIdentifier: snd.track.id });
    }
  }
}
