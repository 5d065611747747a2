/**
 * SRTP key derivation (RFC 3711 §4.3) with the AES-CM PRF, key derivation rate 0 (what DTLS-SRTP
 * uses, RFC 5764 §4.1.2), and the 96-bit salt of the GCM profiles (RFC 7714 §11).
 */
import { createCipheriv } from 'node:crypto';
import type { MasterKey, SrtpProfile } from './profiles.js';

/** RFC 3711 §4.3.1 / §4.3.2 labels. */
export const LABEL_RTP_ENCRYPTION = 0x00;
export const LABEL_RTP_AUTH = 0x01;
export const LABEL_RTP_SALT = 0x02;
export const LABEL_RTCP_ENCRYPTION = 0x03;
export const LABEL_RTCP_AUTH = 0x04;
export const LABEL_RTCP_SALT = 0x05;

/** Session keys for one direction of RTP or RTCP. */
export interface SessionKeys {
  readonly encryptionKey: Uint8Array;
  readonly salt: Uint8Array;
  /** HMAC-SHA1 key; empty for AEAD profiles. */
  readonly authKey: Uint8Array;
}

const aesName = (keyLength: number): string => `aes-${keyLength * 8}-ctr`;

/**
 * PRF_n(k_master, x) with x = (label || r) XOR master_salt, r = 0 (kdr 0): AES-CM keystream from
 * IV = x * 2^16. A salt shorter than 14 bytes (GCM) is padded with zeros on the right.
 */
export function deriveKey(
  masterKey: Uint8Array,
  masterSalt: Uint8Array,
  label: number,
  length: number,
): Uint8Array {
  const iv = new Uint8Array(16);
  iv.set(masterSalt.subarray(0, 14));
  iv[7]! ^= label;
  const c = createCipheriv(aesName(masterKey.length), masterKey, iv);
  return new Uint8Array(c.update(new Uint8Array(length)));
}

export function deriveSessionKeys(
  profile: SrtpProfile,
  master: MasterKey,
): { rtp: SessionKeys; rtcp: SessionKeys } {
  const d = (label: number, n: number): Uint8Array =>
    n === 0 ? new Uint8Array(0) : deriveKey(master.key, master.salt, label, n);
  return {
    rtp: {
      encryptionKey: d(LABEL_RTP_ENCRYPTION, profile.keyLength),
      authKey: d(LABEL_RTP_AUTH, profile.authKeyLength),
      salt: d(LABEL_RTP_SALT, profile.saltLength),
    },
    rtcp: {
      encryptionKey: d(LABEL_RTCP_ENCRYPTION, profile.keyLength),
      authKey: d(LABEL_RTCP_AUTH, profile.authKeyLength),
      salt: d(LABEL_RTCP_SALT, profile.saltLength),
    },
  };
}
