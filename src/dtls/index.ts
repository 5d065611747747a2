/**
 * DTLS 1.2 (RFC 6347) and 1.3 (RFC 9147): the sans-IO `DtlsEndpoint`, the socket-bound `DtlsTransport`,
 * certificates with W3C-style fingerprints, and the SRTP keying material export (RFC 5764).
 */
export {
  type CertificateKeygenAlgorithm,
  certificateFromPem,
  certificateToPem,
  type DtlsCertificate,
  type DtlsFingerprint,
  fingerprintOf,
  formatFingerprint,
  generateCertificate,
  matchesFingerprint,
  parseFingerprint,
} from './certificate.js';
export { CIPHER_SUITES, type CipherSuite, cipherSuiteById } from './cipher-suites.js';
export {
  DtlsEndpoint,
  type DtlsEndpointEvents,
  type DtlsEndpointOptions,
  type DtlsRole,
  type DtlsState,
  type DtlsStats,
  type DtlsVersion,
} from './endpoint.js';
export {
  DtlsAlertError,
  DtlsError,
  DtlsFingerprintError,
  DtlsStateError,
  DtlsTimeoutError,
} from './errors.js';
export { SUITES13, type Suite13 } from './record13.js';
export {
  DEFAULT_SRTP_PROFILES,
  SRTP_EXPORTER_LABEL,
  type SrtpKeyingMaterial,
  type SrtpProfileName,
} from './srtp-profiles.js';
export { DtlsTransport, type DtlsTransportEvents } from './transport.js';
