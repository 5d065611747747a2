/**
 * Both directions of SRTP on one DTLS transport: the local context protects what we send, the
 * remote context unprotects what we receive. Built from the DTLS-SRTP exporter output (RFC 5764 §4.2).
 */
import { SrtpContext, type SrtpContextOptions } from './context.js';
import { type SrtpProfile, splitKeyingMaterial } from './profiles.js';

export class SrtpSession {
  readonly profile: SrtpProfile;
  readonly local: SrtpContext;
  readonly remote: SrtpContext;

  constructor(local: SrtpContext, remote: SrtpContext) {
    if (local.profile !== remote.profile)
      throw new RangeError('local and remote contexts use different profiles');
    this.profile = local.profile;
    this.local = local;
    this.remote = remote;
  }

  /** From `exportKeyingMaterial('EXTRACTOR-dtls_srtp', exporterLength(profile))` and our DTLS role. */
  static fromKeyingMaterial(
    profile: SrtpProfile,
    material: Uint8Array,
    role: 'client' | 'server',
    options: SrtpContextOptions = {},
  ): SrtpSession {
    const { local, remote } = splitKeyingMaterial(profile, material, role);
    return new SrtpSession(
      new SrtpContext(profile, local, options),
      new SrtpContext(profile, remote, options),
    );
  }

  protectRtp(packet: Uint8Array): Uint8Array {
    return this.local.protectRtp(packet);
  }
  /** See SrtpContext.protectRtpWith: serialize straight into the protected packet's buffer. */
  protectRtpWith<T>(
    value: T,
    size: number,
    headerLength: number,
    write: (value: T, out: Uint8Array, offset: number) => unknown,
  ): Uint8Array {
    return this.local.protectRtpWith(value, size, headerLength, write);
  }
  /** See SrtpContext.releaseProtected: the latest protected packet's memory, once nothing holds it. */
  releaseProtected(packet: Uint8Array): boolean {
    return this.local.releaseProtected(packet);
  }
  unprotectRtp(packet: Uint8Array): Uint8Array {
    return this.remote.unprotectRtp(packet);
  }
  protectRtcp(packet: Uint8Array): Uint8Array {
    return this.local.protectRtcp(packet);
  }
  unprotectRtcp(packet: Uint8Array): Uint8Array {
    return this.remote.unprotectRtcp(packet);
  }
}
