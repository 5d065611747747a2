import {
  createECDH,
  createPublicKey,
  diffieHellman,
  generateKeyPair,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
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

interface KeyPair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
  readonly at: number;
}

/**
 * X25519 key pairs generated ahead in node's thread pool (the event loop only queues the job, ~10 us
 * against ~50 us for generating in place), each handed to exactly one handshake and then dropped.
 * Two, as connections come in pairs when both ends run in one process.
 */
const SPARES = 2;
/** A spare older than this is discarded unused: an ephemeral key should not wait long for its handshake. */
const SPARE_MAX_AGE_MS = 30_000;
const spares: KeyPair[] = [];
let generating = 0;

function topUpSpares(): void {
  while (spares.length + generating < SPARES) {
    generating++;
    generateKeyPair('x25519', undefined, (err, publicKey, privateKey) => {
      generating--;
      if (!err) spares.push({ publicKey, privateKey, at: Date.now() });
    });
  }
}

/** X25519 spares ready now (for tests). */
export const readyEcdheSpares = (): number => spares.length;

/** A fresh X25519 key pair: a spare generated ahead if one is ready, else one made now. */
function freshX25519(): { publicKey: KeyObject; privateKey: KeyObject } {
  const now = Date.now();
  let pair = spares.shift();
  while (pair && now - pair.at >= SPARE_MAX_AGE_MS) pair = spares.shift();
  topUpSpares();
  return pair ?? generateKeyPairSync('x25519');
}

export function createEcdheKey(group: number): EcdheKey {
  if (group === GROUP_X25519) {
    // Raw values go through JWK: OpenSSL 3's DER (SPKI) encoder and decoder cost about a
    // millisecond each, JWK microseconds.
    const { publicKey, privateKey } = freshX25519();
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
