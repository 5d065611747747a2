import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { type Logger, silentLogger } from '../core/log.js';
import type { DtlsCertificate, DtlsFingerprint } from './certificate.js';
import { parseFingerprint } from './certificate.js';
import { CIPHER_SUITES, type CipherSuite, cipherSuiteById } from './cipher-suites.js';
import type { HandshakeSettings } from './handshake-context.js';
import { SUPPORTED_GROUPS } from './key-exchange.js';
import type { Alert } from './messages.js';
import { SUITES13, type Suite13, suite13ById } from './record13.js';
import { DEFAULT_SRTP_PROFILES, type SrtpProfileName, srtpProfileByName } from './srtp-profiles.js';

/** Endpoint states: `new` until start(), `connecting` during the handshake. */
export type DtlsState = 'new' | 'connecting' | 'connected' | 'closed' | 'failed';
export type DtlsRole = 'client' | 'server';
/** Protocol versions a caller may allow. */
export type DtlsVersion = '1.2' | '1.3';

export interface DtlsEndpointOptions {
  /** Client starts the handshake; server answers (WebRTC: `a=setup` decides). */
  readonly role: DtlsRole;
  /** Our certificate and key (see generateCertificate). */
  readonly certificate: DtlsCertificate;
  /** Puts one datagram on the wire. */
  readonly send: (datagram: Uint8Array) => void;
  /** Time source; default the system clock. */
  readonly clock?: Clock;
  /**
   * Fingerprints from signaling the peer's certificate must match (`sha-256 AB:..` or
   * `{algorithm, value}`); undefined accepts any certificate, an empty list accepts none.
   * Can also be set later with `setRemoteFingerprints` before the peer's certificate arrives.
   */
  readonly remoteFingerprints?: readonly (DtlsFingerprint | string)[];
  /** SRTP profiles to offer (client) or accept (server), in preference order; [] disables use_srtp. */
  readonly srtpProfiles?: readonly SrtpProfileName[];
  /**
   * Versions to negotiate, e.g. ['1.3', '1.2'] (1.3 preferred, 1.2 fallback); default ['1.2'].
   * The client offers 1.3 through supported_versions; the server picks 1.3 when both allow it.
   */
  readonly versions?: readonly DtlsVersion[];
  /** Largest datagram to send, default 1200. */
  readonly mtu?: number;
  /** Initial retransmission timeout in ms, default 1000 (RFC 6347 §4.2.4.1). */
  readonly initialRetransmitMs?: number;
  /** Ceiling of the doubled timeout, default 60000. */
  readonly maxRetransmitMs?: number;
  /** Retransmissions of one flight before the handshake fails, default 10. */
  readonly maxRetransmits?: number;
  /**
   * Cipher suite ids in preference order, DTLS 1.2 (CIPHER_SUITES) and 1.3 (SUITES13) ids mixed;
   * default all. When the list names no suite of one version, that version keeps all of its own.
   */
  readonly cipherSuites?: readonly number[];
  /** Named groups in preference order; default X25519, P-256. */
  readonly groups?: readonly number[];
  /** Fail the handshake when the peer lacks RFC 7627; default true. */
  readonly requireExtendedMasterSecret?: boolean;
  /** Server: send CertificateRequest (mutual authentication as WebRTC needs); default true. */
  readonly requestClientCertificate?: boolean;
  /** Server: demand a cookie via HelloVerifyRequest; default true. */
  readonly helloVerify?: boolean;
  /** Server: bytes binding the cookie to the peer (its transport address); default empty. */
  readonly cookieContext?: Uint8Array;
  readonly log?: Logger;
}

/** Events of a DtlsEndpoint. */
export interface DtlsEndpointEvents {
  [key: string]: unknown[];
  state: [DtlsState];
  connected: [];
  /** Application data from the peer. */
  data: [Uint8Array];
  /** An alert from the peer (fatal ones also end the connection with `error`). */
  alert: [Alert];
  /** The connection closed (close_notify either way, or close()). */
  close: [];
  /** The handshake or connection failed; state is then 'failed'. */
  error: [Error];
}

/** Counters for getStats and tests. */
export interface DtlsStats {
  readonly recordsIn: number;
  readonly recordsOut: number;
  readonly malformed: number;
  readonly badRecords: number;
  readonly replays: number;
  readonly unknownEpoch: number;
  readonly retransmits: number;
  /** Handshake fragments after the handshake that were ignored (renegotiation refused, 1.3 post-handshake messages). */
  readonly ignoredHandshake: number;
}

/** Resolve options and defaults into the settings the handshake machines read. */
export function resolveSettings(o: DtlsEndpointOptions): HandshakeSettings {
  const ids = o.cipherSuites ?? [];
  const suites13 = ids.map(suite13ById).filter((x): x is Suite13 => x !== undefined);
  const suites: CipherSuite[] = ids
    .filter((id) => !suite13ById(id))
    .map((id) => {
      const s = cipherSuiteById(id);
      if (!s) throw new TypeError(`unsupported cipher suite 0x${id.toString(16)}`);
      return s;
    });
  let cookieSecret: Uint8Array | undefined;
  return {
    certificate: o.certificate,
    remoteFingerprints: o.remoteFingerprints?.map(toFingerprint),
    cipherSuites: suites.length > 0 ? suites : CIPHER_SUITES,
    suites13: suites13.length > 0 ? suites13 : SUITES13,
    groups: o.groups ?? SUPPORTED_GROUPS,
    srtpProfiles: (o.srtpProfiles ?? DEFAULT_SRTP_PROFILES).map((n) => srtpProfileByName(n).id),
    requireExtendedMasterSecret: o.requireExtendedMasterSecret ?? true,
    requestClientCertificate: o.requestClientCertificate ?? true,
    helloVerify: o.helloVerify ?? true,
    // Secret: from node:crypto, per endpoint; made on first use (clients, and servers without
    // cookies, never use it).
    get cookieSecret() {
      cookieSecret ??= new Uint8Array(randomBytes(32));
      return cookieSecret;
    },
    cookieContext: o.cookieContext ?? new Uint8Array(0),
    versions: o.versions && o.versions.length > 0 ? [...o.versions] : ['1.2'],
    log: o.log ?? silentLogger,
  };
}

export function toFingerprint(f: DtlsFingerprint | string): DtlsFingerprint {
  return typeof f === 'string'
    ? parseFingerprint(f)
    : { algorithm: f.algorithm.toLowerCase(), value: f.value.toUpperCase() };
}
