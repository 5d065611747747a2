/**
 * Retransmission (RFC 4585 §6.2.1 generic NACK, RFC 4588 RTX).
 *
 * - `NackGenerator` (receiver): notes gaps in the extended sequence numbers it is given and, when
 *   polled, lists the missing ones due for a (re)request, at most `maxRetries` times each, no
 *   sooner than one RTT apart, and forgets them after `maxAgeMs`.
 * - `SendHistory` (sender): the last N packets by sequence number, to answer NACKs.
 * - RTX encapsulation: the original sequence number (OSN) before the payload, on the RTX SSRC and
 *   payload type with its own sequence numbers.
 */
import { ParseError } from '../core/errors.js';
import type { RtpPacket } from '../rtp/packet.js';

export interface NackGeneratorOptions {
  readonly maxRetries?: number;
  readonly maxAgeMs?: number;
  /** Gaps larger than this reset tracking instead (a restart, not loss). */
  readonly maxGap?: number;
}

interface Missing {
  readonly since: number;
  tries: number;
  lastSent: number;
}

export class NackGenerator {
  #highest = -1;
  readonly #missing = new Map<number, Missing>();
  readonly #o: Required<NackGeneratorOptions>;
  /** Packets that arrived after being listed missing. */
  recovered = 0;
  /** Packets given up on. */
  abandoned = 0;
  nacksSent = 0;

  constructor(o: NackGeneratorOptions = {}) {
    this.#o = { maxRetries: o.maxRetries ?? 10, maxAgeMs: o.maxAgeMs ?? 1000, maxGap: o.maxGap ?? 500 };
  }

  /** A packet with extended sequence number `ext` arrived at `now`. */
  onPacket(ext: number, now: number): void {
    if (this.#highest < 0) {
      this.#highest = ext;
      return;
    }
    if (ext <= this.#highest) {
      if (this.#missing.delete(ext)) this.recovered++;
      return;
    }
    if (ext - this.#highest > this.#o.maxGap) this.#missing.clear();
    else
      for (let s = this.#highest + 1; s < ext; s++)
        this.#missing.set(s, { since: now, tries: 0, lastSent: -Infinity });
    this.#highest = ext;
  }

  /** Extended sequence numbers to NACK now (16-bit values are `ext & 0xffff`). */
  poll(now: number, rttMs = 100): number[] {
    const out: number[] = [];
    for (const [seq, m] of this.#missing) {
      if (now - m.since > this.#o.maxAgeMs || m.tries >= this.#o.maxRetries) {
        this.#missing.delete(seq);
        this.abandoned++;
        continue;
      }
      if (now - m.lastSent < Math.max(rttMs, 10)) continue;
      m.tries++;
      m.lastSent = now;
      out.push(seq);
    }
    if (out.length) this.nacksSent++;
    return out;
  }

  get missingCount(): number {
    return this.#missing.size;
  }
}

/** The last `size` packets sent, by 16-bit sequence number (size a power of two). */
export class SendHistory {
  readonly #packets: (RtpPacket | undefined)[];
  readonly #mask: number;

  constructor(size = 1024) {
    if (size & (size - 1)) throw new RangeError('history size must be a power of two');
    this.#packets = new Array(size);
    this.#mask = size - 1;
  }
  add(p: RtpPacket): void {
    this.#packets[p.sequenceNumber & this.#mask] = p;
  }
  get(seq: number): RtpPacket | undefined {
    const p = this.#packets[seq & this.#mask];
    return p?.sequenceNumber === seq ? p : undefined;
  }
}

/** RFC 4588 §4: the RTX packet for `original`. */
export function rtxPacket(
  original: RtpPacket,
  rtxSsrc: number,
  rtxPayloadType: number,
  rtxSeq: number,
): RtpPacket {
  const payload = new Uint8Array(2 + original.payload.length);
  payload[0] = original.sequenceNumber >> 8;
  payload[1] = original.sequenceNumber & 0xff;
  payload.set(original.payload, 2);
  return {
    ...original,
    ssrc: rtxSsrc,
    payloadType: rtxPayloadType,
    sequenceNumber: rtxSeq & 0xffff,
    payload,
    paddingSize: 0,
  };
}

/** RFC 4588 §4: the original packet inside an RTX packet (`ssrc`/`payloadType` of the media stream). */
export function unwrapRtx(rtx: RtpPacket, ssrc: number, payloadType: number): RtpPacket {
  if (rtx.payload.length < 2) throw new ParseError('rtx', 'osn', 12, 'RTX payload without an OSN');
  return {
    ...rtx,
    ssrc,
    payloadType,
    sequenceNumber: (rtx.payload[0]! << 8) | rtx.payload[1]!,
    payload: rtx.payload.subarray(2),
    paddingSize: 0,
  };
}
