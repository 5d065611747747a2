import { ByteReader, ByteWriter } from '../core/bytes.js';
import { ALERT_ILLEGAL_PARAMETER, EXT_USE_SRTP } from './constants.js';
import { DtlsError } from './errors.js';

/** A hello extension as on the wire: type and opaque data (RFC 5246 §7.4.1.4). */
export interface Extension {
  readonly type: number;
  readonly data: Uint8Array;
}

/** Read `extensions<0..2^16-1>` if present (it may be absent entirely, RFC 5246 §7.4.1.2). */
export function readExtensions(r: ByteReader): Extension[] {
  if (r.remaining === 0) return [];
  const list = r.sub(r.u16('extensions.length'), 'extensions');
  const out: Extension[] = [];
  const seen = new Set<number>();
  while (list.remaining > 0) {
    const type = list.u16('extension.type');
    if (seen.has(type)) list.fail('extension.type', `duplicate extension ${type}`);
    seen.add(type);
    const data = list.bytes(list.u16('extension.length'), 'extension.data');
    out.push({ type, data });
  }
  if (r.remaining !== 0) r.fail('extensions', 'trailing bytes');
  return out;
}

export function writeExtensions(w: ByteWriter, exts: readonly Extension[]): void {
  if (exts.length === 0) return;
  const at = w.length;
  w.u16(0);
  for (const e of exts) w.u16(e.type).u16(e.data.length).bytes(e.data);
  w.patchU16(at, w.length - at - 2);
}

export function findExtension(exts: readonly Extension[], type: number): Extension | undefined {
  return exts.find((e) => e.type === type);
}

/** A u16 list with a u16 byte-length prefix (supported_groups, signature_algorithms). */
export function parseU16List(data: Uint8Array, field: string): number[] {
  const r = new ByteReader(data, 'dtls');
  const n = r.u16(`${field}.length`);
  if (n % 2 !== 0) r.fail(`${field}.length`, 'odd length');
  const list = r.sub(n, field);
  const out: number[] = [];
  while (list.remaining > 0) out.push(list.u16(field));
  if (r.remaining !== 0) r.fail(field, 'trailing bytes');
  return out;
}

export function serializeU16List(values: readonly number[]): Uint8Array {
  const w = new ByteWriter(2 + values.length * 2);
  w.u16(values.length * 2);
  for (const v of values) w.u16(v);
  return w.finish();
}

/** ec_point_formats: a u8 list with a u8 length (RFC 8422 §5.1.2). */
export function parseU8List(data: Uint8Array, field: string): number[] {
  const r = new ByteReader(data, 'dtls');
  const list = r.sub(r.u8(`${field}.length`), field);
  const out: number[] = [];
  while (list.remaining > 0) out.push(list.u8(field));
  if (r.remaining !== 0) r.fail(field, 'trailing bytes');
  return out;
}

export function serializeU8List(values: readonly number[]): Uint8Array {
  const w = new ByteWriter(1 + values.length);
  w.u8(values.length);
  for (const v of values) w.u8(v);
  return w.finish();
}

/** use_srtp extension data (RFC 5764 §4.1.1). */
export interface UseSrtp {
  readonly profiles: readonly number[];
  readonly mki: Uint8Array;
}

export function parseUseSrtp(data: Uint8Array): UseSrtp {
  const r = new ByteReader(data, 'dtls');
  const n = r.u16('use_srtp.profiles.length');
  if (n % 2 !== 0 || n === 0) r.fail('use_srtp.profiles.length', 'bad length');
  const list = r.sub(n, 'use_srtp.profiles');
  const profiles: number[] = [];
  while (list.remaining > 0) profiles.push(list.u16('use_srtp.profile'));
  const mki = r.bytes(r.u8('use_srtp.mki.length'), 'use_srtp.mki');
  if (r.remaining !== 0) r.fail('use_srtp', 'trailing bytes');
  return { profiles, mki };
}

export function serializeUseSrtp(u: UseSrtp): Uint8Array {
  const w = new ByteWriter(5 + u.profiles.length * 2 + u.mki.length);
  w.u16(u.profiles.length * 2);
  for (const p of u.profiles) w.u16(p);
  w.u8(u.mki.length).bytes(u.mki);
  return w.finish();
}

/** renegotiation_info: `opaque renegotiated_connection<0..255>` (RFC 5746 §3.2). */
export function parseRenegotiationInfo(data: Uint8Array): Uint8Array {
  const r = new ByteReader(data, 'dtls');
  const v = r.bytes(r.u8('renegotiation_info.length'), 'renegotiation_info');
  if (r.remaining !== 0) r.fail('renegotiation_info', 'trailing bytes');
  return v;
}

/** supported_versions in a ClientHello: u8 length, u16 versions (RFC 8446 §4.2.1). */
export function parseClientSupportedVersions(data: Uint8Array): number[] {
  const r = new ByteReader(data, 'dtls');
  const n = r.u8('supported_versions.length');
  if (n % 2 !== 0) r.fail('supported_versions.length', 'odd length');
  const list = r.sub(n, 'supported_versions');
  const out: number[] = [];
  while (list.remaining > 0) out.push(list.u16('supported_versions.version'));
  if (r.remaining !== 0) r.fail('supported_versions', 'trailing bytes');
  return out;
}

export function serializeClientSupportedVersions(versions: readonly number[]): Uint8Array {
  const w = new ByteWriter();
  w.u8(versions.length * 2);
  for (const v of versions) w.u16(v);
  return w.finish();
}

/**
 * The SRTP protection profile a server chose in its use_srtp answer (RFC 5764 §4.1.1: exactly one,
 * and one the client offered), or undefined when it answered without use_srtp.
 */
export function serverSrtpChoice(
  extensions: readonly Extension[],
  offered: readonly number[],
): number | undefined {
  const srtp = findExtension(extensions, EXT_USE_SRTP);
  if (!srtp) return undefined;
  const u = parseUseSrtp(srtp.data);
  const p = u.profiles[0]!;
  if (u.profiles.length !== 1 || !offered.includes(p)) {
    throw new DtlsError(
      'ERR_DTLS_BAD_SRTP',
      ALERT_ILLEGAL_PARAMETER,
      'server chose an SRTP profile we did not offer',
    );
  }
  return p;
}
