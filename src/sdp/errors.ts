import { ParseError, RtcError } from '../core/errors.js';

/**
 * A malformed SDP line. `line` is 1-based; `offset` (from ParseError) carries the same number so
 * generic receive code that logs `offset` still points at the line.
 */
export class SdpParseError extends ParseError {
  readonly line: number;
  constructor(line: number, field: string, detail: string) {
    super('sdp', field, line, detail, 'ERR_SDP_PARSE');
    this.line = line;
    this.message = `sdp line ${line}: cannot parse ${field}: ${detail}`;
  }
}

/**
 * A description that parses but breaks a JSEP rule (RFC 9429). `kind` tells the peer connection
 * which DOMException to raise: InvalidAccessError (bad content), InvalidStateError (wrong
 * signaling state) or OperationError (cannot be applied).
 */
export class JsepError extends RtcError {
  readonly kind: 'InvalidAccessError' | 'InvalidStateError' | 'OperationError';
  constructor(code: string, kind: JsepError['kind'], message: string) {
    super(code, message);
    this.kind = kind;
  }
}

/** A non-negative decimal integer no greater than `max`, or an SdpParseError. */
export function parseUint(text: string | undefined, max: number, line: number, field: string): number {
  if (text !== undefined && text.length > 0 && text.length <= 16) {
    let n = 0;
    let i = 0;
    for (; i < text.length; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
    }
    if (i === text.length) {
      if (n > max) throw new SdpParseError(line, field, `${n} exceeds ${max}`);
      return n;
    }
  }
  throw new SdpParseError(line, field, `expected a decimal number, got ${JSON.stringify(text ?? '')}`);
}
