/**
 * The signaling protocol (v: 1) as the browser sees it. docs/signaling.md describes it; the server's
 * schemas (src/server/signaling/protocol.ts) are the authority. Kept as types only: the client layer
 * may not import server code.
 */
export const PROTOCOL_VERSION = 1;

export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';
export type LinkConnectionState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

export interface PeerInfo {
  readonly id: string;
  readonly name: string;
}

export interface IceServer {
  readonly urls: string[];
  readonly username?: string;
  readonly credential?: string;
}

export interface CandidateInit {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

export interface StatsEntry {
  peerId: string;
  connectionState: LinkConnectionState;
  pathType: CandidateType | null;
  localCandidateType: CandidateType | null;
  remoteCandidateType: CandidateType | null;
  rttMs: number | null;
  bitrateInKbps: number;
  bitrateOutKbps: number;
  packetLoss: number;
  framesDecoded: number;
}

/**
 * Which peer connections a peer-to-peer frame is between: `link` names the sender's connection,
 * `toLink` the receiver's connection it answers to (once known). Random ids, one per connection.
 */
export interface LinkIds {
  link?: string;
  toLink?: string;
}

/** Frames to the server that are relayed to one peer. */
export type PeerSignal =
  | ({ type: 'offer'; to: string; sdp: string } & LinkIds)
  | ({ type: 'answer'; to: string; sdp: string; forOffer?: string } & LinkIds)
  | ({ type: 'candidate'; to: string; candidate: CandidateInit } & LinkIds)
  | ({ type: 'end-of-candidates'; to: string; usernameFragment?: string } & LinkIds);

export type ClientMessage =
  | { v: 1; type: 'join'; room: string; token?: string; name?: string; instance?: string }
  | { v: 1; type: 'resume'; resumeToken: string }
  | { v: 1; type: 'leave' }
  | ({ v: 1 } & PeerSignal)
  | { v: 1; type: 'ping'; id?: number }
  | { v: 1; type: 'stats'; peers: StatsEntry[] }
  | { v: 1; type: 'event'; name: 'connected' | 'ice-failed' | 'ice-restart'; peer: string; setupMs?: number }
  | ({ v: 1 } & SfuSignal)
  | { v: 1; type: 'mute'; kind: 'audio' | 'video'; muted: boolean }
  /** SFU mode: start (`on`) or stop recording the room's tracks on the server. */
  | { v: 1; type: 'record'; on: boolean };

export type RoomMode = 'mesh' | 'sfu';
export type SfuPc = 'pub' | 'sub';

/** SFU mode frames from the client (docs/signaling.md, "SFU mode"). */
export type SfuSignal =
  | { type: 'sfu-offer'; pc: 'pub'; sdp: string }
  | { type: 'sfu-answer'; pc: 'sub'; sdp: string }
  | { type: 'sfu-candidate'; pc: SfuPc; candidate: CandidateInit }
  | { type: 'sfu-end-of-candidates'; pc: SfuPc; usernameFragment?: string }
  | { type: 'sfu-prefs'; maxHeight: number; peer?: string }
  | { type: 'sfu-restart'; pc: 'sub' };

export interface SfuTrackInfo {
  readonly mid: string;
  readonly peerId: string;
  readonly kind: 'audio' | 'video';
}

/** SFU mode frames from the server. */
export type SfuServerSignal =
  | { v: 1; type: 'sfu-offer'; pc: 'sub'; sdp: string; tracks: SfuTrackInfo[] }
  | { v: 1; type: 'sfu-answer'; pc: 'pub'; sdp: string }
  | { v: 1; type: 'sfu-candidate'; pc: SfuPc; candidate: CandidateInit }
  | { v: 1; type: 'sfu-end-of-candidates'; pc: SfuPc; usernameFragment?: string };

export interface Welcome {
  v: 1;
  type: 'welcome';
  peerId: string;
  room: string;
  name: string;
  resumed: boolean;
  mode: RoomMode;
  peers: PeerInfo[];
  iceServers: IceServer[];
  iceServersExpireAt: number;
  resumeToken: string;
  resumeWindowSec: number;
  pingIntervalMs: number;
}

/** Frames from another peer, relayed by the server. */
export type RemoteSignal =
  | ({ v: 1; type: 'offer' | 'answer'; from: string; sdp: string; forOffer?: string } & LinkIds)
  | ({ v: 1; type: 'candidate'; from: string; candidate: CandidateInit } & LinkIds)
  | ({ v: 1; type: 'end-of-candidates'; from: string; usernameFragment?: string } & LinkIds);

export type ServerMessage =
  | Welcome
  | RemoteSignal
  | { v: 1; type: 'peer-joined'; peer: PeerInfo }
  | { v: 1; type: 'peer-left'; peerId: string; reason: string }
  | { v: 1; type: 'ice-servers'; iceServers: IceServer[]; iceServersExpireAt: number }
  | { v: 1; type: 'session'; resumeToken: string }
  | { v: 1; type: 'pong'; id?: number }
  | { v: 1; type: 'left' }
  | { v: 1; type: 'error'; code: string; message: string; ref?: string; peer?: string }
  | SfuServerSignal
  | { v: 1; type: 'mode'; mode: RoomMode; peers: number }
  | { v: 1; type: 'peer-muted'; peerId: string; kind: 'audio' | 'video'; muted: boolean }
  | { v: 1; type: 'active-speaker'; peerId: string }
  /** The room's recording started or stopped (`by`: who asked; `files`: tracks written, on stop). */
  | { v: 1; type: 'recording'; on: boolean; by: string; files?: number };
