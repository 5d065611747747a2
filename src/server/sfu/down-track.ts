/**
 * What one subscriber receives of one published track: the layer it should get (target), the layer
 * it is actually fed (current: changes only at a keyframe of the target), and the rewriter that
 * keeps its outgoing stream continuous.
 */
import { type LayerChoice, type LayerSelector, PAUSED } from './layer-selector.js';
import type { RewrittenHeader, SourceRtp, StreamRewriter } from './rewriter.js';
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
    return this.target !== PAUSED && this.target !== this.current;
  }

  /** Set the layer to move to; pausing stops forwarding at once. Returns true when it changed. */
  setTarget(choice: LayerChoice): boolean {
    if (choice === this.target) return false;
    this.target = choice;
    if (choice === PAUSED) this.current = PAUSED;
    return true;
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
