import { constants, type KeyObject, sign, verify } from 'node:crypto';
import {
  ALERT_DECRYPT_ERROR,
  SIG_ECDSA_SECP256R1_SHA256,
  SIG_ECDSA_SECP384R1_SHA384,
  SIG_RSA_PKCS1_SHA256,
  SIG_RSA_PKCS1_SHA384,
  SIG_RSA_PSS_RSAE_SHA256,
  SIG_RSA_PSS_RSAE_SHA384,
} from './constants.js';
import { DtlsError } from './errors.js';

/** Signature schemes we accept, in preference order (RFC 8446 §4.2.3 code points). */
export const SIGNATURE_SCHEMES: readonly number[] = [
  SIG_ECDSA_SECP256R1_SHA256,
  SIG_RSA_PSS_RSAE_SHA256,
  SIG_RSA_PKCS1_SHA256,
  SIG_ECDSA_SECP384R1_SHA384,
  SIG_RSA_PSS_RSAE_SHA384,
  SIG_RSA_PKCS1_SHA384,
];

interface Scheme {
  readonly hash: 'sha256' | 'sha384';
  readonly key: 'ec' | 'rsa';
  readonly pss: boolean;
}

const SCHEMES = new Map<number, Scheme>([
  [SIG_ECDSA_SECP256R1_SHA256, { hash: 'sha256', key: 'ec', pss: false }],
  [SIG_ECDSA_SECP384R1_SHA384, { hash: 'sha384', key: 'ec', pss: false }],
  [SIG_RSA_PKCS1_SHA256, { hash: 'sha256', key: 'rsa', pss: false }],
  [SIG_RSA_PKCS1_SHA384, { hash: 'sha384', key: 'rsa', pss: false }],
  [SIG_RSA_PSS_RSAE_SHA256, { hash: 'sha256', key: 'rsa', pss: true }],
  [SIG_RSA_PSS_RSAE_SHA384, { hash: 'sha384', key: 'rsa', pss: true }],
]);

function keyOptions(s: Scheme, key: KeyObject) {
  return s.pss
    ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
    : { key, dsaEncoding: 'der' as const };
}

/**
 * Curves of EC keys generated here, known without asking node: its `asymmetricKeyDetails` costs
 * ~45 us on first use of every key (once per connection, as each gets a fresh certificate).
 */
const knownCurves = new WeakMap<KeyObject, string>();

/** Record the curve (node's name, e.g. 'prime256v1') of an EC key generated with it. */
export function noteCurve(key: KeyObject, namedCurve: string): void {
  knownCurves.set(key, namedCurve);
}

/** Schemes from `offered` that `key` can make, ours first (undefined if none). */
export function chooseScheme(key: KeyObject, offered: readonly number[]): number | undefined {
  const type = key.asymmetricKeyType;
  const curve = type === 'ec' ? (knownCurves.get(key) ?? key.asymmetricKeyDetails?.namedCurve) : undefined;
  for (const id of SIGNATURE_SCHEMES) {
    const s = SCHEMES.get(id)!;
    if (!offered.includes(id)) continue;
    if (s.key === 'rsa' && type === 'rsa') return id;
    if (s.key === 'ec' && type === 'ec') {
      if (id === SIG_ECDSA_SECP256R1_SHA256 && curve === 'prime256v1') return id;
      if (id === SIG_ECDSA_SECP384R1_SHA384 && curve === 'secp384r1') return id;
    }
  }
  return undefined;
}

export function signWith(scheme: number, key: KeyObject, data: Uint8Array): Uint8Array {
  const s = SCHEMES.get(scheme);
  if (!s) throw new Error(`unsupported signature scheme 0x${scheme.toString(16)}`);
  return new Uint8Array(sign(s.hash, data, keyOptions(s, key)));
}

/** True when `signature` is valid; false for a bad signature, unknown scheme or key mismatch. */
export function verifyWith(scheme: number, key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  const s = SCHEMES.get(scheme);
  if (!s) return false;
  if ((s.key === 'rsa') !== (key.asymmetricKeyType === 'rsa')) return false;
  try {
    return verify(s.hash, data, keyOptions(s, key), signature);
  } catch {
    return false;
  }
}

/**
 * The check of every signature a peer makes in a handshake (DTLS 1.2 ServerKeyExchange and
 * CertificateVerify, 1.3 CertificateVerify): a scheme from `allowed`, valid over `data`; otherwise
 * bad signature with a decrypt_error alert (RFC 5246 §7.4.3, RFC 8446 §4.4.3).
 */
export function requirePeerSignature(
  what: string,
  allowed: readonly number[],
  signed: { readonly signatureScheme: number; readonly signature: Uint8Array },
  key: KeyObject,
  data: Uint8Array,
): void {
  if (
    !allowed.includes(signed.signatureScheme) ||
    !verifyWith(signed.signatureScheme, key, data, signed.signature)
  )
    throw new DtlsError('ERR_DTLS_BAD_SIGNATURE', ALERT_DECRYPT_ERROR, `${what} does not verify`);
}
