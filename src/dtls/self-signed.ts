/**
 * Self-signed certificates for DTLS (RFC 8827 §6.5: WebRTC checks the certificate against the
 * signaled fingerprint, not a CA). Every new RTCPeerConnection needs one, so the event loop does
 * little: the key pair and the signature are made in node's thread pool, and the DER (a fixed shape:
 * RFC 5280 §4.1 with one CN, no extensions) is written directly with der.ts in microseconds (an
 * ASN.1 schema library took about 1-2.5 ms per certificate).
 */
import { generateKeyPair, type KeyObject, sign } from 'node:crypto';
import { promisify } from 'node:util';
import { cryptoRandom } from '../core/random.js';
import {
  bitString,
  derNull,
  explicit0,
  oid,
  sequence,
  set,
  smallInteger,
  unsignedInteger,
  utf8String,
  x509Time,
} from './der.js';
import { noteCurve } from './signature.js';

/** RFC 5758 §3.2 ecdsa-with-SHA256. */
const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
/** RFC 4055 §5 sha256WithRSAEncryption (parameters NULL). */
const OID_SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
/** X.520 commonName. */
const OID_COMMON_NAME = '2.5.4.3';
/** RFC 5480 §2.1.1 id-ecPublicKey. */
const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
/** RFC 5480 §2.1.1.1 secp256r1, the namedCurve parameters of a P-256 key. */
const OID_P256 = '1.2.840.10045.3.1.7';
/** RFC 5280 §4.1.2.1: v3 is INTEGER 2. */
const VERSION_V3 = 2;

/**
 * The constant parts, encoded once. AlgorithmIdentifiers: ECDSA without parameters (RFC 5758
 * §3.2), RSA with NULL (RFC 4055 §5).
 */
const ALG_ECDSA_WITH_SHA256 = sequence(oid(OID_ECDSA_WITH_SHA256));
const ALG_SHA256_WITH_RSA = sequence(oid(OID_SHA256_WITH_RSA), derNull());
/** SubjectPublicKeyInfo.algorithm of a P-256 key (RFC 5480 §2.1.1). */
const ALG_EC_P256 = sequence(oid(OID_EC_PUBLIC_KEY), oid(OID_P256));
const CN = oid(OID_COMMON_NAME);
const VERSION = explicit0(smallInteger(VERSION_V3));

const generateKeyPairAsync = promisify(generateKeyPair);
const signAsync = promisify(sign);

export interface SelfSignedRequest {
  readonly key: { type: 'ec' } | { type: 'rsa'; modulusLength: number; publicExponent: number };
  readonly commonName?: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/**
 * SubjectPublicKeyInfo (RFC 5280 §4.1.2.7). A P-256 key is written from its JWK point (RFC 5480
 * §2: id-ecPublicKey, namedCurve secp256r1, the uncompressed point): OpenSSL 3's SPKI encoder costs
 * about 0.3 ms or more, the JWK export a tenth of it. Other keys go through the encoder.
 */
function publicKeyInfo(publicKey: KeyObject, type: 'ec' | 'rsa'): Uint8Array {
  if (type === 'rsa') return publicKey.export({ type: 'spki', format: 'der' });
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([
    Uint8Array.of(0x04),
    Buffer.from(jwk.x ?? '', 'base64url'),
    Buffer.from(jwk.y ?? '', 'base64url'),
  ]);
  return sequence(ALG_EC_P256, bitString(point));
}

/** A fresh key pair (in the thread pool) and a certificate for it signed by itself. */
export async function createSelfSigned(
  r: SelfSignedRequest,
): Promise<{ der: Uint8Array; privateKey: KeyObject }> {
  const { publicKey, privateKey } =
    r.key.type === 'ec'
      ? await generateKeyPairAsync('ec', { namedCurve: 'P-256' })
      : await generateKeyPairAsync('rsa', {
          modulusLength: r.key.modulusLength,
          publicExponent: r.key.publicExponent,
        });
  // RFC 5280 §4.1.2.2: a positive serial of at most 20 bytes.
  const serial = cryptoRandom.bytes(8);
  serial[0]! &= 0x7f;
  serial[0]! |= 0x01;
  // Name (RFC 5280 §4.1.2.4): one RDN with the commonName.
  const name = sequence(
    set(sequence(CN, utf8String(r.commonName ?? `rtcstack-${Buffer.from(serial).toString('hex')}`))),
  );
  const signatureAlgorithm = r.key.type === 'ec' ? ALG_ECDSA_WITH_SHA256 : ALG_SHA256_WITH_RSA;
  // TBSCertificate (RFC 5280 §4.1): version, serial, signature, issuer, validity, subject, SPKI.
  const tbs = sequence(
    VERSION,
    unsignedInteger(serial),
    signatureAlgorithm,
    name,
    sequence(x509Time(r.notBefore), x509Time(r.notAfter)),
    name,
    publicKeyInfo(publicKey, r.key.type),
  );
  // Signed in the thread pool too: queuing the job costs the event loop ~10 us, signing in place
  // ~40-60 us (each is the least of several hundred runs).
  const signature = await signAsync('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
  // The handshake chooses its signature scheme by the key's curve: known here, so node need not
  // compute the key's details (~45 us on the event loop).
  if (r.key.type === 'ec') noteCurve(privateKey, 'prime256v1');
  return { der: sequence(tbs, signatureAlgorithm, bitString(signature)), privateKey };
}
