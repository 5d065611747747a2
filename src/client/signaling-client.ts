/**
 * The browser end of signaling: one WebSocket that joins a room, keeps itself alive with `ping`,
 * and after a drop reconnects with backoff and resumes its session (same peer id, same room), so
 * peer connections need no renegotiation. Frames for peers sent while reconnecting are queued and
 * flushed after the resume.
 */

import type { ClientMessage, PeerSignal, ServerMessage, SfuSignal, Welcome } from '../protocol/signaling.js';
import { Emitter } from './emitter.js';
import { randomId } from './ids.js';

export type SignalingState = 'connecting' | 'joined' | 'reconnecting' | 'closed';

export interface SignalingOptions {
  /** ws:// or wss:// URL of the server's /ws endpoint. */
  readonly url: string;
  readonly room: string;
  readonly name?: string;
  readonly token?: string;
  /** Reconnect backoff bounds, ms (default 250 .. 4000). */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Give up reconnecting after this long without a session, ms (default 120000). */
  readonly giveUpAfterMs?: number;
}

export interface SignalingEvents {
  [key: string]: unknown[];
  state: [SignalingState];
  welcome: [Welcome];
  message: [ServerMessage];
  /** A refusal the client cannot fix by retrying (bad token, room full). */
  fatal: [code: string, message: string];
}

const MAX_QUEUED = 512;

const FATAL = new Set([
  'ERR_SIGNALING_TOKEN_REQUIRED',
  'ERR_SIGNALING_TOKEN_INVALID',
  'ERR_SIGNALING_TOKEN_EXPIRED',
  'ERR_SIGNALING_TOKEN_WRONG_ROOM',
  'ERR_SIGNALING_ROOM_FULL',
  'ERR_SIGNALING_BAD_VERSION',
]);

export class SignalingClient extends Emitter<SignalingEvents> {
  readonly #opts: SignalingOptions;
  #ws: WebSocket | undefined;
  #state: SignalingState = 'connecting';
  #resumeToken: string | undefined;
  /** Lets a join repeated after a lost welcome take back the same session (see the protocol). */
  #instance = randomId();
  #queue: string[] = [];
  /** Our identity from the last welcome. */
  #peerId: string | undefined;
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #lastPong = 0;
  #lostAt = 0;
  /** Counts successful resumes (for tests and the UI). */
  resumes = 0;
  reconnects = 0;

  constructor(opts: SignalingOptions) {
    super();
    this.#opts = opts;
  }

  get state(): SignalingState {
    return this.#state;
  }

  start(): void {
    this.#open();
  }

  /** Sends a frame to a peer; queued while the session is being restored. */
  signal(sig: PeerSignal | SfuSignal): void {
    const frame = JSON.stringify({ v: 1, ...sig });
    if (this.#state === 'joined' && this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(frame);
    else if (this.#queue.length < MAX_QUEUED) this.#queue.push(frame);
  }

  /** Sends a frame only if joined right now (stats, events: stale ones are worthless). */
  sendNow(msg: ClientMessage): boolean {
    if (this.#state !== 'joined' || this.#ws?.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(JSON.stringify(msg));
    return true;
  }

  /** Leaves the room and closes for good. */
  close(): void {
    if (this.#state === 'closed') return;
    this.sendNow({ v: 1, type: 'leave' });
    this.#setState('closed');
    this.#stopTimers();
    this.#ws?.close(1000, 'bye');
    this.#ws = undefined;
  }

  /** Drops the socket as if the network failed (tests). */
  dropConnection(): void {
    this.#ws?.close(4999, 'client drop');
  }

  #setState(s: SignalingState): void {
    if (this.#state === s) return;
    this.#state = s;
    this.emit('state', s);
  }

  #open(): void {
    const ws = new WebSocket(this.#opts.url);
    this.#ws = ws;
    ws.onopen = () => {
      this.#lastPong = performance.now();
      if (this.#resumeToken)
        ws.send(JSON.stringify({ v: 1, type: 'resume', resumeToken: this.#resumeToken }));
      else this.#sendJoin(ws);
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data !== 'string') return;
      let msg: ServerMessage;
      try {
        msg = JSON.parse(ev.data) as ServerMessage;
      } catch {
        return;
      }
      this.#onMessage(ws, msg);
    };
    ws.onclose = () => {
      if (this.#ws !== ws) return;
      this.#ws = undefined;
      this.#stopTimers();
      if (this.#state === 'closed') return;
      if (this.#state === 'joined') this.#lostAt = performance.now();
      this.#setState(this.#lostAt ? 'reconnecting' : 'connecting');
      this.#scheduleReconnect();
    };
  }

  #sendJoin(ws: WebSocket): void {
    const join: ClientMessage = { v: 1, type: 'join', room: this.#opts.room, instance: this.#instance };
    if (this.#opts.token) join.token = this.#opts.token;
    if (this.#opts.name) join.name = this.#opts.name;
    ws.send(JSON.stringify(join));
  }

  #onMessage(ws: WebSocket, msg: ServerMessage): void {
    switch (msg.type) {
      case 'welcome': {
        this.#resumeToken = msg.resumeToken;
        this.#attempt = 0;
        this.#lostAt = 0;
        if (msg.resumed) this.resumes++;
        this.#startPing(ws, msg.pingIntervalMs);
        this.#setState('joined');
        // Frames queued under an identity we no longer have would reach nobody: drop them.
        if (this.#peerId !== undefined && msg.peerId !== this.#peerId) this.#queue = [];
        this.#peerId = msg.peerId;
        this.emit('welcome', msg);
        const queued = this.#queue;
        this.#queue = [];
        for (const f of queued) ws.send(f);
        return;
      }
      case 'session':
        this.#resumeToken = msg.resumeToken;
        return;
      case 'pong':
        this.#lastPong = performance.now();
        return;
      case 'error':
        if (msg.code === 'ERR_SIGNALING_RESUME_INVALID') {
          // The token no longer counts: join again. The same instance id lets the server hand back
          // our session if it still holds it; otherwise we start afresh with a new identity.
          this.#resumeToken = undefined;
          this.#sendJoin(ws);
          return;
        }
        if (
          FATAL.has(msg.code) &&
          (msg.ref === 'join' || msg.ref === 'resume' || msg.code === 'ERR_SIGNALING_BAD_VERSION')
        ) {
          this.emit('fatal', msg.code, msg.message);
          this.#setState('closed');
          this.#stopTimers();
          ws.close(1000);
          return;
        }
        this.emit('message', msg);
        return;
      default:
        this.emit('message', msg);
    }
  }

  #startPing(ws: WebSocket, intervalMs: number): void {
    this.#stopPing();
    const every = Math.max(100, Math.min(intervalMs / 2, 10_000));
    let id = 0;
    this.#pingTimer = setInterval(() => {
      if (ws.readyState !== WebSocket.OPEN) return;
      // No pong for three periods: the server or the path is gone; reconnect.
      if (performance.now() - this.#lastPong > every * 3) {
        ws.close(4000, 'pong timeout');
        return;
      }
      ws.send(JSON.stringify({ v: 1, type: 'ping', id: ++id }));
    }, every);
  }

  #stopPing(): void {
    if (this.#pingTimer !== undefined) clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
  }

  #stopTimers(): void {
    this.#stopPing();
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  #scheduleReconnect(): void {
    const min = this.#opts.minBackoffMs ?? 250;
    const max = this.#opts.maxBackoffMs ?? 4000;
    if (this.#lostAt && performance.now() - this.#lostAt > (this.#opts.giveUpAfterMs ?? 120_000)) {
      this.emit('fatal', 'ERR_SIGNALING_UNREACHABLE', 'signaling server unreachable; gave up reconnecting');
      this.#setState('closed');
      return;
    }
    const base = Math.min(max, min * 2 ** this.#attempt++);
    const delay = base / 2 + Math.random() * (base / 2);
    this.reconnects++;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#state !== 'closed') this.#open();
    }, delay);
  }
}
