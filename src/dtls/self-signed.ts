/**
 * Self-signed certificates for DTLS (RFC 8827 §6.5: WebRTC checks the certificate against the
 * signaled fingerprint, not a CA). The X.509 structures come from @peculiar/asn1-x509 and
 * @peculiar/asn1-schema (the ASN.1 layer @peculiar/x509 is built on), keys and the signature from
 * node:crypto. Building the TBSCertificate directly costs about 1 ms per P-256 certificate; the
 * @peculiar/x509 generator on WebCrypto took about 4 ms (it re-parses what it built), all on the
 * event loop, and every new RTCPeerConnection needs one.
 */
import { generateKeyPair, type KeyObject, randomBytes, sign } from 'node:crypto';
import { promisify } from 'node:util';
// @peculiar/asn1-schema needs the Reflect metadata polyfill loaded before it.
import 'reflect-metadata';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  Certificate,
  Name,
  RelativeDistinguishedName,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';

/** RFC 5758 §3.2 ecdsa-with-SHA256. */
const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
/** RFC 4055 §5 sha256WithRSAEncryption (parameters NULL). */
const OID_SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
/** X.520 commonName. */
const OID_COMMON_NAME = '2.5.4.3';
/** RFC 5480 §2.1.1 id-ecPublicKey. */
const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
/** DER of the secp256r1 OID, the namedCurve parameters of a P-256 key (RFC 5480 §2.1.1.1). */
const DER_P256 = Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07);
/** DER NULL, the parameters of the RSA signature algorithm (RFC 4055 §5). */
const DER_NULL = new Uint8Array([0x05, 0x00]);

const generateKeyPairAsync = promisify(generateKeyPair);

export interface SelfSignedRequest {
  readonly key: { type: 'ec' } | { type: 'rsa'; modulusLength: number; publicExponent: number };
  readonly commonName?: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

const arrayBuffer = (b: Uint8Array): ArrayBuffer =>
  b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

/**
 * SubjectPublicKeyInfo (RFC 5280 §4.1.2.7). A P-256 key is written from its JWK point (RFC 5480
 * §2: id-ecPublicKey, namedCurve secp256r1, the uncompressed point): OpenSSL 3's SPKI encoder costs
 * about 0.3 ms, the JWK export microseconds. Other keys go through the encoder.
 */
function publicKeyInfo(publicKey: KeyObject, type: 'ec' | 'rsa'): SubjectPublicKeyInfo {
  if (type === 'rsa') {
    return AsnConvert.parse(publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo);
  }
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([
    Uint8Array.of(0x04),
    Buffer.from(jwk.x ?? '', 'base64url'),
    Buffer.from(jwk.y ?? '', 'base64url'),
  ]);
  return new SubjectPublicKeyInfo({
    algorithm: new AlgorithmIdentifier({ algorithm: OID_EC_PUBLIC_KEY, parameters: arrayBuffer(DER_P256) }),
    subjectPublicKey: arrayBuffer(point),
  });
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
  const serial = randomBytes(8);
  serial[0]! &= 0x7f;
  serial[0]! |= 0x01;
  const name = new Name([
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({
        type: OID_COMMON_NAME,
        value: new AttributeValue({ utf8String: r.commonName ?? `rtcstack-${serial.toString('hex')}` }),
      }),
    ]),
  ]);
  const signatureAlgorithm =
    r.key.type === 'ec'
      ? new AlgorithmIdentifier({ algorithm: OID_ECDSA_WITH_SHA256 })
      : new AlgorithmIdentifier({ algorithm: OID_SHA256_WITH_RSA, parameters: arrayBuffer(DER_NULL) });
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: arrayBuffer(serial),
    signature: signatureAlgorithm,
    issuer: name,
    validity: new Validity({ notBefore: r.notBefore, notAfter: r.notAfter }),
    subject: name,
    subjectPublicKeyInfo: publicKeyInfo(publicKey, r.key.type),
  });
  const signed = new Uint8Array(AsnConvert.serialize(tbs));
  const signature = sign('sha256', signed, { key: privateKey, dsaEncoding: 'der' });
  const cert = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm,
    signatureValue: arrayBuffer(signature),
  });
  // node computes a key's details (the curve) on first use and keeps them: do it here, ahead of
  // the handshake that chooses its signature scheme (about 0.1 ms).
  void privateKey.asymmetricKeyDetails;
  return { der: new Uint8Array(AsnConvert.serialize(cert)), privateKey };
}
