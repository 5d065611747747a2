/**
 * The receiving half of an association: TSN tracking (cumulative TSN, out-of-order set for gap blocks,
 * duplicates), reassembly of fragmented messages (DATA by SSN or TSN run, I-DATA by MID and FSN),
 * ordered delivery per stream, FORWARD-TSN / I-FORWARD-TSN skipping and incoming stream resets.
 */
import type { DataChunk, GapBlock } from './chunk-types.js';
import { tsnLt, tsnLte } from './tsn.js';

export type DeliverFn = (streamId: number, ppid: number, data: Uint8Array, unordered: boolean) => void;

interface Partial {
  chunks: DataChunk[];
  count: number;
  /** First TSN (DATA) or 0 (I-DATA) once the B fragment arrived, else -1. */
  first: number;
  /** Last TSN (DATA) or FSN (I-DATA) once the E fragment arrived, else -1. */
  last: number;
  bytes: number;
  minTsn: number;
}

interface InStream {
  /** Next expected SSN (DATA) or MID (I-DATA) for ordered messages. */
  next: number;
  /** Complete ordered messages waiting for earlier ones, by seq. */
  pending: Map<number, { ppid: number; data: Uint8Array }>;
  /** Ordered partial messages by SSN / MID. */
  partials: Map<number, Partial>;
  /** Unordered I-DATA partial messages by MID. */
  uPartials: Map<number, Partial>;
  /** Unordered DATA fragments by TSN (reassembled from consecutive TSN runs). */
  uFrags: Map<number, DataChunk>;
}

const MAX_DUPS = 32;
/** How far past the cumulative TSN a DATA chunk or FORWARD-TSN may point (an rwnd of 1-byte chunks). */
const MAX_TSN_AHEAD = 1 << 20;
const MAX_GAPS = 64;

export class Inbound {
  cumTsn: number;
  readonly #above = new Set<number>();
  #highest: number;
  #dups: number[] = [];
  readonly #streams = new Map<number, InStream>();
  readonly #deliver: DeliverFn;
  readonly #idata: boolean;
  readonly #rwnd: number;
  readonly #maxMessageSize: number;
  /** Bytes held (partials, pending ordered messages). */
  buffered = 0;
  oversizedMessages = 0;

  constructor(o: {
    peerInitialTsn: number;
    deliver: DeliverFn;
    idata: boolean;
    rwnd: number;
    maxMessageSize: number;
  }) {
    this.cumTsn = (o.peerInitialTsn - 1) >>> 0;
    this.#highest = this.cumTsn;
    this.#deliver = o.deliver;
    this.#idata = o.idata;
    this.#rwnd = o.rwnd;
    this.#maxMessageSize = o.maxMessageSize;
  }

  get aRwnd(): number {
    return Math.max(0, this.#rwnd - this.buffered);
  }
  get hasGaps(): boolean {
    return this.#above.size > 0;
  }
  get hasDups(): boolean {
    return this.#dups.length > 0;
  }

  #stream(id: number): InStream {
    let s = this.#streams.get(id);
    if (!s) {
      s = { next: 0, pending: new Map(), partials: new Map(), uPartials: new Map(), uFrags: new Map() };
      this.#streams.set(id, s);
    }
    return s;
  }

  /**
   * Take a DATA / I-DATA chunk. Returns false if it was a duplicate (or dropped for lack of window),
   * true if new. New complete messages are delivered synchronously.
   */
  receive(c: DataChunk): boolean {
    const tsn = c.tsn;
    if (tsnLte(tsn, this.cumTsn) || this.#above.has(tsn)) {
      if (this.#dups.length < MAX_DUPS) this.#dups.push(tsn);
      return false;
    }
    // Far beyond anything the peer may have outstanding: drop (keeps gap tracking bounded).
    if ((tsn - this.cumTsn) >>> 0 > MAX_TSN_AHEAD) return false;
    // Out of buffer space: drop anything but the next expected TSN (RFC 9260 §6.2).
    if (this.buffered >= this.#rwnd && tsn !== (this.cumTsn + 1) >>> 0) return false;
    if (tsn === (this.cumTsn + 1) >>> 0) {
      this.cumTsn = tsn;
      if (this.#above.size > 0) this.#drainAbove();
    } else {
      this.#above.add(tsn);
      if (tsnLt(this.#highest, tsn)) this.#highest = tsn;
    }
    if (tsnLt(this.#highest, this.cumTsn)) this.#highest = this.cumTsn;
    if (c.beginning && c.end) {
      this.#complete(c.streamId, c.unordered, c.seq, c.ppid, c.payload);
      return true;
    }
    const s = this.#stream(c.streamId);
    if (!this.#idata && c.unordered) {
      this.#unorderedDataFragment(s, c);
      return true;
    }
    const map = c.unordered ? s.uPartials : s.partials;
    let p = map.get(c.seq);
    if (!p) {
      p = { chunks: [], count: 0, first: -1, last: -1, bytes: 0, minTsn: tsn };
      map.set(c.seq, p);
    }
    p.chunks.push(c);
    p.count++;
    p.bytes += c.payload.length;
    this.buffered += c.payload.length;
    if (tsnLt(tsn, p.minTsn)) p.minTsn = tsn;
    if (this.#idata) {
      if (c.beginning) p.first = 0;
      if (c.end) p.last = c.fsn;
      if (p.first === 0 && p.last >= 0 && p.count === p.last + 1) {
        map.delete(c.seq);
        this.buffered -= p.bytes;
        const ppid = p.chunks.find((x) => x.beginning)!.ppid;
        p.chunks.sort((a, b) => (a.beginning ? -1 : b.beginning ? 1 : a.fsn - b.fsn));
        this.#complete(c.streamId, c.unordered, c.seq, ppid, join(p.chunks, p.bytes));
      }
    } else {
      if (c.beginning) p.first = tsn;
      if (c.end) p.last = tsn;
      if (p.first >= 0 && p.last >= 0 && p.count === ((p.last - p.first) >>> 0) + 1) {
        map.delete(c.seq);
        this.buffered -= p.bytes;
        sortByTsn(p.chunks);
        this.#complete(c.streamId, false, c.seq, p.chunks[0]!.ppid, join(p.chunks, p.bytes));
      }
    }
    return true;
  }

  #drainAbove(): void {
    let next = (this.cumTsn + 1) >>> 0;
    while (this.#above.delete(next)) {
      this.cumTsn = next;
      next = (next + 1) >>> 0;
    }
  }

  #unorderedDataFragment(s: InStream, c: DataChunk): void {
    s.uFrags.set(c.tsn, c);
    this.buffered += c.payload.length;
    let first = c.tsn;
    while (!s.uFrags.get(first)!.beginning) {
      const prev = (first - 1) >>> 0;
      const pc = s.uFrags.get(prev);
      if (!pc || pc.end) return;
      first = prev;
    }
    let last = c.tsn;
    while (!s.uFrags.get(last)!.end) {
      const next = (last + 1) >>> 0;
      const nc = s.uFrags.get(next);
      if (!nc || nc.beginning) return;
      last = next;
    }
    const chunks: DataChunk[] = [];
    let bytes = 0;
    for (let t = first; ; t = (t + 1) >>> 0) {
      const x = s.uFrags.get(t)!;
      s.uFrags.delete(t);
      chunks.push(x);
      bytes += x.payload.length;
      if (t === last) break;
    }
    this.buffered -= bytes;
    this.#complete(c.streamId, true, 0, chunks[0]!.ppid, join(chunks, bytes));
  }

  #complete(streamId: number, unordered: boolean, seq: number, ppid: number, data: Uint8Array): void {
    if (data.length > this.#maxMessageSize) {
      this.oversizedMessages++;
      // Still consume the sequence number so later messages are not blocked.
      data = new Uint8Array(0);
      if (unordered) return;
      ppid = -1;
    }
    if (unordered) {
      this.#deliver(streamId, ppid, data, true);
      return;
    }
    const s = this.#stream(streamId);
    if (seq !== s.next) {
      s.pending.set(seq, { ppid, data });
      this.buffered += data.length;
      return;
    }
    if (ppid >= 0) this.#deliver(streamId, ppid, data, false);
    s.next = this.#inc(s.next);
    if (s.pending.size > 0) this.#drainPending(streamId, s);
  }

  #inc(seq: number): number {
    return this.#idata ? (seq + 1) >>> 0 : (seq + 1) & 0xffff;
  }
  #seqLte(a: number, b: number): boolean {
    return this.#idata ? tsnLte(a, b) : a === b || ((b - a) & 0xffff) < 0x8000;
  }

  #drainPending(streamId: number, s: InStream): void {
    for (;;) {
      const m = s.pending.get(s.next);
      if (!m) return;
      s.pending.delete(s.next);
      this.buffered -= m.data.length;
      if (m.ppid >= 0) this.#deliver(streamId, m.ppid, m.data, false);
      s.next = this.#inc(s.next);
    }
  }

  /** Skip an ordered stream to after `seq` (FORWARD-TSN): deliver what is complete, drop partials. */
  #skip(streamId: number, unordered: boolean, seq: number): void {
    const s = this.#stream(streamId);
    const partials = unordered ? s.uPartials : s.partials;
    for (const [k, p] of partials) {
      if (this.#seqLte(k, seq)) {
        partials.delete(k);
        this.buffered -= p.bytes;
      }
    }
    if (unordered) return;
    if (!this.#seqLte(s.next, seq)) return;
    // Deliver the complete messages up to `seq` in order (walking the pending ones, not the gap,
    // which a peer could make 2^31 long), then continue after `seq`.
    const due = [...s.pending.keys()].filter((k) => this.#seqLte(k, seq));
    due.sort((a, b) => (a === b ? 0 : this.#seqLte(a, b) ? -1 : 1));
    for (const k of due) {
      const m = s.pending.get(k)!;
      s.pending.delete(k);
      this.buffered -= m.data.length;
      if (m.ppid >= 0) this.#deliver(streamId, m.ppid, m.data, false);
    }
    s.next = this.#inc(seq);
    this.#drainPending(streamId, s);
  }

  /** FORWARD-TSN (RFC 3758 §3.6) or I-FORWARD-TSN (RFC 8260 §2.3.2). */
  forward(newCum: number, streams: readonly { streamId: number; unordered: boolean; seq: number }[]): void {
    // A cumulative TSN further ahead than anything a sender can have outstanding is bogus: ignore.
    if ((newCum - this.cumTsn) >>> 0 > MAX_TSN_AHEAD && tsnLt(this.cumTsn, newCum)) return;
    if (tsnLt(this.cumTsn, newCum)) {
      for (const t of this.#above) if (tsnLte(t, newCum)) this.#above.delete(t);
      this.cumTsn = newCum;
      if (tsnLt(this.#highest, newCum)) this.#highest = newCum;
      this.#drainAbove();
      if (!this.#idata) {
        // Fragments of abandoned DATA messages (RFC 3758 §3.6: all TSNs up to newCum are done with).
        for (const s of this.#streams.values()) {
          for (const [k, p] of s.partials) {
            if (tsnLte(p.minTsn, newCum)) {
              s.partials.delete(k);
              this.buffered -= p.bytes;
            }
          }
          for (const [t, c] of s.uFrags) {
            if (tsnLte(t, newCum)) {
              s.uFrags.delete(t);
              this.buffered -= c.payload.length;
            }
          }
        }
      }
    }
    for (const e of streams) this.#skip(e.streamId, e.unordered, e.seq);
  }

  /** Incoming stream reset (RFC 6525 §5.2.2): sequence numbers restart at 0. */
  resetStreams(ids: readonly number[]): void {
    for (const id of ids) {
      const s = this.#streams.get(id);
      if (!s) continue;
      for (const p of s.partials.values()) this.buffered -= p.bytes;
      for (const p of s.uPartials.values()) this.buffered -= p.bytes;
      for (const c of s.uFrags.values()) this.buffered -= c.payload.length;
      for (const m of s.pending.values()) this.buffered -= m.data.length;
      this.#streams.delete(id);
    }
  }

  /** Gap ack blocks relative to the cumulative TSN (at most MAX_GAPS). */
  gapBlocks(): readonly GapBlock[] {
    if (this.#above.size === 0) return NONE;
    const out: GapBlock[] = [];
    const cum = this.cumTsn;
    let span = (this.#highest - cum) >>> 0;
    if (span > 4 * this.#above.size + 64) return this.#sparseGapBlocks();
    // Gap ack offsets are 16 bits (RFC 9260 §3.3.4).
    if (span > 0xffff) span = 0xffff;
    let start = -1;
    for (let off = 1; off <= span; off++) {
      const has = this.#above.has((cum + off) >>> 0);
      if (has && start < 0) start = off;
      else if (!has && start >= 0) {
        out.push({ start, end: off - 1 });
        start = -1;
        if (out.length >= MAX_GAPS) return out;
      }
    }
    if (start >= 0) out.push({ start, end: span });
    return out;
  }

  /** Gap blocks from the sorted set when it is sparse over a wide span. */
  #sparseGapBlocks(): GapBlock[] {
    const cum = this.cumTsn;
    const offs = [...this.#above].map((t) => (t - cum) >>> 0).sort((a, b) => a - b);
    const out: GapBlock[] = [];
    let i = 0;
    while (i < offs.length && out.length < MAX_GAPS) {
      const start = offs[i]!;
      let end = start;
      while (i + 1 < offs.length && offs[i + 1] === end + 1) end = offs[++i]!;
      i++;
      // Gap ack offsets are 16 bits (RFC 9260 §3.3.4): stop at what can be expressed.
      if (end > 0xffff) break;
      out.push({ start, end });
    }
    return out;
  }

  takeDups(): readonly number[] {
    if (this.#dups.length === 0) return NO_DUPS;
    const d = this.#dups;
    this.#dups = [];
    return d;
  }
}

function sortByTsn(chunks: DataChunk[]): void {
  for (let i = 1; i < chunks.length; i++) {
    if (tsnLt(chunks[i]!.tsn, chunks[i - 1]!.tsn)) {
      chunks.sort((a, b) => (tsnLt(a.tsn, b.tsn) ? -1 : 1));
      return;
    }
  }
}

function join(chunks: readonly DataChunk[], bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const c of chunks) {
    out.set(c.payload, at);
    at += c.payload.length;
  }
  return out;
}

const NONE: readonly GapBlock[] = [];
const NO_DUPS: readonly number[] = [];
