/**
 * What one subscriber receives of one published track: the layer it should get (target), the layer
 * it is actually fed (current: changes only at a keyframe of the target), and the rewriter that
 * keeps its outgoing stream continuous.
 */
import { type LayerChoice, type LayerSelector, PAUSED } from './layer-selector.js';
import type { RewrittenHeader, SourceRtp, StreamRewriter } from './rewriter.js';
import type { SvcFilter } from './svc-filter.js';
import type { SvcPacketInfo } from './svc-layers.js';
import type { PublishedTrack } from './track.js';

export interface DownTrackStats {
  packetsSent: number;
  bytesSent: number;
  nacksReceived: number;
  retransmitted: number;
  plisReceived: number;
  layerSwitches: number;
  /** Last fraction lost the subscriber reported on this stream (0..1). */
  fractionLost: number;
}

export class DownTrack {
  readonly subscriberId: string;
  readonly track: PublishedTrack;
  readonly rewriter: StreamRewriter;
  readonly selector: LayerSelector;
  /** The subscriber's cap on frame height (requested max resolution). */
  maxHeight = Number.POSITIVE_INFINITY;
  target: LayerChoice;
  current: LayerChoice = PAUSED;
  /**
   * SVC layer dropping, for a VP9/AV1 track sent as one layered stream: `target`/`current` then
   * say only paused (PAUSED) or not (0), the filter which spatial/temporal layers pass.
   */
  svc: SvcFilter | undefined;
  readonly stats: DownTrackStats = {
    packetsSent: 0,
    bytesSent: 0,
    nacksReceived: 0,
    retransmitted: 0,
    plisReceived: 0,
    layerSwitches: 0,
    fractionLost: 0,
  };

  constructor(
    subscriberId: string,
    track: PublishedTrack,
    rewriter: StreamRewriter,
    selector: LayerSelector,
  ) {
    this.subscriberId = subscriberId;
    this.track = track;
    this.rewriter = rewriter;
    this.selector = selector;
    // Audio has one layer and is always on; video starts on the lowest until the first selection.
    this.target = 0;
  }

  get ssrc(): number {
    return this.rewriter.ssrc;
  }
  /** Waiting for a keyframe of the target layer. */
  get switchPending(): boolean {
    if (this.target === PAUSED) return false;
    return this.target !== this.current || (this.svc?.keyframeWanted ?? false);
  }

  /** Set the layer to move to; pausing stops forwarding at once. Returns true when it changed. */
  setTarget(choice: LayerChoice): boolean {
    if (choice === this.target) return false;
    this.target = choice;
    if (choice === PAUSED) {
      this.current = PAUSED;
      this.svc?.reset();
    }
    return true;
  }

  /**
   * The header to forward SVC packet `p` with (its marker set where the picture now ends), or
   * undefined to drop it: dropped packets leave no gap in the subscriber's sequence numbers.
   */
  forwardSvc(
    p: SourceRtp & { readonly marker: boolean },
    info: SvcPacketInfo,
    now: number,
  ): RewrittenHeader | undefined {
    const svc = this.svc;
    if (this.target === PAUSED || !svc) return undefined;
    const ups = svc.switchesUp;
    const downs = svc.switchesDown;
    const d = svc.decide(info, p.timestamp, p.marker);
    if (svc.switchesUp !== ups || svc.switchesDown !== downs) this.stats.layerSwitches++;
    if (!d.forward) {
      if (this.current !== PAUSED) this.rewriter.drop(p);
      return undefined;
    }
    let h: RewrittenHeader | undefined;
    if (this.current === PAUSED) {
      this.current = 0;
      h = this.rewriter.switchTo(p, now);
    } else h = this.rewriter.rewrite(p, now);
    return h && (d.marker === p.marker ? h : { ...h, marker: d.marker });
  }

  /**
   * The header to forward packet `p` of layer `layer` with, or undefined to drop it. `keyframe`:
   * `p` starts a keyframe (the only place a switch happens).
   */
  forward(p: SourceRtp, layer: number, keyframe: boolean, now: number): RewrittenHeader | undefined {
    if (this.target === PAUSED) return undefined;
    if (layer === this.target && this.current !== this.target) {
      if (!keyframe) return undefined;
      if (this.current !== PAUSED) this.stats.layerSwitches++;
      this.current = layer;
      return this.rewriter.switchTo(p, now);
    }
    return layer === this.current ? this.rewriter.rewrite(p, now) : undefined;
  }
}
