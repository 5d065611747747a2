/**
 * The WebSocket signaling server: rooms, join/resume with signed tokens, presence, relay of
 * offer/answer/candidates between peers of one room, ICE server config with TURN REST credentials
 * (refreshed before they expire), heartbeats, and protection against bad clients (schema checks,
 * rate limit, a cap on what may queue for a client that does not read).
 *
 * Time comes from the injected Clock, so tests drive heartbeats, resume windows and refreshes
 * with a ManualClock.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import type { Clock, Timer } from '../../core/clock.js';
import type { Logger } from '../../core/log.js';
import {
  ERR,
  type ErrorCode,
  type IceServer,
  type LinkIds,
  PROTOCOL_VERSION,
  type ServerMessage,
} from '../../protocol/signaling.js';
import {
  CLOSE,
  type ClientMessage,
  type ClientMessageOf,
  parseClientMessage,
  SFU_CLIENT_TYPES,
  type SfuClientMessage,
} from './protocol.js';
import { type Connection, Room, type Session } from './session.js';
import { DEFAULT_MODE_POLICY, type ModePolicy, nextMode, type SfuBackend } from './sfu-backend.js';
import type { StatsStore } from './stats-store.js';
import { mintResumeToken, verifyJoinToken, verifyResumeToken } from './tokens.js';

/** A timer this late means the process was stalled; then an away session gets this much more. */
const STALL_MS = 2000;
const STALL_GRACE_MS = 5000;

export interface SignalingOptions {
  /** HMAC key of join and resume tokens. */
  readonly secret: string;
  /** Open rooms: joining needs no token (dev mode). */
  readonly open: boolean;
  /** How long a dropped peer keeps its id and room membership, seconds. */
  readonly resumeWindowSec: number;
  readonly maxPeersPerRoom: number;
  /** Largest accepted frame, bytes (WebSocket maxPayload; bigger frames close the socket with 1009). */
  readonly maxPayload: number;
  /** Sustained frames per second per connection, and the burst allowed above it. */
  readonly rateLimit: { readonly perSec: number; readonly burst: number };
  /** A connection whose unsent data exceeds this many bytes is dropped (a client that never reads). */
  readonly maxBufferedBytes: number;
  /** WebSocket ping period; a connection that misses one whole period is dropped. */
  readonly heartbeatIntervalMs: number;
  /** Frames kept for a peer that is away (within its resume window). */
  readonly maxQueuedFrames: number;
  /** When a room switches to the SFU and back (only with an SFU backend); default 5 and 3. */
  readonly modePolicy?: ModePolicy;
  /**
   * Where `record` frames make the SFU write a room's tracks (one sub-directory per recording);
   * unset: recording is off and `record` frames are refused.
   */
  readonly recordDir?: string;
}

export interface IceConfig {
  readonly iceServers: IceServer[];
  /** Wall-clock ms when the credentials expire. */
  readonly expiresAt: number;
  /** When to send fresh ones, ms from now (undefined: never). */
  readonly refreshInMs?: number;
}

export interface SignalingMetrics {
  connection(delta: 1 | -1): void;
  message(direction: 'in' | 'out', type: string): void;
  rejected(code: string): void;
  joined(kind: 'join' | 'resume'): void;
  clientEvent(name: 'connected' | 'ice-failed' | 'ice-restart', setupMs?: number): void;
}

export interface SignalingDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly stats: StatsStore;
  readonly iceConfig: (peerId: string, host: string) => IceConfig;
  readonly metrics?: SignalingMetrics;
  /** The SFU rooms switch to when they grow; without one every room stays in mesh mode. */
  readonly sfu?: SfuBackend;
}

export interface RoomSnapshot {
  readonly name: string;
  readonly mode: 'mesh' | 'sfu';
  readonly peers: { id: string; name: string; connected: boolean; joinedAt: number }[];
}

const HOST_PATTERN = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])$/;
const MAX_QUEUED_BYTES = 1 << 20;
const SFU_TYPES = new Set<string>(SFU_CLIENT_TYPES);

export class SignalingServer {
  readonly #opts: SignalingOptions;
  readonly #deps: SignalingDeps;
  readonly #wss: WebSocketServer;
  readonly #rooms = new Map<string, Room>();
  readonly #sessions = new Map<string, Session>();
  readonly #byInstance = new Map<string, Session>();
  readonly #conns = new Set<Connection>();
  /** Peer ids whose resume tokens no longer count (left or timed out), with their expiry. */
  readonly #revoked = new Map<string, number>();
  #heartbeat: Timer | undefined;
  #nextConnId = 1;
  #closed = false;

  constructor(opts: SignalingOptions, deps: SignalingDeps) {
    this.#opts = opts;
    this.#deps = deps;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxPayload, clientTracking: false });
    deps.sfu?.attach({
      send: (roomName, peerId, msg) => {
        const room = this.#rooms.get(roomName);
        if (!room) return;
        if (peerId === undefined) for (const s of room.peers.values()) this.#deliver(s, msg);
        else {
          const s = room.peers.get(peerId);
          if (s) this.#deliver(s, msg);
        }
      },
    });
    this.#scheduleHeartbeat();
  }

  get connectionCount(): number {
    return this.#conns.size;
  }

  get peerCount(): number {
    return this.#sessions.size;
  }

  rooms(): RoomSnapshot[] {
    return [...this.#rooms.values()].map((r) => ({
      name: r.name,
      mode: r.mode,
      peers: [...r.peers.values()].map((s) => ({
        id: s.id,
        name: s.name,
        connected: s.conn !== undefined,
        joinedAt: s.joinedAt,
      })),
    }));
  }

  /** Takes over an HTTP upgrade request for the signaling endpoint. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.attach(ws, req));
  }

  /** Adopts an open WebSocket (exposed for tests and embedding). */
  attach(ws: WebSocket, req: IncomingMessage): void {
    const rawHost = (req.headers.host ?? '').replace(/:\d+$/, '');
    const conn: Connection = {
      id: this.#nextConnId++,
      ws,
      host: HOST_PATTERN.test(rawHost) ? rawHost : '127.0.0.1',
      remote: `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`,
      session: undefined,
      lastSeen: this.#deps.clock.now(),
      tokens: this.#opts.rateLimit.burst,
      lastRefill: this.#deps.clock.now(),
      strikes: 0,
      closed: false,
    };
    this.#conns.add(conn);
    this.#deps.metrics?.connection(1);
    this.#deps.log.debug('connection open', { conn: conn.id, remote: conn.remote });
    ws.on('message', (data, isBinary) => this.#onFrame(conn, data, isBinary));
    ws.on('pong', () => {
      conn.lastSeen = this.#deps.clock.now();
    });
    ws.on('close', (code) => this.#onClose(conn, code));
    ws.on('error', (err) => this.#deps.log.debug('socket error', { conn: conn.id, err: err.message }));
  }

  /** Closes every connection (1001 going away) and cancels all timers. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#heartbeat?.cancel();
    for (const s of this.#sessions.values()) this.#cancelTimers(s);
    const closing = [...this.#conns].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.ws.readyState === WebSocket.CLOSED) return resolve();
          c.ws.once('close', () => resolve());
          c.ws.close(CLOSE.GOING_AWAY, 'server shutting down');
          // A peer that does not answer the close handshake is cut off.
          setTimeout(() => c.ws.terminate(), 1000).unref();
        }),
    );
    await Promise.all(closing);
    this.#sessions.clear();
    this.#byInstance.clear();
    this.#rooms.clear();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  // ---- frames ----

  #onFrame(conn: Connection, data: RawData, isBinary: boolean): void {
    if (conn.closed) return;
    conn.lastSeen = this.#deps.clock.now();
    if (!this.#admit(conn)) return;
    if (isBinary) {
      this.#reject(conn, ERR.BINARY, 'binary frames are not part of the protocol; send JSON text');
      return;
    }
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.from(data as ArrayBuffer).toString('utf8');
    const parsed = parseClientMessage(text);
    if (!parsed.ok) {
      this.#reject(conn, parsed.code, parsed.message, parsed.type);
      return;
    }
    const msg = parsed.msg;
    this.#deps.metrics?.message('in', msg.type);
    this.#dispatch(conn, msg);
  }

  /** Token bucket: `burst` frames at once, `perSec` sustained; a flood past that closes the socket. */
  #admit(conn: Connection): boolean {
    const { perSec, burst } = this.#opts.rateLimit;
    const now = this.#deps.clock.now();
    conn.tokens = Math.min(burst, conn.tokens + ((now - conn.lastRefill) * perSec) / 1000);
    conn.lastRefill = now;
    if (conn.tokens >= 1) {
      conn.tokens -= 1;
      conn.strikes = 0;
      return true;
    }
    conn.strikes++;
    if (conn.strikes === 1) {
      this.#reject(
        conn,
        ERR.RATE_LIMIT,
        `rate limit: at most ${perSec} frames/s (burst ${burst}); frame dropped`,
      );
    } else {
      this.#deps.metrics?.rejected(ERR.RATE_LIMIT);
    }
    if (conn.strikes > burst) {
      this.#deps.log.warn('flood: closing connection', { conn: conn.id, remote: conn.remote });
      this.#closeConn(conn, CLOSE.FLOOD, 'message flood');
    }
    return false;
  }

  #dispatch(conn: Connection, msg: ClientMessage): void {
    switch (msg.type) {
      case 'ping':
        this.#send(conn, msg.id === undefined ? { v: 1, type: 'pong' } : { v: 1, type: 'pong', id: msg.id });
        return;
      case 'join':
        this.#join(conn, msg);
        return;
      case 'resume':
        this.#resume(conn, msg);
        return;
      default:
        break;
    }
    const session = conn.session;
    if (!session) {
      this.#reject(conn, ERR.NOT_JOINED, `'${msg.type}' needs a joined room; send 'join' first`, msg.type);
      return;
    }
    switch (msg.type) {
      case 'leave':
        this.#leave(session, 'left');
        conn.session = undefined;
        this.#send(conn, { v: 1, type: 'left' });
        return;
      case 'offer':
        this.#relay(conn, session, msg.to, msg.type, {
          v: 1,
          type: 'offer',
          from: session.id,
          sdp: msg.sdp,
          ...linkIdsOf(msg),
        });
        return;
      case 'answer':
        this.#relay(conn, session, msg.to, msg.type, {
          v: 1,
          type: 'answer',
          from: session.id,
          sdp: msg.sdp,
          ...(msg.forOffer === undefined ? {} : { forOffer: msg.forOffer }),
          ...linkIdsOf(msg),
        });
        return;
      case 'candidate':
        this.#relay(conn, session, msg.to, msg.type, {
          v: 1,
          type: 'candidate',
          from: session.id,
          candidate: msg.candidate,
          ...linkIdsOf(msg),
        });
        return;
      case 'end-of-candidates':
        this.#relay(conn, session, msg.to, msg.type, {
          v: 1,
          type: 'end-of-candidates',
          from: session.id,
          ...(msg.usernameFragment === undefined ? {} : { usernameFragment: msg.usernameFragment }),
          ...linkIdsOf(msg),
        });
        return;
      case 'stats': {
        const known = msg.peers.filter((p) => session.room.peers.has(p.peerId) && p.peerId !== session.id);
        this.#deps.stats.report(session.room.name, session.id, known);
        return;
      }
      case 'mute':
        for (const other of session.room.peers.values())
          if (other !== session)
            this.#deliver(other, {
              v: 1,
              type: 'peer-muted',
              peerId: session.id,
              kind: msg.kind,
              muted: msg.muted,
            });
        if (session.room.mode === 'sfu')
          this.#deps.sfu?.mute(session.room.name, session.id, msg.kind, msg.muted);
        return;
      case 'sfu-offer':
      case 'sfu-answer':
      case 'sfu-candidate':
      case 'sfu-end-of-candidates':
      case 'sfu-prefs':
      case 'sfu-restart':
        this.#toSfu(conn, session, msg);
        return;
      case 'record':
        this.#record(conn, session, msg.on);
        return;
      case 'event':
        this.#deps.metrics?.clientEvent(msg.name, msg.setupMs);
        this.#deps.log.info('client event', {
          room: session.room.name,
          peer: session.id,
          to: msg.peer,
          event: msg.name,
          setupMs: msg.setupMs,
        });
        return;
    }
  }

  #toSfu(conn: Connection, session: Session, msg: SfuClientMessage): void {
    if (!SFU_TYPES.has(msg.type)) return;
    if (session.room.mode !== 'sfu' || !this.#deps.sfu) {
      this.#reject(
        conn,
        ERR.NOT_SFU,
        `room '${session.room.name}' is in mesh mode; '${msg.type}' is for SFU mode`,
        msg.type,
      );
      return;
    }
    this.#deps.sfu.handle(session.room.name, session.id, msg);
  }

  /**
   * A participant starts or stops the room's recording (SFU mode, recording configured); the whole
   * room is told, so every page shows that it is being recorded.
   */
  #record(conn: Connection, session: Session, on: boolean): void {
    const sfu = this.#deps.sfu;
    const dir = this.#opts.recordDir;
    const room = session.room;
    if (!dir || !sfu?.startRecording || !sfu.stopRecording) {
      this.#reject(
        conn,
        ERR.RECORDING_OFF,
        'this server does not record (start it with --record-dir)',
        'record',
      );
      return;
    }
    if (room.mode !== 'sfu') {
      this.#reject(
        conn,
        ERR.NOT_SFU,
        `room '${room.name}' is in mesh mode; recording needs the SFU`,
        'record',
      );
      return;
    }
    const tell = (files?: number): void => {
      for (const s of room.peers.values())
        this.#deliver(s, {
          v: 1,
          type: 'recording',
          on,
          by: session.id,
          ...(files === undefined ? {} : { files }),
        });
    };
    this.#deps.log.info('recording', { room: room.name, peer: session.id, on });
    if (on) {
      const stamp = new Date(this.#deps.clock.wallNow()).toISOString().replace(/[:.]/g, '-');
      if (sfu.startRecording(room.name, join(dir, `${room.name}-${stamp}`))) tell();
      return;
    }
    sfu.stopRecording(room.name).then(
      (files) => tell(files.length),
      (err: unknown) => this.#deps.log.warn('stop recording failed', { room: room.name, err: String(err) }),
    );
  }

  /** Re-evaluates the room's mode after a join or leave; tells everyone when it changes. */
  #updateMode(room: Room, joined?: Session): void {
    const sfu = this.#deps.sfu;
    const before = room.mode;
    const after = sfu
      ? nextMode(before, room.peers.size, this.#opts.modePolicy ?? DEFAULT_MODE_POLICY)
      : 'mesh';
    if (after === before) {
      if (after === 'sfu' && joined) sfu?.addPeer(room.name, joined.id);
      return;
    }
    room.mode = after;
    this.#deps.log.info('room mode', { room: room.name, mode: after, peers: room.peers.size });
    if (after === 'sfu') sfu?.openRoom(room.name, [...room.peers.keys()]);
    else sfu?.closeRoom(room.name);
    for (const s of room.peers.values())
      if (s !== joined) this.#deliver(s, { v: 1, type: 'mode', mode: after, peers: room.peers.size });
  }

  // ---- join, resume, leave ----

  #join(conn: Connection, msg: ClientMessageOf<'join'>): void {
    if (conn.session) {
      this.#reject(
        conn,
        ERR.ALREADY_JOINED,
        `already in room '${conn.session.room.name}'; send 'leave' first`,
        'join',
      );
      return;
    }
    let pinnedName: string | undefined;
    if (msg.token !== undefined) {
      const r = verifyJoinToken(this.#opts.secret, msg.token, this.#deps.clock.wallNow());
      if (!r.ok) {
        if (r.reason === 'expired') this.#reject(conn, ERR.TOKEN_EXPIRED, 'join token has expired', 'join');
        else this.#reject(conn, ERR.TOKEN_INVALID, 'join token is not valid for this server', 'join');
        return;
      }
      if (r.claims.room !== msg.room) {
        this.#reject(conn, ERR.TOKEN_ROOM, `join token is for another room, not '${msg.room}'`, 'join');
        return;
      }
      pinnedName = r.claims.name;
    } else if (!this.#opts.open) {
      this.#reject(
        conn,
        ERR.TOKEN_REQUIRED,
        'this server needs a join token (POST /api/token or rtcstack token)',
        'join',
      );
      return;
    }
    const again = msg.instance === undefined ? undefined : this.#byInstance.get(msg.instance);
    if (again && again.room.name === msg.room) {
      // The same page joining again (it never saw its welcome): hand it the session it has.
      this.#takeOver(again, conn);
      this.#deps.metrics?.joined('resume');
      this.#deps.log.info('peer joined again', { room: msg.room, peer: again.id, remote: conn.remote });
      this.#welcome(again, true);
      this.#flushQueue(again, conn);
      return;
    }
    const room = this.#room(msg.room);
    if (room.peers.size >= this.#opts.maxPeersPerRoom) {
      this.#reject(
        conn,
        ERR.ROOM_FULL,
        `room '${msg.room}' is full (${this.#opts.maxPeersPerRoom} peers)`,
        'join',
      );
      this.#dropRoomIfEmpty(room);
      return;
    }
    const id = `p${randomBytes(8).toString('hex')}`;
    const name = (pinnedName ?? msg.name ?? '').trim() || `guest-${id.slice(-4)}`;
    const session = this.#addSession(room, id, name, conn, msg.instance);
    this.#deps.metrics?.joined('join');
    this.#deps.log.info('peer joined', { room: room.name, peer: id, name, remote: conn.remote });
    this.#welcome(session, false);
  }

  #resume(conn: Connection, msg: ClientMessageOf<'resume'>): void {
    if (conn.session) {
      this.#reject(conn, ERR.ALREADY_JOINED, `already in room '${conn.session.room.name}'`, 'resume');
      return;
    }
    const r = verifyResumeToken(this.#opts.secret, msg.resumeToken, this.#deps.clock.wallNow());
    const revokedUntil = r.ok ? this.#revoked.get(r.claims.peer) : undefined;
    if (!r.ok || (revokedUntil !== undefined && revokedUntil > this.#deps.clock.wallNow())) {
      const why = r.ok
        ? 'the session has ended'
        : r.reason === 'expired'
          ? 'the resume window has passed'
          : 'bad token';
      this.#reject(conn, ERR.RESUME_INVALID, `cannot resume: ${why}; join again`, 'resume');
      return;
    }
    const { peer, room: roomName, name } = r.claims;
    let session = this.#sessions.get(peer);
    if (session && session.room.name !== roomName) {
      this.#reject(conn, ERR.RESUME_INVALID, 'cannot resume: bad token', 'resume');
      return;
    }
    if (session) {
      this.#takeOver(session, conn);
    } else {
      // Not known here: this server restarted (same secret). Rebuild the membership.
      const room = this.#room(roomName);
      if (room.peers.size >= this.#opts.maxPeersPerRoom) {
        this.#reject(conn, ERR.ROOM_FULL, `room '${roomName}' is full`, 'resume');
        this.#dropRoomIfEmpty(room);
        return;
      }
      session = this.#addSession(room, peer, name, conn, undefined);
    }
    this.#deps.metrics?.joined('resume');
    this.#deps.log.info('peer resumed', { room: roomName, peer, remote: conn.remote });
    this.#welcome(session, true);
    this.#flushQueue(session, conn);
  }

  /** Moves a session onto a new connection; a connection that still holds it is closed (4001). */
  #takeOver(session: Session, conn: Connection): void {
    const old = session.conn;
    if (old) {
      old.session = undefined;
      this.#closeConn(old, CLOSE.REPLACED, 'session resumed on another connection');
    }
    session.awayTimer?.cancel();
    session.awayTimer = undefined;
    session.conn = conn;
    conn.session = session;
  }

  #flushQueue(session: Session, conn: Connection): void {
    const queued = session.queue;
    session.queue = [];
    session.queueBytes = 0;
    for (const frame of queued) this.#sendRaw(conn, frame);
  }

  #addSession(room: Room, id: string, name: string, conn: Connection, instance: string | undefined): Session {
    const session: Session = {
      id,
      room,
      name,
      instance,
      conn,
      queue: [],
      queueBytes: 0,
      awayTimer: undefined,
      iceTimer: undefined,
      resumeTimer: undefined,
      joinedAt: this.#deps.clock.wallNow(),
    };
    conn.session = session;
    this.#sessions.set(id, session);
    if (instance !== undefined) this.#byInstance.set(instance, session);
    for (const other of room.peers.values()) {
      this.#deliver(other, { v: 1, type: 'peer-joined', peer: { id, name } });
    }
    room.peers.set(id, session);
    // The newcomer learns the mode from its welcome; the others get a `mode` frame on a change.
    this.#updateMode(room, session);
    return session;
  }

  #welcome(session: Session, resumed: boolean): void {
    const conn = session.conn!;
    const ice = this.#deps.iceConfig(session.id, conn.host);
    this.#send(conn, {
      v: PROTOCOL_VERSION,
      type: 'welcome',
      peerId: session.id,
      room: session.room.name,
      name: session.name,
      resumed,
      mode: session.room.mode,
      peers: [...session.room.peers.values()]
        .filter((s) => s !== session)
        .map((s) => ({ id: s.id, name: s.name })),
      iceServers: ice.iceServers,
      iceServersExpireAt: ice.expiresAt,
      resumeToken: this.#resumeToken(session),
      resumeWindowSec: this.#opts.resumeWindowSec,
      pingIntervalMs: this.#opts.heartbeatIntervalMs,
    });
    this.#scheduleIceRefresh(session, ice.refreshInMs);
    this.#scheduleResumeRefresh(session);
  }

  /**
   * The window a dropped peer has to come back is counted here, from when its connection is seen
   * gone (awayTimer), not from when its last token was minted: a connection can die silently and
   * be noticed a heartbeat or two later. So the token outlives one window (two, plus the refresh
   * period); past the window the session is gone (revoked) and the token no longer counts anyway.
   */
  #resumeToken(session: Session): string {
    return mintResumeToken(this.#opts.secret, {
      room: session.room.name,
      peer: session.id,
      name: session.name,
      exp: this.#deps.clock.wallNow() / 1000 + 2 * this.#opts.resumeWindowSec,
    });
  }

  /** Resume tokens live one window; a connected peer gets a fresh one every third of it. */
  #scheduleResumeRefresh(session: Session): void {
    session.resumeTimer?.cancel();
    session.resumeTimer = this.#deps.clock.setTimeout(
      () => {
        session.resumeTimer = undefined;
        if (!session.conn) return;
        this.#send(session.conn, { v: 1, type: 'session', resumeToken: this.#resumeToken(session) });
        this.#scheduleResumeRefresh(session);
      },
      (this.#opts.resumeWindowSec * 1000) / 3,
    );
  }

  #scheduleIceRefresh(session: Session, inMs: number | undefined): void {
    session.iceTimer?.cancel();
    session.iceTimer = undefined;
    if (inMs === undefined) return;
    session.iceTimer = this.#deps.clock.setTimeout(() => {
      session.iceTimer = undefined;
      const conn = session.conn;
      if (!conn) return; // refreshed in the welcome of the resume
      const ice = this.#deps.iceConfig(session.id, conn.host);
      this.#send(conn, {
        v: 1,
        type: 'ice-servers',
        iceServers: ice.iceServers,
        iceServersExpireAt: ice.expiresAt,
      });
      this.#scheduleIceRefresh(session, ice.refreshInMs);
    }, inMs);
  }

  #leave(session: Session, reason: 'left' | 'timeout'): void {
    this.#cancelTimers(session);
    const room = session.room;
    if (room.peers.get(session.id) !== session) return;
    room.peers.delete(session.id);
    this.#sessions.delete(session.id);
    if (session.instance !== undefined && this.#byInstance.get(session.instance) === session) {
      this.#byInstance.delete(session.instance);
    }
    this.#revoked.set(session.id, this.#deps.clock.wallNow() + this.#opts.resumeWindowSec * 2000);
    this.#pruneRevoked();
    this.#deps.stats.forget(room.name, session.id);
    for (const other of room.peers.values()) {
      this.#deliver(other, { v: 1, type: 'peer-left', peerId: session.id, reason });
    }
    if (room.mode === 'sfu') this.#deps.sfu?.removePeer(room.name, session.id);
    this.#updateMode(room);
    if (room.peers.size === 0 && room.mode === 'sfu') {
      room.mode = 'mesh';
      this.#deps.sfu?.closeRoom(room.name);
    }
    this.#dropRoomIfEmpty(room);
    this.#deps.log.info('peer left', { room: room.name, peer: session.id, reason });
  }

  #pruneRevoked(): void {
    if (this.#revoked.size < 1024) return;
    const now = this.#deps.clock.wallNow();
    for (const [id, until] of this.#revoked) if (until <= now) this.#revoked.delete(id);
  }

  #cancelTimers(s: Session): void {
    s.awayTimer?.cancel();
    s.iceTimer?.cancel();
    s.resumeTimer?.cancel();
    s.awayTimer = s.iceTimer = s.resumeTimer = undefined;
  }

  #room(name: string): Room {
    let room = this.#rooms.get(name);
    if (!room) this.#rooms.set(name, (room = new Room(name)));
    return room;
  }

  #dropRoomIfEmpty(room: Room): void {
    if (room.peers.size === 0 && this.#rooms.get(room.name) === room) this.#rooms.delete(room.name);
  }

  // ---- relay and delivery ----

  #relay(conn: Connection, from: Session, to: string, type: string, msg: ServerMessage): void {
    const target = from.room.peers.get(to);
    if (!target || target === from) {
      this.#send(conn, {
        v: 1,
        type: 'error',
        code: ERR.UNKNOWN_PEER,
        message: `no peer '${to}' in room '${from.room.name}'`,
        ref: type,
        peer: to,
      });
      this.#deps.metrics?.rejected(ERR.UNKNOWN_PEER);
      return;
    }
    this.#deliver(target, msg);
  }

  /** Sends to a session, or keeps the frame for it while it is away. */
  #deliver(target: Session, msg: ServerMessage): void {
    if (target.conn) {
      this.#send(target.conn, msg);
      return;
    }
    const frame = JSON.stringify(msg);
    if (
      target.queue.length >= this.#opts.maxQueuedFrames ||
      target.queueBytes + frame.length > MAX_QUEUED_BYTES
    ) {
      this.#deps.metrics?.rejected('ERR_SIGNALING_QUEUE_FULL');
      return;
    }
    target.queue.push(frame);
    target.queueBytes += frame.length;
  }

  #send(conn: Connection, msg: ServerMessage): void {
    if (this.#sendRaw(conn, JSON.stringify(msg))) this.#deps.metrics?.message('out', msg.type);
  }

  #sendRaw(conn: Connection, frame: string): boolean {
    if (conn.closed || conn.ws.readyState !== WebSocket.OPEN) return false;
    if (conn.ws.bufferedAmount + frame.length > this.#opts.maxBufferedBytes) {
      this.#deps.log.warn('client does not read: dropping connection', {
        conn: conn.id,
        remote: conn.remote,
        buffered: conn.ws.bufferedAmount,
      });
      this.#deps.metrics?.rejected('ERR_SIGNALING_TOO_SLOW');
      conn.closed = true;
      conn.ws.terminate();
      return false;
    }
    conn.ws.send(frame);
    return true;
  }

  #reject(conn: Connection, code: ErrorCode, message: string, ref?: string): void {
    this.#deps.metrics?.rejected(code);
    this.#deps.log.debug('rejected frame', { conn: conn.id, code, ref });
    this.#send(
      conn,
      ref === undefined
        ? { v: 1, type: 'error', code, message }
        : { v: 1, type: 'error', code, message, ref },
    );
  }

  #closeConn(conn: Connection, code: number, reason: string): void {
    if (conn.closed) return;
    conn.closed = true;
    conn.ws.close(code, reason);
    // Do not wait for a close handshake from a client that may not be reading.
    setTimeout(() => conn.ws.terminate(), 2000).unref();
  }

  #onClose(conn: Connection, code: number): void {
    conn.closed = true;
    this.#conns.delete(conn);
    this.#deps.metrics?.connection(-1);
    const session = conn.session;
    conn.session = undefined;
    this.#deps.log.debug('connection closed', { conn: conn.id, code, peer: session?.id });
    if (!session || session.conn !== conn || this.#closed) return;
    session.conn = undefined;
    session.iceTimer?.cancel();
    session.resumeTimer?.cancel();
    session.iceTimer = session.resumeTimer = undefined;
    this.#armAway(session, this.#opts.resumeWindowSec * 1000);
  }

  /**
   * Ends an away session after `ms`. If the timer fires late (this process was stalled on a loaded
   * machine), the peer's resume may be sitting unread in a socket: give I/O a few more seconds.
   */
  #armAway(session: Session, ms: number): void {
    const due = this.#deps.clock.now() + ms;
    session.awayTimer = this.#deps.clock.setTimeout(() => {
      session.awayTimer = undefined;
      if (this.#deps.clock.now() - due > STALL_MS) {
        this.#armAway(session, STALL_GRACE_MS);
        return;
      }
      this.#leave(session, 'timeout');
    }, ms);
  }

  // ---- heartbeat ----

  /**
   * Every interval: ping everyone, and drop a connection not heard from (pong or frame) for two
   * whole intervals. A tick that itself fires late means this process was stalled (a loaded
   * machine): the pongs that came meanwhile are still unread, so that tick drops nobody.
   */
  #scheduleHeartbeat(): void {
    const interval = this.#opts.heartbeatIntervalMs;
    const due = this.#deps.clock.now() + interval;
    this.#heartbeat = this.#deps.clock.setTimeout(() => {
      const now = this.#deps.clock.now();
      const stalled = now - due > interval / 2;
      for (const conn of this.#conns) {
        if (conn.closed) continue;
        if (stalled) conn.lastSeen = Math.max(conn.lastSeen, now - interval);
        else if (now - conn.lastSeen > 2 * interval) {
          this.#deps.log.info('heartbeat missed: dropping connection', {
            conn: conn.id,
            peer: conn.session?.id,
            silentMs: now - conn.lastSeen,
          });
          this.#deps.metrics?.rejected('ERR_SIGNALING_HEARTBEAT');
          conn.closed = true;
          conn.ws.terminate();
          continue;
        }
        try {
          conn.ws.ping();
        } catch {
          // socket closing
        }
      }
      if (!this.#closed) this.#scheduleHeartbeat();
    }, interval);
  }
}

/** The link ids of a peer-to-peer frame, only those it has (relayed as they came). */
function linkIdsOf(msg: LinkIds): LinkIds {
  const ids: LinkIds = {};
  if (msg.link !== undefined) ids.link = msg.link;
  if (msg.toLink !== undefined) ids.toLink = msg.toLink;
  return ids;
}
