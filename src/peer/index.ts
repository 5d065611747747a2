export { RTCDataChannel } from '../datachannel/data-channel.js';
export { RTCCertificate } from './certificate.js';
export type { RTCIceCandidateInit, RTCSdpType, RTCSessionDescriptionInit } from './description.js';
export { RTCIceCandidate, RTCSessionDescription } from './description.js';
export type {
  PeerOptions,
  RTCBundlePolicy,
  RTCConfiguration,
  RTCIceConnectionState,
  RTCIceGatheringState,
  RTCIceTransportPolicy,
  RTCPeerConnectionState,
  RTCSignalingState,
} from './peer-connection.js';
export { RTCPeerConnection } from './peer-connection.js';
export type { RTCStats, RTCStatsReport } from './stats.js';
