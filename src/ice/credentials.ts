/**
 * ICE credentials (RFC 8445 §5.3, RFC 8839 §5.4): ufrag of at least 4 and password of at least 22
 * ice-chars. Secrets, so they come from node:crypto.
 */
import { randomBytes } from 'node:crypto';
import type { IceCredentials } from './types.js';

const ICE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function iceString(n: number): string {
  const b = randomBytes(n);
  let s = '';
  for (const x of b) s += ICE_CHARS[x & 63];
  return s;
}

export function randomCredentials(): IceCredentials {
  return { ufrag: iceString(8), pwd: iceString(24) };
}
