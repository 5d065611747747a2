/**
 * One outgoing stream of a subscriber: rewrites SSRC, sequence numbers and timestamps so the
 * subscriber sees one continuous RTP stream while the SFU feeds it from different sources
 * (simulcast layers, each with its own SSRC, sequence space and random timestamp base).
 *
 * Within one source the mapping is a fixed offset (out = in + offset), so reordering and real loss
 * upstream show through unchanged and the subscriber's NACKs map back to the source. At a switch
 * the new source's first packet gets the next output sequence number (no gap the subscriber would
 * report as loss, no duplicate) and a timestamp advanced by the wall time since the last forwarded
 * packet (timestamps keep their pace across clock bases). Each offset change opens a *segment*,
 * remembered so a NACK for an older output number still finds its source packet.
 */
import { extendSeq } from './seq.js';

/** The fields of an incoming packet the rewriter reads. */
export interface SourceRtp {
  readonly ssrc: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
}

/** Output header values for one packet. */
export interface RewrittenHeader {
  readonly ssrc: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  /** The marker bit when it differs from the source's (an SVC picture cut above its top layer). */
  readonly marker?: boolean;
}

interface Segment {
  /** First extended output sequence number of the segment. */
  readonly startOut: number;
  readonly ssrc: number;
  /** outExt = inExt + seqOffset */
  readonly seqOffset: number;
  /** outTs = inTs + tsOffset (mod 2^32) */
  readonly tsOffset: number;
}

export interface RewriterOptions {
  /** First output sequence number (random in production). */
  readonly initialSequence?: number;
  /** First output timestamp (random in production). */
  readonly initialTimestamp?: number;
  /** Segments kept for NACK lookups. */
  readonly history?: number;
}

export class StreamRewriter {
  readonly ssrc: number;
  readonly clockRate: number;
  readonly #history: number;
  #segments: Segment[] = [];
  /** Extended sequence number of the current source's highest packet. */
  #highestIn = -1;
  /** Extended number of the switch packet: older packets of the source are not forwarded. */
  #floorIn = -1;
  /** Highest extended output sequence number (starts one below the first). */
  #highestOut: number;
  #lastOutTs: number;
  #lastOutAt = -1;
  /** Packets and payload octets forwarded (for sender reports). */
  packets = 0;
  octets = 0;
  switches = 0;

  constructor(ssrc: number, clockRate: number, o: RewriterOptions = {}) {
    this.ssrc = ssrc >>> 0;
    this.clockRate = clockRate;
    this.#history = o.history ?? 16;
    this.#highestOut = 0x10000 + ((o.initialSequence ?? 0) & 0xffff) - 1;
    this.#lastOutTs = (o.initialTimestamp ?? 0) >>> 0;
  }

  /** The source currently forwarded, or undefined before the first switch. */
  get source(): number | undefined {
    return this.#segments.at(-1)?.ssrc;
  }
  /** The last output timestamp and when it was sent. */
  get lastTimestamp(): number {
    return this.#lastOutTs;
  }
  /** The current source's timestamp offset (outTs = inTs + offset), for rewriting its SRs. */
  get timestampOffset(): number | undefined {
    return this.#segments.at(-1)?.tsOffset;
  }

  /**
   * Start forwarding `p`'s source at `p` (for video the caller makes sure `p` starts a keyframe).
   * `now` in ms drives the timestamp advance.
   */
  switchTo(p: SourceRtp, now: number): RewrittenHeader {
    const first = this.#lastOutAt < 0;
    const elapsed = first ? 0 : Math.max(1, Math.round(((now - this.#lastOutAt) * this.clockRate) / 1000));
    const outTs = (this.#lastOutTs + elapsed) >>> 0;
    const inExt = 0x10000 + p.sequenceNumber;
    this.#highestIn = inExt;
    this.#floorIn = inExt;
    this.#push({
      startOut: this.#highestOut + 1,
      ssrc: p.ssrc >>> 0,
      seqOffset: this.#highestOut + 1 - inExt,
      tsOffset: (outTs - p.timestamp) >>> 0,
    });
    if (!first) this.switches++;
    const segs = this.#segments;
    return this.#emit(inExt, p.timestamp, now, segs[segs.length - 1]!);
  }

  /**
   * The output header of `p` if it belongs to the current source at or after the switch point;
   * undefined when it must not be forwarded.
   */
  rewrite(p: SourceRtp, now: number): RewrittenHeader | undefined {
    const segs = this.#segments;
    const seg = segs[segs.length - 1];
    if (!seg || seg.ssrc !== p.ssrc >>> 0) return undefined;
    const inExt = extendSeq(this.#highestIn, p.sequenceNumber);
    if (inExt < this.#floorIn) return undefined;
    if (inExt > this.#highestIn) this.#highestIn = inExt;
    // A late packet from before a skip or drop: numbered as its own segment numbered it.
    else if (this.#segments.length > 1 && inExt < seg.startOut - seg.seqOffset) {
      for (let i = this.#segments.length - 2; i >= 0; i--) {
        const s = this.#segments[i]!;
        if (s.ssrc === seg.ssrc && inExt >= s.startOut - s.seqOffset)
          return this.#emit(inExt, p.timestamp, now, s);
      }
    }
    return this.#emit(inExt, p.timestamp, now, seg);
  }

  /**
   * Leave out an in-order packet of the current source (padding only, a dropped temporal layer)
   * without a gap in the output: later packets shift down by one. Returns false (forward it
   * instead) when it is not the next packet in order.
   */
  skip(p: SourceRtp): boolean {
    const seg = this.#segments.at(-1);
    if (!seg || seg.ssrc !== p.ssrc >>> 0) return true;
    const inExt = extendSeq(this.#highestIn, p.sequenceNumber);
    if (inExt !== this.#highestIn + 1 || inExt + seg.seqOffset !== this.#highestOut + 1) return false;
    this.#highestIn = inExt;
    this.#shift(seg, inExt + seg.seqOffset);
    return true;
  }

  /**
   * Leave out a packet of the current source the subscriber must not get (an SVC layer above its
   * own): later packets shift down by one, so it sees no gap; packets lost upstream before it keep
   * their numbers. False when it comes after a later packet (that one is numbered already: the gap
   * stays) or from another source.
   */
  drop(p: SourceRtp): boolean {
    const seg = this.#segments.at(-1);
    if (!seg || seg.ssrc !== p.ssrc >>> 0) return false;
    const inExt = extendSeq(this.#highestIn, p.sequenceNumber);
    if (inExt <= this.#highestIn) return false;
    this.#highestIn = inExt;
    this.#shift(seg, inExt + seg.seqOffset);
    return true;
  }

  /** Output numbers from `startOut` on move down by one (consecutive shifts share one segment). */
  #shift(seg: Segment, startOut: number): void {
    const next = { ...seg, startOut, seqOffset: seg.seqOffset - 1 };
    if (seg.startOut === startOut && this.#segments.length > 1)
      this.#segments[this.#segments.length - 1] = next;
    else this.#push(next);
  }

  /** The source packet behind output sequence number `seq` (for a subscriber's NACK). */
  lookup(seq: number): { ssrc: number; sequenceNumber: number; timestampOffset: number } | undefined {
    const outExt = extendSeq(this.#highestOut, seq);
    if (outExt > this.#highestOut) return undefined;
    for (let i = this.#segments.length - 1; i >= 0; i--) {
      const s = this.#segments[i]!;
      if (outExt < s.startOut) continue;
      const inExt = outExt - s.seqOffset;
      // The last segment's floor; earlier segments are bounded by the next one's start.
      if (i === this.#segments.length - 1 && inExt < this.#floorIn) return undefined;
      return { ssrc: s.ssrc, sequenceNumber: inExt & 0xffff, timestampOffset: s.tsOffset };
    }
    return undefined;
  }

  #push(s: Segment): void {
    this.#segments.push(s);
    if (this.#segments.length > this.#history) this.#segments.shift();
  }

  /** `seg`: the segment numbering it (the current one for all but a late packet's). */
  #emit(inExt: number, inTs: number, now: number, seg: Segment): RewrittenHeader {
    const outExt = inExt + seg.seqOffset;
    const timestamp = (inTs + seg.tsOffset) >>> 0;
    if (outExt > this.#highestOut) {
      this.#highestOut = outExt;
      this.#lastOutTs = timestamp;
      this.#lastOutAt = now;
    }
    this.packets++;
    return { ssrc: this.ssrc, sequenceNumber: outExt & 0xffff, timestamp };
  }
}
