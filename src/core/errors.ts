/**
 * Error hierarchy shared by every layer. Each error carries a stable, machine-readable `code`
 * (`ERR_STUN_BAD_FINGERPRINT`, ...) that callers and tests match on instead of messages.
 */
export class RtcError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Malformed bytes: names the layer, the field being read and the byte offset. */
export class ParseError extends RtcError {
  readonly layer: string;
  readonly field: string;
  readonly offset: number;
  constructor(layer: string, field: string, offset: number, detail?: string, code?: string) {
    super(
      code ?? `ERR_${layer.toUpperCase()}_PARSE`,
      `${layer}: cannot parse ${field} at offset ${offset}${detail ? `: ${detail}` : ''}`,
    );
    this.layer = layer;
    this.field = field;
    this.offset = offset;
  }
}

/** The peer broke a protocol rule (bad integrity, unexpected message in this state, ...). */
export class ProtocolError extends RtcError {}

/** An API was called in a state that does not allow it (closed, not started, ...). */
export class StateError extends RtcError {}

/** A timer ran out (transaction timeout, handshake timeout, consent expiry). */
export class TimeoutError extends RtcError {}

/** True for errors a receive loop should count and drop (bad input), false for bugs. */
export function isInputError(err: unknown): err is ParseError | ProtocolError {
  return err instanceof ParseError || err instanceof ProtocolError;
}
