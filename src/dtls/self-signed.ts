/**
 * Self-signed X.509 v3 certificates (RFC 5280 §4.1) written directly in DER, keys and signatures
 * from node:crypto. WebRTC peers authenticate DTLS certificates by their SDP fingerprint only, so
 * the certificate is the minimum: serial, signature algorithm, CN issuer = subject, validity and
 * the public key, no extensions.
 *
 *   Certificate  ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
 *   TBSCertificate ::= SEQUENCE { [0] version v3, serialNumber, signature, issuer, validity,
 *                                 subject, subjectPublicKeyInfo }
 *
 * About a millisecond per ECDSA P-256 certificate (key generation runs on the libuv pool), where a
 * general ASN.1 library takes 10 to 30 ms and a long first import.
 */
import { generateKeyPair, type KeyObject, randomBytes, sign } from 'node:crypto';

// DER tags (X.690 §8).
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const NULL = 0x05;
const OID = 0x06;
const UTF8_STRING = 0x0c;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;
const SEQUENCE = 0x30;
const SET = 0x31;
/** [0] EXPLICIT, constructed (the TBSCertificate version field). */
const CONTEXT_0 = 0xa0;

// Object identifiers, DER content bytes.
/** ecdsa-with-SHA256, 1.2.840.10045.4.3.2 (RFC 5758 §3.2). */
const OID_ECDSA_SHA256 = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
/** sha256WithRSAEncryption, 1.2.840.113549.1.1.11 (RFC 4055 §5). */
const OID_RSA_SHA256 = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
/** id-at-commonName, 2.5.4.3 (RFC 5280 appendix A). */
const OID_COMMON_NAME = [0x55, 0x04, 0x03];

/** One DER TLV with a definite length. */
function tlv(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  const len =
    n < 0x80
      ? [n]
      : n < 0x100
        ? [0x81, n]
        : n < 0x10000
          ? [0x82, n >>> 8, n & 0xff]
          : [0x83, n >>> 16, (n >>> 8) & 0xff, n & 0xff];
  const out = new Uint8Array(1 + len.length + n);
  out[0] = tag;
  out.set(len, 1);
  out.set(content, 1 + len.length);
  return out;
}

function cat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const seq = (...parts: Uint8Array[]): Uint8Array => tlv(SEQUENCE, cat(...parts));

/**
 * UTCTime for 1950..2049, GeneralizedTime otherwise (RFC 5280 §4.1.2.5), always with seconds and
 * 'Z'.
 */
function time(ms: number): Uint8Array {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const p2 = (v: number): string => String(v).padStart(2, '0');
  const rest = `${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}${p2(d.getUTCSeconds())}Z`;
  const utc = y >= 1950 && y < 2050;
  const text = utc ? `${p2(y % 100)}${rest}` : `${String(y).padStart(4, '0')}${rest}`;
  return tlv(utc ? UTC_TIME : GENERALIZED_TIME, new TextEncoder().encode(text));
}

export interface SelfSignedOptions {
  readonly algorithm: 'ecdsa-p256' | 'rsa';
  /** RSA modulus bits (default 2048). */
  readonly modulusLength?: number;
  /** RSA public exponent (default 65537). */
  readonly publicExponent?: number;
  readonly commonName?: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

export interface SelfSigned {
  readonly der: Uint8Array;
  readonly privateKey: KeyObject;
  /** The serial number, hex (positive, 8 bytes). */
  readonly serial: string;
}

/**
 * SubjectPublicKeyInfo of a P-256 key up to the point (RFC 5480 §2: id-ecPublicKey, prime256v1,
 * BIT STRING of 66 bytes); the uncompressed point 04||x||y follows.
 */
const P256_SPKI_PREFIX = Uint8Array.from([
  0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
  0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
]);

/** The SPKI DER of a public key; P-256 from its JWK (OpenSSL 3's DER encoder costs ~1 ms). */
function spkiOf(publicKey: KeyObject): Uint8Array {
  if (publicKey.asymmetricKeyType === 'ec') {
    const jwk = publicKey.export({ format: 'jwk' });
    const x = Buffer.from(jwk.x ?? '', 'base64url');
    const y = Buffer.from(jwk.y ?? '', 'base64url');
    if (jwk.crv === 'P-256' && x.length === 32 && y.length === 32) return cat(P256_SPKI_PREFIX, x, y);
  }
  return new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
}

function keyPair(o: SelfSignedOptions): Promise<{ spki: Uint8Array; privateKey: KeyObject }> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, publicKey: KeyObject, privateKey: KeyObject): void => {
      if (err) reject(err);
      else resolve({ spki: spkiOf(publicKey), privateKey });
    };
    if (o.algorithm === 'ecdsa-p256') generateKeyPair('ec', { namedCurve: 'P-256' }, done);
    else
      generateKeyPair(
        'rsa',
        { modulusLength: o.modulusLength ?? 2048, publicExponent: o.publicExponent ?? 65537 },
        done,
      );
  });
}

/** Generate a key pair and a self-signed certificate for it, signed with SHA-256. */
export async function generateSelfSigned(o: SelfSignedOptions): Promise<SelfSigned> {
  const { spki, privateKey } = await keyPair(o);
  const serialBytes = randomBytes(8);
  serialBytes[0]! &= 0x7f; // positive
  if (serialBytes[0] === 0) serialBytes[0] = 1; // and minimal (no leading zero octet)
  const serial = serialBytes.toString('hex');
  const cn = o.commonName ?? `rtcstack-${serial}`;
  // RFC 5758 §3.2: ECDSA algorithm identifiers have no parameters; RFC 4055 §5: RSA ones a NULL.
  const sigAlg =
    o.algorithm === 'ecdsa-p256'
      ? seq(tlv(OID, Uint8Array.from(OID_ECDSA_SHA256)))
      : seq(tlv(OID, Uint8Array.from(OID_RSA_SHA256)), tlv(NULL, new Uint8Array(0)));
  const name = seq(
    tlv(SET, seq(tlv(OID, Uint8Array.from(OID_COMMON_NAME)), tlv(UTF8_STRING, new TextEncoder().encode(cn)))),
  );
  const tbs = seq(
    tlv(CONTEXT_0, tlv(INTEGER, Uint8Array.of(2))), // v3
    tlv(INTEGER, new Uint8Array(serialBytes)),
    sigAlg,
    name,
    seq(time(o.notBefore), time(o.notAfter)),
    name,
    spki,
  );
  // ECDSA signatures come DER-encoded (Ecdsa-Sig-Value) from node:crypto, as X.509 wants them.
  const signature = sign('sha256', tbs, privateKey);
  const der = seq(tbs, sigAlg, tlv(BIT_STRING, cat(Uint8Array.of(0), new Uint8Array(signature))));
  return { der, privateKey, serial };
}
