import { isInputError } from '../../core/errors.js';
import { parseRtp, type RtpPacket } from '../../rtp/packet.js';

/**
 * The last packets of each published source, kept as received (raw bytes, copied once on arrival,
 * not per subscriber) so subscribers' NACKs are answered by the SFU without asking the publisher.
 * SfuServer's subscriber legs answer NACKs for forwarded packets from here too (`packet`): their
 * send histories keep only each packet's source SSRC and sequence number.
 */
export interface CachedPacket {
  readonly sequenceNumber: number;
  readonly bytes: Uint8Array;
  readonly at: number;
}

export class PacketCache {
  readonly #size: number;
  readonly #maxAgeMs: number;
  readonly #slots = new Map<number, (CachedPacket | undefined)[]>();
  hits = 0;
  misses = 0;

  /** @param size slots per source, a power of two. */
  constructor(size = 1024, maxAgeMs = 2000) {
    if (size & (size - 1)) throw new RangeError('cache size must be a power of two');
    this.#size = size;
    this.#maxAgeMs = maxAgeMs;
  }

  /** Keep a copy of `bytes`, the packet `sequenceNumber` of `ssrc`. */
  put(ssrc: number, sequenceNumber: number, bytes: Uint8Array, now: number): void {
    let ring = this.#slots.get(ssrc);
    if (!ring) {
      ring = new Array(this.#size);
      this.#slots.set(ssrc, ring);
    }
    ring[sequenceNumber & (this.#size - 1)] = { sequenceNumber, bytes: bytes.slice(), at: now };
  }

  get(ssrc: number, sequenceNumber: number, now: number): CachedPacket | undefined {
    const p = this.#slots.get(ssrc)?.[sequenceNumber & (this.#size - 1)];
    if (!p || p.sequenceNumber !== sequenceNumber || now - p.at > this.#maxAgeMs) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    return p;
  }

  /** The cached packet parsed, for a NACK (undefined when not cached or too old). */
  packet(ssrc: number, sequenceNumber: number, now: number): RtpPacket | undefined {
    const c = this.get(ssrc, sequenceNumber, now);
    if (!c) return undefined;
    try {
      return parseRtp(c.bytes);
    } catch (err) {
      if (!isInputError(err)) throw err;
      return undefined;
    }
  }

  forget(ssrc: number): void {
    this.#slots.delete(ssrc);
  }
}
