/**
 * How signaling hands a room to an SFU and back. The signaling server decides the mode (by room
 * size, with hysteresis: `nextMode`), tells the clients, and routes their SFU frames to the backend;
 * the backend answers through `SfuOutput` (offers, answers, candidates, active-speaker events).
 */
import type { RoomMode, ServerMessage } from '../../protocol/signaling.js';
import type { SfuClientMessage } from './protocol.js';

export interface ModePolicy {
  /** Switch to SFU when the room reaches this many participants (default 5). */
  readonly switchAt: number;
  /** Back to mesh when it falls to this many (default 3). */
  readonly backAt: number;
}

export const DEFAULT_MODE_POLICY: ModePolicy = { switchAt: 5, backAt: 3 };

/** The mode a room of `peers` participants should be in, given the mode it is in. */
export function nextMode(current: RoomMode, peers: number, p: ModePolicy): RoomMode {
  if (current === 'mesh' && peers >= p.switchAt) return 'sfu';
  if (current === 'sfu' && peers <= p.backAt) return 'mesh';
  return current;
}

export interface SfuOutput {
  /** To one participant (`peerId`), or to everyone in the room (undefined). */
  send(room: string, peerId: string | undefined, msg: ServerMessage): void;
}

export interface SfuBackend {
  /** Called once, before any room opens. */
  attach(out: SfuOutput): void;
  /** The room switched to SFU mode with these participants. */
  openRoom(room: string, peerIds: readonly string[]): void;
  /** The room went back to mesh (or emptied): drop its connections. */
  closeRoom(room: string): void;
  addPeer(room: string, peerId: string): void;
  removePeer(room: string, peerId: string): void;
  /** A participant's SFU frame (offer of its publishing connection, answer, candidates, prefs). */
  handle(room: string, peerId: string, msg: SfuClientMessage): void;
  mute(room: string, peerId: string, kind: 'audio' | 'video', muted: boolean): void;
  /**
   * Record the room's tracks to files in `dir` until stopRecording (false: the room is not in SFU
   * mode). Optional: a backend without recording refuses `record` frames.
   */
  startRecording?(room: string, dir: string): boolean;
  /** Stop recording; resolves with the files written once they are closed. */
  stopRecording?(room: string): Promise<readonly { readonly path: string }[]>;
  close(): Promise<void> | void;
}
