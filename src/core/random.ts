import { randomFillSync, randomInt } from 'node:crypto';

/**
 * Randomness for protocol behaviour (jitter, transaction ids in tests, loss in the virtual network).
 * Engines take a Random so tests can seed it. Secrets (keys, passwords) never come from here: they
 * come from node:crypto directly.
 */
export interface Random {
  /** Uniform integer in [0, 2^32). */
  u32(): number;
  /** Uniform float in [0, 1). */
  float(): number;
  /** Uniform integer in [0, max). */
  int(max: number): number;
  bytes(n: number): Uint8Array;
}

/** sfc32, seeded through splitmix32: fast, decent quality, reproducible. */
export class SeededRandom implements Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const mix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = mix();
    this.#b = mix();
    this.#c = mix();
    this.#d = mix();
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }
  float(): number {
    return this.u32() / 2 ** 32;
  }
  int(max: number): number {
    return Math.floor(this.float() * max);
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

/**
 * Bytes from node:crypto, drawn from a pool filled 4 KiB at a time: every call into the CSPRNG costs
 * a few microseconds, and a connection setup asks for dozens of small values (transaction ids,
 * tie-breakers, verification tags, jitter).
 */
const POOL_SIZE = 4096;
const pool = new Uint8Array(POOL_SIZE);
let poolUsed = POOL_SIZE;
function take(n: number): Uint8Array {
  if (n > POOL_SIZE) return randomFillSync(new Uint8Array(n));
  if (poolUsed + n > POOL_SIZE) {
    randomFillSync(pool);
    poolUsed = 0;
  }
  const out = pool.slice(poolUsed, poolUsed + n);
  poolUsed += n;
  return out;
}
const takeU32 = (): number => {
  const b = take(4);
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
};

/** Random backed by node:crypto (the production default). */
export const cryptoRandom: Random = {
  u32: takeU32,
  float: () => takeU32() / 2 ** 32,
  int: (max: number) => (max <= 1 ? 0 : randomInt(max)),
  bytes: take,
};
