import { ProtocolError, RtcError, StateError, TimeoutError } from '../core/errors.js';

/**
 * DTLS failures. Every error carries a stable `code`; protocol failures also carry the alert
 * description that was (or would be) sent to the peer.
 */
export class DtlsError extends ProtocolError {
  /** The TLS AlertDescription that goes with this failure (RFC 5246 §7.2). */
  readonly alert: number;
  constructor(code: string, alert: number, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.alert = alert;
  }
}

/** The peer's certificate does not match any fingerprint from signaling (ERR_DTLS_FINGERPRINT_MISMATCH). */
export class DtlsFingerprintError extends DtlsError {
  /** The fingerprint of the certificate the peer presented, `sha-256 AB:CD:...`. */
  readonly actual: string;
  constructor(actual: string, expected: readonly string[]) {
    super(
      'ERR_DTLS_FINGERPRINT_MISMATCH',
      42, // bad_certificate
      `peer certificate fingerprint ${actual} matches none of the expected ${expected.join(', ') || '(none)'}`,
    );
    this.actual = actual;
  }
}

/** The peer sent a fatal alert (ERR_DTLS_REMOTE_ALERT). */
export class DtlsAlertError extends RtcError {
  readonly level: number;
  readonly description: number;
  constructor(level: number, description: number) {
    super('ERR_DTLS_REMOTE_ALERT', `peer sent fatal alert ${description}`);
    this.level = level;
    this.description = description;
  }
}

/** The handshake did not complete within the retransmission budget (ERR_DTLS_HANDSHAKE_TIMEOUT). */
export class DtlsTimeoutError extends TimeoutError {
  constructor(message: string) {
    super('ERR_DTLS_HANDSHAKE_TIMEOUT', message);
  }
}

/** An API call that the endpoint's state does not allow (ERR_DTLS_STATE). */
export class DtlsStateError extends StateError {
  constructor(message: string) {
    super('ERR_DTLS_STATE', message);
  }
}
