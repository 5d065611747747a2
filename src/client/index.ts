/**
 * rtcstack browser client: signaling, mesh calls with perfect negotiation, chat and file transfer
 * over data channels, and stats reporting. Browser-only (DOM APIs); imports nothing outside src/client.
 */

export * from '../protocol/signaling.js';
export { Call, type CallEvents, type CallOptions, type CallSnapshot } from './call.js';
export { type FileRecord, sha256Hex } from './file-transfer.js';
export { MeshTransport } from './mesh.js';
export { PeerLink } from './peer-link.js';
export { SignalingClient, type SignalingState } from './signaling-client.js';
export { type LinkStats, pathOf, summarize } from './stats.js';
export type { ChatMessage, RemotePeerView, Transport, TransportMode } from './transport.js';
