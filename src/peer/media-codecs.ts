/**
 * The codecs and header extensions rtcstack negotiates for RTP transceivers (payload types and
 * extension ids follow Chromium's, so offers look familiar; answers keep the offerer's).
 */
import { payloadCodecName } from '../media/payload/index.js';
import {
  EXT_ABS_SEND_TIME,
  EXT_AUDIO_LEVEL,
  EXT_DEPENDENCY_DESCRIPTOR,
  EXT_MID,
  EXT_REPAIRED_RID,
  EXT_RID,
  EXT_TRANSPORT_CC,
} from '../rtp/extensions.js';
import type { Codec, RtcpFeedback } from '../sdp/codecs.js';
import type { Extmap } from '../sdp/types.js';

const VIDEO_FB: RtcpFeedback[] = [
  { type: 'ccm', parameter: 'fir' },
  { type: 'nack' },
  { type: 'nack', parameter: 'pli' },
];

/** W3C RTCRtpCodec (what getCapabilities/setCodecPreferences use). */
export interface RTCRtpCodec {
  mimeType: string;
  clockRate: number;
  channels?: number;
  sdpFmtpLine?: string;
}

function rtx(pt: number, apt: number): Codec {
  return { payloadType: pt, name: 'rtx', clockRate: 90000, fmtp: `apt=${apt}`, rtcpFeedback: [] };
}

export const DEFAULT_AUDIO_CODECS: readonly Codec[] = [
  {
    payloadType: 111,
    name: 'opus',
    clockRate: 48000,
    channels: 2,
    fmtp: 'minptime=10;useinbandfec=1',
    rtcpFeedback: [],
  },
];

export const DEFAULT_VIDEO_CODECS: readonly Codec[] = [
  { payloadType: 96, name: 'VP8', clockRate: 90000, rtcpFeedback: VIDEO_FB },
  rtx(97, 96),
  { payloadType: 98, name: 'VP9', clockRate: 90000, fmtp: 'profile-id=0', rtcpFeedback: VIDEO_FB },
  rtx(99, 98),
  {
    payloadType: 102,
    name: 'H264',
    clockRate: 90000,
    fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
    rtcpFeedback: VIDEO_FB,
  },
  rtx(103, 102),
  { payloadType: 45, name: 'AV1', clockRate: 90000, rtcpFeedback: VIDEO_FB },
  rtx(46, 45),
];

/**
 * Feedback that comes with transport-wide congestion control: TWCC, and REMB as the fallback for a
 * peer without transport-cc (added to every codec when transport-cc is negotiated).
 */
export const CONGESTION_FEEDBACK: readonly RtcpFeedback[] = [{ type: 'goog-remb' }, { type: 'transport-cc' }];

/**
 * Header extensions rtcstack can negotiate (transport-cc, and the AV1 dependency descriptor for
 * video, only when a transceiver asks for them; the audio level for audio).
 */
export function defaultHeaderExtensions(
  kind: 'audio' | 'video',
  transportCc = false,
  dependencyDescriptor = false,
): Extmap[] {
  const common = [
    { id: 2, uri: EXT_ABS_SEND_TIME },
    ...(transportCc ? [{ id: 3, uri: EXT_TRANSPORT_CC }] : []),
    { id: 4, uri: EXT_MID },
  ];
  // The sender's audio level (RFC 6464): read for inbound-rtp audioLevel and the SFU's active
  // speaker; rtcstack does not decode audio, so it sends none of its own.
  if (kind === 'audio') return [{ id: 1, uri: EXT_AUDIO_LEVEL }, ...common];
  const video = [...common, { id: 10, uri: EXT_RID }, { id: 11, uri: EXT_REPAIRED_RID }];
  return dependencyDescriptor ? [...video, { id: 12, uri: EXT_DEPENDENCY_DESCRIPTOR }] : video;
}

export const mimeTypeOf = (kind: 'audio' | 'video', c: Codec): string => `${kind}/${c.name}`;

export function toRtcCodec(kind: 'audio' | 'video', c: Codec): RTCRtpCodec {
  return {
    mimeType: mimeTypeOf(kind, c),
    clockRate: c.clockRate,
    ...(c.channels !== undefined && { channels: c.channels }),
    ...(c.fmtp !== undefined && { sdpFmtpLine: c.fmtp }),
  };
}

/** Whether rtcstack can (de)packetize a codec (RTX, RED and FEC pass through unsupported). */
export const canPacketize = (c: Codec): boolean => payloadCodecName(c.name) !== undefined;
