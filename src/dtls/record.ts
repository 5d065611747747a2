import { ByteReader } from '../core/bytes.js';
import { ParseError } from '../core/errors.js';
import { MAX_PLAINTEXT, RECORD_HEADER_LENGTH } from './constants.js';

/**
 * DTLSPlaintext / DTLSCiphertext record (RFC 6347 §4.1):
 *
 * ```
 *  0               1               2               3
 * +---------------+---------------+---------------+---------------+
 * | ContentType   |  ProtocolVersion (major,minor)|     epoch ... |
 * +---------------+---------------+---------------+---------------+
 * | ... epoch     |        sequence_number (48 bits) ...          |
 * +---------------+---------------+---------------+---------------+
 * |  ... sequence_number          |            length             |
 * +---------------+---------------+---------------+---------------+
 * |  fragment (length bytes) ...
 * ```
 */
export interface DtlsRecord {
  readonly type: number;
  readonly version: number;
  readonly epoch: number;
  /** 48-bit sequence number (exact in a JS number). */
  readonly seq: number;
  /** Payload: a view into the datagram. */
  readonly fragment: Uint8Array;
}

/** Largest fragment a record may carry: 2^14 plus expansion (RFC 5246 §6.2.3). */
const MAX_FRAGMENT = MAX_PLAINTEXT + 2048;

/** Parse every record in a datagram (RFC 6347 §4.1.1: several records may share one datagram). */
export function parseRecords(datagram: Uint8Array): DtlsRecord[] {
  const r = new ByteReader(datagram, 'dtls');
  const out: DtlsRecord[] = [];
  while (r.remaining > 0) out.push(readRecord(r));
  return out;
}

export function readRecord(r: ByteReader): DtlsRecord {
  const type = r.u8('record.type');
  if (type < 20 || type > 26) r.fail('record.type', `unknown content type ${type}`);
  const version = r.u16('record.version');
  if (version >> 8 !== 0xfe) r.fail('record.version', `not a DTLS version: 0x${version.toString(16)}`);
  const epoch = r.u16('record.epoch');
  const seq = r.u48('record.seq');
  const length = r.u16('record.length');
  if (length > MAX_FRAGMENT) r.fail('record.length', `record of ${length} bytes`);
  const fragment = r.bytes(length, 'record.fragment');
  return { type, version, epoch, seq, fragment };
}

/** Write the 13-byte record header at `at` in `out`. */
export function writeRecordHeader(
  out: Uint8Array,
  at: number,
  type: number,
  version: number,
  epoch: number,
  seq: number,
  length: number,
): void {
  out[at] = type;
  out[at + 1] = version >> 8;
  out[at + 2] = version & 0xff;
  out[at + 3] = epoch >> 8;
  out[at + 4] = epoch & 0xff;
  const hi = Math.floor(seq / 2 ** 32);
  out[at + 5] = (hi >> 8) & 0xff;
  out[at + 6] = hi & 0xff;
  out[at + 7] = (seq >>> 24) & 0xff;
  out[at + 8] = (seq >>> 16) & 0xff;
  out[at + 9] = (seq >>> 8) & 0xff;
  out[at + 10] = seq & 0xff;
  out[at + 11] = length >> 8;
  out[at + 12] = length & 0xff;
}

export function serializeRecord(rec: DtlsRecord): Uint8Array {
  if (rec.fragment.length > MAX_FRAGMENT) {
    throw new ParseError('dtls', 'record.length', 0, `record of ${rec.fragment.length} bytes`);
  }
  const out = new Uint8Array(RECORD_HEADER_LENGTH + rec.fragment.length);
  writeRecordHeader(out, 0, rec.type, rec.version, rec.epoch, rec.seq, rec.fragment.length);
  out.set(rec.fragment, RECORD_HEADER_LENGTH);
  return out;
}
