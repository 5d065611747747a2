/**
 * Receiver statistics per SSRC (RFC 3550 §6.4.1, §A.1, §A.3, §A.8): packets and bytes received,
 * cumulative and fractional loss, interarrival jitter, and the LSR/DLSR fields for RTT; produces
 * the report block an RR (or SR) carries.
 */
import type { ReportBlock } from '../rtcp/reports.js';
import { SequenceUnwrapper } from './sequence.js';

export class ReceiveStatistics {
  readonly ssrc: number;
  readonly clockRate: number;
  readonly #seq = new SequenceUnwrapper();
  #base = -1;
  #highest = -1;
  packetsReceived = 0;
  bytesReceived = 0;
  /** Payload bytes only (W3C bytesReceived). */
  payloadBytesReceived = 0;
  /** RFC 3550 §A.8, in timestamp units. */
  jitter = 0;
  #transit: number | undefined;
  #expectedPrior = 0;
  #receivedPrior = 0;
  #lastSr = 0;
  #lastSrAt = -1;
  lastPacketReceivedAt = -1;
  /** RTP timestamp of the newest packet (by sequence number) so far. */
  lastRtpTimestamp = 0;

  constructor(ssrc: number, clockRate: number) {
    this.ssrc = ssrc;
    this.clockRate = clockRate;
  }

  /** Count one packet; `now` in ms. Returns its extended sequence number. */
  onPacket(
    sequenceNumber: number,
    timestamp: number,
    size: number,
    payloadSize: number,
    now: number,
  ): number {
    const ext = this.#seq.unwrap(sequenceNumber);
    if (this.#base < 0 || ext < this.#base) this.#base = ext;
    if (ext > this.#highest) {
      this.#highest = ext;
      this.lastRtpTimestamp = timestamp;
    }
    this.packetsReceived++;
    this.bytesReceived += size;
    this.payloadBytesReceived += payloadSize;
    this.lastPacketReceivedAt = now;
    const arrival = (now * this.clockRate) / 1000;
    const transit = arrival - timestamp;
    if (this.#transit !== undefined) {
      let d = Math.abs(transit - this.#transit);
      if (d > 2 ** 31) d = Math.abs(d - 2 ** 32);
      this.jitter += (d - this.jitter) / 16;
    }
    this.#transit = transit;
    return ext;
  }

  /** An SR from this source arrived (RFC 3550 §6.4.1 LSR). */
  onSenderReport(ntpMiddle: number, now: number): void {
    this.#lastSr = ntpMiddle;
    this.#lastSrAt = now;
  }

  get expected(): number {
    return this.#highest < 0 ? 0 : this.#highest - this.#base + 1;
  }
  /** Cumulative packets lost (duplicates can make it negative, as the RFC allows). */
  get packetsLost(): number {
    return this.expected - this.packetsReceived;
  }
  get highestSequence(): number {
    return this.#highest < 0 ? 0 : this.#highest - 65536;
  }

  /** The report block for the next RR; advances the fraction-lost interval. */
  reportBlock(now: number): ReportBlock {
    const expected = this.expected;
    const expectedInterval = expected - this.#expectedPrior;
    const receivedInterval = this.packetsReceived - this.#receivedPrior;
    this.#expectedPrior = expected;
    this.#receivedPrior = this.packetsReceived;
    const lostInterval = expectedInterval - receivedInterval;
    const fractionLost =
      expectedInterval <= 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval << 8) / expectedInterval);
    const lost = Math.max(-0x800000, Math.min(0x7fffff, this.packetsLost));
    return {
      ssrc: this.ssrc,
      fractionLost: Math.min(255, fractionLost),
      packetsLost: lost,
      highestSequence: this.highestSequence >>> 0,
      jitter: Math.floor(this.jitter) >>> 0,
      lastSr: this.#lastSr,
      delaySinceLastSr: this.#lastSrAt < 0 ? 0 : Math.floor(((now - this.#lastSrAt) / 1000) * 65536) >>> 0,
    };
  }
}

/**
 * Round-trip time from a report block about our stream (RFC 3550 §6.4.1): now - LSR - DLSR in
 * 1/65536 s, with `nowNtpMiddle` the middle 32 bits of our NTP clock. Undefined without an SR echo.
 */
export function rttFromReportBlock(block: ReportBlock, nowNtpMiddle: number): number | undefined {
  if (block.lastSr === 0) return undefined;
  const rtt = (nowNtpMiddle - block.lastSr - block.delaySinceLastSr) >>> 0;
  if (rtt > 0x7fffffff) return 0;
  return (rtt / 65536) * 1000;
}
