import { concatBytes } from '../core/bytes.js';
import type { Clock, Timer } from '../core/clock.js';
import { CONTENT_CHANGE_CIPHER_SPEC, CONTENT_HANDSHAKE, HANDSHAKE_HEADER_LENGTH } from './constants.js';
import { writeHandshakeHeader } from './handshake-fragment.js';
import type { RecordLayer } from './record-layer.js';

/** One item of a flight: a handshake message or a ChangeCipherSpec, with the epoch it goes in. */
export type FlightItem =
  | {
      readonly kind: 'handshake';
      readonly msgType: number;
      readonly messageSeq: number;
      readonly body: Uint8Array;
      readonly epoch: number;
    }
  | { readonly kind: 'ccs'; readonly epoch: number };

export interface FlightOptions {
  readonly clock: Clock;
  readonly records: RecordLayer;
  readonly send: (datagram: Uint8Array) => void;
  /** Largest datagram to produce (path MTU minus IP/UDP headers). */
  readonly mtu: number;
  /** Initial retransmission timeout (RFC 6347 §4.2.4.1: 1 s). */
  readonly initialRto: number;
  /** Upper bound of the doubled timeout (RFC 6347 §4.2.4.1: 60 s). */
  readonly maxRto: number;
  /** Retransmissions of one flight before giving up. */
  readonly maxRetransmits: number;
  /** Called when the retransmission budget is spent. */
  readonly onGiveUp: () => void;
}

/** Smallest handshake fragment worth starting in a datagram's leftover space. */
const MIN_FRAGMENT = 32;

/**
 * Sends a flight and retransmits it on the RFC 6347 §4.2.4 timer: initial RTO, doubled on each
 * expiry up to `maxRto`, reset when a new flight is sent. Each transmission re-frames the
 * messages with fresh record sequence numbers, fragmenting them to fit `mtu` and packing several
 * records per datagram.
 */
export class FlightSender {
  readonly #o: FlightOptions;
  #items: readonly FlightItem[] = [];
  #timer: Timer | undefined;
  #rto: number;
  #retransmits = 0;
  /** Total retransmissions over the whole handshake (for stats and tests). */
  totalRetransmits = 0;
  /** When the current flight was last put on the wire. */
  lastSentAt = Number.NEGATIVE_INFINITY;

  constructor(o: FlightOptions) {
    this.#o = o;
    this.#rto = o.initialRto;
  }

  get hasFlight(): boolean {
    return this.#items.length > 0;
  }

  /** Send a new flight; with `retransmit` false (a final flight) no timer runs. */
  start(items: readonly FlightItem[], retransmit: boolean): void {
    this.stopTimer();
    this.#items = items;
    this.#rto = this.#o.initialRto;
    this.#retransmits = 0;
    this.transmit();
    if (retransmit) this.#arm();
  }

  /** Put the current flight on the wire again (timer expiry or a peer retransmission). */
  transmit(): void {
    if (this.#items.length === 0) return;
    this.lastSentAt = this.#o.clock.now();
    for (const d of this.#frame()) this.#o.send(d);
  }

  stopTimer(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** Forget the flight and stop the timer. */
  clear(): void {
    this.stopTimer();
    this.#items = [];
  }

  #arm(): void {
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.#retransmits >= this.#o.maxRetransmits) {
        this.#o.onGiveUp();
        return;
      }
      this.#retransmits++;
      this.totalRetransmits++;
      this.#rto = Math.min(this.#rto * 2, this.#o.maxRto);
      this.transmit();
      this.#arm();
    }, this.#rto);
  }

  #frame(): Uint8Array[] {
    const { records, mtu } = this.#o;
    const datagrams: Uint8Array[] = [];
    let parts: Uint8Array[] = [];
    let size = 0;
    // DTLS 1.3 epochs: consecutive handshake fragments of one epoch share a record (RFC 9147 §5.5
    // lets a record carry several handshake messages), so a flight of EncryptedExtensions ..
    // Finished costs one AEAD seal (and the peer one open) per datagram instead of one per message.
    let open: { epoch: number; frags: Uint8Array[]; bytes: number } | undefined;
    const closeRecord = (): void => {
      if (!open) return;
      const { epoch, frags } = open;
      open = undefined;
      const rec = records.seal(CONTENT_HANDSHAKE, epoch, frags.length === 1 ? frags[0]! : concatBytes(frags));
      parts.push(rec);
      size += rec.length;
    };
    const flush = (): void => {
      closeRecord();
      if (parts.length === 0) return;
      datagrams.push(parts.length === 1 ? parts[0]! : concatBytes(parts));
      parts = [];
      size = 0;
    };
    const push = (rec: Uint8Array): void => {
      closeRecord();
      if (size + rec.length > mtu) flush();
      parts.push(rec);
      size += rec.length;
    };
    for (const item of this.#items) {
      if (item.kind === 'ccs') {
        push(records.seal(CONTENT_CHANGE_CIPHER_SPEC, item.epoch, Uint8Array.of(1)));
        continue;
      }
      if (open && open.epoch !== item.epoch) closeRecord();
      const pack = records.isUnified(item.epoch);
      const recordOverhead = records.overhead(item.epoch);
      const total = item.body.length;
      let off = 0;
      do {
        // A fragment either joins the open record or starts a record of its own.
        const used = size + recordOverhead + (open ? open.bytes : 0) + HANDSHAKE_HEADER_LENGTH;
        let space = mtu - used;
        const left = total - off;
        if (space < Math.min(MIN_FRAGMENT, left) || space <= 0) {
          flush();
          space = mtu - recordOverhead - HANDSHAKE_HEADER_LENGTH;
        }
        const n = Math.max(0, Math.min(space, left));
        if (n === 0 && left > 0) throw new Error(`MTU ${mtu} too small for a handshake fragment`);
        const frag = new Uint8Array(HANDSHAKE_HEADER_LENGTH + n);
        writeHandshakeHeader(frag, 0, item.msgType, total, item.messageSeq, off, n);
        frag.set(item.body.subarray(off, off + n), HANDSHAKE_HEADER_LENGTH);
        if (pack) {
          open ??= { epoch: item.epoch, frags: [], bytes: 0 };
          open.frags.push(frag);
          open.bytes += frag.length;
        } else push(records.seal(CONTENT_HANDSHAKE, item.epoch, frag));
        off += n;
      } while (off < total);
    }
    flush();
    return datagrams;
  }
}
