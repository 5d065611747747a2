/**
 * The cipher suites we implement (IANA TLS Cipher Suites registry). All are ECDHE; the
 * authentication half must match the certificate's key type.
 */
export type BulkCipher = 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305' | 'aes-128-cbc' | 'aes-256-cbc';
export type PrfHash = 'sha256' | 'sha384';

export interface CipherSuite {
  readonly id: number;
  readonly name: string;
  readonly auth: 'ecdsa' | 'rsa';
  readonly cipher: BulkCipher;
  readonly kind: 'aead' | 'cbc';
  readonly keyLength: number;
  /** Implicit IV from the key block: 4 (GCM salt, RFC 5288), 12 (ChaCha20, RFC 7905), 0 (CBC). */
  readonly fixedIvLength: number;
  /** HMAC key length for CBC suites (SHA-1: 20), 0 for AEAD. */
  readonly macLength: number;
  /** PRF and handshake hash (RFC 5246 §5; SHA-384 for *_SHA384 suites). */
  readonly prfHash: PrfHash;
}

const S = (
  id: number,
  name: string,
  auth: 'ecdsa' | 'rsa',
  cipher: BulkCipher,
  prfHash: PrfHash = 'sha256',
): CipherSuite => {
  const kind = cipher.endsWith('cbc') ? 'cbc' : 'aead';
  return {
    id,
    name,
    auth,
    cipher,
    kind,
    keyLength: cipher.startsWith('aes-128') ? 16 : 32,
    fixedIvLength: cipher === 'chacha20-poly1305' ? 12 : kind === 'aead' ? 4 : 0,
    macLength: kind === 'cbc' ? 20 : 0,
    prfHash,
  };
};

// RFC 5289 §3.2 (GCM), RFC 7905 §2 (ChaCha20-Poly1305), RFC 8422 §6 (CBC).
export const TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 = 0xc02b;
export const TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 = 0xc02c;
export const TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 = 0xc02f;
export const TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 = 0xc030;
export const TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 = 0xcca8;
export const TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 = 0xcca9;
export const TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA = 0xc009;
export const TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA = 0xc00a;
export const TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA = 0xc013;
export const TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA = 0xc014;

/** Every suite, in our default order of preference. */
export const CIPHER_SUITES: readonly CipherSuite[] = [
  S(
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
    'ecdsa',
    'aes-128-gcm',
  ),
  S(TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'rsa', 'aes-128-gcm'),
  S(
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
    'ecdsa',
    'aes-256-gcm',
    'sha384',
  ),
  S(
    TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
    'rsa',
    'aes-256-gcm',
    'sha384',
  ),
  S(
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
    'ecdsa',
    'chacha20-poly1305',
  ),
  S(
    TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
    'rsa',
    'chacha20-poly1305',
  ),
  S(TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA', 'ecdsa', 'aes-128-cbc'),
  S(TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA', 'rsa', 'aes-128-cbc'),
  S(TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA', 'ecdsa', 'aes-256-cbc'),
  S(TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA', 'rsa', 'aes-256-cbc'),
];

const BY_ID = new Map(CIPHER_SUITES.map((s) => [s.id, s]));

export function cipherSuiteById(id: number): CipherSuite | undefined {
  return BY_ID.get(id);
}
