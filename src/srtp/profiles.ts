/**
 * SRTP protection profiles negotiated by DTLS-SRTP (RFC 5764 §4.1.2, RFC 7714 §14.2) and the
 * split of the DTLS exporter output into master keys and salts (RFC 5764 §4.2).
 */

export type SrtpProfileName =
  | 'SRTP_AES128_CM_HMAC_SHA1_80'
  | 'SRTP_AES128_CM_HMAC_SHA1_32'
  | 'SRTP_AEAD_AES_128_GCM'
  | 'SRTP_AEAD_AES_256_GCM';

export interface SrtpProfile {
  readonly name: SrtpProfileName;
  /** The two-byte value in the DTLS use_srtp extension. */
  readonly id: number;
  readonly aead: boolean;
  /** Master and session encryption key length in bytes. */
  readonly keyLength: number;
  /** Master and session salt length in bytes (14 for AES-CM, 12 for GCM). */
  readonly saltLength: number;
  /** Authentication key length (HMAC-SHA1, RFC 3711 §8.2: n_a = 160 bits); 0 for AEAD. */
  readonly authKeyLength: number;
  /** Tag appended to SRTP packets. */
  readonly rtpTagLength: number;
  /** Tag appended to SRTCP packets (always 80 bits for the HMAC profiles, RFC 5764 §4.1.2). */
  readonly rtcpTagLength: number;
}

/** RFC 5764 §4.1.2 and RFC 7714 §14.2 profile values. */
export const SRTP_PROFILES: Readonly<Record<SrtpProfileName, SrtpProfile>> = {
  SRTP_AES128_CM_HMAC_SHA1_80: {
    name: 'SRTP_AES128_CM_HMAC_SHA1_80',
    id: 0x0001,
    aead: false,
    keyLength: 16,
    saltLength: 14,
    authKeyLength: 20,
    rtpTagLength: 10,
    rtcpTagLength: 10,
  },
  SRTP_AES128_CM_HMAC_SHA1_32: {
    name: 'SRTP_AES128_CM_HMAC_SHA1_32',
    id: 0x0002,
    aead: false,
    keyLength: 16,
    saltLength: 14,
    authKeyLength: 20,
    rtpTagLength: 4,
    rtcpTagLength: 10,
  },
  SRTP_AEAD_AES_128_GCM: {
    name: 'SRTP_AEAD_AES_128_GCM',
    id: 0x0007,
    aead: true,
    keyLength: 16,
    saltLength: 12,
    authKeyLength: 0,
    rtpTagLength: 16,
    rtcpTagLength: 16,
  },
  SRTP_AEAD_AES_256_GCM: {
    name: 'SRTP_AEAD_AES_256_GCM',
    id: 0x0008,
    aead: true,
    keyLength: 32,
    saltLength: 12,
    authKeyLength: 0,
    rtpTagLength: 16,
    rtcpTagLength: 16,
  },
};

/** Profile by its use_srtp value, or undefined for one we do not implement. */
export function srtpProfileById(id: number): SrtpProfile | undefined {
  return Object.values(SRTP_PROFILES).find((p) => p.id === id);
}

/** RFC 5764 §4.2: the exporter label, and how many bytes to export for a profile. */
export const DTLS_SRTP_EXPORTER_LABEL = 'EXTRACTOR-dtls_srtp';
export const exporterLength = (p: SrtpProfile): number => 2 * (p.keyLength + p.saltLength);

export interface MasterKey {
  readonly key: Uint8Array;
  readonly salt: Uint8Array;
}

/**
 * RFC 5764 §4.2: the exporter output is client_write_key | server_write_key | client_write_salt |
 * server_write_salt. The DTLS client protects what it sends with the client key and salt.
 */
export function splitKeyingMaterial(
  profile: SrtpProfile,
  material: Uint8Array,
  role: 'client' | 'server',
): { local: MasterKey; remote: MasterKey } {
  const k = profile.keyLength;
  const s = profile.saltLength;
  if (material.length !== exporterLength(profile)) {
    throw new RangeError(
      `${profile.name} needs ${exporterLength(profile)} bytes of keying material, got ${material.length}`,
    );
  }
  const client = { key: material.slice(0, k), salt: material.slice(2 * k, 2 * k + s) };
  const server = { key: material.slice(k, 2 * k), salt: material.slice(2 * k + s, 2 * k + 2 * s) };
  return role === 'client' ? { local: client, remote: server } : { local: server, remote: client };
}
