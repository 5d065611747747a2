import type { KeyObject } from 'node:crypto';
import { type DtlsFingerprint, fingerprintOf, formatFingerprint, matchesFingerprint } from './certificate.js';
import { certificatePublicKey } from './certificate-key.js';
import { ALERT_BAD_CERTIFICATE, ALERT_HANDSHAKE_FAILURE } from './constants.js';
import { DtlsError, DtlsFingerprintError } from './errors.js';

/**
 * Check the peer's certificate chain as WebRTC does (RFC 8827 §6.5): no CA validation, the leaf
 * must match one of the fingerprints from signaling (undefined = accept any). Returns the leaf
 * and its public key; throws DtlsError / DtlsFingerprintError (bad_certificate) otherwise.
 */
export function acceptPeerCertificate(
  chain: readonly Uint8Array[],
  expected: readonly DtlsFingerprint[] | undefined,
): { der: Uint8Array; publicKey: KeyObject } {
  const leaf = chain[0];
  if (!leaf)
    throw new DtlsError('ERR_DTLS_NO_CERTIFICATE', ALERT_HANDSHAKE_FAILURE, 'peer sent no certificate');
  // The fingerprint first: a certificate that does not match is refused before any parsing.
  if (expected !== undefined && !expected.some((f) => matchesFingerprint(leaf, f))) {
    throw new DtlsFingerprintError(
      formatFingerprint(fingerprintOf(leaf, expected[0]?.algorithm ?? 'sha-256')),
      expected.map(formatFingerprint),
    );
  }
  let publicKey: KeyObject;
  try {
    publicKey = certificatePublicKey(leaf);
  } catch (cause) {
    throw new DtlsError(
      'ERR_DTLS_BAD_CERTIFICATE',
      ALERT_BAD_CERTIFICATE,
      'peer certificate does not parse',
      { cause },
    );
  }
  return { der: Uint8Array.from(leaf), publicKey };
}
