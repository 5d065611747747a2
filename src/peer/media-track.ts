/**
 * MediaStreamTrack for Node, carrying **encoded** media: the application writes encoded frames
 * (from a file, ffmpeg, another peer) with `writeFrame`, or raw RTP with `writeRtp` (forwarding);
 * a track received from a peer emits 'frame' (assembled, depacketized) and 'rtp' (every packet,
 * for forwarding) events. 'keyframerequest' tells a source that a receiver asked for a keyframe.
 */
import { randomUUID } from 'node:crypto';
import { Emitter } from '../core/events.js';
import type { RtpPacket } from '../rtp/packet.js';

/** How a forwarded packet is written (`MediaStreamTrack.writeRtp`). */
export interface WriteRtpOptions {
  readonly rid?: string;
  readonly dependencyDescriptor?: Uint8Array;
}
/** No options: one shared object rather than one per packet. */
const NO_WRITE_OPTIONS: WriteRtpOptions = Object.freeze({});

export interface EncodedFrameInit {
  readonly data: Uint8Array;
  /** Presentation time in milliseconds (any origin; differences matter). */
  readonly timestamp: number;
  /** Defaults to what the bitstream says (VP8/VP9/H264/AV1 headers). */
  readonly keyframe?: boolean;
  /** Simulcast: the encoding (rid) this frame belongs to; without it every active encoding sends it. */
  readonly rid?: string;
}

export interface ReceivedFrame {
  readonly data: Uint8Array;
  /** RTP timestamp of the frame. */
  readonly rtpTimestamp: number;
  /** Milliseconds since the first frame of this stream (from RTP timestamps). */
  readonly timestamp: number;
  readonly keyframe: boolean;
  /** Codec name as negotiated (`VP8`, `opus`, ...). */
  readonly codec: string;
  /** The simulcast layer it came on. */
  readonly rid?: string;
  readonly ssrc: number;
}

export interface MediaStreamTrackEvents {
  [key: string]: unknown[];
  frame: [ReceivedFrame];
  rtp: [RtpPacket, { rid?: string }];
  /** A receiver asked for a keyframe (PLI/FIR); with simulcast, `rid` names the layer. */
  keyframerequest: [{ rid?: string }];
  ended: [];
  /** Internal: frames and packets written by the application, for the senders attached. */
  write: [EncodedFrameInit];
  writertp: [RtpPacket, { rid?: string; dependencyDescriptor?: Uint8Array }];
}

export class MediaStreamTrack extends Emitter<MediaStreamTrackEvents> {
  readonly kind: 'audio' | 'video';
  readonly id: string;
  label: string;
  enabled = true;
  #readyState: 'live' | 'ended' = 'live';
  readonly remote: boolean;

  constructor(init: { kind: 'audio' | 'video'; id?: string; label?: string; remote?: boolean }) {
    super();
    this.kind = init.kind;
    this.id = init.id ?? randomUUID();
    this.label = init.label ?? `${init.kind} track`;
    this.remote = init.remote ?? false;
  }

  get readyState(): 'live' | 'ended' {
    return this.#readyState;
  }
  get muted(): boolean {
    return false;
  }

  /** Send one encoded frame through every sender this track is attached to. */
  writeFrame(frame: EncodedFrameInit): void {
    if (this.#readyState === 'ended' || !this.enabled) return;
    this.emit('write', frame);
  }

  /**
   * Send a ready RTP packet (forwarding): senders rewrite SSRC and payload type to their own and
   * keep sequence numbers continuous. With simulcast, `rid` picks the encoding; a
   * `dependencyDescriptor` goes out in that extension where it was negotiated.
   */
  writeRtp(packet: RtpPacket, options: WriteRtpOptions = NO_WRITE_OPTIONS): void {
    if (this.#readyState === 'ended' || !this.enabled) return;
    this.emit('writertp', packet, options);
  }

  stop(): void {
    if (this.#readyState === 'ended') return;
    this.#readyState = 'ended';
    this.emit('ended');
  }

  clone(): MediaStreamTrack {
    return new MediaStreamTrack({ kind: this.kind, label: this.label });
  }
}

/** The W3C MediaStream: a set of tracks with an id (msid stream id). */
export class MediaStream {
  readonly id: string;
  readonly #tracks: MediaStreamTrack[] = [];
  constructor(tracksOrId?: MediaStreamTrack[] | string) {
    this.id = typeof tracksOrId === 'string' ? tracksOrId : randomUUID();
    if (Array.isArray(tracksOrId)) this.#tracks.push(...tracksOrId);
  }
  getTracks(): MediaStreamTrack[] {
    return [...this.#tracks];
  }
  getAudioTracks(): MediaStreamTrack[] {
    return this.#tracks.filter((t) => t.kind === 'audio');
  }
  getVideoTracks(): MediaStreamTrack[] {
    return this.#tracks.filter((t) => t.kind === 'video');
  }
  addTrack(t: MediaStreamTrack): void {
    if (!this.#tracks.includes(t)) this.#tracks.push(t);
  }
  removeTrack(t: MediaStreamTrack): void {
    const i = this.#tracks.indexOf(t);
    if (i >= 0) this.#tracks.splice(i, 1);
  }
}
