import { ByteReader } from '../core/bytes.js';
import { ParseError } from '../core/errors.js';
import { DTLS_1_2, RECORD_HEADER_LENGTH } from './constants.js';
import type { DtlsRecord } from './record.js';
import { readRecord, writeRecordHeader } from './record.js';
import type { RecordProtection } from './record-protection.js';
import { ReplayWindow } from './replay-window.js';

interface ReadState {
  readonly protection: RecordProtection | null;
  readonly window: ReplayWindow;
}

interface WriteState {
  readonly protection: RecordProtection | null;
  seq: number;
}

/** 2^48 - 1: a sequence number must never wrap within an epoch (RFC 6347 §4.1). */
const MAX_SEQ = 2 ** 48 - 1;

/** Counters of what the record layer dropped. */
export interface RecordLayerStats {
  recordsIn: number;
  recordsOut: number;
  /** Datagrams that did not parse as DTLS records. */
  malformed: number;
  /** Records that did not authenticate. */
  badRecords: number;
  /** Records dropped as replays or too old for the window. */
  replays: number;
  /** Records for an epoch we have no keys for (dropped or buffered). */
  unknownEpoch: number;
}

/**
 * The DTLS 1.2 record layer (RFC 6347 §4.1): per-epoch protection, 48-bit sequence numbers and an
 * anti-replay window for each readable epoch. Epoch 0 stays readable for handshake retransmissions.
 */
export class RecordLayer {
  readonly stats: RecordLayerStats = {
    recordsIn: 0,
    recordsOut: 0,
    malformed: 0,
    badRecords: 0,
    replays: 0,
    unknownEpoch: 0,
  };
  readonly #read = new Map<number, ReadState>([[0, { protection: null, window: new ReplayWindow() }]]);
  readonly #write = new Map<number, WriteState>([[0, { protection: null, seq: 0 }]]);
  /** Records of the next epoch that arrived before its keys (RFC 6347 §4.1: MAY buffer). */
  #pending: DtlsRecord[] = [];
  version = DTLS_1_2;
  writeEpoch = 0;
  readEpoch = 0;

  /** Records buffered for an epoch whose keys are now installed, to be processed next. */
  #ready: DtlsRecord[] = [];

  /** Install keys for reading `epoch`; records buffered for it move to the ready queue. */
  installRead(epoch: number, protection: RecordProtection): void {
    this.#read.set(epoch, { protection, window: new ReplayWindow() });
    this.readEpoch = epoch;
    this.#ready.push(...this.#pending.filter((r) => r.epoch === epoch));
    this.#pending = [];
  }

  /** Take the records that became readable (see installRead). */
  takeReady(): DtlsRecord[] {
    const r = this.#ready;
    this.#ready = [];
    return r;
  }

  installWrite(epoch: number, protection: RecordProtection): void {
    this.#write.set(epoch, { protection, seq: 0 });
  }

  /** Bytes a record at `epoch` adds on top of its plaintext (header included). */
  overhead(epoch: number): number {
    return RECORD_HEADER_LENGTH + (this.#write.get(epoch)?.protection?.overhead ?? 0);
  }

  hasWrite(epoch: number): boolean {
    return this.#write.has(epoch);
  }

  /** Build one record at `epoch` (plaintext at epoch 0, sealed otherwise). */
  seal(type: number, epoch: number, payload: Uint8Array): Uint8Array {
    const w = this.#write.get(epoch);
    if (!w) throw new Error(`no write state for epoch ${epoch}`);
    if (w.seq > MAX_SEQ) throw new Error('sequence number space exhausted');
    const seq = w.seq++;
    this.stats.recordsOut++;
    if (!w.protection) {
      const out = new Uint8Array(RECORD_HEADER_LENGTH + payload.length);
      writeRecordHeader(out, 0, type, this.version, epoch, seq, payload.length);
      out.set(payload, RECORD_HEADER_LENGTH);
      return out;
    }
    return w.protection.seal(type, this.version, epoch, seq, payload);
  }

  /** Split a datagram into records; a malformed datagram is counted and yields none. */
  parse(datagram: Uint8Array): DtlsRecord[] {
    const r = new ByteReader(datagram, 'dtls');
    const out: DtlsRecord[] = [];
    try {
      while (r.remaining > 0) out.push(readRecord(r));
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      this.stats.malformed++;
      // Records before the malformed one were well-formed and are still processed.
    }
    return out;
  }

  /**
   * Check, decrypt and authenticate one record. Returns the plaintext, or undefined when the record
   * was dropped (replay, bad MAC, unknown epoch) or buffered for the next epoch.
   */
  open(rec: DtlsRecord): Uint8Array | undefined {
    const st = this.#read.get(rec.epoch);
    if (!st) {
      this.stats.unknownEpoch++;
      if (rec.epoch === this.readEpoch + 1 && this.#pending.length < 32) this.#pending.push(rec);
      return undefined;
    }
    if (!st.window.check(rec.seq)) {
      this.stats.replays++;
      return undefined;
    }
    const pt = st.protection ? st.protection.open(rec) : rec.fragment;
    if (pt === undefined) {
      this.stats.badRecords++;
      return undefined;
    }
    st.window.accept(rec.seq);
    this.stats.recordsIn++;
    return pt;
  }
}
