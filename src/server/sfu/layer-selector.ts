/**
 * Which simulcast layer a subscriber gets for one track, from the bandwidth budget the estimator
 * gives it and the subscriber's own cap (requested max resolution), with hysteresis:
 * - down at once when the current layer no longer fits (late down-switches mean loss);
 * - up only after the higher layer has fitted with `upMargin` to spare for `upHoldMs`;
 * - video paused (audio only) when even the lowest layer does not fit (`pauseBelow` of its
 *   bitrate), resumed only once the budget holds `resumeAbove` times it for `upHoldMs`;
 * - paused without a verdict while no layer is received, and chosen afresh when one comes back.
 */

export interface LayerOption {
  /** Measured bitrate in bits/s (0: not being received). */
  readonly bitrate: number;
  /** Frame height, for the resolution cap. */
  readonly height: number;
  readonly active: boolean;
}

export interface LayerSelectorOptions {
  readonly upHoldMs?: number;
  readonly upMargin?: number;
  readonly pauseBelow?: number;
  readonly resumeAbove?: number;
  /** Assumed bitrate of a layer before it has been measured. */
  readonly defaultBitrate?: (index: number) => number;
}

/** -1: video paused. */
export type LayerChoice = number;
export const PAUSED: LayerChoice = -1;

export class LayerSelector {
  readonly #o: Required<LayerSelectorOptions>;
  #current: LayerChoice = PAUSED;
  #started = false;
  /** The higher choice waiting out the hold time, and since when. */
  #upCandidate: LayerChoice = PAUSED;
  #upSince = 0;

  constructor(o: LayerSelectorOptions = {}) {
    this.#o = {
      upHoldMs: o.upHoldMs ?? 2000,
      upMargin: o.upMargin ?? 1.15,
      pauseBelow: o.pauseBelow ?? 0.8,
      resumeAbove: o.resumeAbove ?? 1.5,
      defaultBitrate: o.defaultBitrate ?? ((i) => [150_000, 500_000, 1_500_000][i] ?? 2_500_000),
    };
  }

  get current(): LayerChoice {
    return this.#current;
  }

  /**
   * The layer to forward now. `layers` low to high; `budget` bits/s for this track; `maxHeight`
   * the subscriber's cap (Infinity: none).
   */
  select(layers: readonly LayerOption[], budget: number, maxHeight: number, now: number): LayerChoice {
    const rate = (i: number): number => layers[i]!.bitrate || this.#o.defaultBitrate(i);
    const usable: number[] = [];
    layers.forEach((l, i) => {
      if (l.active) usable.push(i);
    });
    if (usable.length === 0) {
      // Nothing received lately (the publisher stopped, or this process stalled a second): no
      // verdict on the budget. Paused while it was forwarding, the next choice is made afresh when
      // layers come back, not held to the resume margin of a budget pause (a loaded machine's
      // stall had paused every subscriber's video at once, and the resume margin then kept some
      // of it paused for a minute while their budgets covered the lowest layers).
      if (this.#current !== PAUSED) this.#started = false;
      return this.#set(PAUSED, now);
    }
    const capped = usable.filter((i) => layers[i]!.height <= maxHeight);
    const allowed = capped.length > 0 ? capped : [usable[0]!];
    const lowest = allowed[0]!;
    // The best layer that fits outright, and the best that fits with the margin.
    let fits = PAUSED;
    let fitsWithMargin = PAUSED;
    for (const i of allowed) {
      if (rate(i) <= budget) fits = i;
      if (rate(i) * this.#o.upMargin <= budget) fitsWithMargin = i;
    }
    const paused = this.#current === PAUSED;
    if (!this.#started) {
      // First choice: no history to protect, take what fits (the lowest rather than nothing).
      this.#started = true;
      return this.#set(fits === PAUSED && budget >= rate(lowest) * this.#o.pauseBelow ? lowest : fits, now);
    }
    if (paused) {
      const resume = budget >= rate(lowest) * this.#o.resumeAbove ? Math.max(lowest, fitsWithMargin) : PAUSED;
      return this.#hold(resume, now);
    }
    // The current layer may have been capped or gone inactive: move within the allowed set.
    const cur = allowed.includes(this.#current)
      ? this.#current
      : (allowed.filter((i) => i < this.#current).at(-1) ?? lowest);
    if (budget < rate(lowest) * this.#o.pauseBelow) return this.#set(PAUSED, now);
    if (rate(cur) > budget) return this.#set(fits === PAUSED ? lowest : fits, now);
    if (fitsWithMargin > cur) return this.#hold(fitsWithMargin, now, cur);
    this.#upCandidate = PAUSED;
    return this.#set(cur, now);
  }

  /** Move up to `target` only once it has been the candidate for the hold time. */
  #hold(target: LayerChoice, now: number, stay: LayerChoice = this.#current): LayerChoice {
    if (target === PAUSED || target <= stay) {
      this.#upCandidate = PAUSED;
      return this.#set(stay, now);
    }
    if (this.#upCandidate === PAUSED) {
      this.#upCandidate = target;
      this.#upSince = now;
    } else if (target < this.#upCandidate) this.#upCandidate = target;
    if (now - this.#upSince >= this.#o.upHoldMs) {
      const up = this.#upCandidate;
      this.#upCandidate = PAUSED;
      return this.#set(up, now);
    }
    return this.#set(stay, now);
  }

  #set(c: LayerChoice, _now: number): LayerChoice {
    if (c < this.#current) this.#upCandidate = PAUSED;
    this.#current = c;
    return c;
  }
}
