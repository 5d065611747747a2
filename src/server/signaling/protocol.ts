/**
 * Signaling protocol version 1: JSON text frames over one WebSocket per client. Every frame is an
 * object with `v: 1` and a `type`. docs/signaling.md is the prose description; the schemas below are
 * the authority: a client frame that does not match its schema is refused with an `error` frame.
 */
import {
  arr,
  bool,
  type Infer,
  int,
  literal,
  nullable,
  num,
  obj,
  oneOf,
  optional,
  SchemaError,
  str,
} from './schema.js';

export const PROTOCOL_VERSION = 1;

/** The connection ids a peer-to-peer frame may carry (see `linkIds` below). */
export interface LinkIds {
  link?: string;
  toLink?: string;
}

/** Room names: what fits in a URL query without escaping. */
export const ROOM_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
/** Peer ids as the server makes them (also accepted in `to`). */
export const PEER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Display names: printable characters, no control characters. */
const NAME_PATTERN = /^[^\p{Cc}]*$/u;

const v = literal(PROTOCOL_VERSION);
const room = str({ min: 1, max: 64, pattern: ROOM_PATTERN });
const peerId = str({ min: 1, max: 64, pattern: PEER_ID_PATTERN });
const token = str({ min: 1, max: 2048 });
const displayName = str({ max: 64, pattern: NAME_PATTERN });
/** An SDP blob; frames are capped by maxPayload anyway, this keeps one field from using it all. */
const sdp = str({ min: 1, max: 60_000 });
const connectionState = oneOf([
  'new',
  'connecting',
  'connected',
  'disconnected',
  'failed',
  'closed',
] as const);
const candidateType = oneOf(['host', 'srflx', 'prflx', 'relay'] as const);
const iceCandidate = obj({
  candidate: str({ max: 1024 }),
  sdpMid: optional(nullable(str({ max: 64 }))),
  sdpMLineIndex: optional(nullable(int(0, 1024))),
  usernameFragment: optional(nullable(str({ max: 256 }))),
});
/**
 * SFU mode: each participant has two peer connections with the server. `pub` carries what it
 * sends (the client offers, with its simulcast encodings); `sub` carries what it receives (the
 * server offers, and offers again as participants come and go).
 */
const sfuPc = oneOf(['pub', 'sub'] as const);
export type SfuPc = 'pub' | 'sub';
const mediaKind = oneOf(['audio', 'video'] as const);

/**
 * Peer-to-peer frames may name the sender's peer connection (`link`) and the receiver's connection
 * they answer to (`toLink`): random ids each client picks per connection. When one end replaces its
 * connection (it lost the other and found it again), the other end sees a new `link` and replaces
 * its own too, instead of trying to renegotiate a connection whose other end is gone. The server
 * relays both untouched.
 */
const linkId = str({ min: 1, max: 64, pattern: /^[A-Za-z0-9_-]+$/ });
const linkIds = { link: optional(linkId), toLink: optional(linkId) };

export const CLIENT_SCHEMAS = {
  join: obj({
    v,
    type: literal('join'),
    room,
    token: optional(token),
    name: optional(displayName),
    /**
     * A random id the client picks once per page load. A join that repeats it takes over the
     * session it created before (the welcome may have been lost with the connection), instead of
     * leaving a ghost peer behind.
     */
    instance: optional(str({ min: 16, max: 64, pattern: /^[A-Za-z0-9_-]+$/ })),
  }),
  resume: obj({ v, type: literal('resume'), resumeToken: token }),
  leave: obj({ v, type: literal('leave') }),
  offer: obj({ v, type: literal('offer'), to: peerId, sdp, ...linkIds }),
  answer: obj({
    v,
    type: literal('answer'),
    to: peerId,
    sdp,
    /** The `o=` session id and version of the offer this answers (stale answers are dropped). */
    forOffer: optional(str({ min: 1, max: 128 })),
    ...linkIds,
  }),
  candidate: obj({ v, type: literal('candidate'), to: peerId, candidate: iceCandidate, ...linkIds }),
  'end-of-candidates': obj({
    v,
    type: literal('end-of-candidates'),
    to: peerId,
    ...linkIds,
    /** ICE generation the end applies to (RFC 8838 §13: end-of-candidates is per generation). */
    usernameFragment: optional(str({ max: 256 })),
  }),
  ping: obj({ v, type: literal('ping'), id: optional(int(0, Number.MAX_SAFE_INTEGER)) }),
  stats: obj({
    v,
    type: literal('stats'),
    peers: arr(
      obj({
        peerId,
        connectionState,
        pathType: nullable(candidateType),
        localCandidateType: nullable(candidateType),
        remoteCandidateType: nullable(candidateType),
        rttMs: nullable(num({ min: 0, max: 600_000 })),
        bitrateInKbps: num({ min: 0, max: 10_000_000 }),
        bitrateOutKbps: num({ min: 0, max: 10_000_000 }),
        packetLoss: num({ min: 0, max: 1 }),
        framesDecoded: int(0, Number.MAX_SAFE_INTEGER),
      }),
      { max: 64 },
    ),
  }),
  event: obj({
    v,
    type: literal('event'),
    name: oneOf(['connected', 'ice-failed', 'ice-restart'] as const),
    peer: peerId,
    setupMs: optional(num({ min: 0, max: 3_600_000 })),
  }),
  /** Our camera/microphone muted or unmuted (told to the others; the SFU stops forwarding it). */
  mute: obj({ v, type: literal('mute'), kind: mediaKind, muted: bool() }),
  /**
   * SFU mode: start (`on`) or stop recording the room's tracks to files on the server (only when
   * the server runs with a recording directory). Everyone in the room is told (`recording`).
   */
  record: obj({ v, type: literal('record'), on: bool() }),
  /** SFU mode: the offer of the publishing connection. */
  'sfu-offer': obj({ v, type: literal('sfu-offer'), pc: literal('pub'), sdp }),
  /** SFU mode: the answer to the server's offer for the subscribing connection. */
  'sfu-answer': obj({ v, type: literal('sfu-answer'), pc: literal('sub'), sdp }),
  'sfu-candidate': obj({ v, type: literal('sfu-candidate'), pc: sfuPc, candidate: iceCandidate }),
  'sfu-end-of-candidates': obj({
    v,
    type: literal('sfu-end-of-candidates'),
    pc: sfuPc,
    usernameFragment: optional(str({ max: 256 })),
  }),
  /**
   * SFU mode: the subscribing connection with the server failed (or stays disconnected): the
   * server restarts ICE on it (a new offer with fresh credentials). The client restarts `pub` itself.
   */
  'sfu-restart': obj({ v, type: literal('sfu-restart'), pc: literal('sub') }),
  /** SFU mode: the largest video height this client wants (of one peer, or of everyone). */
  'sfu-prefs': obj({ v, type: literal('sfu-prefs'), maxHeight: int(0, 4320), peer: optional(peerId) }),
} as const;

/** Client frames that only make sense while the room is in SFU mode (handed to the SFU). */
export const SFU_CLIENT_TYPES = [
  'sfu-offer',
  'sfu-answer',
  'sfu-candidate',
  'sfu-end-of-candidates',
  'sfu-prefs',
  'sfu-restart',
] as const;
export type SfuClientMessage = ClientMessageOf<(typeof SFU_CLIENT_TYPES)[number]>;

export type ClientMessageType = keyof typeof CLIENT_SCHEMAS;
export type ClientMessage = {
  [K in ClientMessageType]: Infer<(typeof CLIENT_SCHEMAS)[K]>;
}[ClientMessageType];
export type ClientMessageOf<K extends ClientMessageType> = Infer<(typeof CLIENT_SCHEMAS)[K]>;
export type StatsEntry = ClientMessageOf<'stats'>['peers'][number];
export type CandidateType = StatsEntry['localCandidateType'] & string;

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

/** WebSocket close codes the server uses (4000-4999 are for applications, RFC 6455 §7.4.2). */
export const CLOSE = {
  GOING_AWAY: 1001,
  POLICY: 1008,
  TOO_BIG: 1009,
  REPLACED: 4001,
  TOO_SLOW: 4002,
  FLOOD: 4003,
  HEARTBEAT: 4004,
  LEFT: 4005,
} as const;

export type ParseResult =
  | { ok: true; msg: ClientMessage }
  | { ok: false; code: ErrorCode; message: string; type?: string };

/** Parses and validates one client text frame. Never throws. */
export function parseClientMessage(text: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: ERR.BAD_JSON, message: 'frame is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: ERR.BAD_MESSAGE, message: 'frame must be a JSON object' };
  }
  const rec = value as Record<string, unknown>;
  if (rec.v !== PROTOCOL_VERSION) {
    return {
      ok: false,
      code: ERR.BAD_VERSION,
      message: `unsupported protocol version ${JSON.stringify(rec.v)}; this server speaks v: ${PROTOCOL_VERSION}`,
    };
  }
  const type = rec.type;
  if (typeof type !== 'string' || !Object.hasOwn(CLIENT_SCHEMAS, type)) {
    return {
      ok: false,
      code: ERR.UNKNOWN_TYPE,
      message: `unknown message type ${JSON.stringify(type)}`.slice(0, 200),
    };
  }
  try {
    const msg = CLIENT_SCHEMAS[type as ClientMessageType].check(value, '') as ClientMessage;
    return { ok: true, msg };
  } catch (err) {
    if (err instanceof SchemaError) return { ok: false, code: ERR.BAD_MESSAGE, message: err.message, type };
    throw err;
  }
}

// ---- server -> client frames ----

export interface PeerInfo {
  readonly id: string;
  readonly name: string;
}

export interface IceServer {
  readonly urls: string[];
  readonly username?: string;
  readonly credential?: string;
}

export type RoomMode = 'mesh' | 'sfu';

/** What a subscribing connection's m-line carries (in the server's `sfu-offer`). */
export interface SfuTrackInfo {
  readonly mid: string;
  readonly peerId: string;
  readonly kind: 'audio' | 'video';
}

export type ServerMessage =
  | {
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
  | { v: 1; type: 'peer-joined'; peer: PeerInfo }
  | { v: 1; type: 'peer-left'; peerId: string; reason: 'left' | 'timeout' | 'replaced' }
  | ({ v: 1; type: 'offer' | 'answer'; from: string; sdp: string; forOffer?: string } & LinkIds)
  | ({
      v: 1;
      type: 'candidate';
      from: string;
      candidate: ClientMessageOf<'candidate'>['candidate'];
    } & LinkIds)
  | ({ v: 1; type: 'end-of-candidates'; from: string; usernameFragment?: string } & LinkIds)
  | { v: 1; type: 'ice-servers'; iceServers: IceServer[]; iceServersExpireAt: number }
  | { v: 1; type: 'session'; resumeToken: string }
  | { v: 1; type: 'pong'; id?: number }
  | { v: 1; type: 'left' }
  | { v: 1; type: 'error'; code: ErrorCode; message: string; ref?: string; peer?: string }
  /** The room changed how media flows: clients tear down one transport and set up the other. */
  | { v: 1; type: 'mode'; mode: RoomMode; peers: number }
  | { v: 1; type: 'peer-muted'; peerId: string; kind: 'audio' | 'video'; muted: boolean }
  | { v: 1; type: 'active-speaker'; peerId: string }
  /** The room's recording started or stopped (`by`: who asked; `files`: tracks written, on stop). */
  | { v: 1; type: 'recording'; on: boolean; by: string; files?: number }
  | { v: 1; type: 'sfu-offer'; pc: 'sub'; sdp: string; tracks: SfuTrackInfo[] }
  | { v: 1; type: 'sfu-answer'; pc: 'pub'; sdp: string }
  | { v: 1; type: 'sfu-candidate'; pc: SfuPc; candidate: ClientMessageOf<'candidate'>['candidate'] }
  | { v: 1; type: 'sfu-end-of-candidates'; pc: SfuPc; usernameFragment?: string };
