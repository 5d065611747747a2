import {
  SRTP_AEAD_AES_128_GCM,
  SRTP_AEAD_AES_256_GCM,
  SRTP_AES128_CM_HMAC_SHA1_32,
  SRTP_AES128_CM_HMAC_SHA1_80,
} from './constants.js';

/** SRTP protection profile names as RFC 5764 §4.1.2 and RFC 7714 §14.2 spell them. */
export type SrtpProfileName =
  | 'SRTP_AES128_CM_HMAC_SHA1_80'
  | 'SRTP_AES128_CM_HMAC_SHA1_32'
  | 'SRTP_AEAD_AES_128_GCM'
  | 'SRTP_AEAD_AES_256_GCM';

interface ProfileInfo {
  readonly id: number;
  readonly name: SrtpProfileName;
  /** SRTP master key and salt lengths (RFC 5764 §4.2, RFC 7714 §12). */
  readonly keyLength: number;
  readonly saltLength: number;
}

export const SRTP_PROFILES: readonly ProfileInfo[] = [
  { id: SRTP_AES128_CM_HMAC_SHA1_80, name: 'SRTP_AES128_CM_HMAC_SHA1_80', keyLength: 16, saltLength: 14 },
  { id: SRTP_AES128_CM_HMAC_SHA1_32, name: 'SRTP_AES128_CM_HMAC_SHA1_32', keyLength: 16, saltLength: 14 },
  { id: SRTP_AEAD_AES_128_GCM, name: 'SRTP_AEAD_AES_128_GCM', keyLength: 16, saltLength: 12 },
  { id: SRTP_AEAD_AES_256_GCM, name: 'SRTP_AEAD_AES_256_GCM', keyLength: 32, saltLength: 12 },
];

/** Default offer order: the profile every WebRTC stack has first, then GCM. */
export const DEFAULT_SRTP_PROFILES: readonly SrtpProfileName[] = [
  'SRTP_AES128_CM_HMAC_SHA1_80',
  'SRTP_AEAD_AES_128_GCM',
  'SRTP_AEAD_AES_256_GCM',
  'SRTP_AES128_CM_HMAC_SHA1_32',
];

export function srtpProfileByName(name: SrtpProfileName): ProfileInfo {
  const p = SRTP_PROFILES.find((x) => x.name === name);
  if (!p) throw new TypeError(`unknown SRTP profile ${name}`);
  return p;
}

export function srtpProfileById(id: number): ProfileInfo | undefined {
  return SRTP_PROFILES.find((x) => x.id === id);
}

/** SRTP master keys and salts for both directions, from the DTLS exporter (RFC 5764 §4.2). */
export interface SrtpKeyingMaterial {
  readonly profile: SrtpProfileName;
  readonly clientKey: Uint8Array;
  readonly clientSalt: Uint8Array;
  readonly serverKey: Uint8Array;
  readonly serverSalt: Uint8Array;
  /** Our sending key and salt (client's if we are the client). */
  readonly localKey: Uint8Array;
  readonly localSalt: Uint8Array;
  readonly remoteKey: Uint8Array;
  readonly remoteSalt: Uint8Array;
}

/** The exporter label for DTLS-SRTP (RFC 5764 §4.2). */
export const SRTP_EXPORTER_LABEL = 'EXTRACTOR-dtls_srtp';

/** Cut exporter output into client key, server key, client salt, server salt (RFC 5764 §4.2). */
export function splitSrtpKeyingMaterial(
  profileId: number,
  material: Uint8Array,
  isClient: boolean,
): SrtpKeyingMaterial {
  const p = srtpProfileById(profileId);
  if (!p) throw new TypeError(`unknown SRTP profile ${profileId}`);
  const k = p.keyLength;
  const s = p.saltLength;
  const clientKey = material.slice(0, k);
  const serverKey = material.slice(k, 2 * k);
  const clientSalt = material.slice(2 * k, 2 * k + s);
  const serverSalt = material.slice(2 * k + s, 2 * k + 2 * s);
  return {
    profile: p.name,
    clientKey,
    clientSalt,
    serverKey,
    serverSalt,
    localKey: isClient ? clientKey : serverKey,
    localSalt: isClient ? clientSalt : serverSalt,
    remoteKey: isClient ? serverKey : clientKey,
    remoteSalt: isClient ? serverSalt : clientSalt,
  };
}

export function srtpMaterialLength(profileId: number): number {
  const p = srtpProfileById(profileId);
  return p ? 2 * (p.keyLength + p.saltLength) : 0;
}
