import { ByteReader } from '../core/bytes.js';
import { ParseError } from '../core/errors.js';
import { DTLS_1_2, RECORD_HEADER_LENGTH } from './constants.js';
import type { DtlsRecord } from './record.js';
import { readRecord, writeRecordHeader } from './record.js';
import type { RecordProtection } from './record-protection.js';
import {
  isUnifiedHeader,
  Protection13,
  parseUnified,
  reconstructSequence,
  type UnifiedRecord,
} from './record13.js';
import { ReplayWindow } from './replay-window.js';

interface ReadState {
  readonly protection: RecordProtection | Protection13 | null;
  readonly window: ReplayWindow;
}

interface WriteState {
  readonly protection: RecordProtection | Protection13 | null;
  seq: number;
}

/** A record as parsed: a DTLSPlaintext/1.2 record, or a DTLS 1.3 unified-header record. */
export type InboundRecord = DtlsRecord & { readonly unified?: UnifiedRecord };

/** A record after decryption: its real content type and payload, with its record number. */
export interface OpenedRecord {
  readonly type: number;
  readonly data: Uint8Array;
  readonly epoch: number;
  readonly seq: number;
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
  #pending: InboundRecord[] = [];
  version = DTLS_1_2;
  writeEpoch = 0;
  readEpoch = 0;

  /** Records buffered for an epoch whose keys are now installed, to be processed next. */
  #ready: InboundRecord[] = [];

  /** Install keys for reading `epoch`; records buffered for it move to the ready queue. */
  installRead(epoch: number, protection: RecordProtection | Protection13): void {
    this.#read.set(epoch, { protection, window: new ReplayWindow() });
    this.readEpoch = epoch;
    this.#ready.push(...this.#pending.filter((r) => r.unified !== undefined || r.epoch === epoch));
    this.#pending = [];
  }

  /** Take the records that became readable (see installRead); use the array at once, do not keep it. */
  takeReady(): InboundRecord[] {
    const r = this.#ready;
    if (r.length === 0) return r;
    this.#ready = [];
    return r;
  }

  installWrite(epoch: number, protection: RecordProtection | Protection13): void {
    this.#write.set(epoch, { protection, seq: 0 });
  }

  /** Bytes a record at `epoch` adds on top of its plaintext (header included). */
  overhead(epoch: number): number {
    const p = this.#write.get(epoch)?.protection;
    if (p instanceof Protection13) return p.overhead;
    return RECORD_HEADER_LENGTH + (p?.overhead ?? 0);
  }

  /** True when records of `epoch` are written as DTLS 1.3 unified-header records. */
  isUnified(epoch: number): boolean {
    return this.#write.get(epoch)?.protection instanceof Protection13;
  }

  /** The sequence number the next record of `epoch` will carry. */
  nextSeq(epoch: number): number {
    return this.#write.get(epoch)?.seq ?? 0;
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
    if (w.protection instanceof Protection13) return w.protection.seal(type, seq, payload);
    return w.protection.seal(type, this.version, epoch, seq, payload);
  }

  /** Split a datagram into records; a malformed datagram is counted and yields none. */
  parse(datagram: Uint8Array): InboundRecord[] {
    const r = new ByteReader(datagram, 'dtls');
    const out: InboundRecord[] = [];
    try {
      while (r.remaining > 0) {
        if (isUnifiedHeader(r.peekU8('record.type'))) {
          const u = parseUnified(datagram, r.offset);
          if (!u) throw new ParseError('dtls', 'record.unified', r.offset, 'unusable unified header');
          out.push({
            type: 0,
            version: 0,
            epoch: u.rec.epochBits,
            seq: -1,
            fragment: u.rec.encrypted,
            unified: u.rec,
          });
          r.skip(u.next - r.offset, 'record.unified');
        } else out.push(readRecord(r));
      }
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      this.stats.malformed++;
      // Records before the malformed one were well-formed and are still processed.
    }
    return out;
  }

  /**
   * Check, decrypt and authenticate one record. Returns the content, or undefined when the record
   * was dropped (replay, bad MAC, unknown epoch) or buffered for the next epoch.
   */
  open(rec: InboundRecord): OpenedRecord | undefined {
    if (rec.unified) return this.#openUnified(rec, rec.unified);
    const st = this.#read.get(rec.epoch);
    if (!st || st.protection instanceof Protection13) {
      this.stats.unknownEpoch++;
      if (!st && rec.epoch === this.readEpoch + 1 && this.#pending.length < 32) this.#pending.push(rec);
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
    return { type: rec.type, data: pt, epoch: rec.epoch, seq: rec.seq };
  }

  /** DTLS 1.3 record: find the epoch by its low bits, decrypt the record number, then the record. */
  #openUnified(rec: InboundRecord, u: UnifiedRecord): OpenedRecord | undefined {
    let epoch = -1;
    let st: ReadState | undefined;
    for (const [e, s] of this.#read) {
      if (s.protection instanceof Protection13 && (e & 3) === u.epochBits && e > epoch) {
        epoch = e;
        st = s;
      }
    }
    if (!st || !(st.protection instanceof Protection13)) {
      this.stats.unknownEpoch++;
      if (this.#pending.length < 32) this.#pending.push(rec);
      return undefined;
    }
    const p = st.protection;
    const seq = reconstructSequence(st.window.highest + 1, p.sequenceBits(u), u.seqLength * 8);
    if (!st.window.check(seq)) {
      this.stats.replays++;
      return undefined;
    }
    const r = p.open(u, seq);
    if (!r) {
      this.stats.badRecords++;
      return undefined;
    }
    st.window.accept(seq);
    this.stats.recordsIn++;
    return { type: r.type, data: r.content, epoch, seq };
  }
}
