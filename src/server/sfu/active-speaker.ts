/**
 * Dominant speaker from the RFC 6464 audio level each participant's audio packets carry.
 *
 * Levels are -dBov (0 loudest, 127 silence). Each participant gets a smoothed loudness
 * (127 - level, 0 without voice activity), an exponential average per packet that also decays
 * when packets stop (muted, left). The speaker changes when someone else is louder by `marginDb`
 * for `holdMs` (no flapping on a cough), or at once when the current speaker falls silent and
 * someone else is speaking.
 */

export interface ActiveSpeakerOptions {
  /** Weight of a new sample in the average (per packet; 20 ms Opus packets: ~0.2 s time constant). */
  readonly alpha?: number;
  /** Smoothed loudness at or below which a participant counts as silent (127 - dBov). */
  readonly silence?: number;
  readonly marginDb?: number;
  readonly holdMs?: number;
  /** Samples older than this count as silence. */
  readonly staleMs?: number;
}

interface Level {
  loudness: number;
  at: number;
}

export class ActiveSpeakerDetector {
  readonly #o: Required<ActiveSpeakerOptions>;
  readonly #levels = new Map<string, Level>();
  #speaker: string | undefined;
  #challenger: string | undefined;
  #challengerSince = 0;

  constructor(o: ActiveSpeakerOptions = {}) {
    this.#o = {
      alpha: o.alpha ?? 0.1,
      silence: o.silence ?? 40,
      marginDb: o.marginDb ?? 6,
      holdMs: o.holdMs ?? 600,
      staleMs: o.staleMs ?? 500,
    };
  }

  get speaker(): string | undefined {
    return this.#speaker;
  }

  /** One packet's audio level from `id`. */
  onLevel(id: string, level: number, voiceActivity: boolean, now: number): void {
    const sample = voiceActivity ? 127 - Math.min(127, Math.max(0, level)) : 0;
    const l = this.#levels.get(id);
    if (!l) this.#levels.set(id, { loudness: this.#o.alpha * sample, at: now });
    else {
      l.loudness += this.#o.alpha * (sample - l.loudness);
      l.at = now;
    }
  }

  /** Smoothed loudness of `id` at `now` (0 when stale). */
  loudness(id: string, now: number): number {
    const l = this.#levels.get(id);
    return !l || now - l.at > this.#o.staleMs ? 0 : l.loudness;
  }

  remove(id: string): void {
    this.#levels.delete(id);
    if (this.#challenger === id) this.#challenger = undefined;
    if (this.#speaker === id) this.#speaker = undefined;
  }

  /** Re-evaluate; returns the new speaker when it changed (undefined otherwise). */
  update(now: number): string | undefined {
    let loudest: string | undefined;
    let best = this.#o.silence;
    for (const id of this.#levels.keys()) {
      const v = this.loudness(id, now);
      if (v > best) {
        best = v;
        loudest = id;
      }
    }
    if (loudest === undefined || loudest === this.#speaker) {
      this.#challenger = undefined;
      return undefined;
    }
    const current = this.#speaker === undefined ? 0 : this.loudness(this.#speaker, now);
    if (current <= this.#o.silence) return this.#change(loudest);
    if (best < current + this.#o.marginDb) {
      this.#challenger = undefined;
      return undefined;
    }
    if (this.#challenger !== loudest) {
      this.#challenger = loudest;
      this.#challengerSince = now;
      return undefined;
    }
    return now - this.#challengerSince >= this.#o.holdMs ? this.#change(loudest) : undefined;
  }

  #change(id: string): string {
    this.#speaker = id;
    this.#challenger = undefined;
    return id;
  }
}
