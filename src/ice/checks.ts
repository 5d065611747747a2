/**
 * The STUN messages of ICE connectivity checks (RFC 8445 §7.2.2, §7.3) and consent (RFC 7675):
 * Binding requests with USERNAME, PRIORITY, ICE-CONTROLLING/CONTROLLED, USE-CANDIDATE, short-term
 * MESSAGE-INTEGRITY and FINGERPRINT; their success and error responses.
 */
import type { TransportAddress } from '../core/net.js';
import {
  ATTR,
  attr,
  createMessage,
  ERROR,
  getAttribute,
  METHOD,
  type ParsedStunMessage,
  read,
  type StunAttribute,
  serializeStunMessage,
  shortTermKey,
  verifyAnyIntegrity,
} from '../stun/index.js';

/** SASLprep + encoding per password once (checks are signed with the same two passwords). */
const keyCache = new Map<string, Uint8Array>();
function keyFor(password: string): Uint8Array {
  let k = keyCache.get(password);
  if (!k) {
    if (keyCache.size > 256) keyCache.clear();
    k = shortTermKey(password);
    keyCache.set(password, k);
  }
  return k;
}

export interface CheckRequest {
  /** `<remote ufrag>:<local ufrag>` (RFC 8445 §7.2.2). */
  readonly username: string;
  /** Remote password (the key for MESSAGE-INTEGRITY). */
  readonly password: string;
  readonly priority: number;
  readonly controlling: boolean;
  readonly tieBreaker: bigint;
  readonly useCandidate: boolean;
  readonly transactionId: Uint8Array;
}

export function serializeCheckRequest(r: CheckRequest): Uint8Array {
  const attrs: StunAttribute[] = [
    attr.username(r.username),
    attr.priority(r.priority),
    r.controlling ? attr.iceControlling(r.tieBreaker) : attr.iceControlled(r.tieBreaker),
  ];
  if (r.useCandidate) attrs.push(attr.useCandidate());
  return serializeStunMessage(createMessage(METHOD.BINDING, 'request', r.transactionId, attrs), {
    integrity: keyFor(r.password),
    fingerprint: true,
  });
}

export function serializeCheckSuccess(
  transactionId: Uint8Array,
  mapped: TransportAddress,
  localPassword: string,
): Uint8Array {
  return serializeStunMessage(
    createMessage(METHOD.BINDING, 'success', transactionId, [attr.xorMappedAddress(mapped, transactionId)]),
    { integrity: keyFor(localPassword), fingerprint: true },
  );
}

/** 487 Role Conflict (RFC 8445 §7.3.1.1) or 400/401 (RFC 8489 §9.1.3); integrity only when known. */
export function serializeCheckError(
  transactionId: Uint8Array,
  code: number,
  reason: string,
  localPassword?: string,
): Uint8Array {
  const msg = createMessage(METHOD.BINDING, 'error', transactionId, [attr.errorCode(code, reason)]);
  return serializeStunMessage(
    msg,
    localPassword === undefined
      ? { fingerprint: true }
      : { integrity: keyFor(localPassword), fingerprint: true },
  );
}

/** A Binding indication keeps NAT bindings open (RFC 8445 §11). */
export function serializeKeepalive(transactionId: Uint8Array): Uint8Array {
  return serializeStunMessage(createMessage(METHOD.BINDING, 'indication', transactionId, []), {
    fingerprint: true,
  });
}

export interface IncomingCheck {
  readonly username: string;
  readonly priority: number | undefined;
  readonly useCandidate: boolean;
  readonly controlling: bigint | undefined;
  readonly controlled: bigint | undefined;
}

/** Read the ICE attributes of a request (ParseError if malformed). */
export function readCheck(m: ParsedStunMessage): IncomingCheck {
  return {
    username: read.username(m) ?? '',
    priority: read.priority(m),
    useCandidate: read.useCandidate(m),
    controlling: read.iceControlling(m),
    controlled: read.iceControlled(m),
  };
}

export function hasValidIntegrity(m: ParsedStunMessage, password: string): boolean {
  return verifyAnyIntegrity(m, keyFor(password));
}

export function hasFingerprint(m: ParsedStunMessage): boolean {
  return getAttribute(m, ATTR.FINGERPRINT) !== undefined || m.fingerprintOffset >= 0;
}

export { ERROR };
