/**
 * Jitter buffer with frame assembly (receiver). Packets go in by extended sequence number; a
 * video frame comes out when every packet from its first to the one with the marker bit is
 * present (one RTP timestamp); audio packets come out one by one, in order. A gap that does not
 * fill within `maxDelayMs` is skipped: the frames after it are dropped until a keyframe, and
 * `onKeyframeNeeded` asks the sender for one (PLI).
 */
import type { RtpPacket } from '../rtp/packet.js';

/** How a payload contributes to a frame (media/payload's Depacketizer, structurally). */
export interface FramePayloadReader {
  depacketize(payload: Uint8Array): { data: Uint8Array; frameStart: boolean; keyframe: boolean };
  reset(): void;
}

export interface AssembledFrame {
  readonly data: Uint8Array;
  readonly timestamp: number;
  readonly keyframe: boolean;
  /** Extended sequence numbers of the first and last packet. */
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** Arrival time of the last packet, ms. */
  readonly receivedAt: number;
}

export interface JitterBufferOptions {
  readonly reader: FramePayloadReader;
  readonly audio?: boolean;
  /** How long a gap may wait for a retransmission before it is skipped. Default 300 ms. */
  readonly maxDelayMs?: number;
  readonly onFrame: (f: AssembledFrame) => void;
  readonly onKeyframeNeeded?: () => void;
}

interface Entry {
  readonly packet: RtpPacket;
  readonly at: number;
}

export class JitterBuffer {
  readonly #o: JitterBufferOptions;
  readonly #packets = new Map<number, Entry>();
  #next = -1;
  #waitKeyframe: boolean;
  #gapSince = -1;
  #consumed = false;
  #startAt = -1;
  framesEmitted = 0;
  framesDropped = 0;
  /** Packets that arrived after their place was consumed or skipped. */
  latePackets = 0;

  constructor(o: JitterBufferOptions) {
    this.#o = o;
    this.#waitKeyframe = !o.audio;
  }

  push(ext: number, packet: RtpPacket, now: number): void {
    // Until something is consumed, an earlier packet (reordered start) moves the start back.
    if (this.#next < 0 || (ext < this.#next && !this.#consumed && this.#next - ext < 64)) this.#next = ext;
    if (ext < this.#next) {
      this.latePackets++;
      return;
    }
    if (this.#packets.size > 4096) this.#skipGap(now);
    this.#packets.set(ext, { packet, at: now });
    this.#drain(now);
  }

  /** Re-check a stalled gap (call from a timer or on every packet; push does it too). */
  poll(now: number): void {
    this.#drain(now);
  }

  get buffered(): number {
    return this.#packets.size;
  }

  #drain(now: number): void {
    // At the start, hold briefly so that reordered first packets find their place.
    if (!this.#consumed) {
      if (this.#startAt < 0) this.#startAt = now;
      if (now - this.#startAt < Math.min(100, this.#o.maxDelayMs ?? 300)) return;
    }
    for (;;) {
      const first = this.#packets.get(this.#next);
      if (!first) {
        if (this.#packets.size === 0) return;
        if (this.#gapSince < 0) this.#gapSince = now;
        if (now - this.#gapSince < (this.#o.maxDelayMs ?? 300)) return;
        this.#skipGap(now);
        continue;
      }
      this.#gapSince = -1;
      if (this.#o.audio) {
        this.#packets.delete(this.#next);
        this.#next++;
        this.#consumed = true;
        this.#emit([first]);
        continue;
      }
      // Collect the frame: same timestamp, contiguous, until the marker.
      const parts: Entry[] = [first];
      let seq = this.#next;
      let complete = first.packet.marker;
      while (!complete) {
        const e = this.#packets.get(seq + 1);
        if (!e) break;
        if (e.packet.timestamp !== first.packet.timestamp) {
          complete = true; // a lost marker: the next timestamp closes the frame
          break;
        }
        parts.push(e);
        seq++;
        complete = e.packet.marker;
      }
      if (!complete) {
        // Wait for the rest, but not forever: a frame with a hole is handled as a gap.
        if (this.#gapSince < 0) this.#gapSince = now;
        if (now - this.#gapSince < (this.#o.maxDelayMs ?? 300)) return;
        this.#gapSince = -1;
        for (let s = this.#next; s <= seq; s++) this.#packets.delete(s);
        this.#next = seq + 1;
        this.#lost();
        continue;
      }
      for (let s = this.#next; s <= seq; s++) this.#packets.delete(s);
      this.#next = seq + 1;
      this.#consumed = true;
      this.#emit(parts);
    }
  }

  #skipGap(_now: number): void {
    this.#gapSince = -1;
    let min = Infinity;
    for (const k of this.#packets.keys()) if (k < min) min = k;
    if (min === Infinity) return;
    // Drop the partial frame that the gap cut: skip to the first packet of a new timestamp.
    const gapTs = this.#packets.get(min)!.packet.timestamp;
    let seq = min;
    if (!this.#o.audio) {
      while (this.#packets.get(seq)?.packet.timestamp === gapTs && this.#packets.has(seq + 1)) seq++;
      const prev = this.#packets.get(seq);
      if (prev && prev.packet.timestamp === gapTs && (prev.packet.marker || !this.#packets.has(seq + 1))) {
        // The whole buffered run belongs to the cut frame; drop it.
        for (let s = min; s <= seq; s++) this.#packets.delete(s);
        seq++;
      }
    }
    for (const k of [...this.#packets.keys()]) if (k < seq) this.#packets.delete(k);
    this.#next = seq;
    this.#consumed = true;
    this.#lost();
  }

  #lost(): void {
    this.framesDropped++;
    this.#o.reader.reset();
    if (!this.#o.audio) {
      if (!this.#waitKeyframe) this.#o.onKeyframeNeeded?.();
      this.#waitKeyframe = true;
    }
  }

  #emit(parts: Entry[]): void {
    const chunks: Uint8Array[] = [];
    let keyframe = false;
    let size = 0;
    for (const { packet } of parts) {
      let d: ReturnType<FramePayloadReader['depacketize']>;
      try {
        d = this.#o.reader.depacketize(packet.payload);
      } catch {
        this.#lost();
        return;
      }
      if (d.keyframe) keyframe = true;
      chunks.push(d.data);
      size += d.data.length;
    }
    if (this.#waitKeyframe) {
      if (!keyframe) {
        this.framesDropped++;
        this.#o.onKeyframeNeeded?.();
        return;
      }
      this.#waitKeyframe = false;
    }
    if (size === 0) return;
    const data = chunks.length === 1 ? chunks[0]! : new Uint8Array(size);
    if (chunks.length > 1) {
      let at = 0;
      for (const c of chunks) {
        data.set(c, at);
        at += c.length;
      }
    }
    const first = parts[0]!;
    const last = parts[parts.length - 1]!;
    this.framesEmitted++;
    this.#o.onFrame({
      data,
      timestamp: first.packet.timestamp,
      keyframe,
      firstSeq: first.packet.sequenceNumber,
      lastSeq: last.packet.sequenceNumber,
      receivedAt: last.at,
    });
  }
}
