/**
 * Padding for the pacer (probes, and a padding rate when asked), as browsers send it: on a video
 * sender's RTX stream (RFC 4588; only where RTX was negotiated), padding-only packets: no payload,
 * RTP padding of up to 255 bytes (RFC 3550 §5.1), the RTX stream's next sequence number, the mid
 * (and for a simulcast layer the repaired-rid, RFC 8852 §3.2) so a receiver can place them.
 * Receivers discard them (they carry no OSN) after their transport-wide feedback recorded them.
 * (Replays of recent packets, which libwebrtc prefers, would count at the receiver as duplicates
 * and repair losses before any NACK: padding-only keeps what statistics and loss recovery see.)
 */
import { EXT_MID, EXT_REPAIRED_RID, serializeSdesExtension } from '../rtp/extensions.js';
import type { RtpHeaderExtension } from '../rtp/header-extensions.js';
import type { RtpPacket } from '../rtp/packet.js';
import type { RTCRtpTransceiver } from './rtp-transceiver.js';
import type { SendLayer } from './send-layer.js';

/** RTP padding at most (the count is one byte). */
const MAX_PADDING = 255;
const EMPTY = new Uint8Array(0);

/** Padding packets of about `bytes` in total (none without a video sender with RTX). */
export function paddingPackets(transceivers: readonly RTCRtpTransceiver[], bytes: number): RtpPacket[] {
  let best: { layer: SendLayer; t: RTCRtpTransceiver; pt: number } | undefined;
  for (const t of transceivers) {
    const s = t.sender;
    const pt = s.rtxPayloadType;
    if (t.kind !== 'video' || !s.out || pt === undefined) continue;
    for (const layer of s.layers)
      if (!best || layer.stats.lastPacketSentAt > best.layer.stats.lastPacketSentAt) best = { layer, t, pt };
  }
  if (!best) return [];
  const { layer, t, pt } = best;
  const extensions: RtpHeaderExtension[] = [];
  for (const e of t.sender.extmaps) {
    if (e.uri === EXT_MID && t.mid !== null)
      extensions.push({ id: e.id, data: serializeSdesExtension(t.mid) });
    if (e.uri === EXT_REPAIRED_RID && layer.rid !== undefined)
      extensions.push({ id: e.id, data: serializeSdesExtension(layer.rid) });
  }
  const out: RtpPacket[] = [];
  for (let left = bytes; left > 0; left -= MAX_PADDING + 12) {
    out.push({
      marker: false,
      payloadType: pt,
      sequenceNumber: layer.nextRtxSeq(),
      timestamp: layer.stats.lastRtpTimestamp,
      ssrc: layer.rtxSsrc,
      csrcs: [],
      extensions,
      payload: EMPTY,
      paddingSize: MAX_PADDING,
    });
  }
  return out;
}
