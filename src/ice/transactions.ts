/**
 * Connectivity-check transactions (RFC 8445 §7.2.2, §14.3): one outstanding check per pair,
 * retransmitted with a doubling RTO until it is answered or runs out, plus single-shot consent
 * requests (RFC 7675). The agent sends; this module keeps the timers and the bookkeeping.
 */
import { toHex } from '../core/bytes.js';
import type { Clock, Timer } from '../core/clock.js';
import type { CandidatePair } from './pair.js';

export interface CheckTransaction {
  readonly id: string;
  readonly tid: Uint8Array;
  readonly pair: CandidatePair;
  readonly bytes: Uint8Array;
  /** The remote password the request was signed with (the response must carry it). */
  readonly password: string;
  readonly controlling: boolean;
  readonly useCandidate: boolean;
  readonly consent: boolean;
  /** PRIORITY sent (becomes the priority of a local prflx learned from the answer). */
  readonly priority: number;
  readonly sentAt: number;
  transmissions: number;
  rto: number;
  timer: Timer | undefined;
}

export interface TransactionTimers {
  /** First RTO (ms), doubled per retransmission up to `rtoMax`. */
  rto: number;
  rtoMax: number;
  /** Transmissions before the check fails. */
  transmissions: number;
  /** How long a consent request waits for its answer. */
  consentWait: number;
}

export class CheckTransactions {
  readonly #clock: Clock;
  readonly #timers: TransactionTimers;
  readonly #transmit: (t: CheckTransaction) => void;
  readonly #timeout: (t: CheckTransaction) => void;
  readonly #byId = new Map<string, CheckTransaction>();
  readonly #byPair = new Map<CandidatePair, CheckTransaction>();

  constructor(
    clock: Clock,
    timers: TransactionTimers,
    transmit: (t: CheckTransaction) => void,
    timeout: (t: CheckTransaction) => void,
  ) {
    this.#clock = clock;
    this.#timers = timers;
    this.#transmit = transmit;
    this.#timeout = timeout;
  }

  /** Start (and send) a transaction; a check replaces the pair's previous one (RFC 8445 §7.3.1.4). */
  start(init: Omit<CheckTransaction, 'id' | 'transmissions' | 'rto' | 'timer' | 'sentAt'>): CheckTransaction {
    const prev = init.consent ? undefined : this.#byPair.get(init.pair);
    if (prev) {
      // RFC 8445 §7.3.1.4: the replaced transaction is not retransmitted and its silence is not a
      // failure, but a late answer to it still counts for a while.
      prev.timer?.cancel();
      this.#byPair.delete(init.pair);
      prev.timer = this.#clock.setTimeout(() => this.#forget(prev), this.#timers.rtoMax);
    }
    const t: CheckTransaction = {
      ...init,
      id: toHex(init.tid),
      sentAt: this.#clock.now(),
      transmissions: 0,
      rto: this.#timers.rto,
      timer: undefined,
    };
    this.#byId.set(t.id, t);
    if (!t.consent) this.#byPair.set(t.pair, t);
    this.#send(t);
    return t;
  }

  #send(t: CheckTransaction): void {
    t.transmissions++;
    this.#transmit(t);
    const max = t.consent ? 1 : this.#timers.transmissions;
    const wait = t.consent ? this.#timers.consentWait : t.rto;
    t.timer = this.#clock.setTimeout(() => {
      t.timer = undefined;
      if (t.transmissions >= max) {
        this.#forget(t);
        this.#timeout(t);
        return;
      }
      t.rto = Math.min(t.rto * 2, this.#timers.rtoMax);
      this.#send(t);
    }, wait);
  }

  #forget(t: CheckTransaction): void {
    t.timer?.cancel();
    t.timer = undefined;
    this.#byId.delete(t.id);
    if (this.#byPair.get(t.pair) === t) this.#byPair.delete(t.pair);
  }

  /** Look a transaction up by transaction id (hex) without ending it. */
  get(id: string): CheckTransaction | undefined {
    return this.#byId.get(id);
  }

  /** End a transaction (its answer arrived). */
  finish(t: CheckTransaction): void {
    this.#forget(t);
  }

  cancelPair(pair: CandidatePair): void {
    const t = this.#byPair.get(pair);
    if (t) this.#forget(t);
  }

  /** Stop every ordinary check (nomination done, restart); consent requests continue. */
  cancelChecks(): void {
    for (const t of [...this.#byPair.values()]) this.#forget(t);
  }

  clear(): void {
    for (const t of [...this.#byId.values()]) this.#forget(t);
  }
}
