/**
 * Sends media sources through Node tracks at their own pace: each frame is written when its
 * presentation time comes (from one shared start, so audio and video stay together). A frame that
 * is late by more than LATE_MS (a stalled live feed, a busy event loop) is sent at once and the
 * schedule moves with it, instead of a burst of catching up.
 */
import { getCapabilities, MediaStream, MediaStreamTrack, type RTCPeerConnection } from '../../peer/index.js';
import type { MediaSource } from './media-source.js';

const LATE_MS = 200;

export interface PlayerTrack {
  readonly source: MediaSource;
  readonly track: MediaStreamTrack;
  frames: number;
  bytes: number;
  /** Passes started through the source (looping). */
  passes: number;
}

export class Player {
  readonly stream = new MediaStream();
  readonly tracks: PlayerTrack[];
  readonly #loop: boolean;
  #stopped = false;
  #started: Promise<void> | undefined;
  readonly #timers = new Set<{ timer: ReturnType<typeof setTimeout>; resolve: () => void }>();

  constructor(sources: readonly MediaSource[], loop: boolean) {
    this.#loop = loop;
    this.tracks = sources.map((source) => {
      const track = new MediaStreamTrack({ kind: source.kind, label: source.label });
      this.stream.addTrack(track);
      return { source, track, frames: 0, bytes: 0, passes: 0 };
    });
  }

  /** Adds a send-only transceiver per track to `pc`, offering only the source's codec. */
  attach(pc: RTCPeerConnection): void {
    for (const t of this.tracks) {
      const tr = pc.addTransceiver(t.track, { direction: 'sendonly', streams: [this.stream] });
      const mime = `${t.source.kind}/${t.source.codec}`;
      tr.setCodecPreferences(
        getCapabilities(t.source.kind)!.codecs.filter((c) => c.mimeType.toLowerCase() === mime),
      );
    }
  }

  get started(): boolean {
    return this.#started !== undefined;
  }

  /** Starts sending (once); resolves when every source has ended (never, when looping files). */
  start(): Promise<void> {
    this.#started ??= (async () => {
      const clock = { t0: performance.now() };
      await Promise.all(this.tracks.map((t) => this.#run(t, clock)));
    })();
    return this.#started;
  }

  async #run(t: PlayerTrack, clock: { t0: number }): Promise<void> {
    for await (const f of t.source.frames(this.#loop)) {
      if (this.#stopped) return;
      t.passes = (f.pass ?? 0) + 1;
      const wait = clock.t0 + f.ms - performance.now();
      if (wait > 0) await this.#sleep(wait);
      else if (wait < -LATE_MS) clock.t0 -= wait;
      if (this.#stopped) return;
      t.track.writeFrame({ data: f.data, timestamp: f.ms });
      t.frames++;
      t.bytes += f.data.length;
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.#timers.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      this.#timers.add(entry);
    });
  }

  figures(): { videoFrames: number; audioFrames: number; bytes: number; passes: number } {
    let videoFrames = 0;
    let audioFrames = 0;
    let bytes = 0;
    let passes = 0;
    for (const t of this.tracks) {
      if (t.source.kind === 'video') videoFrames += t.frames;
      else audioFrames += t.frames;
      bytes += t.bytes;
      passes = Math.max(passes, t.passes);
    }
    return { videoFrames, audioFrames, bytes, passes };
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const e of this.#timers) {
      clearTimeout(e.timer);
      e.resolve();
    }
    this.#timers.clear();
    for (const t of this.tracks) t.track.stop();
  }
}
