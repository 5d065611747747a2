/**
 * Per-subscriber layer dropping of one SVC stream, without decoding: forward the packets of the
 * layers at or below `current` (spatial, temporal) and move `current` towards `target`:
 * - down (either dimension) at the next picture boundary (a newer RTP timestamp), so a picture is
 *   never cut in the middle;
 * - up only where the stream says a decoder can join: spatial at a keyframe (VP9) or a frame
 *   that is a switch point of the target decode target (AV1 DTI), temporal one layer at a time at
 *   a switching-up point (VP9 U bit, AV1 DTI); decisions are taken at the picture's first packet
 *   (its base layer frame start), so every layer of a picture is in or out together;
 * - nothing before the first keyframe.
 * The packet ending the highest forwarded layer frame of a picture carries the RTP marker (RFC 9628
 * §4.1: M on the final packet of the picture, that is of the highest spatial layer sent; the AV1 RTP
 * spec's M is the end of the temporal unit): when upper layers are dropped, the marker moves down.
 */
import type { SvcPacketInfo } from './svc-layers.js';

export interface SvcLayers {
  readonly spatial: number;
  readonly temporal: number;
}

export interface SvcDecision {
  readonly forward: boolean;
  /** The marker bit the forwarded packet must carry. */
  readonly marker: boolean;
}

const DROP: SvcDecision = { forward: false, marker: false };

/** 32-bit RTP timestamp `a` is newer than `b`. */
const newer = (a: number, b: number): boolean => {
  const d = (a - b) >>> 0;
  return d !== 0 && d < 0x80000000;
};

export class SvcFilter {
  /** What the subscriber should get (from the layer selection). */
  target: SvcLayers = { spatial: 0, temporal: 0 };
  /** What it is fed now; undefined until the first keyframe. */
  current: SvcLayers | undefined;
  #pictureTs: number | undefined;
  /** Upward switches done (spatial or temporal). */
  switchesUp = 0;
  switchesDown = 0;

  /** Waiting for a keyframe to go up spatially (or to start): ask the publisher for one. */
  get keyframeWanted(): boolean {
    return this.current === undefined || this.current.spatial < this.target.spatial;
  }

  setTarget(spatial: number, temporal: number): void {
    this.target = { spatial, temporal };
  }

  /** Stop forwarding (paused video); the next start waits for a keyframe again. */
  reset(): void {
    this.current = undefined;
    this.#pictureTs = undefined;
  }

  /** Forward or drop one packet with layer information `info`, RTP timestamp `ts`, marker `m`. */
  decide(info: SvcPacketInfo, ts: number, m: boolean): SvcDecision {
    const pictureStart = info.spatialId === 0 && info.frameStart;
    if (this.#pictureTs === undefined || newer(ts, this.#pictureTs)) {
      this.#pictureTs = ts;
      this.#boundary();
    }
    if (pictureStart && ts === this.#pictureTs) this.#maybeUp(info);
    const c = this.current;
    if (!c || info.spatialId > c.spatial || info.temporalId > c.temporal) return DROP;
    return { forward: true, marker: m || (info.frameEnd && info.spatialId === c.spatial) };
  }

  /** A new picture: apply down-switches. */
  #boundary(): void {
    const c = this.current;
    if (!c) return;
    const spatial = Math.min(c.spatial, this.target.spatial);
    const temporal = Math.min(c.temporal, this.target.temporal);
    if (spatial !== c.spatial || temporal !== c.temporal) {
      this.switchesDown++;
      this.current = { spatial, temporal };
    }
  }

  /** At a picture's first packet: start, or go up where the stream allows it. */
  #maybeUp(info: SvcPacketInfo): void {
    const t = this.target;
    const c = this.current;
    if (!c) {
      if (info.keyframe) this.current = { ...t };
      return;
    }
    let { spatial, temporal } = c;
    if (info.keyframe) {
      spatial = t.spatial;
      temporal = t.temporal;
    } else {
      if (t.spatial > spatial && info.canSwitchTo(t.spatial, temporal, 'spatial')) spatial = t.spatial;
      const next = temporal + 1;
      if (t.temporal >= next && info.temporalId === next && info.canSwitchTo(spatial, next, 'temporal'))
        temporal = next;
    }
    if (spatial > c.spatial || temporal > c.temporal) this.switchesUp++;
    this.current = { spatial, temporal };
  }
}
