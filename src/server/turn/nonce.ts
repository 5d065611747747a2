/**
 * Stateless nonces with an expiry (RFC 8489 §9.2): the nonce carries the time it was issued and an
 * HMAC over that time and the client's IP under a per-process secret, so checking one needs no
 * table (an unauthenticated flood cannot grow memory) and a nonce from another client is refused.
 * An expired or foreign nonce gets 438 Stale Nonce with a fresh one.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Clock } from '../../core/clock.js';

export type NonceCheck = 'ok' | 'stale' | 'invalid';

export class NonceIssuer {
  readonly #clock: Clock;
  readonly #lifetimeMs: number;
  readonly #secret: Uint8Array;
  readonly #epoch: number;

  /** @param lifetimeMs how long a nonce is accepted (coturn `--stale-nonce`, default 600 s). */
  constructor(clock: Clock, lifetimeMs = 600_000) {
    this.#clock = clock;
    this.#lifetimeMs = lifetimeMs;
    this.#secret = randomBytes(16);
    this.#epoch = clock.now();
  }

  get lifetimeMs(): number {
    return this.#lifetimeMs;
  }

  #mac(stamp: string, ip: string): string {
    return createHmac('sha256', this.#secret).update(stamp).update('|').update(ip).digest('hex').slice(0, 16);
  }

  /** A fresh nonce for a client at `ip`. */
  issue(ip: string): string {
    const stamp = Math.floor(this.#clock.now() - this.#epoch)
      .toString(16)
      .padStart(10, '0');
    return `${stamp}${this.#mac(stamp, ip)}`;
  }

  check(nonce: string, ip: string): NonceCheck {
    if (nonce.length !== 26 || !/^[0-9a-f]{26}$/.test(nonce)) return 'invalid';
    const stamp = nonce.slice(0, 10);
    if (this.#mac(stamp, ip) !== nonce.slice(10)) return 'invalid';
    const issued = Number.parseInt(stamp, 16) + this.#epoch;
    const age = this.#clock.now() - issued;
    if (age < 0 || age >= this.#lifetimeMs) return 'stale';
    return 'ok';
  }
}
