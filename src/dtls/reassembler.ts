import type { HandshakeFragment } from './handshake-fragment.js';

/** A complete handshake message, reassembled. */
export interface HandshakeMessage {
  readonly msgType: number;
  readonly messageSeq: number;
  readonly body: Uint8Array;
}

interface Partial {
  readonly msgType: number;
  readonly buf: Uint8Array;
  /** Received byte ranges [start, end), sorted and merged. */
  ranges: Array<[number, number]>;
}

/**
 * Handshake reassembly (RFC 6347 §4.2.2): collects fragments per message_seq, in any order and
 * with overlaps or duplicates, and hands out complete messages strictly in message_seq order.
 * Fragments of messages already delivered are reported as retransmissions; messages too far ahead
 * are dropped to bound memory.
 */
export class HandshakeReassembler {
  /** The message_seq the engine expects next. */
  next = 0;
  readonly #partial = new Map<number, Partial>();
  readonly #maxAhead: number;

  constructor(maxAhead = 16) {
    this.#maxAhead = maxAhead;
  }

  /**
   * Add a fragment. Returns 'old' for a fragment of a message already delivered (a peer
   * retransmission), 'bad' for a fragment that disagrees with earlier ones of its message (type or
   * length; dropped, as an injected or corrupt record would be), 'ok' otherwise.
   */
  add(f: HandshakeFragment): 'old' | 'ok' | 'bad' {
    if (f.messageSeq < this.next) return 'old';
    if (f.messageSeq >= this.next + this.#maxAhead) return 'ok';
    let p = this.#partial.get(f.messageSeq);
    if (!p) {
      p = { msgType: f.msgType, buf: new Uint8Array(f.length), ranges: [] };
      this.#partial.set(f.messageSeq, p);
    } else if (p.msgType !== f.msgType || p.buf.length !== f.length) {
      return 'bad';
    }
    const start = f.fragmentOffset;
    const end = start + f.body.length;
    if (end > p.buf.length) {
      return 'bad';
    }
    p.buf.set(f.body, start);
    p.ranges = mergeRange(p.ranges, start, end);
    return 'ok';
  }

  /** The next complete message in order, or undefined. */
  pop(): HandshakeMessage | undefined {
    const p = this.#partial.get(this.next);
    if (!p) return undefined;
    const complete =
      p.buf.length === 0 ||
      (p.ranges.length === 1 && p.ranges[0]![0] === 0 && p.ranges[0]![1] === p.buf.length);
    if (!complete) return undefined;
    this.#partial.delete(this.next);
    return { msgType: p.msgType, messageSeq: this.next++, body: p.buf };
  }

  /** Drop everything buffered (after the handshake). */
  clear(): void {
    this.#partial.clear();
  }

  get buffered(): number {
    return this.#partial.size;
  }
}

function mergeRange(ranges: Array<[number, number]>, start: number, end: number): Array<[number, number]> {
  if (start === end) return ranges;
  const out: Array<[number, number]> = [];
  let s = start;
  let e = end;
  let placed = false;
  for (const r of ranges) {
    if (r[1] < s) out.push(r);
    else if (r[0] > e) {
      if (!placed) {
        out.push([s, e]);
        placed = true;
      }
      out.push(r);
    } else {
      s = Math.min(s, r[0]);
      e = Math.max(e, r[1]);
    }
  }
  if (!placed) out.push([s, e]);
  return out;
}
