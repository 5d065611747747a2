/**
 * The public key of a peer's certificate without a full X.509 parse. WebRTC does not validate the
 * certificate (RFC 8827 §6.5: it must match the signaled fingerprint), it only needs the key that
 * signs CertificateVerify. node's X509Certificate parses everything (about 0.2-0.6 ms per fresh
 * certificate); walking the DER to the SubjectPublicKeyInfo and importing a P-256 point as JWK
 * costs about half. Other key types go through the SPKI DER import.
 *
 *   Certificate  ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }     (RFC 5280 §4.1)
 *   TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer,
 *                                 validity, subject, subjectPublicKeyInfo, ... }
 *   SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { ByteReader } from '../core/bytes.js';

const TAG_SEQUENCE = 0x30;
const TAG_BIT_STRING = 0x03;
const TAG_OID = 0x06;
/** [0] EXPLICIT, constructed (the version field). */
const TAG_CONTEXT_0 = 0xa0;
/** RFC 5480 §2.1.1 id-ecPublicKey, DER content bytes. */
const OID_EC_PUBLIC_KEY = '2a8648ce3d0201';
/** RFC 5480 §2.1.1.1 secp256r1, DER content bytes. */
const OID_P256 = '2a8648ce3d030107';

/** One DER TLV: tag and a reader over its content (definite lengths only, as DER requires). */
function tlv(r: ByteReader, field: string): { tag: number; body: ByteReader; raw: Uint8Array } {
  const start = r.offset;
  const tag = r.u8(field);
  let len = r.u8(field);
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3) r.fail(field, `unsupported DER length of ${n} bytes`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + r.u8(field);
  }
  const body = r.sub(len, field);
  return { tag, body, raw: r.buf.subarray(start, r.offset) };
}

function expect(r: ByteReader, tag: number, field: string): ByteReader {
  const t = tlv(r, field);
  if (t.tag !== tag) r.fail(field, `tag 0x${t.tag.toString(16)}, expected 0x${tag.toString(16)}`);
  return t.body;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** The DER SubjectPublicKeyInfo of a DER certificate; throws ParseError when it is not one. */
export function subjectPublicKeyInfo(der: Uint8Array): Uint8Array {
  const cert = expect(new ByteReader(der, 'x509'), TAG_SEQUENCE, 'certificate');
  const tbs = expect(cert, TAG_SEQUENCE, 'tbsCertificate');
  if (tbs.peekU8('version') === TAG_CONTEXT_0) tlv(tbs, 'version');
  for (const field of ['serialNumber', 'signature', 'issuer', 'validity', 'subject']) tlv(tbs, field);
  const spki = tlv(tbs, 'subjectPublicKeyInfo');
  if (spki.tag !== TAG_SEQUENCE) tbs.fail('subjectPublicKeyInfo', 'not a SEQUENCE');
  return spki.raw;
}

/**
 * The public key of a DER certificate. Throws ParseError for malformed DER and node's error for a
 * key it cannot import (an invalid curve point included).
 */
export function certificatePublicKey(der: Uint8Array): KeyObject {
  const spkiDer = subjectPublicKeyInfo(der);
  const spki = expect(new ByteReader(spkiDer, 'x509'), TAG_SEQUENCE, 'subjectPublicKeyInfo');
  const alg = expect(spki, TAG_SEQUENCE, 'algorithm');
  const oid = hex(expect(alg, TAG_OID, 'algorithm').rest());
  const params = alg.remaining > 0 ? tlv(alg, 'parameters') : undefined;
  const key = expect(spki, TAG_BIT_STRING, 'subjectPublicKey');
  if (
    oid === OID_EC_PUBLIC_KEY &&
    params?.tag === TAG_OID &&
    hex(params.body.rest()) === OID_P256 &&
    key.remaining === 66
  ) {
    // BIT STRING: 0 unused bits, then the uncompressed point 04 || X || Y (SEC 1 §2.3.3).
    const point = key.rest();
    if (point[0] === 0 && point[1] === 0x04) {
      const x = Buffer.from(point.subarray(2, 34)).toString('base64url');
      const y = Buffer.from(point.subarray(34, 66)).toString('base64url');
      return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x, y }, format: 'jwk' });
    }
  }
  return createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
}
