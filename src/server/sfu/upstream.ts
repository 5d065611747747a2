/**
 * What the SFU knows about one source it receives, to terminate RTCP on the publisher's leg: the
 * receiver report block (RFC 3550 §6.4.1 and §A.3: extended highest sequence number, cumulative and
 * fractional loss, §A.8 interarrival jitter, LSR/DLSR) and the packets to NACK (RFC 4585 §6.2.1),
 * each asked for at most `maxRetries` times, `retryMs` apart, and given up after `maxAgeMs`.
 */
import type { ReportBlock } from '../../rtcp/reports.js';
import { extendSeq } from './seq.js';

export interface UpstreamOptions {
  readonly maxRetries?: number;
  readonly retryMs?: number;
  readonly maxAgeMs?: number;
  /** A jump larger than this is a restart of the stream, not loss. */
  readonly maxGap?: number;
}

/** Sequence numbers remembered to tell a copy from a late original (a power of two). */
const SEEN_WINDOW = 1024;

interface Missing {
  readonly since: number;
  tries: number;
  last: number;
}

export class UpstreamStream {
  readonly ssrc: number;
  readonly clockRate: number;
  readonly #o: Required<UpstreamOptions>;
  #base = -1;
  #highest = -1;
  received = 0;
  #expectedPrior = 0;
  #receivedPrior = 0;
  /** RFC 3550 §A.8, in timestamp units. */
  jitter = 0;
  #transit: number | undefined;
  #lastSr = 0;
  #lastSrAt = -1;
  readonly #missing = new Map<number, Missing>();
  /** Extended sequence numbers received, by ext % SEEN_WINDOW (-1: none). */
  readonly #seen = new Int32Array(SEEN_WINDOW).fill(-1);
  recovered = 0;
  /**
   * Copies of packets received before, or older than the window: a browser's RTX payload padding
   * (libwebrtc pads and probes by resending recent media packets over RTX; unwrapped, they look
   * like media of their layer) and repeated retransmissions.
   */
  duplicates = 0;

  constructor(ssrc: number, clockRate: number, o: UpstreamOptions = {}) {
    this.ssrc = ssrc >>> 0;
    this.clockRate = clockRate;
    this.#o = {
      maxRetries: o.maxRetries ?? 5,
      retryMs: o.retryMs ?? 100,
      maxAgeMs: o.maxAgeMs ?? 1000,
      maxGap: o.maxGap ?? 500,
    };
  }

  /**
   * One packet arrived at `now` (ms). Returns false for a copy of a packet received before (or one
   * too old to tell): not to be forwarded or metered again.
   */
  onPacket(sequenceNumber: number, timestamp: number, now: number): boolean {
    const ext = this.#highest < 0 ? 0x10000 + sequenceNumber : extendSeq(this.#highest, sequenceNumber);
    const slot = ext % SEEN_WINDOW;
    if (this.#highest >= 0 && ext <= this.#highest) {
      if (ext <= this.#highest - SEEN_WINDOW || this.#seen[slot] === ext) {
        this.duplicates++;
        return false;
      }
    }
    // Originals only, in the loss count and the jitter (a copy's timestamp is older than its
    // arrival says; counted, a browser's padding copies would hide real loss from its reports).
    this.received++;
    this.#seen[slot] = ext;
    const transit = (now * this.clockRate) / 1000 - timestamp;
    if (this.#transit !== undefined) {
      let d = Math.abs(transit - this.#transit);
      if (d > 2 ** 31) d = Math.abs(d - 2 ** 32);
      this.jitter += (d - this.jitter) / 16;
    }
    this.#transit = transit;
    if (this.#highest < 0) {
      this.#base = this.#highest = ext;
      return true;
    }
    if (ext <= this.#highest) {
      if (this.#missing.delete(ext)) this.recovered++;
      if (ext < this.#base) this.#base = ext;
      return true;
    }
    if (ext - this.#highest > this.#o.maxGap) this.#missing.clear();
    else
      for (let s = this.#highest + 1; s < ext; s++)
        this.#missing.set(s, { since: now, tries: 0, last: -Infinity });
    this.#highest = ext;
    return true;
  }

  /** Sequence numbers to NACK now. */
  nacks(now: number): number[] {
    const out: number[] = [];
    for (const [ext, m] of this.#missing) {
      if (now - m.since > this.#o.maxAgeMs || m.tries >= this.#o.maxRetries) {
        this.#missing.delete(ext);
        continue;
      }
      if (now - m.last < this.#o.retryMs) continue;
      m.tries++;
      m.last = now;
      out.push(ext & 0xffff);
    }
    return out;
  }

  onSenderReport(ntpMiddle: number, now: number): void {
    this.#lastSr = ntpMiddle >>> 0;
    this.#lastSrAt = now;
  }

  get expected(): number {
    return this.#highest < 0 ? 0 : this.#highest - this.#base + 1;
  }

  /** The report block for our next RR; starts a new fraction-lost interval. */
  reportBlock(now: number): ReportBlock {
    const expected = this.expected;
    const expectedInterval = expected - this.#expectedPrior;
    const lostInterval = expectedInterval - (this.received - this.#receivedPrior);
    this.#expectedPrior = expected;
    this.#receivedPrior = this.received;
    const fraction =
      expectedInterval <= 0 || lostInterval <= 0
        ? 0
        : Math.min(255, Math.floor((lostInterval * 256) / expectedInterval));
    const lost = Math.max(-0x800000, Math.min(0x7fffff, expected - this.received));
    return {
      ssrc: this.ssrc,
      fractionLost: fraction,
      packetsLost: lost,
      highestSequence: this.#highest < 0 ? 0 : (this.#highest - 0x10000) >>> 0,
      jitter: Math.floor(this.jitter) >>> 0,
      lastSr: this.#lastSr,
      delaySinceLastSr: this.#lastSrAt < 0 ? 0 : Math.floor(((now - this.#lastSrAt) / 1000) * 65536) >>> 0,
    };
  }
}
