import { ByteReader, ByteWriter } from '../core/bytes.js';
import { type Extension, readExtensions, writeExtensions } from './extensions.js';

/** DTLS 1.3 / TLS 1.3 message bodies and extensions (RFC 8446 §4, RFC 9147 §5, §7). */

export const EXT_COOKIE = 44; // RFC 8446 §4.2.2
export const EXT_KEY_SHARE = 51; // RFC 8446 §4.2.8
export const HS_ENCRYPTED_EXTENSIONS = 8; // RFC 8446 §4.3.1
/** Synthetic handshake type replacing ClientHello1 in the transcript after HRR (RFC 8446 §4.4.1). */
export const HS_MESSAGE_HASH = 254;

/** ServerHello.random of a HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3). */
export const HRR_RANDOM = Uint8Array.from(
  Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex'),
);

export interface KeyShareEntry {
  readonly group: number;
  readonly key: Uint8Array;
}

/** key_share in a ClientHello: `KeyShareEntry client_shares<0..2^16-1>`. */
export function parseClientKeyShares(data: Uint8Array): KeyShareEntry[] {
  const r = new ByteReader(data, 'dtls');
  const list = r.sub(r.u16('key_share.length'), 'key_share');
  const out: KeyShareEntry[] = [];
  while (list.remaining > 0) {
    const group = list.u16('key_share.group');
    const key = list.bytes(list.u16('key_share.key.length'), 'key_share.key');
    if (key.length === 0) list.fail('key_share.key', 'empty');
    out.push({ group, key });
  }
  if (r.remaining !== 0) r.fail('key_share', 'trailing bytes');
  return out;
}

export function serializeClientKeyShares(shares: readonly KeyShareEntry[]): Uint8Array {
  const w = new ByteWriter();
  w.u16(shares.reduce((n, s) => n + 4 + s.key.length, 0));
  for (const s of shares) w.u16(s.group).u16(s.key.length).bytes(s.key);
  return w.finish();
}

/** key_share in a ServerHello: one entry. */
export function parseServerKeyShare(data: Uint8Array): KeyShareEntry {
  const r = new ByteReader(data, 'dtls');
  const group = r.u16('key_share.group');
  const key = r.bytes(r.u16('key_share.key.length'), 'key_share.key');
  if (key.length === 0 || r.remaining !== 0) r.fail('key_share', 'bad server share');
  return { group, key };
}

export function serializeServerKeyShare(s: KeyShareEntry): Uint8Array {
  return new ByteWriter().u16(s.group).u16(s.key.length).bytes(s.key).finish();
}

/** A u16 value (supported_versions in ServerHello, key_share selected_group in HRR). */
export function parseU16Value(data: Uint8Array, field: string): number {
  const r = new ByteReader(data, 'dtls');
  const v = r.u16(field);
  if (r.remaining !== 0) r.fail(field, 'trailing bytes');
  return v;
}

export const serializeU16Value = (v: number): Uint8Array => Uint8Array.of(v >> 8, v & 0xff);

/** cookie extension: `opaque cookie<1..2^16-1>`. */
export function parseCookie(data: Uint8Array): Uint8Array {
  const r = new ByteReader(data, 'dtls');
  const c = r.bytes(r.u16('cookie.length'), 'cookie');
  if (c.length === 0 || r.remaining !== 0) r.fail('cookie', 'bad cookie');
  return c;
}

export const serializeCookie = (c: Uint8Array): Uint8Array =>
  new ByteWriter().u16(c.length).bytes(c).finish();

/** EncryptedExtensions: just an extension list. */
export function parseEncryptedExtensions(body: Uint8Array): Extension[] {
  const r = new ByteReader(body, 'dtls');
  if (r.remaining < 2) r.fail('encrypted_extensions', 'too short');
  return readExtensions(r);
}

export function serializeExtensionsBlock(exts: readonly Extension[]): Uint8Array {
  const w = new ByteWriter();
  if (exts.length === 0) w.u16(0);
  else writeExtensions(w, exts);
  return w.finish();
}

/** CertificateRequest (TLS 1.3): context and extensions (RFC 8446 §4.3.2). */
export interface CertificateRequest13 {
  readonly context: Uint8Array;
  readonly extensions: readonly Extension[];
}

export function parseCertificateRequest13(body: Uint8Array): CertificateRequest13 {
  const r = new ByteReader(body, 'dtls');
  const context = r.bytes(r.u8('certificate_request.context.length'), 'certificate_request.context');
  if (r.remaining < 2) r.fail('certificate_request.extensions', 'missing');
  return { context, extensions: readExtensions(r) };
}

export function serializeCertificateRequest13(m: CertificateRequest13): Uint8Array {
  const w = new ByteWriter().u8(m.context.length).bytes(m.context);
  w.bytes(serializeExtensionsBlock(m.extensions));
  return w.finish();
}

/** Certificate (TLS 1.3): context and entries with per-certificate extensions (RFC 8446 §4.4.2). */
export interface Certificate13 {
  readonly context: Uint8Array;
  readonly certificates: readonly Uint8Array[];
}

export function parseCertificate13(body: Uint8Array): Certificate13 {
  const r = new ByteReader(body, 'dtls');
  const context = r.bytes(r.u8('certificate.context.length'), 'certificate.context');
  const list = r.sub(r.u24('certificate.list.length'), 'certificate.list');
  const certificates: Uint8Array[] = [];
  while (list.remaining > 0) {
    certificates.push(list.bytes(list.u24('certificate.length'), 'certificate'));
    list.skip(list.u16('certificate.extensions.length'), 'certificate.extensions');
  }
  if (r.remaining !== 0) r.fail('certificate', 'trailing bytes');
  return { context, certificates };
}

export function serializeCertificate13(m: Certificate13): Uint8Array {
  const w = new ByteWriter(1024).u8(m.context.length).bytes(m.context);
  w.u24(m.certificates.reduce((n, c) => n + 5 + c.length, 0));
  for (const c of m.certificates) w.u24(c.length).bytes(c).u16(0);
  return w.finish();
}

/** A record number as ACKs carry it (RFC 9147 §7). */
export interface RecordNumber {
  readonly epoch: number;
  readonly seq: number;
}

/** ACK: `RecordNumber record_numbers<0..2^16-1>` of (uint64 epoch, uint64 sequence_number). */
export function parseAck(data: Uint8Array): RecordNumber[] {
  const r = new ByteReader(data, 'dtls');
  const n = r.u16('ack.length');
  if (n % 16 !== 0) r.fail('ack.length', 'not a multiple of 16');
  const list = r.sub(n, 'ack.record_numbers');
  const out: RecordNumber[] = [];
  while (list.remaining > 0) {
    const epoch = list.u64('ack.epoch');
    const seq = list.u64('ack.sequence_number');
    if (epoch > 0xffffn || seq > 0xffffffffffffn) list.fail('ack', 'record number out of range');
    out.push({ epoch: Number(epoch), seq: Number(seq) });
  }
  if (r.remaining !== 0) r.fail('ack', 'trailing bytes');
  return out;
}

export function serializeAck(numbers: readonly RecordNumber[]): Uint8Array {
  const w = new ByteWriter(2 + numbers.length * 16).u16(numbers.length * 16);
  for (const n of numbers) w.u64(BigInt(n.epoch)).u64(BigInt(n.seq));
  return w.finish();
}

/** A handshake message in the TLS form the DTLS 1.3 transcript hashes (RFC 9147 §5.2). */
export function tlsMessage(msgType: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  out[0] = msgType;
  out[1] = body.length >>> 16;
  out[2] = (body.length >>> 8) & 0xff;
  out[3] = body.length & 0xff;
  out.set(body, 4);
  return out;
}
