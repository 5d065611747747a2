/**
 * Long-term credentials for the TURN server (RFC 8489 §9.2): static users, and the TURN REST API
 * ephemeral scheme (draft-uberti-behave-turn-rest-00) as coturn implements it with
 * `--use-auth-secret --static-auth-secret S`:
 *
 *     username = "<expiry unix seconds>:<user>"     (or just "<expiry>")
 *     password = base64(HMAC-SHA1(secret, username))
 *
 * The key used for MESSAGE-INTEGRITY is MD5(username ":" realm ":" password) (RFC 8489 §9.2.2).
 * Several secrets may be active at once so a secret can be rotated without cutting anyone off:
 * each yields a candidate key and the request's integrity decides which one matches.
 */
import { createHash, createHmac } from 'node:crypto';
import { RtcError } from '../../core/errors.js';

export class CredentialConfigError extends RtcError {}

/** RFC 8489 §9.2.2: the MD5 long-term key. */
export function longTermKey(username: string, realm: string, password: string): Uint8Array {
  return new Uint8Array(createHash('md5').update(`${username}:${realm}:${password}`, 'utf8').digest());
}

/** TURN REST API password for `username` under `secret`. */
export function restPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username, 'utf8').digest('base64');
}

/**
 * Make REST credentials valid for `ttlSeconds` from `nowMs` (wall clock), as a web app hands them to
 * its clients (`iceServers: [{ urls, username, credential }]`).
 */
export function makeRestCredentials(
  secret: string,
  user: string,
  ttlSeconds: number,
  nowMs: number = Date.now(),
  separator = ':',
): { username: string; password: string; expiresAt: number } {
  const expiry = Math.floor(nowMs / 1000) + Math.floor(ttlSeconds);
  const username = user ? `${expiry}${separator}${user}` : `${expiry}`;
  return { username, password: restPassword(secret, username), expiresAt: expiry * 1000 };
}

/** What a username resolves to. */
export type CredentialLookup =
  | {
      readonly kind: 'ok';
      /** Candidate long-term keys (one per static password or REST secret). */
      readonly keys: readonly Uint8Array[];
      /** The account that quotas count against (the user part of a REST username). */
      readonly account: string;
      /** Wall-clock ms after which the credential is no longer valid (REST), or undefined. */
      readonly expiresAt: number | undefined;
    }
  | { readonly kind: 'expired'; readonly account: string }
  | { readonly kind: 'unknown' };

export interface CredentialOptions {
  /** `user:password` pairs (coturn `--user`); a password of the form 0x<32 hex> is the key itself. */
  readonly users?: readonly string[];
  /** REST secrets (coturn `--static-auth-secret`, repeatable). */
  readonly secrets?: readonly string[];
  /** Separator between expiry and user in REST usernames (coturn `--rest-api-separator`, default ':'). */
  readonly separator?: string;
}

export class Credentials {
  readonly #users = new Map<string, { password?: string; key?: Uint8Array }>();
  readonly #secrets: readonly string[];
  readonly #separator: string;
  /** Cache of derived keys: REST users repeat their credential on every request. Bounded. */
  readonly #keyCache = new Map<string, readonly Uint8Array[]>();

  constructor(options: CredentialOptions) {
    for (const spec of options.users ?? []) {
      const colon = spec.indexOf(':');
      if (colon <= 0)
        throw new CredentialConfigError('ERR_TURN_BAD_USER', `--user must be user:password, got '${spec}'`);
      const name = spec.slice(0, colon);
      const password = spec.slice(colon + 1);
      const hexKey = /^0x([0-9a-fA-F]{32})$/.exec(password);
      if (hexKey) this.#users.set(name, { key: new Uint8Array(Buffer.from(hexKey[1]!, 'hex')) });
      else this.#users.set(name, { password });
    }
    this.#secrets = [...(options.secrets ?? [])];
    for (const s of this.#secrets) {
      if (s.length === 0)
        throw new CredentialConfigError('ERR_TURN_BAD_SECRET', 'empty --static-auth-secret');
    }
    this.#separator = options.separator ?? ':';
  }

  /** True when nothing is configured (the server then refuses every Allocate). */
  get empty(): boolean {
    return this.#users.size === 0 && this.#secrets.length === 0;
  }

  get restEnabled(): boolean {
    return this.#secrets.length > 0;
  }

  /** Resolve `username` in `realm` at wall-clock time `nowMs`. */
  lookup(username: string, realm: string, nowMs: number): CredentialLookup {
    const user = this.#users.get(username);
    if (user) {
      const cacheKey = `s\0${username}\0${realm}`;
      let keys = this.#keyCache.get(cacheKey);
      if (!keys) {
        keys = [user.key ?? longTermKey(username, realm, user.password ?? '')];
        this.#remember(cacheKey, keys);
      }
      return { kind: 'ok', keys, account: username, expiresAt: undefined };
    }
    if (this.#secrets.length === 0) return { kind: 'unknown' };
    const sep = this.#separator ? username.indexOf(this.#separator) : -1;
    const stamp = sep >= 0 ? username.slice(0, sep) : username;
    const account = sep >= 0 ? username.slice(sep + this.#separator.length) : '';
    if (!/^\d{1,12}$/.test(stamp)) return { kind: 'unknown' };
    const expiresAt = Number(stamp) * 1000;
    if (expiresAt <= nowMs) return { kind: 'expired', account };
    const cacheKey = `r\0${username}\0${realm}`;
    let keys = this.#keyCache.get(cacheKey);
    if (!keys) {
      keys = this.#secrets.map((s) => longTermKey(username, realm, restPassword(s, username)));
      this.#remember(cacheKey, keys);
    }
    return { kind: 'ok', keys, account, expiresAt };
  }

  #remember(key: string, keys: readonly Uint8Array[]): void {
    if (this.#keyCache.size >= 4096) {
      const first = this.#keyCache.keys().next().value;
      if (first !== undefined) this.#keyCache.delete(first);
    }
    this.#keyCache.set(key, keys);
  }
}
