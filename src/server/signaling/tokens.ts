/**
 * Signed, expiring tokens: `base64url(JSON payload) "." base64url(HMAC-SHA256(secret, payload))`.
 * Two kinds share the format, told apart by `k` so one can never stand in for the other:
 * - join tokens (`k: "j"`) let a client join one room until `exp`;
 * - resume tokens (`k: "r"`) let a client that lost its connection take back its peer id and room
 *   membership, also on a restarted server that has the same secret.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface JoinClaims {
  readonly room: string;
  /** Expiry, seconds since the Unix epoch. */
  readonly exp: number;
  /** Optional display name the token pins. */
  readonly name?: string;
}

export interface ResumeClaims {
  readonly room: string;
  readonly exp: number;
  readonly peer: string;
  readonly name: string;
}

export type TokenResult<T> = { ok: true; claims: T } | { ok: false; reason: 'invalid' | 'expired' };

/** A fresh random secret for HMAC (32 bytes, base64url). */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

function sign(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload).digest('base64url');
}

function encode(secret: string, claims: Record<string, unknown>): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${payload}.${sign(secret, payload)}`;
}

function decode(secret: string, token: string, nowMs: number): TokenResult<Record<string, unknown>> {
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.')) return { ok: false, reason: 'invalid' };
  const payload = token.slice(0, dot);
  const mac = Buffer.from(token.slice(dot + 1), 'base64url');
  const want = Buffer.from(sign(secret, payload), 'base64url');
  if (mac.length !== want.length || !timingSafeEqual(mac, want)) return { ok: false, reason: 'invalid' };
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  if (typeof claims !== 'object' || claims === null) return { ok: false, reason: 'invalid' };
  const rec = claims as Record<string, unknown>;
  if (typeof rec.exp !== 'number' || typeof rec.room !== 'string') return { ok: false, reason: 'invalid' };
  if (rec.exp * 1000 <= nowMs) return { ok: false, reason: 'expired' };
  return { ok: true, claims: rec };
}

export function mintJoinToken(secret: string, claims: JoinClaims): string {
  const c: Record<string, unknown> = { k: 'j', room: claims.room, exp: Math.floor(claims.exp) };
  if (claims.name !== undefined) c.name = claims.name;
  return encode(secret, c);
}

export function verifyJoinToken(secret: string, token: string, nowMs: number): TokenResult<JoinClaims> {
  const r = decode(secret, token, nowMs);
  if (!r.ok) return r;
  const c = r.claims;
  if (c.k !== 'j' || (c.name !== undefined && typeof c.name !== 'string'))
    return { ok: false, reason: 'invalid' };
  return {
    ok: true,
    claims: { room: c.room as string, exp: c.exp as number, ...(c.name ? { name: c.name } : {}) },
  };
}

export function mintResumeToken(secret: string, claims: ResumeClaims): string {
  return encode(secret, {
    k: 'r',
    room: claims.room,
    exp: Math.floor(claims.exp),
    peer: claims.peer,
    name: claims.name,
  });
}

export function verifyResumeToken(secret: string, token: string, nowMs: number): TokenResult<ResumeClaims> {
  const r = decode(secret, token, nowMs);
  if (!r.ok) return r;
  const c = r.claims;
  if (c.k !== 'r' || typeof c.peer !== 'string' || typeof c.name !== 'string')
    return { ok: false, reason: 'invalid' };
  return {
    ok: true,
    claims: { room: c.room as string, exp: c.exp as number, peer: c.peer, name: c.name },
  };
}

/**
 * TURN REST API credentials (draft-uberti-behave-turn-rest, coturn's `use-auth-secret`):
 * username `expiry:user`, credential base64(HMAC-SHA1(secret, username)).
 */
export function turnRestCredential(
  secret: string,
  user: string,
  expirySec: number,
): { username: string; credential: string } {
  const username = `${Math.floor(expirySec)}:${user}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}
