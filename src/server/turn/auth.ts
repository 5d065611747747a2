/**
 * Long-term credential checks for TURN requests (RFC 8489 §9.2.4, RFC 8656 §5): 401 challenges
 * with REALM and a fresh NONCE, 438 for stale nonces, 400 for a MESSAGE-INTEGRITY without
 * USERNAME/REALM/NONCE, 441 when a request on an allocation uses another username. Unauthenticated
 * answers are rate limited per source IP.
 */
import type { Clock } from '../../core/clock.js';
import { attr, read } from '../../stun/attributes.js';
import { ERROR } from '../../stun/constants.js';
import { verifyIntegrity } from '../../stun/integrity.js';
import type { ParsedStunMessage, StunAttribute } from '../../stun/message.js';
import type { Allocation, ClientLink } from './allocation.js';
import type { Credentials } from './credentials.js';
import type { NonceIssuer } from './nonce.js';
import type { RateLimiter } from './rate-limit.js';
import type { TurnStats } from './stats.js';

export interface Authenticated {
  readonly key: Uint8Array;
  readonly account: string;
  readonly username: string;
  /** Wall-clock ms when the credential expires (REST), or undefined. */
  readonly expiresAt: number | undefined;
}

/** Sends an error response; `key` set when the request was authenticated. */
export type ErrorSender = (
  code: number,
  reason: string,
  key: Uint8Array | undefined,
  extra: StunAttribute[],
) => void;

export interface AuthenticatorOptions {
  readonly realm: string;
  readonly credentials: Credentials;
  readonly clock: Clock;
  readonly stats: TurnStats;
  readonly nonces: NonceIssuer;
  readonly limiter: RateLimiter;
}

export class Authenticator {
  readonly limiter: RateLimiter;
  readonly #o: AuthenticatorOptions;

  constructor(options: AuthenticatorOptions) {
    this.#o = options;
    this.limiter = options.limiter;
  }

  /** The credentials of a request, or undefined after answering the error itself. */
  authenticate(
    msg: ParsedStunMessage,
    link: ClientLink,
    allocation: Allocation | undefined,
    fail: ErrorSender,
  ): Authenticated | undefined {
    const { realm, stats, clock, nonces } = this.#o;
    const ip = link.remote.address;
    const challenge = (code: number, reason: string): void => {
      if (!this.limiter.take(ip, clock.now())) {
        stats.rateLimited++;
        return;
      }
      fail(code, reason, undefined, [attr.realm(realm), attr.nonce(nonces.issue(ip))]);
    };
    if (msg.integrityOffset < 0) {
      challenge(ERROR.UNAUTHORIZED, 'Unauthorized');
      return undefined;
    }
    const username = read.username(msg);
    const msgRealm = read.realm(msg);
    const nonce = read.nonce(msg);
    if (username === undefined || msgRealm === undefined || nonce === undefined) {
      if (!this.limiter.take(ip, clock.now())) {
        stats.rateLimited++;
        return undefined;
      }
      fail(ERROR.BAD_REQUEST, 'Bad Request', undefined, []);
      return undefined;
    }
    if (nonces.check(nonce, ip) !== 'ok') {
      stats.staleNonces++;
      challenge(ERROR.STALE_NONCE, 'Stale Nonce');
      return undefined;
    }
    if (msgRealm !== realm) {
      stats.authFailures++;
      challenge(ERROR.UNAUTHORIZED, 'Unauthorized');
      return undefined;
    }
    const found = this.#o.credentials.lookup(username, realm, clock.wallNow());
    if (found.kind !== 'ok') {
      stats.authFailures++;
      challenge(ERROR.UNAUTHORIZED, found.kind === 'expired' ? 'Credential Expired' : 'Unauthorized');
      return undefined;
    }
    let key: Uint8Array | undefined;
    for (const k of found.keys) {
      if (verifyIntegrity(msg, k)) {
        key = k;
        break;
      }
    }
    if (!key) {
      stats.authFailures++;
      challenge(ERROR.UNAUTHORIZED, 'Unauthorized');
      return undefined;
    }
    if (allocation && allocation.username !== username) {
      // RFC 8656 §5: requests on an allocation must use the username that created it.
      stats.authFailures++;
      fail(ERROR.WRONG_CREDENTIALS, 'Wrong Credentials', key, []);
      return undefined;
    }
    return { key, account: found.account, username, expiresAt: found.expiresAt };
  }
}
