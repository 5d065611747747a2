/**
 * Signaling protocol version 1: JSON text frames over one WebSocket per client. Every frame is an
 * object with `v: 1` and a `type`; their types are in src/protocol/signaling.ts, docs/signaling.md
 * is the prose description. The schemas below check what clients send: a frame that does not match
 * its schema is refused with an `error` frame.
 */

import {
  ERR,
  type ErrorCode,
  PROTOCOL_VERSION,
  type ClientMessage as SharedClientMessage,
} from '../../protocol/signaling.js';
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

/**
 * The schemas accept exactly the frames the shared protocol types describe, checked at compile
 * time: the same frame types, and for each the same fields (optional ones too) with assignable types.
 */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type FrameAgrees<K extends ClientMessageType> = [
  Same<ClientMessageOf<K>, Extract<SharedClientMessage, { type: K }>>,
  Same<keyof ClientMessageOf<K>, keyof Extract<SharedClientMessage, { type: K }>>,
] extends [true, true]
  ? true
  : false;
const schemasMatchTypes: [
  Same<ClientMessageType, SharedClientMessage['type']>,
  Same<{ [K in ClientMessageType]: FrameAgrees<K> }[ClientMessageType], true>,
] = [true, true];
void schemasMatchTypes;

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
