/**
 * Records every remote participant of a room to its own WebM file (Matroska `.mkv` for H.264):
 * the tracks a connection announces together (one setRemoteDescription) make one file, written by
 * WebmRecorder (video from its first keyframe, audio on the same timeline). The file is created
 * when the first frame is written, so a participant that never sends leaves no empty file.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { MediaStreamTrack, RTCTrackEvent } from '../../peer/index.js';
import { WebmRecorder } from '../../peer/media-recorder.js';
import type { PeerInfo } from '../../protocol/signaling.js';

export class PeerRecording {
  readonly peer: PeerInfo;
  readonly tracks: readonly MediaStreamTrack[];
  /** The file, once something was written to it. */
  path: string | undefined;
  bytes = 0;
  #fd: number | undefined;
  #videoCodec = '';
  readonly #recorder: WebmRecorder;
  readonly #base: string;
  #closed = false;

  constructor(base: string, peer: PeerInfo, tracks: readonly MediaStreamTrack[]) {
    this.#base = base;
    this.peer = peer;
    // Video first (track 1), as players expect.
    this.tracks = [...tracks].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'video' ? -1 : 1));
    // Registered before the recorder's own listener: the codec is known when its header is written.
    for (const t of this.tracks)
      if (t.kind === 'video') t.on('frame', (f) => (this.#videoCodec ||= f.codec.toLowerCase()));
    this.#recorder = new WebmRecorder(this.tracks, (chunk) => this.#write(chunk));
  }

  get videoFrames(): number {
    return this.#count('video');
  }
  get audioFrames(): number {
    return this.#count('audio');
  }

  #count(kind: 'audio' | 'video'): number {
    let n = 0;
    for (const [i, t] of this.tracks.entries())
      if (t.kind === kind) n += this.#recorder.framesWritten[i] ?? 0;
    return n;
  }

  #write(chunk: Uint8Array): void {
    if (this.#fd === undefined) {
      this.path = `${this.#base}.${this.#videoCodec === 'h264' ? 'mkv' : 'webm'}`;
      this.#fd = openSync(this.path, 'w');
    }
    writeSync(this.#fd, chunk);
    this.bytes += chunk.length;
  }

  /** Flushes the last cluster and closes the file. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#recorder.close();
    if (this.#fd !== undefined) closeSync(this.#fd);
  }
}

/** File-name-safe form of a display name. */
export function safeName(name: string): string {
  return (
    name
      .replace(/[^A-Za-z0-9_.-]+/g, '_')
      .replace(/^[._]+/, '')
      .slice(0, 40) || 'peer'
  );
}

export class RoomRecorder {
  readonly recordings: PeerRecording[] = [];
  readonly #dir: string;
  readonly #pending = new Map<object, { peer: PeerInfo; tracks: MediaStreamTrack[] }>();
  readonly #used = new Set<string>();
  #closed = false;

  constructor(dir: string) {
    this.#dir = dir;
  }

  /**
   * A track of `peer`; `group` names the connection (Participant's `track` event): tracks of one
   * group announced together are recorded together.
   */
  onTrack(peer: PeerInfo, ev: RTCTrackEvent, group: object): void {
    if (this.#closed) return;
    let p = this.#pending.get(group);
    if (!p) {
      p = { peer, tracks: [] };
      this.#pending.set(group, p);
      // All tracks of one description are announced in the same turn.
      queueMicrotask(() => {
        this.#pending.delete(group);
        if (!this.#closed && p!.tracks.length)
          this.recordings.push(new PeerRecording(this.#base(peer), peer, p!.tracks));
      });
    }
    if (!p.tracks.some((t) => t.kind === ev.track.kind)) p.tracks.push(ev.track);
  }

  #base(peer: PeerInfo): string {
    const stem = `${safeName(peer.name)}-${peer.id}`;
    let name = stem;
    for (let i = 2; this.#used.has(name); i++) name = `${stem}-${i}`;
    this.#used.add(name);
    return join(this.#dir, name);
  }

  totals(): { videoFrames: number; audioFrames: number; bytes: number } {
    let videoFrames = 0;
    let audioFrames = 0;
    let bytes = 0;
    for (const r of this.recordings) {
      videoFrames += r.videoFrames;
      audioFrames += r.audioFrames;
      bytes += r.bytes;
    }
    return { videoFrames, audioFrames, bytes };
  }

  close(): void {
    this.#closed = true;
    for (const r of this.recordings) r.close();
  }
}
