/**
 * Server-side state of signaling: a Session is a peer's identity in one room (it outlives a dropped
 * WebSocket for the resume window), a Room is the set of sessions that may signal each other.
 */

import type { WebSocket } from 'ws';
import type { Timer } from '../../core/clock.js';

export interface Connection {
  readonly id: number;
  readonly ws: WebSocket;
  /** Host name the client reached us by (for TURN URLs). */
  readonly host: string;
  readonly remote: string;
  session: Session | undefined;
  /** When the client was last heard (WebSocket pong or any frame), clock ms. */
  lastSeen: number;
  /** Token bucket for the per-connection rate limit. */
  tokens: number;
  lastRefill: number;
  /** Frames refused by the rate limit since the last accepted frame. */
  strikes: number;
  closed: boolean;
}

export interface Session {
  readonly id: string;
  readonly room: Room;
  readonly name: string;
  /** The client's instance id from its join, if it sent one. */
  readonly instance: string | undefined;
  conn: Connection | undefined;
  /** Frames for this peer that arrived while it was away (delivered on resume). */
  queue: string[];
  queueBytes: number;
  awayTimer: Timer | undefined;
  iceTimer: Timer | undefined;
  resumeTimer: Timer | undefined;
  readonly joinedAt: number;
}

export class Room {
  readonly name: string;
  readonly peers = new Map<string, Session>();
  /** How media flows: peer to peer, or through the SFU. */
  mode: 'mesh' | 'sfu' = 'mesh';
  constructor(name: string) {
    this.name = name;
  }
}
