import { createHash, createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { createSelfSigned } from './self-signed.js';

/** A fingerprint as the W3C `RTCDtlsFingerprint` dictionary has it. */
export interface DtlsFingerprint {
  /** Hash function name as in SDP: 'sha-256' (also 'sha-1', 'sha-384', 'sha-512'). */
  readonly algorithm: string;
  /** Upper-case hex bytes separated by colons: 'AB:CD:...'. */
  readonly value: string;
}

/** Key generation parameters, as for `RTCPeerConnection.generateCertificate`. */
export type CertificateKeygenAlgorithm =
  | { name: 'ECDSA'; namedCurve: 'P-256' }
  | { name: 'RSASSA-PKCS1-v1_5'; modulusLength?: number; publicExponent?: Uint8Array; hash?: 'SHA-256' };

/**
 * A certificate with its private key, shaped like the W3C `RTCCertificate`: `expires` and
 * `getFingerprints()`. `der` and `privateKey` are what the DTLS engine uses.
 */
export interface DtlsCertificate {
  /** The certificate in DER. */
  readonly der: Uint8Array;
  readonly privateKey: KeyObject;
  /** Expiry in milliseconds since the Unix epoch. */
  readonly expires: number;
  getFingerprints(): DtlsFingerprint[];
}

const HASHES: Record<string, string> = {
  'sha-1': 'sha1',
  'sha-256': 'sha256',
  'sha-384': 'sha384',
  'sha-512': 'sha512',
};

/** The fingerprint of a DER certificate with the SDP hash name `algorithm` (default sha-256). */
export function fingerprintOf(der: Uint8Array, algorithm = 'sha-256'): DtlsFingerprint {
  const h = HASHES[algorithm.toLowerCase()];
  if (!h) throw new TypeError(`unsupported fingerprint algorithm ${algorithm}`);
  const hex = createHash(h).update(der).digest('hex').toUpperCase();
  return { algorithm: algorithm.toLowerCase(), value: hex.match(/../g)!.join(':') };
}

/** Format as the SDP a=fingerprint value: `sha-256 AB:CD:...`. */
export function formatFingerprint(f: DtlsFingerprint): string {
  return `${f.algorithm} ${f.value}`;
}

/** Parse `sha-256 AB:CD:...` (case-insensitive) into a fingerprint. */
export function parseFingerprint(text: string): DtlsFingerprint {
  const m = /^\s*(\S+)\s+([0-9a-fA-F]{2}(?::[0-9a-fA-F]{2})+)\s*$/.exec(text);
  if (!m) throw new TypeError(`invalid fingerprint: ${text}`);
  return { algorithm: m[1]!.toLowerCase(), value: m[2]!.toUpperCase() };
}

/** True when `der` matches `f` (hash recomputed with f's algorithm). */
export function matchesFingerprint(der: Uint8Array, f: DtlsFingerprint): boolean {
  if (!HASHES[f.algorithm.toLowerCase()]) return false;
  return fingerprintOf(der, f.algorithm).value === f.value.toUpperCase();
}

function wrap(der: Uint8Array, privateKey: KeyObject, expires: number): DtlsCertificate {
  const copy = Uint8Array.from(der);
  let sha256: DtlsFingerprint | undefined;
  return {
    der: copy,
    privateKey,
    expires,
    getFingerprints: () => [(sha256 ??= fingerprintOf(copy, 'sha-256'))],
  };
}

/** Use an existing certificate and key (PEM or DER certificate; PEM/DER key or a KeyObject). */
export function certificateFromPem(
  certificate: string | Uint8Array,
  privateKey: string | KeyObject,
): DtlsCertificate {
  const cert = new X509Certificate(typeof certificate === 'string' ? certificate : Buffer.from(certificate));
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  if (!cert.checkPrivateKey(key)) throw new TypeError('private key does not match the certificate');
  return wrap(cert.raw, key, Date.parse(cert.validTo));
}

/**
 * Generate a self-signed certificate (default ECDSA P-256, valid 30 days, random CN); see
 * self-signed.ts.
 */
export async function generateCertificate(
  algorithm: CertificateKeygenAlgorithm = { name: 'ECDSA', namedCurve: 'P-256' },
  options: { commonName?: string; validityMs?: number; now?: number } = {},
): Promise<DtlsCertificate> {
  const now = options.now ?? Date.now();
  const notAfter = new Date(now + (options.validityMs ?? 30 * 86_400_000));
  const exponent = algorithm.name === 'ECDSA' ? undefined : algorithm.publicExponent;
  const { der, privateKey } = await createSelfSigned({
    key:
      algorithm.name === 'ECDSA'
        ? { type: 'ec' }
        : {
            type: 'rsa',
            modulusLength: algorithm.modulusLength ?? 2048,
            publicExponent: exponent ? exponent.reduce((n, b) => n * 256 + b, 0) : 65537,
          },
    ...(options.commonName !== undefined && { commonName: options.commonName }),
    notBefore: new Date(now - 86_400_000),
    notAfter,
  });
  return wrap(der, privateKey, notAfter.getTime());
}

/** PEM of a certificate's DER (for handing to OpenSSL or files). */
export function certificateToPem(c: DtlsCertificate): { cert: string; key: string } {
  const b64 = Buffer.from(c.der)
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n');
  return {
    cert: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`,
    key: c.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}
