/**
 * How a call moves media and data between its participants. Today there is one implementation,
 * the full mesh (one RTCPeerConnection per remote peer); an SFU transport (one connection to the
 * server, which forwards) will implement the same interface, and the Call switches between them
 * when the server says so (`mode` in the welcome frame).
 */

import type { IceServer, PeerInfo, RemoteSignal, StatsEntry } from '../protocol/signaling.js';
import type { Emitter } from './emitter.js';
import type { FileRecord } from './file-transfer.js';
import type { LinkStats } from './stats.js';

export type TransportMode = 'mesh' | 'sfu';

/** What the call page shows per remote participant. */
export interface RemotePeerView {
  readonly id: string;
  readonly name: string;
  readonly connectionState: string;
  readonly iceConnectionState: string;
  readonly signalingState: string;
  readonly stats: LinkStats;
  readonly stream: MediaStream | undefined;
  readonly negotiations: number;
  readonly rollbacks: number;
  readonly ignoredOffers: number;
  readonly iceRestarts: number;
  readonly offerRetries: number;
  /** Answers dropped because they answered an offer already withdrawn (mesh links only). */
  readonly staleAnswers?: number;
  /** Recent negotiation events of the link (mesh links only), for diagnosis. */
  readonly events?: readonly string[];
  readonly makingOffer: boolean;
  readonly chatOpen: boolean;
  readonly fileOpen: boolean;
  readonly lastError: string | undefined;
  /** TURN usernames in the connection's current configuration (shows credential refreshes). */
  readonly iceUsernames: string[];
}

export interface ChatMessage {
  readonly from: string;
  readonly name: string;
  readonly text: string;
  readonly at: number;
}

export interface TransportEvents {
  [key: string]: unknown[];
  'peer-added': [id: string];
  'peer-removed': [id: string];
  track: [id: string, stream: MediaStream];
  'peer-state': [id: string, state: string];
  chat: [ChatMessage];
  /** A file transfer changed (progress, done, failed). */
  file: [FileRecord];
  /** Client events the server aggregates (setup time, ICE failures, restarts). */
  report: [name: 'connected' | 'ice-failed' | 'ice-restart', peer: string, setupMs?: number];
}

export interface Transport extends Emitter<TransportEvents> {
  readonly mode: TransportMode;
  /** Presence: a peer is in the room (idempotent: a known peer keeps its connection). */
  addPeer(peer: PeerInfo): void;
  removePeer(id: string): void;
  /** Drops everything (our own identity changed). */
  reset(): void;
  handleSignal(msg: RemoteSignal): void;
  setIceServers(servers: IceServer[]): void;
  /** After signaling was restored: re-send anything that may have been lost. */
  resync(): void;
  restartIce(): void;
  sendChat(msg: ChatMessage): void;
  sendFile(name: string, bytes: Uint8Array): Promise<FileRecord[]>;
  updateStats(): Promise<StatsEntry[]>;
  peers(): RemotePeerView[];
  close(): void;
}
