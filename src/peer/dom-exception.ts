import { RtcError } from '../core/errors.js';

/** The DOMException names the W3C WebRTC API throws or rejects with. */
export type DomExceptionName =
  | 'InvalidStateError'
  | 'InvalidAccessError'
  | 'InvalidModificationError'
  | 'OperationError'
  | 'SyntaxError'
  | 'TypeError'
  | 'NotSupportedError'
  | 'InvalidCharacterError'
  | 'NotReadableError'
  | 'DataError'
  | 'RangeError';

export function domException(name: DomExceptionName, message: string): DOMException {
  return new DOMException(message, name);
}

/**
 * Map an internal error to what the W3C surface reports. Errors that are already DOMExceptions or
 * TypeErrors pass through; RtcErrors map by the `domName` they name or by their kind.
 */
export function toDomException(err: unknown, fallback: DomExceptionName = 'OperationError'): Error {
  if (err instanceof DOMException || err instanceof TypeError || err instanceof RangeError) return err;
  if (err instanceof RtcError) {
    // Layers name the DOMException their error maps to as `domName` (or `kind`, as JsepError does).
    const e = err as RtcError & { domName?: DomExceptionName; kind?: DomExceptionName };
    const named = e.domName ?? e.kind;
    return domException(named ?? fallback, `${err.message} (${err.code})`);
  }
  return domException(fallback, err instanceof Error ? err.message : String(err));
}
