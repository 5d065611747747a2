/**
 * Transport-wide congestion control feedback, receiver side
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1): arrival times by transport-wide
 * sequence number, turned into TWCC feedback packets (250 µs deltas against a 64 ms reference).
 */
import {
  type TransportCcFeedback,
  TWCC_DELTA_TICK_US,
  TWCC_REFERENCE_TIME_TICK_MS,
  type TwccPacketStatus,
} from '../rtcp/twcc.js';
import { SequenceUnwrapper } from './sequence.js';

export class TwccRecorder {
  readonly #seq = new SequenceUnwrapper();
  readonly #arrivals = new Map<number, number>();
  #next = -1;
  #count = 0;

  /** A packet with transport-wide sequence number `seq` arrived at `now` (ms). */
  record(seq: number, now: number): void {
    const ext = this.#seq.unwrap(seq);
    if (this.#next >= 0 && ext < this.#next) return; // already reported
    this.#arrivals.set(ext, now);
  }

  /** Feedback for everything recorded since the last call, or undefined when nothing is new. */
  buildFeedback(senderSsrc: number, mediaSsrc: number): TransportCcFeedback | undefined {
    if (this.#arrivals.size === 0) return undefined;
    const seqs = [...this.#arrivals.keys()].sort((a, b) => a - b);
    const base = this.#next >= 0 ? Math.max(this.#next, seqs[0]!) : seqs[0]!;
    const last = Math.min(seqs[seqs.length - 1]!, base + 0xffff);
    const firstArrival = Math.min(...seqs.filter((s) => s >= base).map((s) => this.#arrivals.get(s)!));
    const refTicks = Math.floor(firstArrival / TWCC_REFERENCE_TIME_TICK_MS);
    let prev = refTicks * TWCC_REFERENCE_TIME_TICK_MS;
    const packets: TwccPacketStatus[] = [];
    for (let s = base; s <= last; s++) {
      const at = this.#arrivals.get(s);
      if (at === undefined) {
        packets.push({ sequenceNumber: s & 0xffff, received: false });
        continue;
      }
      let delta = Math.round(((at - prev) * 1000) / TWCC_DELTA_TICK_US);
      delta = Math.max(-32768, Math.min(32767, delta));
      prev += (delta * TWCC_DELTA_TICK_US) / 1000;
      packets.push({ sequenceNumber: s & 0xffff, received: true, delta });
    }
    for (const s of seqs) if (s <= last) this.#arrivals.delete(s);
    this.#next = last + 1;
    return {
      type: 'twcc',
      senderSsrc,
      mediaSsrc,
      baseSequenceNumber: base & 0xffff,
      referenceTime: refTicks & 0xffffff,
      feedbackPacketCount: this.#count++ & 0xff,
      packets,
    };
  }
}
