export { RTCDataChannel } from '../datachannel/data-channel.js';
export { RTCCertificate } from './certificate.js';
export type { RTCIceCandidateInit, RTCSdpType, RTCSessionDescriptionInit } from './description.js';
export { RTCIceCandidate, RTCSessionDescription } from './description.js';
export type { RTCRtpCodec } from './media-codecs.js';
export type { EncodedFrameInit, ReceivedFrame } from './media-track.js';
export { MediaStream, MediaStreamTrack } from './media-track.js';
export type {
  DroppedDatagrams,
  PeerOptions,
  RTCBundlePolicy,
  RTCConfiguration,
  RTCIceConnectionState,
  RTCIceGatheringState,
  RTCIceTransportPolicy,
  RTCPeerConnectionState,
  RTCRtpTransceiverInit,
  RTCSignalingState,
  RTCTrackEvent,
} from './peer-connection.js';
export { RTCPeerConnection } from './peer-connection.js';
export { RTCRtpReceiver } from './rtp-receiver.js';
export type { RTCRtpEncodingParameters, RTCRtpSendParameters } from './rtp-sender.js';
export { RTCRtpSender } from './rtp-sender.js';
export { getCapabilities, RTCRtpTransceiver } from './rtp-transceiver.js';
export type { RTCStats, RTCStatsReport } from './stats.js';
