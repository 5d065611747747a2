import { ByteReader, ByteWriter } from '../core/bytes.js';
import { type Extension, readExtensions, writeExtensions } from './extensions.js';

/**
 * DTLS 1.2 handshake message bodies (RFC 5246 §7.4, RFC 6347 §4.2.1, RFC 8422 §5).
 * Each has `parseX(body)` and `serializeX(x)`; bodies exclude the 12-byte DTLS handshake header.
 */

/** ClientHello (RFC 6347 §4.2.1 adds the cookie). */
export interface ClientHello {
  readonly version: number;
  readonly random: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly cookie: Uint8Array;
  readonly cipherSuites: readonly number[];
  readonly compressionMethods: readonly number[];
  readonly extensions: readonly Extension[];
}

export function parseClientHello(body: Uint8Array): ClientHello {
  const r = new ByteReader(body, 'dtls');
  const version = r.u16('client_hello.version');
  const random = r.bytes(32, 'client_hello.random');
  const sessionId = r.bytes(r.u8('client_hello.session_id.length'), 'client_hello.session_id');
  if (sessionId.length > 32) r.fail('client_hello.session_id', 'longer than 32');
  const cookie = r.bytes(r.u8('client_hello.cookie.length'), 'client_hello.cookie');
  const nSuites = r.u16('client_hello.cipher_suites.length');
  if (nSuites % 2 !== 0 || nSuites === 0) r.fail('client_hello.cipher_suites.length', 'bad length');
  const suites = r.sub(nSuites, 'client_hello.cipher_suites');
  const cipherSuites: number[] = [];
  while (suites.remaining > 0) cipherSuites.push(suites.u16('client_hello.cipher_suite'));
  const nComp = r.u8('client_hello.compression_methods.length');
  if (nComp === 0) r.fail('client_hello.compression_methods.length', 'empty');
  const compressionMethods = Array.from(r.bytes(nComp, 'client_hello.compression_methods'));
  const extensions = readExtensions(r);
  return { version, random, sessionId, cookie, cipherSuites, compressionMethods, extensions };
}

export function serializeClientHello(m: ClientHello): Uint8Array {
  const w = new ByteWriter(256);
  w.u16(m.version).bytes(m.random);
  w.u8(m.sessionId.length).bytes(m.sessionId);
  w.u8(m.cookie.length).bytes(m.cookie);
  w.u16(m.cipherSuites.length * 2);
  for (const s of m.cipherSuites) w.u16(s);
  w.u8(m.compressionMethods.length);
  for (const c of m.compressionMethods) w.u8(c);
  writeExtensions(w, m.extensions);
  return w.finish();
}

/** HelloVerifyRequest (RFC 6347 §4.2.1). */
export interface HelloVerifyRequest {
  readonly version: number;
  readonly cookie: Uint8Array;
}

export function parseHelloVerifyRequest(body: Uint8Array): HelloVerifyRequest {
  const r = new ByteReader(body, 'dtls');
  const version = r.u16('hello_verify_request.version');
  const cookie = r.bytes(r.u8('hello_verify_request.cookie.length'), 'hello_verify_request.cookie');
  if (r.remaining !== 0) r.fail('hello_verify_request', 'trailing bytes');
  return { version, cookie };
}

export function serializeHelloVerifyRequest(m: HelloVerifyRequest): Uint8Array {
  return new ByteWriter(3 + m.cookie.length).u16(m.version).u8(m.cookie.length).bytes(m.cookie).finish();
}

/** ServerHello (RFC 5246 §7.4.1.3). */
export interface ServerHello {
  readonly version: number;
  readonly random: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly cipherSuite: number;
  readonly compressionMethod: number;
  readonly extensions: readonly Extension[];
}

export function parseServerHello(body: Uint8Array): ServerHello {
  const r = new ByteReader(body, 'dtls');
  const version = r.u16('server_hello.version');
  const random = r.bytes(32, 'server_hello.random');
  const sessionId = r.bytes(r.u8('server_hello.session_id.length'), 'server_hello.session_id');
  if (sessionId.length > 32) r.fail('server_hello.session_id', 'longer than 32');
  const cipherSuite = r.u16('server_hello.cipher_suite');
  const compressionMethod = r.u8('server_hello.compression_method');
  const extensions = readExtensions(r);
  return { version, random, sessionId, cipherSuite, compressionMethod, extensions };
}

export function serializeServerHello(m: ServerHello): Uint8Array {
  const w = new ByteWriter(128);
  w.u16(m.version).bytes(m.random);
  w.u8(m.sessionId.length).bytes(m.sessionId);
  w.u16(m.cipherSuite).u8(m.compressionMethod);
  writeExtensions(w, m.extensions);
  return w.finish();
}

/** Certificate: a chain of DER certificates, each with a u24 length (RFC 5246 §7.4.2). */
export interface CertificateMessage {
  readonly certificates: readonly Uint8Array[];
}

export function parseCertificate(body: Uint8Array): CertificateMessage {
  const r = new ByteReader(body, 'dtls');
  const list = r.sub(r.u24('certificate.list.length'), 'certificate.list');
  const certificates: Uint8Array[] = [];
  while (list.remaining > 0) certificates.push(list.bytes(list.u24('certificate.length'), 'certificate'));
  if (r.remaining !== 0) r.fail('certificate', 'trailing bytes');
  return { certificates };
}

export function serializeCertificate(m: CertificateMessage): Uint8Array {
  const w = new ByteWriter(1024);
  w.u24(m.certificates.reduce((n, c) => n + 3 + c.length, 0));
  for (const c of m.certificates) w.u24(c.length).bytes(c);
  return w.finish();
}

/** ServerKeyExchange for ECDHE with a named curve (RFC 8422 §5.4). */
export interface ServerKeyExchange {
  readonly namedGroup: number;
  readonly publicKey: Uint8Array;
  readonly signatureScheme: number;
  readonly signature: Uint8Array;
}

export function parseServerKeyExchange(body: Uint8Array): ServerKeyExchange {
  const r = new ByteReader(body, 'dtls');
  const curveType = r.u8('server_key_exchange.curve_type');
  if (curveType !== 3) r.fail('server_key_exchange.curve_type', `curve type ${curveType} is not named_curve`);
  const namedGroup = r.u16('server_key_exchange.named_curve');
  const publicKey = r.bytes(r.u8('server_key_exchange.public.length'), 'server_key_exchange.public');
  if (publicKey.length === 0) r.fail('server_key_exchange.public', 'empty');
  const signatureScheme = r.u16('server_key_exchange.signature_algorithm');
  const signature = r.bytes(r.u16('server_key_exchange.signature.length'), 'server_key_exchange.signature');
  if (r.remaining !== 0) r.fail('server_key_exchange', 'trailing bytes');
  return { namedGroup, publicKey, signatureScheme, signature };
}

/** The ServerECDHParams part, which is what the server signs (after both randoms). */
export function serializeEcdhParams(namedGroup: number, publicKey: Uint8Array): Uint8Array {
  return new ByteWriter(4 + publicKey.length)
    .u8(3)
    .u16(namedGroup)
    .u8(publicKey.length)
    .bytes(publicKey)
    .finish();
}

export function serializeServerKeyExchange(m: ServerKeyExchange): Uint8Array {
  const w = new ByteWriter(8 + m.publicKey.length + m.signature.length);
  w.bytes(serializeEcdhParams(m.namedGroup, m.publicKey));
  w.u16(m.signatureScheme).u16(m.signature.length).bytes(m.signature);
  return w.finish();
}

/** CertificateRequest (RFC 5246 §7.4.4). */
export interface CertificateRequest {
  readonly certificateTypes: readonly number[];
  readonly signatureSchemes: readonly number[];
  readonly authorities: readonly Uint8Array[];
}

export function parseCertificateRequest(body: Uint8Array): CertificateRequest {
  const r = new ByteReader(body, 'dtls');
  const certificateTypes = Array.from(
    r.bytes(r.u8('certificate_request.types.length'), 'certificate_request.types'),
  );
  const nSig = r.u16('certificate_request.signature_algorithms.length');
  if (nSig % 2 !== 0) r.fail('certificate_request.signature_algorithms.length', 'odd length');
  const sigs = r.sub(nSig, 'certificate_request.signature_algorithms');
  const signatureSchemes: number[] = [];
  while (sigs.remaining > 0) signatureSchemes.push(sigs.u16('certificate_request.signature_algorithm'));
  const cas = r.sub(r.u16('certificate_request.authorities.length'), 'certificate_request.authorities');
  const authorities: Uint8Array[] = [];
  while (cas.remaining > 0)
    authorities.push(cas.bytes(cas.u16('certificate_request.dn.length'), 'certificate_request.dn'));
  if (r.remaining !== 0) r.fail('certificate_request', 'trailing bytes');
  return { certificateTypes, signatureSchemes, authorities };
}

export function serializeCertificateRequest(m: CertificateRequest): Uint8Array {
  const w = new ByteWriter(64);
  w.u8(m.certificateTypes.length);
  for (const t of m.certificateTypes) w.u8(t);
  w.u16(m.signatureSchemes.length * 2);
  for (const s of m.signatureSchemes) w.u16(s);
  w.u16(m.authorities.reduce((n, a) => n + 2 + a.length, 0));
  for (const a of m.authorities) w.u16(a.length).bytes(a);
  return w.finish();
}

/** ClientKeyExchange for ECDHE: `opaque point<1..2^8-1>` (RFC 8422 §5.7). */
export function parseClientKeyExchange(body: Uint8Array): Uint8Array {
  const r = new ByteReader(body, 'dtls');
  const point = r.bytes(r.u8('client_key_exchange.public.length'), 'client_key_exchange.public');
  if (point.length === 0) r.fail('client_key_exchange.public', 'empty');
  if (r.remaining !== 0) r.fail('client_key_exchange', 'trailing bytes');
  return point;
}

export function serializeClientKeyExchange(point: Uint8Array): Uint8Array {
  return new ByteWriter(1 + point.length).u8(point.length).bytes(point).finish();
}

/** CertificateVerify / digitally-signed struct (RFC 5246 §4.7, §7.4.8). */
export interface DigitallySigned {
  readonly signatureScheme: number;
  readonly signature: Uint8Array;
}

export function parseDigitallySigned(body: Uint8Array): DigitallySigned {
  const r = new ByteReader(body, 'dtls');
  const signatureScheme = r.u16('certificate_verify.algorithm');
  const signature = r.bytes(r.u16('certificate_verify.signature.length'), 'certificate_verify.signature');
  if (r.remaining !== 0) r.fail('certificate_verify', 'trailing bytes');
  return { signatureScheme, signature };
}

export function serializeDigitallySigned(m: DigitallySigned): Uint8Array {
  return new ByteWriter(4 + m.signature.length)
    .u16(m.signatureScheme)
    .u16(m.signature.length)
    .bytes(m.signature)
    .finish();
}

/** ServerHelloDone has an empty body (RFC 5246 §7.4.5). */
export function parseServerHelloDone(body: Uint8Array): void {
  const r = new ByteReader(body, 'dtls');
  if (r.remaining !== 0) r.fail('server_hello_done', 'not empty');
}

/** Finished: verify_data of 12 bytes for every TLS 1.2 suite we support (RFC 5246 §7.4.9). */
export function parseFinished(body: Uint8Array): Uint8Array {
  const r = new ByteReader(body, 'dtls');
  const v = r.bytes(12, 'finished.verify_data');
  if (r.remaining !== 0) r.fail('finished', 'trailing bytes');
  return v;
}

/** Alert (RFC 5246 §7.2). */
export interface Alert {
  readonly level: number;
  readonly description: number;
}

export function parseAlert(fragment: Uint8Array): Alert {
  const r = new ByteReader(fragment, 'dtls');
  const level = r.u8('alert.level');
  const description = r.u8('alert.description');
  if (r.remaining !== 0) r.fail('alert', 'trailing bytes');
  return { level, description };
}

export function serializeAlert(a: Alert): Uint8Array {
  return Uint8Array.of(a.level, a.description);
}
