import { createECDH, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { ALERT_ILLEGAL_PARAMETER, GROUP_SECP256R1, GROUP_X25519 } from './constants.js';
import { DtlsError } from './errors.js';

/** An ephemeral ECDHE key pair for one handshake (RFC 8422 §5.4, RFC 7748 for X25519). */
export interface EcdheKey {
  readonly group: number;
  /** Our public value as sent on the wire (32 bytes X25519, 65-byte uncompressed point P-256). */
  readonly publicKey: Uint8Array;
  /** The shared secret with the peer's public value; throws DtlsError for an invalid value. */
  computeSecret(peer: Uint8Array): Uint8Array;
}

/** Groups we support, in preference order. */
export const SUPPORTED_GROUPS: readonly number[] = [GROUP_X25519, GROUP_SECP256R1];

function invalid(cause: unknown): DtlsError {
  return new DtlsError('ERR_DTLS_BAD_KEY_SHARE', ALERT_ILLEGAL_PARAMETER, 'invalid ECDHE public value', {
    cause,
  });
}

export function createEcdheKey(group: number): EcdheKey {
  if (group === GROUP_X25519) {
    // Raw values go through JWK: OpenSSL 3's DER (SPKI) encoder and decoder cost about a
    // millisecond each, JWK microseconds.
    const { publicKey, privateKey } = generateKeyPairSync('x25519');
    const x = publicKey.export({ format: 'jwk' }).x ?? '';
    return {
      group,
      publicKey: new Uint8Array(Buffer.from(x, 'base64url')),
      computeSecret(peer) {
        if (peer.length !== 32) throw invalid(new Error(`X25519 value of ${peer.length} bytes`));
        try {
          const pub = createPublicKey({
            key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(peer).toString('base64url') },
            format: 'jwk',
          });
          return new Uint8Array(diffieHellman({ privateKey, publicKey: pub }));
        } catch (err) {
          throw invalid(err);
        }
      },
    };
  }
  if (group === GROUP_SECP256R1) {
    const ecdh = createECDH('prime256v1');
    const pub = ecdh.generateKeys();
    return {
      group,
      publicKey: new Uint8Array(pub),
      computeSecret(peer) {
        if (peer.length !== 65 || peer[0] !== 4) throw invalid(new Error('not an uncompressed P-256 point'));
        try {
          return new Uint8Array(ecdh.computeSecret(peer));
        } catch (err) {
          throw invalid(err);
        }
      },
    };
  }
  throw new DtlsError('ERR_DTLS_BAD_GROUP', ALERT_ILLEGAL_PARAMETER, `unsupported group ${group}`);
}
