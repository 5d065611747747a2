/**
 * The SVC layers a subscriber should get, chosen like simulcast layers: the same LayerSelector
 * (budget, height cap, hysteresis, pause) over the stream's (spatial, temporal) operating points,
 * each costing what it needs to be forwarded (its layers and every layer below, measured per layer).
 */
import type { DownTrack } from './down-track.js';
import { type LayerChoice, type LayerOption, PAUSED } from './layer-selector.js';
import type { SvcSource } from './svc-layers.js';

/** How long an upper temporal layer counts as sent after its last frame. */
export const TEMPORAL_ACTIVE_MS = 5000;

/** Operating points low to high: spatial-major, (0,0), (0,1), ..., (1,0), ... */
export function svcOptions(src: SvcSource, now: number): LayerOption[] {
  const out: LayerOption[] = [];
  const nT = src.temporalLayers;
  for (let s = 0; s < src.spatialLayers; s++)
    for (let t = 0; t < nT; t++) {
      let bitrate = 0;
      for (let ss = 0; ss <= s; ss++) for (let tt = 0; tt <= t; tt++) bitrate += src.bitrate(ss, tt, now);
      // An encoder under load skips upper temporal frames for a while: keeping them in the target
      // costs nothing meanwhile, and coming back up would wait out the selector's hold.
      const active = src.active(s, 0, now) && (t === 0 || src.active(s, t, now, TEMPORAL_ACTIVE_MS));
      out.push({ bitrate, height: src.height(s), active });
    }
  return out;
}

/**
 * Pick the operating point for `d` (which has an SvcFilter) within `budget` bits/s and its height
 * cap; sets the filter's target. Returns PAUSED or 0 (the simulcast-level choice of a one-layer
 * track) for DownTrack.setTarget.
 */
export function selectSvc(d: DownTrack, src: SvcSource, budget: number, now: number): LayerChoice {
  const options = svcOptions(src, now);
  const choice = d.selector.select(options, budget, d.maxHeight, now);
  if (choice === PAUSED) return PAUSED;
  const nT = src.temporalLayers;
  d.svc?.setTarget(Math.floor(choice / nT), choice % nT);
  return 0;
}

/**
 * What `d` costs now (its operating point), what the stream's lowest point costs, and the next
 * point up it could take (active, under its height cap): the TWCC budget's inputs for an SVC track.
 */
export function svcRates(
  src: SvcSource,
  d: DownTrack,
  now: number,
): { forwarded: number; lowest: number; next: number | undefined; top: number } {
  const options = svcOptions(src, now);
  const c = d.svc?.current;
  const cur = d.current === PAUSED || !c ? -1 : c.spatial * src.temporalLayers + c.temporal;
  const forwarded = options[cur]?.bitrate ?? 0;
  let next: number | undefined;
  for (let i = cur + 1; i < options.length && next === undefined; i++) {
    const o = options[i]!;
    if (o.active && o.height <= d.maxHeight && o.bitrate > forwarded) next = o.bitrate;
  }
  let top = 0;
  for (const o of options) if (o.active && o.height <= d.maxHeight && o.bitrate > top) top = o.bitrate;
  return { forwarded, lowest: options[0]?.bitrate ?? 0, next, top };
}
