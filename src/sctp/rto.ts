/** Retransmission timeout estimator, RFC 6298 / RFC 9260 §6.3.1. */
export interface RtoOptions {
  /** RTO.Initial in ms (RFC 9260: 1000). */
  readonly initial: number;
  /** RTO.Min in ms. */
  readonly min: number;
  /** RTO.Max in ms (RFC 9260: 60000). */
  readonly max: number;
}

const ALPHA = 1 / 8; // RFC 6298 §2
const BETA = 1 / 4;

export class RtoEstimator {
  readonly #o: RtoOptions;
  #srtt = 0;
  #rttvar = 0;
  #rto: number;
  #measured = false;

  constructor(o: RtoOptions) {
    this.#o = o;
    this.#rto = o.initial;
  }
  get rto(): number {
    return this.#rto;
  }
  get srtt(): number | undefined {
    return this.#measured ? this.#srtt : undefined;
  }
  /** Feed one RTT measurement (ms) from a chunk sent exactly once (Karn's rule). */
  measure(r: number): void {
    if (!this.#measured) {
      this.#srtt = r;
      this.#rttvar = r / 2;
      this.#measured = true;
    } else {
      this.#rttvar = (1 - BETA) * this.#rttvar + BETA * Math.abs(this.#srtt - r);
      this.#srtt = (1 - ALPHA) * this.#srtt + ALPHA * r;
    }
    // G (clock granularity) taken as 1 ms.
    this.#rto = Math.min(this.#o.max, Math.max(this.#o.min, this.#srtt + Math.max(1, 4 * this.#rttvar)));
  }
  /** Exponential back-off after a timer expiry (RFC 6298 §5.5). */
  backOff(): void {
    this.#rto = Math.min(this.#o.max, this.#rto * 2);
  }
}
