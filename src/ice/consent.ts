/**
 * Consent freshness (RFC 7675) on the selected pair: a Binding request every `interval` ms
 * (randomised ×0.8..1.2, §5.1), `disconnected` when no answer came for `disconnectedTimeout`,
 * consent lost (`failed`) after `consentTimeout` (30 s, §5.1). Answers refresh consent; a
 * disconnected agent recovers when they return. The checks double as keepalives (RFC 8445 §11).
 */
import type { Clock, Timer } from '../core/clock.js';
import type { Random } from '../core/random.js';

export interface ConsentOptions {
  interval: number;
  disconnectedTimeout: number;
  consentTimeout: number;
}

export class ConsentFreshness {
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #o: ConsentOptions;
  readonly #check: () => void;
  readonly #lapse: (state: 'disconnected' | 'failed') => void;
  #timer: Timer | undefined;
  #last = 0;

  /**
   * @param check send one consent request on the selected pair
   * @param lapse consent is late (`disconnected`) or lost (`failed`, no more checks are sent)
   */
  constructor(
    clock: Clock,
    random: Random,
    options: ConsentOptions,
    check: () => void,
    lapse: (state: 'disconnected' | 'failed') => void,
  ) {
    this.#clock = clock;
    this.#random = random;
    this.#o = options;
    this.#check = check;
    this.#lapse = lapse;
  }

  /** A pair was selected (or re-selected): consent is fresh now. */
  start(): void {
    this.#last = this.#clock.now();
    this.#schedule();
  }

  /** An authenticated answer arrived on the selected pair. */
  refreshed(): void {
    this.#last = this.#clock.now();
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #schedule(): void {
    this.#timer?.cancel();
    const jitter = 0.8 + 0.4 * this.#random.float();
    this.#timer = this.#clock.setTimeout(() => this.#tick(), this.#o.interval * jitter);
  }

  #tick(): void {
    this.#timer = undefined;
    const since = this.#clock.now() - this.#last;
    if (since >= this.#o.consentTimeout) {
      this.#lapse('failed');
      return;
    }
    if (since >= this.#o.disconnectedTimeout) this.#lapse('disconnected');
    this.#check();
    this.#schedule();
  }
}
