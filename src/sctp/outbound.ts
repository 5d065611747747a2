/**
 * The sending half of an association: per-stream message queues, fragmentation into DATA / I-DATA,
 * the in-flight ring indexed by TSN, SACK processing (cumulative ack, gap blocks, miss indications),
 * congestion control (RFC 9260 §7.2), partial reliability (RFC 3758) and stream scheduling (round-robin
 * per message, or per fragment with I-DATA so a large message does not block others, RFC 8260 §1).
 */

import { FLAG_BEGINNING, FLAG_END, FLAG_UNORDERED, writeDataChunk } from './chunk-data.js';
import type { SackChunk } from './chunk-types.js';
import { DATA_HEADER_SIZE, I_DATA_HEADER_SIZE } from './constants.js';
import { tsnLt, tsnLte } from './tsn.js';

export interface SendOptions {
  readonly unordered?: boolean;
  /** Partial reliability: give up after this many retransmissions (0 = send once). */
  readonly maxRetransmits?: number;
  /** Partial reliability: give up this many ms after send(). */
  readonly maxPacketLifeTime?: number;
}

interface OutMessage {
  readonly streamId: number;
  readonly ppid: number;
  readonly data: Uint8Array;
  readonly unordered: boolean;
  readonly maxRetransmits: number;
  readonly expiresAt: number;
  /** Bytes already given a TSN. */
  offset: number;
  /** SSN or MID, assigned when the first fragment is sent; -1 before. */
  seq: number;
  nextFsn: number;
  /** TSNs of the first and latest fragment sent (valid once offset > 0). */
  firstTsn: number;
  lastTsn: number;
  abandoned: boolean;
  next: OutMessage | null;
}

export interface OutStream {
  readonly id: number;
  head: OutMessage | null;
  tail: OutMessage | null;
  nextSsn: number;
  nextMidOrdered: number;
  nextMidUnordered: number;
  /** Bytes queued and not yet transmitted (W3C bufferedAmount). */
  buffered: number;
  lowThreshold: number;
  active: boolean;
  /** A stream reset was requested: no new messages; reset once the queue drains. */
  resetPending: boolean;
}

const OUTSTANDING = 0;
const ACKED = 1;
const ABANDONED = 2;

interface Inflight {
  tsn: number;
  msg: OutMessage;
  flags: number;
  seq: number;
  fsn: number;
  payload: Uint8Array;
  /** Bytes counted against cwnd / flight size (chunk size on the wire). */
  size: number;
  sentAt: number;
  /** Transmission order (a counter bumped per chunk sent), for miss indications. */
  txSeq: number;
  sendCount: number;
  state: number;
  /** Counted in flightSize. */
  inFlight: boolean;
  retransmit: boolean;
  missCount: number;
}

export interface OutboundOptions {
  readonly mtu: number;
  readonly initialTsn: number;
  readonly idata: boolean;
  readonly peerRwnd: number;
  readonly onBufferedAmountLow: (streamId: number) => void;
}

export interface SackResult {
  /** The cumulative ack moved forward. */
  readonly cumAdvanced: boolean;
  /** An RTT sample (ms), or -1. */
  readonly rtt: number;
  /** Something was newly acked (for the error counter). */
  readonly progress: boolean;
}

export class Outbound {
  /** Grows when PLPMTUD confirms a larger packet size. */
  mtu: number;
  readonly idata: boolean;
  readonly #onLow: (streamId: number) => void;
  readonly streams = new Map<number, OutStream>();
  #active: OutStream[] = [];
  #rr = 0;
  /** DATA without interleaving: the message whose fragments are being sent. */
  #current: OutMessage | null = null;

  // In-flight ring: entry for TSN t lives at (#head + (t - cumAck - 1)) & #mask. It starts small
  // (8 KiB per association at 1024 entries, most of which an idle data channel never uses) and
  // doubles when full (#push).
  #ring: (Inflight | undefined)[] = new Array(64);
  #mask = 63;
  #head = 0;
  #count = 0;
  nextTsn: number;
  cumAck: number;
  advancedPeerAckPoint: number;
  #rtx: Inflight[] = [];
  #rtxAt = 0;

  flightSize = 0;
  #txSeq = 0;
  cwnd: number;
  ssthresh: number;
  #partialBytesAcked = 0;
  peerRwnd: number;
  #fastRecovery = false;
  #fastRecoveryExit = 0;
  /** Fast retransmit pending: the next packet may ignore cwnd. */
  #fastRtxNow = false;
  /** Total bytes queued and not yet sent, over all streams. */
  queuedBytes = 0;
  retransmissions = 0;
  fastRetransmits = 0;
  abandonedMessages = 0;

  constructor(o: OutboundOptions) {
    this.mtu = o.mtu;
    this.idata = o.idata;
    this.#onLow = o.onBufferedAmountLow;
    this.nextTsn = o.initialTsn >>> 0;
    this.cumAck = (o.initialTsn - 1) >>> 0;
    this.advancedPeerAckPoint = this.cumAck;
    this.peerRwnd = o.peerRwnd;
    // RFC 9260 §7.2.1: initial cwnd min(4*MTU, max(2*MTU, 4380)).
    this.cwnd = Math.min(4 * o.mtu, Math.max(2 * o.mtu, 4380));
    this.ssthresh = o.peerRwnd;
  }

  stream(id: number): OutStream {
    let s = this.streams.get(id);
    if (!s) {
      s = {
        id,
        head: null,
        tail: null,
        nextSsn: 0,
        nextMidOrdered: 0,
        nextMidUnordered: 0,
        buffered: 0,
        lowThreshold: 0,
        active: false,
        resetPending: false,
      };
      this.streams.set(id, s);
    }
    return s;
  }

  enqueue(streamId: number, ppid: number, data: Uint8Array, o: SendOptions, now: number): void {
    const s = this.stream(streamId);
    const msg: OutMessage = {
      streamId,
      ppid,
      data,
      unordered: o.unordered ?? false,
      maxRetransmits: o.maxRetransmits ?? Number.POSITIVE_INFINITY,
      expiresAt: o.maxPacketLifeTime === undefined ? Number.POSITIVE_INFINITY : now + o.maxPacketLifeTime,
      offset: 0,
      seq: -1,
      nextFsn: 0,
      firstTsn: 0,
      lastTsn: 0,
      abandoned: false,
      next: null,
    };
    if (s.tail) s.tail.next = msg;
    else s.head = msg;
    s.tail = msg;
    s.buffered += data.length;
    this.queuedBytes += data.length;
    if (!s.active) {
      s.active = true;
      this.#active.push(s);
    }
  }

  get outstandingCount(): number {
    return this.#count;
  }
  /** Chunks that are sent and neither acked nor abandoned. */
  get hasOutstanding(): boolean {
    return this.flightSize > 0 || this.#rtxAt < this.#rtx.length;
  }
  get hasQueued(): boolean {
    return this.#active.length > 0;
  }
  get needForwardTsn(): boolean {
    return tsnLt(this.cumAck, this.advancedPeerAckPoint);
  }

  #at(tsn: number): Inflight | undefined {
    const d = (tsn - this.cumAck - 1) >>> 0;
    if (d >= this.#count) return undefined;
    return this.#ring[(this.#head + d) & this.#mask];
  }

  #push(e: Inflight): void {
    if (this.#count === this.#ring.length) {
      const old = this.#ring;
      const next = new Array<Inflight | undefined>(old.length * 2);
      for (let i = 0; i < this.#count; i++) next[i] = old[(this.#head + i) & this.#mask];
      this.#ring = next;
      this.#mask = next.length - 1;
      this.#head = 0;
    }
    this.#ring[(this.#head + this.#count) & this.#mask] = e;
    this.#count++;
  }

  /** Remove the message from its stream queue if it is there (abandoned before fully sent). */
  #dropQueued(msg: OutMessage): void {
    const s = this.streams.get(msg.streamId);
    if (!s) return;
    let prev: OutMessage | null = null;
    for (let m = s.head; m; prev = m, m = m.next) {
      if (m !== msg) continue;
      if (prev) prev.next = m.next;
      else s.head = m.next;
      if (s.tail === m) s.tail = prev;
      this.#unbuffer(s, m.data.length - m.offset);
      if (this.#current === m) this.#current = null;
      return;
    }
  }

  #unbuffer(s: OutStream, n: number): void {
    if (n <= 0) return;
    const before = s.buffered;
    s.buffered -= n;
    this.queuedBytes -= n;
    if (before > s.lowThreshold && s.buffered <= s.lowThreshold) this.#onLow(s.id);
  }

  /** Abandon a message (RFC 3758 §3.5): its chunks stop counting and FORWARD-TSN covers them. */
  #abandon(msg: OutMessage): void {
    if (msg.abandoned) return;
    msg.abandoned = true;
    this.abandonedMessages++;
    // Its fragments lie between its first and latest TSN (other streams' chunks may sit between).
    const from = msg.offset > 0 && tsnLt(this.cumAck, msg.firstTsn) ? msg.firstTsn : (this.cumAck + 1) >>> 0;
    for (let t = from; msg.offset > 0 && tsnLte(t, msg.lastTsn); t = (t + 1) >>> 0) {
      const e = this.#at(t);
      if (!e) break;
      if (e.msg !== msg || e.state !== OUTSTANDING) continue;
      e.state = ABANDONED;
      e.retransmit = false;
      if (e.inFlight) {
        e.inFlight = false;
        this.flightSize -= e.size;
      }
    }
    if (msg.offset < msg.data.length) this.#dropQueued(msg);
    this.#advancePeerAckPoint();
  }

  #advancePeerAckPoint(): void {
    if (tsnLt(this.advancedPeerAckPoint, this.cumAck)) this.advancedPeerAckPoint = this.cumAck;
    for (;;) {
      const e = this.#at((this.advancedPeerAckPoint + 1) >>> 0);
      if (!e || e.state !== ABANDONED) return;
      this.advancedPeerAckPoint = e.tsn;
    }
  }

  /** Mark a chunk for retransmission, or abandon its message if its policy says so. */
  #markRetransmit(e: Inflight, now: number): void {
    if (e.state !== OUTSTANDING || e.retransmit) return;
    const m = e.msg;
    if (e.sendCount > m.maxRetransmits || now >= m.expiresAt) {
      this.#abandon(m);
      return;
    }
    e.retransmit = true;
    if (e.inFlight) {
      e.inFlight = false;
      this.flightSize -= e.size;
    }
    this.#rtx.push(e);
  }

  /** T3-rtx expired (RFC 9260 §6.3.3, §7.2.3): collapse cwnd and mark everything outstanding. */
  onT3Expired(now: number): void {
    this.ssthresh = Math.max(this.cwnd / 2, 4 * this.mtu);
    this.cwnd = this.mtu;
    this.#partialBytesAcked = 0;
    this.#fastRecovery = false;
    for (let i = 0; i < this.#count; i++) {
      const e = this.#ring[(this.#head + i) & this.#mask]!;
      if (e.state === OUTSTANDING) this.#markRetransmit(e, now);
    }
    // Expire queued messages whose lifetime ran out.
    this.expireQueued(now);
  }

  /** Drop queued (never sent) messages whose lifetime has expired. */
  expireQueued(now: number): void {
    for (const s of this.#active) {
      for (let m = s.head; m; m = m.next) {
        if (m.offset === 0 && now >= m.expiresAt) {
          m.abandoned = true;
          this.abandonedMessages++;
          this.#dropQueued(m);
        }
      }
    }
    this.#pruneActive();
  }

  #pruneActive(): void {
    if (this.#active.every((s) => s.head)) return;
    this.#active = this.#active.filter((s) => {
      if (s.head) return true;
      s.active = false;
      return false;
    });
    this.#rr = 0;
  }

  processSack(sack: SackChunk, now: number): SackResult {
    const cum = sack.cumTsnAck;
    if (tsnLt(cum, this.cumAck)) return { cumAdvanced: false, rtt: -1, progress: false };
    if (!tsnLt(cum, this.nextTsn)) {
      // Acks something never sent: ignore (RFC 9260 §6.2.1 protocol violation handling is an ABORT;
      // we stay lenient and drop it).
      return { cumAdvanced: false, rtt: -1, progress: false };
    }
    const wasFull = this.flightSize + this.mtu >= this.cwnd;
    let newlyAcked = 0;
    let rtt = -1;
    const cumAdvanced = cum !== this.cumAck;
    let highestNewlyAcked = cum;
    let newestAckedTx = -1;
    let progress = false;
    // Cumulative ack: pop the ring.
    while (this.cumAck !== cum) {
      const e = this.#ring[this.#head]!;
      this.#ring[this.#head] = undefined;
      this.#head = (this.#head + 1) & this.#mask;
      this.#count--;
      this.cumAck = (this.cumAck + 1) >>> 0;
      if (e.state === OUTSTANDING) {
        newlyAcked += e.size;
        progress = true;
        if (e.sendCount === 1) rtt = now - e.sentAt;
        if (e.inFlight) this.flightSize -= e.size;
        if (e.txSeq > newestAckedTx) newestAckedTx = e.txSeq;
      }
      e.state = ACKED;
      e.inFlight = false;
      e.payload = EMPTY;
    }
    // Gap blocks.
    const gaps = sack.gaps;
    for (let g = 0; g < gaps.length; g++) {
      const b = gaps[g]!;
      for (let off = b.start; off <= b.end; off++) {
        const e = this.#at((cum + off) >>> 0);
        if (!e) break;
        if (e.state !== OUTSTANDING) continue;
        e.state = ACKED;
        e.retransmit = false;
        newlyAcked += e.size;
        progress = true;
        if (e.sendCount === 1) rtt = now - e.sentAt;
        if (e.inFlight) {
          e.inFlight = false;
          this.flightSize -= e.size;
        }
        if (e.txSeq > newestAckedTx) newestAckedTx = e.txSeq;
        if (tsnLt(highestNewlyAcked, e.tsn)) highestNewlyAcked = e.tsn;
      }
    }
    // Miss indications (RFC 9260 §7.2.4 with the HTNA rule).
    if (gaps.length > 0) {
      let marked = false;
      let lost = false;
      for (let t = (cum + 1) >>> 0; tsnLt(t, highestNewlyAcked); t = (t + 1) >>> 0) {
        const e = this.#at(t);
        if (!e) break;
        if (e.state !== OUTSTANDING || e.retransmit) continue;
        // Only a chunk sent after this one being acked says this one is missing (a retransmission is
        // not reported missing by SACKs for data sent before it).
        if (e.txSeq > newestAckedTx) continue;
        if (++e.missCount >= 3) {
          e.missCount = 0;
          lost = true;
          const before = this.#rtx.length;
          this.#markRetransmit(e, now);
          if (this.#rtx.length > before) marked = true;
        }
      }
      if (marked) {
        this.fastRetransmits++;
        this.#fastRtxNow = true;
      }
      // A loss is a congestion signal whether the chunk is sent again or abandoned (RFC 3758 §3.5
      // keeps RFC 9260 §7.2.4 congestion control): unreliable channels must back off too.
      if (lost) {
        if (!this.#fastRecovery) {
          this.#fastRecovery = true;
          this.#fastRecoveryExit = (this.nextTsn - 1) >>> 0;
          this.ssthresh = Math.max(this.cwnd / 2, 4 * this.mtu);
          this.cwnd = this.ssthresh;
          this.#partialBytesAcked = 0;
        }
      }
    }
    if (this.#fastRecovery && tsnLte(this.#fastRecoveryExit, this.cumAck)) this.#fastRecovery = false;
    // Congestion window (RFC 9260 §7.2.1-7.2.2).
    if (cumAdvanced && !this.#fastRecovery && newlyAcked > 0) {
      if (this.cwnd <= this.ssthresh) {
        if (wasFull) this.cwnd += Math.min(newlyAcked, this.mtu);
      } else {
        this.#partialBytesAcked += newlyAcked;
        if (this.#partialBytesAcked >= this.cwnd && wasFull) {
          this.#partialBytesAcked -= this.cwnd;
          this.cwnd += this.mtu;
        }
      }
    }
    if (this.flightSize === 0) this.#partialBytesAcked = 0;
    this.peerRwnd = Math.max(0, sack.aRwnd - this.flightSize);
    this.#advancePeerAckPoint();
    return { cumAdvanced, rtt, progress };
  }

  /** Can a new data chunk of `size` be sent now? */
  #cwndOpen(size: number): boolean {
    if (this.flightSize >= this.cwnd) return false;
    // Receiver window: always allow one chunk when nothing is in flight (zero window probe).
    if (this.flightSize > 0 && size > this.peerRwnd) return false;
    return true;
  }

  get canSendMore(): boolean {
    return (this.#rtxAt < this.#rtx.length || this.#active.length > 0) && this.flightSize < this.cwnd;
  }

  /**
   * Write retransmissions and then new DATA chunks into `out[at..end)`. Returns the new offset. The
   * first packet after a fast retransmit may exceed cwnd (RFC 9260 §7.2.4 rule 3).
   */
  /** Offset of the last DATA chunk written by fill() (to set its I bit afterwards). */
  lastChunkAt = -1;

  /**
   * Nothing more goes out until a SACK and too little is in flight for the peer's every-second-packet
   * SACK to come by itself (an RFC 7053 I-bit moment: its delayed-SACK timer would hold up the
   * window). With more in flight the peer's regular SACKs keep the window moving; asking for one per
   * packet would double the packets (and DTLS records) on the return path.
   */
  get stalled(): boolean {
    if (this.flightSize > 2 * this.mtu) return false;
    return this.flightSize >= this.cwnd || this.peerRwnd < this.mtu;
  }

  fill(out: Uint8Array, at: number, end: number, now: number): number {
    const idata = this.idata;
    const header = idata ? I_DATA_HEADER_SIZE : DATA_HEADER_SIZE;
    const ignoreCwnd = this.#fastRtxNow;
    this.#fastRtxNow = false;
    // Retransmissions first.
    while (this.#rtxAt < this.#rtx.length) {
      const e = this.#rtx[this.#rtxAt]!;
      if (!e.retransmit || e.state !== OUTSTANDING) {
        e.retransmit = false;
        this.#rtxAt++;
        continue;
      }
      if (end - at < e.size) break;
      if (!ignoreCwnd && !this.#cwndOpen(e.size)) return at;
      this.lastChunkAt = at;
      at = writeDataChunk(
        out,
        at,
        idata,
        e.flags,
        e.tsn,
        e.msg.streamId,
        e.seq,
        e.fsn,
        e.msg.ppid,
        e.payload,
      );
      e.retransmit = false;
      e.inFlight = true;
      e.sendCount++;
      e.sentAt = now;
      e.txSeq = this.#txSeq++;
      this.flightSize += e.size;
      this.retransmissions++;
      this.#rtxAt++;
    }
    if (this.#rtxAt === this.#rtx.length && this.#rtxAt > 0) {
      this.#rtx.length = 0;
      this.#rtxAt = 0;
    }
    if (this.#rtxAt < this.#rtx.length) return at;
    // New data. Sender-side silly window avoidance (RFC 9260 §6.1, RFC 1122 §4.2.3.4 in spirit): with
    // data in flight, start new data in this packet only when the peer's window takes what the packet
    // could carry; otherwise wait for the SACK that opens it. Without this, a window-limited sender
    // sends a full packet, then one with a message's small tail, and so on: twice the packets.
    if (this.flightSize > 0 && !ignoreCwnd) {
      const want = Math.min(end - at, this.queuedBytes + header);
      if (this.peerRwnd < want) return at;
    }
    const maxPayload = this.mtu - 12 - header;
    while (this.#active.length > 0) {
      const room = end - at - header;
      if (room < 4) break;
      let msg = this.#current;
      let s: OutStream;
      if (msg) s = this.streams.get(msg.streamId)!;
      else {
        if (this.#rr >= this.#active.length) this.#rr = 0;
        s = this.#active[this.#rr]!;
        msg = s.head!;
      }
      // Lifetime check before the first fragment is sent.
      if (msg.offset === 0 && now >= msg.expiresAt) {
        msg.abandoned = true;
        this.abandonedMessages++;
        this.#dropQueued(msg);
        if (!s.head) this.#deactivate(s);
        continue;
      }
      const left = msg.data.length - msg.offset;
      let n = Math.min(left, maxPayload);
      // Do not split a chunk across packets needlessly: if it will not fit whole, a smaller fragment is
      // fine only for large messages (keeps 100-byte messages intact in the next packet).
      if (n > room) {
        if (left <= maxPayload || room < 256) break;
        n = room & ~3;
      }
      const size = (header + n + 3) & ~3;
      if (!this.#cwndOpen(size)) break;
      let flags = msg.unordered ? FLAG_UNORDERED : 0;
      if (msg.offset === 0) {
        flags |= FLAG_BEGINNING;
        if (idata) {
          if (msg.unordered) msg.seq = s.nextMidUnordered++ >>> 0;
          else msg.seq = s.nextMidOrdered++ >>> 0;
        } else {
          msg.seq = msg.unordered ? 0 : s.nextSsn;
          if (!msg.unordered) s.nextSsn = (s.nextSsn + 1) & 0xffff;
        }
      }
      const payload = msg.data.subarray(msg.offset, msg.offset + n);
      msg.offset += n;
      if (msg.offset === msg.data.length) flags |= FLAG_END;
      const tsn = this.nextTsn;
      this.nextTsn = (tsn + 1) >>> 0;
      if (flags & FLAG_BEGINNING) msg.firstTsn = tsn;
      msg.lastTsn = tsn;
      const fsn = msg.nextFsn++;
      this.lastChunkAt = at;
      at = writeDataChunk(out, at, idata, flags, tsn, s.id, msg.seq, fsn, msg.ppid, payload);
      this.#push({
        tsn,
        msg,
        flags,
        seq: msg.seq,
        fsn,
        payload,
        size,
        sentAt: now,
        txSeq: this.#txSeq++,
        sendCount: 1,
        state: OUTSTANDING,
        inFlight: true,
        retransmit: false,
        missCount: 0,
      });
      this.flightSize += size;
      // RFC 9260 §6.2.1 B: the peer's window shrinks by what we send until its next SACK says otherwise.
      this.peerRwnd = this.peerRwnd > size ? this.peerRwnd - size : 0;
      this.#unbuffer(s, n);
      if (flags & FLAG_END) {
        s.head = msg.next;
        if (!s.head) s.tail = null;
        msg.next = null;
        this.#current = null;
        if (!s.head) this.#deactivate(s);
        else this.#rr++;
      } else if (!idata) this.#current = msg;
      else this.#rr++;
    }
    return at;
  }

  #deactivate(s: OutStream): void {
    const i = this.#active.indexOf(s);
    if (i >= 0) {
      this.#active.splice(i, 1);
      if (this.#rr > i) this.#rr--;
    }
    s.active = false;
  }

  /**
   * The FORWARD-TSN / I-FORWARD-TSN content for the abandoned chunks up to the advanced peer ack
   * point: the highest SSN (or MID) per ordered stream (and per unordered stream for I-DATA).
   */
  forwardTsnStreams(): { streamId: number; unordered: boolean; seq: number }[] {
    const out = new Map<number, { streamId: number; unordered: boolean; seq: number }>();
    for (let t = (this.cumAck + 1) >>> 0; tsnLte(t, this.advancedPeerAckPoint); t = (t + 1) >>> 0) {
      const e = this.#at(t);
      if (!e) break;
      const m = e.msg;
      if (m.unordered && !this.idata) continue;
      const key = m.streamId * 2 + (m.unordered ? 1 : 0);
      out.set(key, { streamId: m.streamId, unordered: m.unordered, seq: e.seq });
    }
    return [...out.values()];
  }

  /** Reset the outgoing sequence numbers of streams (RFC 6525 §5.2.2 once the peer performed it). */
  resetSequences(ids: readonly number[]): void {
    for (const id of ids) {
      const s = this.streams.get(id);
      if (!s) continue;
      s.nextSsn = 0;
      s.nextMidOrdered = 0;
      s.nextMidUnordered = 0;
      s.resetPending = false;
      if (!s.head) this.streams.delete(id);
    }
  }

  /** Messages of a stream still waiting for a TSN. */
  streamIdle(id: number): boolean {
    const s = this.streams.get(id);
    return !s || s.head === null;
  }

  /** Number of the oldest outstanding chunk's transmissions (for diagnostics). */
  get rtxQueueLength(): number {
    return this.#rtx.length - this.#rtxAt;
  }
}

const EMPTY = new Uint8Array(0);
