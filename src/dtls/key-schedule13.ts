import { createHash, createHmac } from 'node:crypto';

/** Hash of a TLS 1.3 cipher suite. */
export type Hash13 = 'sha256' | 'sha384';

/** DTLS 1.3 replaces the "tls13 " label prefix of HKDF-Expand-Label with "dtls13" (RFC 9147 §5.9). */
const LABEL_PREFIX = 'dtls13';
const enc = new TextEncoder();

export const hashLength = (h: Hash13): number => (h === 'sha256' ? 32 : 48);

/** HKDF-Extract (RFC 5869 §2.2). */
export function hkdfExtract(hash: Hash13, salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return new Uint8Array(
    createHmac(hash, salt.length ? salt : new Uint8Array(hashLength(hash)))
      .update(ikm)
      .digest(),
  );
}

/** HKDF-Expand (RFC 5869 §2.3). */
export function hkdfExpand(hash: Hash13, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  // One block (every TLS 1.3 secret, key and IV): T(1) = HMAC(PRK, info | 0x01).
  if (length <= hashLength(hash)) {
    const t = createHmac(hash, prk).update(info).update(ONE).digest();
    return new Uint8Array(t.buffer, t.byteOffset, length);
  }
  const out = new Uint8Array(length);
  let prev = new Uint8Array(0);
  for (let at = 0, i = 1; at < length; i++) {
    prev = new Uint8Array(createHmac(hash, prk).update(prev).update(info).update(Uint8Array.of(i)).digest());
    out.set(prev.subarray(0, Math.min(prev.length, length - at)), at);
    at += prev.length;
  }
  return out;
}

const ONE = Uint8Array.of(1);

/**
 * The HkdfLabel bytes before the context (RFC 8446 §7.1: length, the prefixed label), by length,
 * prefix and label: the same dozen labels come back in every handshake.
 */
const labelHeads = new Map<string, Uint8Array>();

function labelHead(prefix: string, label: string, length: number): Uint8Array {
  const key = `${length}/${prefix}${label}`;
  let head = labelHeads.get(key);
  if (!head) {
    const l = enc.encode(prefix + label);
    head = new Uint8Array(3 + l.length);
    head[0] = length >> 8;
    head[1] = length & 0xff;
    head[2] = l.length;
    head.set(l, 3);
    // Exporter labels come from callers: keep the table bounded.
    if (labelHeads.size < 256) labelHeads.set(key, head);
  }
  return head;
}

/** HKDF-Expand-Label (RFC 8446 §7.1) with the DTLS 1.3 prefix (TLS 1.3's "tls13 " for test vectors). */
export function hkdfExpandLabel(
  hash: Hash13,
  secret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
  prefix = LABEL_PREFIX,
): Uint8Array {
  const head = labelHead(prefix, label, length);
  const info = new Uint8Array(head.length + 1 + context.length);
  info.set(head);
  info[head.length] = context.length;
  info.set(context, head.length + 1);
  return hkdfExpand(hash, secret, info, length);
}

/** Derive-Secret(secret, label, messages) given the transcript hash (RFC 8446 §7.1). */
export function deriveSecret(
  hash: Hash13,
  secret: Uint8Array,
  label: string,
  transcriptHash: Uint8Array,
): Uint8Array {
  return hkdfExpandLabel(hash, secret, label, transcriptHash, hashLength(hash));
}

export function digest(hash: Hash13, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(hash).update(data).digest());
}

interface ScheduleConstants {
  /** Derive-Secret(HKDF-Extract(0, 0), "derived", ""): the early secret's successor without a PSK. */
  readonly derivedEarly: Uint8Array;
  /** Hash(""). */
  readonly emptyHash: Uint8Array;
}

/** Without a PSK the schedule's first steps are constants of the hash (RFC 8446 §7.1), made once. */
const constantsByHash = new Map<Hash13, ScheduleConstants>();

function scheduleConstants(h: Hash13): ScheduleConstants {
  let c = constantsByHash.get(h);
  if (!c) {
    const zeros = new Uint8Array(hashLength(h));
    const emptyHash = digest(h, new Uint8Array(0));
    c = { derivedEarly: deriveSecret(h, hkdfExtract(h, zeros, zeros), 'derived', emptyHash), emptyHash };
    constantsByHash.set(h, c);
  }
  return c;
}

/**
 * The TLS 1.3 key schedule (RFC 8446 §7.1) without PSKs: handshake secret from the ECDHE
 * shared secret, then master secret; traffic secrets from transcript hashes.
 */
export class KeySchedule13 {
  readonly hash: Hash13;
  #handshakeSecret: Uint8Array | undefined;
  #masterSecret: Uint8Array | undefined;

  constructor(hash: Hash13) {
    this.hash = hash;
  }

  /** Handshake traffic secrets (client, server) over CH..SH. */
  handshake(ecdhe: Uint8Array, helloHash: Uint8Array): { client: Uint8Array; server: Uint8Array } {
    const h = this.hash;
    this.#handshakeSecret = hkdfExtract(h, scheduleConstants(h).derivedEarly, ecdhe);
    return {
      client: deriveSecret(h, this.#handshakeSecret, 'c hs traffic', helloHash),
      server: deriveSecret(h, this.#handshakeSecret, 's hs traffic', helloHash),
    };
  }

  /** Application traffic secrets and exporter master secret over CH..server Finished. */
  application(finishedHash: Uint8Array): { client: Uint8Array; server: Uint8Array; exporter: Uint8Array } {
    const h = this.hash;
    const derived = deriveSecret(h, this.#handshakeSecret!, 'derived', scheduleConstants(h).emptyHash);
    this.#masterSecret = hkdfExtract(h, derived, new Uint8Array(hashLength(h)));
    return {
      client: deriveSecret(h, this.#masterSecret, 'c ap traffic', finishedHash),
      server: deriveSecret(h, this.#masterSecret, 's ap traffic', finishedHash),
      exporter: deriveSecret(h, this.#masterSecret, 'exp master', finishedHash),
    };
  }

  /** verify_data = HMAC(finished_key, transcript hash) (RFC 8446 §4.4.4). */
  finished(baseKey: Uint8Array, transcriptHash: Uint8Array): Uint8Array {
    const key = hkdfExpandLabel(this.hash, baseKey, 'finished', new Uint8Array(0), hashLength(this.hash));
    return new Uint8Array(createHmac(this.hash, key).update(transcriptHash).digest());
  }
}

/** TLS-Exporter (RFC 8446 §7.5). */
export function exporter13(
  hash: Hash13,
  exporterMaster: Uint8Array,
  label: string,
  context: Uint8Array | undefined,
  length: number,
): Uint8Array {
  const secret = deriveSecret(hash, exporterMaster, label, scheduleConstants(hash).emptyHash);
  return hkdfExpandLabel(hash, secret, 'exporter', digest(hash, context ?? new Uint8Array(0)), length);
}
