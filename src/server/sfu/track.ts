/**
 * A published track in an SFU room: its layers (simulcast encodings by rid, or one for audio),
 * each with its receive statistics, loss tracking for upstream NACKs and a bitrate meter.
 */
import type { PayloadCodecName } from '../../media/payload/types.js';
import { RateMeter } from './rate-meter.js';
import type { UpstreamStream } from './upstream.js';

export type TrackKind = 'audio' | 'video';

export interface LayerSpec {
  /** RTP stream id (simulcast); absent for a single-layer track. */
  readonly rid?: string;
  /** Known from the SDP (a=ssrc) or learned from the first packet carrying the rid. */
  readonly ssrc?: number;
  readonly width?: number;
  readonly height?: number;
}

export interface PublishSpec {
  readonly trackId: string;
  readonly kind: TrackKind;
  readonly codec: PayloadCodecName;
  readonly clockRate: number;
  /** The publisher's payload type(s) of this track's codec (to bind SSRCs that carry no rid). */
  readonly payloadTypes?: readonly number[];
  /** The publisher's mid for this track (to bind SSRCs by the mid extension). */
  readonly mid?: string;
  /** Low to high quality. Audio: one. */
  readonly layers: readonly LayerSpec[];
}

export class Layer {
  readonly index: number;
  readonly rid: string | undefined;
  readonly height: number;
  ssrc: number | undefined;
  /** Receive statistics and loss tracking (from the first packet). */
  upstream: UpstreamStream | undefined;
  readonly meter = new RateMeter(1000, 100);
  lastPacketAt = -Infinity;
  lastKeyframeRequestAt = -Infinity;
  keyframesSeen = 0;

  constructor(index: number, spec: LayerSpec) {
    this.index = index;
    this.rid = spec.rid;
    this.height = spec.height ?? (index + 1) * 180;
    this.ssrc = spec.ssrc === undefined ? undefined : spec.ssrc >>> 0;
  }
}

export class PublishedTrack {
  readonly publisherId: string;
  readonly spec: PublishSpec;
  readonly layers: Layer[];
  muted = false;

  constructor(publisherId: string, spec: PublishSpec) {
    if (spec.layers.length === 0) throw new RangeError('a track has at least one layer');
    this.publisherId = publisherId;
    this.spec = spec;
    this.layers = spec.layers.map((l, i) => new Layer(i, l));
  }
  get id(): string {
    return this.spec.trackId;
  }
  get kind(): TrackKind {
    return this.spec.kind;
  }
}
