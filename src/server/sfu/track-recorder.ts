/**
 * Recording one published track to a WebM file (VP8/VP9/AV1/H264 video or Opus audio), from the
 * frames the publisher's receiving track reassembles. A simulcast track delivers the frames of all
 * its layers; the recording keeps one: the highest layer that is flowing when the first keyframe
 * arrives (`pickRid`), and starts at a keyframe of it so the file decodes from its first frame.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { WebmRecorder } from '../../peer/media-recorder.js';
import { MediaStreamTrack, type ReceivedFrame } from '../../peer/media-track.js';

export interface TrackRecordingInfo {
  readonly publisherId: string;
  readonly trackId: string;
  readonly kind: 'audio' | 'video';
  readonly path: string;
  /** The simulcast layer recorded (undefined: a single-layer track). */
  readonly rid: string | undefined;
  readonly frames: number;
}

export class TrackRecording {
  readonly publisherId: string;
  readonly trackId: string;
  readonly path: string;
  readonly #source: MediaStreamTrack;
  readonly #layerOnly: MediaStreamTrack;
  readonly #recorder: WebmRecorder;
  readonly #file: WriteStream;
  readonly #off: () => void;
  #rid: string | undefined;
  #locked = false;
  #closed: Promise<void> | undefined;

  constructor(
    o: { publisherId: string; trackId: string; path: string; source: MediaStreamTrack },
    /** The rid to record once a keyframe arrives (the highest flowing layer), or undefined. */
    pickRid: () => string | undefined,
  ) {
    this.publisherId = o.publisherId;
    this.trackId = o.trackId;
    this.path = o.path;
    this.#source = o.source;
    this.#file = createWriteStream(o.path);
    // A track of our own that carries only the chosen layer's frames into the recorder.
    this.#layerOnly = new MediaStreamTrack({ kind: o.source.kind, label: `recording ${o.trackId}` });
    this.#recorder = new WebmRecorder([this.#layerOnly], (chunk) => this.#file.write(chunk));
    this.#off = o.source.on('frame', (f: ReceivedFrame) => {
      if (!this.#locked) {
        if (o.source.kind === 'video' && !f.keyframe) return;
        this.#rid = pickRid() ?? f.rid;
        this.#locked = true;
      }
      if (f.rid !== this.#rid && this.#rid !== undefined) return;
      this.#layerOnly.emit('frame', f);
    });
  }

  get info(): TrackRecordingInfo {
    return {
      publisherId: this.publisherId,
      trackId: this.trackId,
      kind: this.#source.kind,
      path: this.path,
      rid: this.#rid,
      frames: this.#recorder.framesWritten[0] ?? 0,
    };
  }

  /** Finish the file (the WebM stream is complete after each cluster; this flushes and closes). */
  stop(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#off();
      this.#recorder.close();
      this.#file.end(() => resolve());
    });
    return this.#closed;
  }
}
