/**
 * Stream reset (RFC 6525) for one association: our Outgoing SSN Reset Requests (one in flight at a
 * time, sent once the stream's queued messages have TSNs, retransmitted on a timer), and the peer's
 * requests (performed once everything up to their last TSN arrived, answered "in progress" before).
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { Chunk, ReconfigParam } from './chunk-types.js';
import {
  RECONFIG_DENIED,
  RECONFIG_ERROR_BAD_SEQ,
  RECONFIG_IN_PROGRESS,
  RECONFIG_SUCCESS_NOTHING,
  RECONFIG_SUCCESS_PERFORMED,
} from './constants.js';
import type { Inbound } from './inbound.js';
import type { Outbound } from './outbound.js';
import { LazyTimer } from './timer.js';
import { tsnLte } from './tsn.js';

/** What the reset machinery needs from its association. */
export interface StreamResetHost {
  readonly clock: Clock;
  readonly log: Logger;
  outbound(): Outbound | null;
  inbound(): Inbound | null;
  /** The peer listed RE-CONFIG in its supported extensions. */
  peerSupportsReconfig(): boolean;
  rto(): number;
  backOff(): void;
  /** Count a timeout against Association.Max.Retrans; false when the association just failed. */
  countError(): boolean;
  resetErrors(): void;
  queueControl(c: Chunk): void;
  flush(): void;
  /** The peer reset these streams (our incoming side). */
  incomingReset(ids: number[]): void;
  /** Our outgoing reset of these streams is done. */
  outgoingResetDone(ids: number[]): void;
}

export class StreamReset {
  readonly #host: StreamResetHost;
  readonly #timer: LazyTimer;
  #reqSeq: number;
  #pending = new Set<number>();
  #inflight: { reqSeq: number; streams: number[]; chunk: Chunk } | null = null;
  #peerReqSeq = 0;
  #deferred: { reqSeq: number; lastTsn: number; streams: number[] } | null = null;
  #lastPeerResult = RECONFIG_SUCCESS_PERFORMED;

  /** @param initialReqSeq our first Re-configuration Request Sequence Number (our initial TSN). */
  constructor(host: StreamResetHost, initialReqSeq: number) {
    this.#host = host;
    this.#reqSeq = initialReqSeq >>> 0;
    this.#timer = new LazyTimer(host.clock, () => this.#onTimer());
  }

  /** The peer's initial TSN starts its request sequence numbers (RFC 6525 §3.1). */
  setPeerInitialTsn(tsn: number): void {
    this.#peerReqSeq = tsn >>> 0;
  }

  request(ids: readonly number[]): void {
    const out = this.#host.outbound();
    if (!out) return;
    for (const id of ids) {
      this.#pending.add(id);
      out.stream(id).resetPending = true;
    }
    this.maybeSend();
  }

  /** Send the next request if none is in flight and some pending stream has drained. */
  maybeSend(): void {
    const out = this.#host.outbound();
    if (!out || this.#inflight || this.#pending.size === 0) return;
    if (!this.#host.peerSupportsReconfig()) {
      // No RE-CONFIG support: report the reset as done so channels close.
      const ids = [...this.#pending];
      this.#pending.clear();
      out.resetSequences(ids);
      this.#host.outgoingResetDone(ids);
      return;
    }
    const ready = [...this.#pending].filter((id) => out.streamIdle(id));
    if (ready.length === 0) return;
    for (const id of ready) this.#pending.delete(id);
    const reqSeq = this.#reqSeq;
    this.#reqSeq = (this.#reqSeq + 1) >>> 0;
    const chunk: Chunk = {
      type: 130,
      params: [
        {
          type: 13,
          reqSeq,
          respSeq: (this.#peerReqSeq - 1) >>> 0,
          lastTsn: (out.nextTsn - 1) >>> 0,
          streams: ready,
        },
      ],
    };
    this.#inflight = { reqSeq, streams: ready, chunk };
    this.#host.queueControl(chunk);
    this.#timer.start(this.#host.rto());
  }

  #onTimer(): void {
    const r = this.#inflight;
    if (!r || !this.#host.outbound()) return;
    if (!this.#host.countError()) return;
    this.#host.backOff();
    this.#host.queueControl(r.chunk);
    this.#timer.start(this.#host.rto());
    this.#host.flush();
  }

  onParam(p: ReconfigParam): void {
    switch (p.type) {
      case 13: {
        // The peer resets its outgoing streams = our incoming ones.
        if (p.reqSeq === (this.#peerReqSeq - 1) >>> 0) {
          this.#respond(p.reqSeq, this.#lastPeerResult); // a retransmitted request
          return;
        }
        if (p.reqSeq !== this.#peerReqSeq) {
          this.#respond(p.reqSeq, RECONFIG_ERROR_BAD_SEQ);
          return;
        }
        this.#peerReqSeq = (this.#peerReqSeq + 1) >>> 0;
        this.#deferred = { reqSeq: p.reqSeq, lastTsn: p.lastTsn, streams: [...p.streams] };
        this.#lastPeerResult = RECONFIG_IN_PROGRESS;
        this.maybePerformDeferred();
        if (this.#deferred) this.#respond(p.reqSeq, RECONFIG_IN_PROGRESS);
        return;
      }
      case 14: {
        // The peer asks us to reset our outgoing streams.
        if (p.reqSeq !== this.#peerReqSeq) {
          this.#respond(p.reqSeq, RECONFIG_ERROR_BAD_SEQ);
          return;
        }
        this.#peerReqSeq = (this.#peerReqSeq + 1) >>> 0;
        this.#respond(p.reqSeq, RECONFIG_SUCCESS_NOTHING);
        this.request(p.streams.length ? p.streams : [...(this.#host.outbound()?.streams.keys() ?? [])]);
        return;
      }
      case 16: {
        const r = this.#inflight;
        if (!r || p.respSeq !== r.reqSeq) return;
        if (p.result === RECONFIG_IN_PROGRESS) return; // asked again when the timer fires
        this.#inflight = null;
        this.#timer.stop();
        this.#host.resetErrors();
        if (p.result !== RECONFIG_SUCCESS_PERFORMED && p.result !== RECONFIG_SUCCESS_NOTHING) {
          this.#host.log.warn('stream reset refused', { result: p.result, streams: r.streams });
        }
        // Either way the channel is finished with these streams.
        this.#host.outbound()?.resetSequences(r.streams);
        this.#host.outgoingResetDone(r.streams);
        this.maybeSend();
        return;
      }
      default:
        this.#respond('reqSeq' in p ? p.reqSeq : 0, RECONFIG_DENIED);
    }
  }

  /** Perform the peer's pending request once our cumulative TSN reached its last TSN. */
  maybePerformDeferred(): void {
    const d = this.#deferred;
    const inb = this.#host.inbound();
    if (!d || !inb || !tsnLte(d.lastTsn, inb.cumTsn)) return;
    this.#deferred = null;
    inb.resetStreams(d.streams);
    this.#lastPeerResult = RECONFIG_SUCCESS_PERFORMED;
    this.#respond(d.reqSeq, RECONFIG_SUCCESS_PERFORMED);
    this.#host.incomingReset(d.streams);
  }

  #respond(respSeq: number, result: number): void {
    this.#host.queueControl({ type: 130, params: [{ type: 16, respSeq, result }] });
  }

  cancel(): void {
    this.#timer.cancel();
  }
}
