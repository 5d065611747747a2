/**
 * Records received tracks (encoded frames) to a WebM/Matroska stream: one video track and/or one
 * audio track. The header is written once every track has produced its first usable frame (video
 * waits for a keyframe; H264 needs its SPS/PPS for the avcC), so the file starts decodable.
 */
import { avcConfigFromAnnexB } from '../media/container/annexb.js';
import { keyframeSize } from '../media/container/frame-size.js';
import { type WebmCodec, type WebmTrack, WebmWriter } from '../media/container/webm.js';
import type { MediaStreamTrack, ReceivedFrame } from './media-track.js';

interface Pending {
  readonly track: MediaStreamTrack;
  first?: ReceivedFrame;
  queue: ReceivedFrame[];
  /** Offset so all tracks share one timeline (ms of the recorder's first frame). */
  startedAt?: number;
}

export class WebmRecorder {
  readonly #sink: (chunk: Uint8Array) => void;
  readonly #tracks: Pending[];
  readonly #now: () => number;
  #writer: WebmWriter | undefined;
  #t0: number | undefined;
  readonly #listeners: (() => void)[] = [];
  /** Frames written per input track (in the order given). */
  framesWritten: number[];

  constructor(
    tracks: readonly MediaStreamTrack[],
    sink: (chunk: Uint8Array) => void,
    now: () => number = () => performance.now(),
  ) {
    this.#sink = sink;
    this.#now = now;
    this.#tracks = tracks.map((track) => ({ track, queue: [] }));
    this.framesWritten = tracks.map(() => 0);
    for (const p of this.#tracks) {
      const fn = (f: ReceivedFrame): void => this.#onFrame(p, f);
      p.track.on('frame', fn);
      this.#listeners.push(() => p.track.off('frame', fn));
    }
  }

  #onFrame(p: Pending, f: ReceivedFrame): void {
    if (!p.first) {
      if (p.track.kind === 'video' && !f.keyframe) return;
      p.first = f;
    }
    if (p.startedAt === undefined) {
      // Arrival time places each track's first frame on the shared timeline.
      this.#t0 ??= this.#now();
      p.startedAt = this.#now() - this.#t0;
    }
    p.queue.push(f);
    if (!this.#writer) {
      if (!this.#tracks.every((x) => x.first)) return;
      this.#writer = new WebmWriter(
        this.#sink,
        this.#tracks.map((x) => trackOf(x.track.kind, x.first!)),
      );
    }
    const w = this.#writer;
    for (const [i, x] of this.#tracks.entries()) {
      for (const q of x.queue) {
        w.writeFrame(
          i + 1,
          (x.startedAt ?? 0) + q.timestamp - (x.first?.timestamp ?? 0),
          q.data,
          x.track.kind === 'audio' || q.keyframe,
        );
        this.framesWritten[i]!++;
      }
      x.queue = [];
    }
  }

  close(): void {
    for (const off of this.#listeners) off();
    this.#writer?.close();
  }
}

function trackOf(kind: 'audio' | 'video', first: ReceivedFrame): WebmTrack {
  const codec = first.codec.toLowerCase() as WebmCodec;
  if (kind === 'audio') return { codec: 'opus', channels: 2 };
  if (codec === 'h264') {
    const avcc = avcConfigFromAnnexB(first.data);
    return { codec, ...(avcc && { codecPrivate: avcc }) };
  }
  // The size the first keyframe declares (the container's default otherwise).
  return { codec, ...keyframeSize(codec, first.data) };
}
