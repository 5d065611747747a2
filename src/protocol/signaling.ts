/**
 * The signaling protocol (v: 1), its frames as types, shared by both ends: the server
 * (src/server/signaling), the browser client (src/client) and the CLI participants. Types and
 * constants only, no Node built-ins, so the browser bundle can import it. docs/signaling.md is the
 * prose description. The server validates every client frame against its schemas
 * (src/server/signaling/protocol.ts), which the typecheck holds equal to `ClientMessage` here.
 */
export const PROTOCOL_VERSION = 1;

export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';
export type LinkConnectionState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';
export type MediaKind = 'audio' | 'video';

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

/** One peer connection's figures, as a client reports them to the server's dashboard. */
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
 * `toLink` the receiver's connection it answers to (once known). Random ids, one per connection:
 * when one end replaces its connection, the other sees a new `link` and replaces its own too.
 */
export interface LinkIds {
  link?: string;
  toLink?: string;
}

export type RoomMode = 'mesh' | 'sfu';
/**
 * SFU mode: each participant has two peer connections with the server. `pub` carries what it
 * sends (the client offers); `sub` what it receives (the server offers, again as people come and go).
 */
export type SfuPc = 'pub' | 'sub';

/** Frames to the server that are relayed to one peer. */
export type PeerSignal =
  | ({ type: 'offer'; to: string; sdp: string } & LinkIds)
  /** `forOffer`: the `o=` session id and version of the offer this answers (stale ones are dropped). */
  | ({ type: 'answer'; to: string; sdp: string; forOffer?: string } & LinkIds)
  | ({ type: 'candidate'; to: string; candidate: CandidateInit } & LinkIds)
  /** `usernameFragment`: the ICE generation it ends (RFC 8838 §13). */
  | ({ type: 'end-of-candidates'; to: string; usernameFragment?: string } & LinkIds);

/** SFU mode frames from the client (docs/signaling.md, "SFU mode"). */
export type SfuSignal =
  | { type: 'sfu-offer'; pc: 'pub'; sdp: string }
  | { type: 'sfu-answer'; pc: 'sub'; sdp: string }
  | { type: 'sfu-candidate'; pc: SfuPc; candidate: CandidateInit }
  | { type: 'sfu-end-of-candidates'; pc: SfuPc; usernameFragment?: string }
  /** The largest video height this client wants (of one peer, or of everyone). */
  | { type: 'sfu-prefs'; maxHeight: number; peer?: string }
  /** The subscribing connection failed or stays disconnected: the server restarts its ICE. */
  | { type: 'sfu-restart'; pc: 'sub' };

export type ClientMessage =
  /** `instance`: a random id per page load; a join repeating it takes over that earlier session. */
  | { v: 1; type: 'join'; room: string; token?: string; name?: string; instance?: string }
  | { v: 1; type: 'resume'; resumeToken: string }
  | { v: 1; type: 'leave' }
  | ({ v: 1 } & PeerSignal)
  | { v: 1; type: 'ping'; id?: number }
  | { v: 1; type: 'stats'; peers: StatsEntry[] }
  | { v: 1; type: 'event'; name: 'connected' | 'ice-failed' | 'ice-restart'; peer: string; setupMs?: number }
  | ({ v: 1 } & SfuSignal)
  /** Our camera/microphone muted or unmuted (told to the others; the SFU stops forwarding it). */
  | { v: 1; type: 'mute'; kind: MediaKind; muted: boolean }
  /** SFU mode: start (`on`) or stop recording the room's tracks on the server. */
  | { v: 1; type: 'record'; on: boolean };

/** What a subscribing connection's m-line carries (in the server's `sfu-offer`). */
export interface SfuTrackInfo {
  readonly mid: string;
  readonly peerId: string;
  readonly kind: MediaKind;
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
  /** Wall-clock ms when the TURN credentials in iceServers expire (a refresh comes before). */
  iceServersExpireAt: number;
  resumeToken: string;
  resumeWindowSec: number;
  /** How often the client should send `ping`; the server drops silent connections. */
  pingIntervalMs: number;
}

/** Frames from another peer, relayed by the server. */
export type RemoteSignal =
  | ({ v: 1; type: 'offer' | 'answer'; from: string; sdp: string; forOffer?: string } & LinkIds)
  | ({ v: 1; type: 'candidate'; from: string; candidate: CandidateInit } & LinkIds)
  | ({ v: 1; type: 'end-of-candidates'; from: string; usernameFragment?: string } & LinkIds);

/** Stable error codes sent in `error` frames (and close reasons). */
export const ERR = {
  BAD_JSON: 'ERR_SIGNALING_BAD_JSON',
  BAD_MESSAGE: 'ERR_SIGNALING_BAD_MESSAGE',
  BAD_VERSION: 'ERR_SIGNALING_BAD_VERSION',
  UNKNOWN_TYPE: 'ERR_SIGNALING_UNKNOWN_TYPE',
  BINARY: 'ERR_SIGNALING_BINARY_FRAME',
  TOKEN_REQUIRED: 'ERR_SIGNALING_TOKEN_REQUIRED',
  TOKEN_INVALID: 'ERR_SIGNALING_TOKEN_INVALID',
  TOKEN_EXPIRED: 'ERR_SIGNALING_TOKEN_EXPIRED',
  TOKEN_ROOM: 'ERR_SIGNALING_TOKEN_WRONG_ROOM',
  RESUME_INVALID: 'ERR_SIGNALING_RESUME_INVALID',
  NOT_JOINED: 'ERR_SIGNALING_NOT_JOINED',
  ALREADY_JOINED: 'ERR_SIGNALING_ALREADY_JOINED',
  UNKNOWN_PEER: 'ERR_SIGNALING_UNKNOWN_PEER',
  ROOM_FULL: 'ERR_SIGNALING_ROOM_FULL',
  RATE_LIMIT: 'ERR_SIGNALING_RATE_LIMIT',
  NOT_SFU: 'ERR_SIGNALING_NOT_SFU',
  RECORDING_OFF: 'ERR_SIGNALING_RECORDING_OFF',
} as const;
export type ErrorCode = (typeof ERR)[keyof typeof ERR];

export type ServerMessage =
  | Welcome
  | RemoteSignal
  | { v: 1; type: 'peer-joined'; peer: PeerInfo }
  | { v: 1; type: 'peer-left'; peerId: string; reason: 'left' | 'timeout' | 'replaced' }
  | { v: 1; type: 'ice-servers'; iceServers: IceServer[]; iceServersExpireAt: number }
  | { v: 1; type: 'session'; resumeToken: string }
  | { v: 1; type: 'pong'; id?: number }
  | { v: 1; type: 'left' }
  | { v: 1; type: 'error'; code: ErrorCode; message: string; ref?: string; peer?: string }
  | SfuServerSignal
  /** The room changed how media flows: clients tear down one transport and set up the other. */
  | { v: 1; type: 'mode'; mode: RoomMode; peers: number }
  | { v: 1; type: 'peer-muted'; peerId: string; kind: MediaKind; muted: boolean }
  | { v: 1; type: 'active-speaker'; peerId: string }
  /** The room's recording started or stopped (`by`: who asked; `files`: tracks written, on stop). */
  | { v: 1; type: 'recording'; on: boolean; by: string; files?: number };
