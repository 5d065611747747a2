import { createHash, createHmac } from 'node:crypto';
import type { PrfHash } from './cipher-suites.js';

const enc = new TextEncoder();

/** P_hash of RFC 5246 §5: HMAC-based expansion of `secret` with `seed` to `length` bytes. */
function pHash(hash: PrfHash, secret: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let a: Uint8Array = createHmac(hash, secret).update(seed).digest();
  let at = 0;
  while (at < length) {
    const block = createHmac(hash, secret).update(a).update(seed).digest();
    out.set(block.subarray(0, Math.min(block.length, length - at)), at);
    at += block.length;
    a = createHmac(hash, secret).update(a).digest();
  }
  return out;
}

/** PRF(secret, label, seed) = P_<hash>(secret, label + seed) (RFC 5246 §5). */
export function prf(
  hash: PrfHash,
  secret: Uint8Array,
  label: string,
  seed: Uint8Array,
  length: number,
): Uint8Array {
  const l = enc.encode(label);
  const s = new Uint8Array(l.length + seed.length);
  s.set(l, 0);
  s.set(seed, l.length);
  return pHash(hash, secret, s, length);
}

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** master_secret (RFC 5246 §8.1), or the extended form over the session hash (RFC 7627 §4). */
export function masterSecret(
  hash: PrfHash,
  preMaster: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  sessionHash: Uint8Array | undefined,
): Uint8Array {
  if (sessionHash) return prf(hash, preMaster, 'extended master secret', sessionHash, 48);
  return prf(hash, preMaster, 'master secret', cat(clientRandom, serverRandom), 48);
}

/** key_block = PRF(master, "key expansion", server_random + client_random) (RFC 5246 §6.3). */
export function keyBlock(
  hash: PrfHash,
  master: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  length: number,
): Uint8Array {
  return prf(hash, master, 'key expansion', cat(serverRandom, clientRandom), length);
}

/** verify_data for Finished (RFC 5246 §7.4.9). */
export function verifyData(
  hash: PrfHash,
  master: Uint8Array,
  fromClient: boolean,
  transcript: Uint8Array,
): Uint8Array {
  const h = createHash(hash).update(transcript).digest();
  return prf(hash, master, fromClient ? 'client finished' : 'server finished', h, 12);
}

/**
 * Keying material exporter (RFC 5705 §4): PRF(master, label, client_random + server_random
 * [+ context length + context]).
 */
export function exportKeyingMaterial(
  hash: PrfHash,
  master: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  label: string,
  length: number,
  context?: Uint8Array,
): Uint8Array {
  const seed = context
    ? cat(clientRandom, serverRandom, Uint8Array.of(context.length >> 8, context.length & 0xff), context)
    : cat(clientRandom, serverRandom);
  return prf(hash, master, label, seed, length);
}
