/**
 * The Node end of `rtcstack serve` signaling (docs/signaling.md): one WebSocket that joins a room,
 * pings at the server's interval, and hands every other frame to the participant. A dropped
 * connection is resumed with the resume token (same peer id, peer connections carry on) for up to
 * `giveUpAfterMs`; refusals a retry cannot fix (bad token, full room) end it.
 */
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { Emitter } from '../../core/events.js';
import { ERR, type LinkIds, type ServerMessage } from '../../protocol/signaling.js';

export type Welcome = Extract<ServerMessage, { type: 'welcome' }>;

export interface CandidateInit {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

/** The client frames a participant sends (docs/signaling.md), without `v` (added when sent). */
export type Outgoing =
  | { type: 'leave' }
  | ({ type: 'offer'; to: string; sdp: string } & LinkIds)
  | ({ type: 'answer'; to: string; sdp: string; forOffer?: string } & LinkIds)
  | ({ type: 'candidate'; to: string; candidate: CandidateInit } & LinkIds)
  | ({ type: 'end-of-candidates'; to: string; usernameFragment?: string } & LinkIds)
  | { type: 'sfu-offer'; pc: 'pub'; sdp: string }
  | { type: 'sfu-answer'; pc: 'sub'; sdp: string }
  | { type: 'sfu-candidate'; pc: 'pub' | 'sub'; candidate: CandidateInit }
  | { type: 'sfu-end-of-candidates'; pc: 'pub' | 'sub'; usernameFragment?: string };

export interface SignalingOptions {
  readonly url: string;
  readonly room: string;
  readonly name?: string;
  readonly token?: string;
  /** Give up resuming after this long without a connection, ms (default 60000). */
  readonly giveUpAfterMs?: number;
}

export interface SignalingEvents {
  [key: string]: unknown[];
  welcome: [Welcome];
  message: [ServerMessage];
  /** The session is over for good (a fatal refusal, or resuming failed); not emitted by `leave`. */
  closed: [reason: string];
}

/** Refusals a retry cannot fix. */
const FATAL = new Set<string>([
  ERR.TOKEN_REQUIRED,
  ERR.TOKEN_INVALID,
  ERR.TOKEN_EXPIRED,
  ERR.TOKEN_ROOM,
  ERR.ROOM_FULL,
  ERR.BAD_VERSION,
]);

/**
 * `ws://host:port` (or http(s)://) to the signaling endpoint `/ws`; a URL with a path other than
 * `/` is taken as given. Returns an error message for anything else.
 */
export function signalingUrl(text: string): URL | string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return `not a URL: '${text}'`;
  }
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:')
    return `needs ws://, wss://, http:// or https:// (got '${text}')`;
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/ws';
  return u;
}

export class RoomSignaling extends Emitter<SignalingEvents> {
  readonly #opts: SignalingOptions;
  readonly #instance = randomBytes(12).toString('base64url');
  #ws: WebSocket | undefined;
  #resumeToken: string | undefined;
  #joined = false;
  #closed = false;
  #lostAt = 0;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;
  peerId = '';
  resumes = 0;

  constructor(opts: SignalingOptions) {
    super();
    this.#opts = opts;
  }

  /** Connects and joins; resolves with the welcome, rejects with the server's refusal. */
  connect(): Promise<Welcome> {
    return new Promise((resolve, reject) => {
      const offWelcome = this.once('welcome', (w) => {
        offClosed();
        resolve(w);
      });
      const offClosed = this.once('closed', (reason) => {
        offWelcome();
        reject(new Error(reason));
      });
      this.#open();
    });
  }

  /** Sends a frame if connected (peer frames lost while resuming are re-sent by the links). */
  send(msg: Outgoing): boolean {
    if (!this.#joined || this.#ws?.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(JSON.stringify({ v: 1, ...msg }));
    return true;
  }

  /** Leaves the room (waits briefly for the server's `left`) and closes. */
  async leave(): Promise<void> {
    if (this.#closed) return;
    const ws = this.#ws;
    const sent = this.send({ type: 'leave' });
    this.#closed = true;
    this.#stopTimers();
    if (ws && sent) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000);
        ws.on('message', (data) => {
          if (String(data).includes('"left"')) {
            clearTimeout(t);
            resolve();
          }
        });
        ws.once('close', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    ws?.close(1000, 'bye');
    this.#ws = undefined;
  }

  /** Drops the WebSocket as if the network failed (tests): the session is resumed. */
  dropConnection(): void {
    this.#ws?.terminate();
  }

  #open(): void {
    const ws = new WebSocket(this.#opts.url);
    this.#ws = ws;
    ws.on('open', () => {
      if (this.#resumeToken)
        ws.send(JSON.stringify({ v: 1, type: 'resume', resumeToken: this.#resumeToken }));
      else this.#sendJoin(ws);
    });
    ws.on('message', (data, binary) => {
      if (binary || this.#ws !== ws) return;
      let msg: ServerMessage;
      try {
        msg = JSON.parse(String(data)) as ServerMessage;
      } catch {
        return;
      }
      this.#onMessage(ws, msg);
    });
    ws.on('error', () => {});
    ws.on('close', (code, reason) => {
      if (this.#ws !== ws) return;
      this.#ws = undefined;
      this.#joined = false;
      this.#stopTimers();
      if (this.#closed) return;
      if (!this.#resumeToken) {
        this.#fail(`signaling connection closed before joining (${code} ${String(reason)})`.trim());
        return;
      }
      this.#lostAt ||= Date.now();
      if (Date.now() - this.#lostAt > (this.#opts.giveUpAfterMs ?? 60_000)) {
        this.#fail('signaling server unreachable; gave up resuming');
        return;
      }
      const delay = Math.min(4000, 250 * 2 ** this.#attempt++);
      this.#retryTimer = setTimeout(() => this.#open(), delay);
    });
  }

  #sendJoin(ws: WebSocket): void {
    const o = this.#opts;
    ws.send(
      JSON.stringify({
        v: 1,
        type: 'join',
        room: o.room,
        instance: this.#instance,
        ...(o.token !== undefined && { token: o.token }),
        ...(o.name !== undefined && { name: o.name }),
      }),
    );
  }

  #onMessage(ws: WebSocket, msg: ServerMessage): void {
    switch (msg.type) {
      case 'welcome':
        this.#resumeToken = msg.resumeToken;
        this.#joined = true;
        this.#lostAt = 0;
        this.#attempt = 0;
        if (msg.resumed) this.resumes++;
        this.peerId = msg.peerId;
        this.#startPing(ws, msg.pingIntervalMs);
        this.emit('welcome', msg);
        return;
      case 'session':
        this.#resumeToken = msg.resumeToken;
        return;
      case 'pong':
        return;
      case 'error':
        if (msg.code === ERR.RESUME_INVALID) {
          // The session is gone: a fresh join would be a new identity the links do not know.
          this.#fail('the server no longer holds our session (resume refused)');
          return;
        }
        if (FATAL.has(msg.code) && (msg.ref === 'join' || msg.ref === 'resume' || msg.ref === undefined)) {
          this.#fail(`${msg.code}: ${msg.message}`);
          return;
        }
        this.emit('message', msg);
        return;
      default:
        this.emit('message', msg);
    }
  }

  #fail(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopTimers();
    this.#ws?.close(1000);
    this.#ws = undefined;
    this.emit('closed', reason);
  }

  #startPing(ws: WebSocket, intervalMs: number): void {
    if (this.#pingTimer !== undefined) clearInterval(this.#pingTimer);
    let id = 0;
    this.#pingTimer = setInterval(
      () => {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ v: 1, type: 'ping', id: ++id }));
      },
      Math.max(100, Math.min(intervalMs / 2, 10_000)),
    );
  }

  #stopTimers(): void {
    if (this.#pingTimer !== undefined) clearInterval(this.#pingTimer);
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#pingTimer = undefined;
    this.#retryTimer = undefined;
  }
}
