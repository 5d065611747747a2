/**
 * One-shot mDNS (RFC 6762 §5.1) to resolve remote `<uuid>.local` host candidates: browsers hide
 * their host addresses behind such names (draft-ietf-mmusic-mdns-ice-candidates). We send a query
 * for A and AAAA to 224.0.0.251:5353 from an ephemeral port; responders answer such "legacy unicast"
 * queries directly to that port (RFC 6762 §6.7).
 *
 * DNS message (RFC 1035 §4.1):
 *   header: ID(16) FLAGS(16) QDCOUNT(16) ANCOUNT(16) NSCOUNT(16) ARCOUNT(16)
 *   question: QNAME QTYPE(16) QCLASS(16)       (QCLASS top bit: unicast-response, RFC 6762 §5.4)
 *   record:   NAME TYPE(16) CLASS(16) TTL(32) RDLENGTH(16) RDATA   (CLASS top bit: cache-flush)
 */
import { ByteReader, ByteWriter } from '../core/bytes.js';
import type { Clock, Timer } from '../core/clock.js';
import { isInputError } from '../core/errors.js';
import type { Network, TransportAddress, UdpSocket } from '../core/net.js';

/** RFC 6762 §3: the IPv4 mDNS group and port. */
export const MDNS_IPV4: TransportAddress = { address: '224.0.0.251', port: 5353 };
/** RFC 1035 §3.2.2 */
export const DNS_TYPE_A = 1;
/** RFC 3596 §2.1 */
export const DNS_TYPE_AAAA = 28;
/** RFC 1035 §3.2.4 */
export const DNS_CLASS_IN = 1;
/** RFC 1035 §4.1.1: QR bit (response) and AA bit. */
const FLAG_RESPONSE = 0x8000;
const FLAG_AUTHORITATIVE = 0x0400;
const MAX_NAME_LENGTH = 255;

export interface DnsQuestion {
  readonly name: string;
  readonly type: number;
  readonly unicastResponse: boolean;
}

export interface DnsRecord {
  readonly name: string;
  readonly type: number;
  readonly ttl: number;
  readonly data: Uint8Array;
  /** Decoded address for A/AAAA records. */
  readonly address?: string;
}

export interface DnsMessage {
  readonly id: number;
  readonly response: boolean;
  readonly questions: readonly DnsQuestion[];
  readonly answers: readonly DnsRecord[];
}

function readName(r: ByteReader, msg: Uint8Array): string {
  const labels: string[] = [];
  let reader = r;
  let jumps = 0;
  let total = 0;
  for (;;) {
    const len = reader.u8('name.label');
    if (len === 0) break;
    if ((len & 0xc0) === 0xc0) {
      const ptr = ((len & 0x3f) << 8) | reader.u8('name.pointer');
      if (++jumps > 16 || ptr >= msg.length) reader.fail('name.pointer', 'bad compression pointer');
      // A pointer ends this reader's part of the name; keep reading from the target.
      reader = new ByteReader(msg, 'mdns', ptr);
      continue;
    }
    if ((len & 0xc0) !== 0) reader.fail('name.label', 'reserved label type');
    total += len + 1;
    if (total > MAX_NAME_LENGTH) reader.fail('name', 'name too long');
    const bytes = reader.bytes(len, 'name.label');
    labels.push(String.fromCharCode(...bytes));
  }
  return labels.join('.');
}

/** RFC 5952 text form: lower case, longest run (>= 2) of zero groups as `::`. */
function formatIpv6(g: readonly number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function formatAddress(type: number, d: Uint8Array): string | undefined {
  if (type === DNS_TYPE_A && d.length === 4) return d.join('.');
  if (type === DNS_TYPE_AAAA && d.length === 16) {
    const g: number[] = [];
    for (let i = 0; i < 16; i += 2) g.push((d[i]! << 8) | d[i + 1]!);
    return formatIpv6(g);
  }
  return undefined;
}

export function parseDnsMessage(bytes: Uint8Array): DnsMessage {
  const r = new ByteReader(bytes, 'mdns');
  const id = r.u16('id');
  const flags = r.u16('flags');
  const qd = r.u16('qdcount');
  const an = r.u16('ancount');
  r.u16('nscount');
  r.u16('arcount');
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < qd; i++) {
    const name = readName(r, bytes);
    const type = r.u16('qtype');
    const cls = r.u16('qclass');
    questions.push({ name, type, unicastResponse: (cls & 0x8000) !== 0 });
  }
  const answers: DnsRecord[] = [];
  for (let i = 0; i < an; i++) {
    const name = readName(r, bytes);
    const type = r.u16('type');
    r.u16('class');
    const ttl = r.u32('ttl');
    const len = r.u16('rdlength');
    const data = r.bytes(len, 'rdata');
    const address = formatAddress(type, data);
    answers.push(address === undefined ? { name, type, ttl, data } : { name, type, ttl, data, address });
  }
  return { id, response: (flags & FLAG_RESPONSE) !== 0, questions, answers };
}

function writeName(w: ByteWriter, name: string): void {
  for (const label of name.split('.').filter((l) => l.length > 0)) {
    const b = new TextEncoder().encode(label);
    if (b.length > 63) throw new RangeError(`mdns label too long: ${label}`);
    w.u8(b.length);
    w.bytes(b);
  }
  w.u8(0);
}

export function serializeDnsMessage(m: DnsMessage): Uint8Array {
  const w = new ByteWriter(512);
  w.u16(m.id);
  w.u16(m.response ? FLAG_RESPONSE | FLAG_AUTHORITATIVE : 0);
  w.u16(m.questions.length);
  w.u16(m.answers.length);
  w.u16(0);
  w.u16(0);
  for (const q of m.questions) {
    writeName(w, q.name);
    w.u16(q.type);
    w.u16(DNS_CLASS_IN | (q.unicastResponse ? 0x8000 : 0));
  }
  for (const a of m.answers) {
    writeName(w, a.name);
    w.u16(a.type);
    w.u16(DNS_CLASS_IN | 0x8000);
    w.u32(a.ttl);
    w.u16(a.data.length);
    w.bytes(a.data);
  }
  return w.finish();
}

/** Encode an IPv4/IPv6 literal as A/AAAA rdata. */
export function addressRecordData(address: string): { type: number; data: Uint8Array } {
  if (!address.includes(':'))
    return { type: DNS_TYPE_A, data: new Uint8Array(address.split('.').map(Number)) };
  const [head = '', tail = ''] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = address.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  const data = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = Number.parseInt(g, 16) || 0;
    data[i * 2] = v >> 8;
    data[i * 2 + 1] = v & 0xff;
  });
  return { type: DNS_TYPE_AAAA, data };
}

export interface MdnsResolverOptions {
  network: Network;
  clock: Clock;
  /** Where queries go; default 224.0.0.251:5353 (tests point it at a loopback responder). */
  server?: TransportAddress;
  /** How long to wait for an answer; default 1000 ms. */
  timeoutMs?: number;
}

/**
 * Resolves `.local` names with one-shot queries. Caches answers for their TTL. Resolutions that
 * time out give undefined (the candidate is then ignored, as browsers do).
 */
export class MdnsResolver {
  readonly #opts: MdnsResolverOptions;
  #socket: Promise<UdpSocket> | undefined;
  #pending = new Map<string, { resolve: (a: string | undefined) => void; timer: Timer }[]>();
  #cache = new Map<string, { address: string; expires: number }>();
  #nextId = 1;
  #closed = false;
  parseErrors = 0;

  constructor(opts: MdnsResolverOptions) {
    this.#opts = opts;
  }

  async resolve(name: string): Promise<string | undefined> {
    const key = name.toLowerCase().replace(/\.$/, '');
    const hit = this.#cache.get(key);
    if (hit && hit.expires > this.#opts.clock.now()) return hit.address;
    if (this.#closed) return undefined;
    const sock = await this.#open();
    return new Promise((resolve) => {
      const timer = this.#opts.clock.setTimeout(
        () => this.#settle(key, undefined),
        this.#opts.timeoutMs ?? 1000,
      );
      const list = this.#pending.get(key);
      if (list) {
        list.push({ resolve, timer });
        return;
      }
      this.#pending.set(key, [{ resolve, timer }]);
      const query = serializeDnsMessage({
        id: this.#nextId++ & 0xffff,
        response: false,
        questions: [
          { name: key, type: DNS_TYPE_A, unicastResponse: true },
          { name: key, type: DNS_TYPE_AAAA, unicastResponse: true },
        ],
        answers: [],
      });
      sock.send(query, this.#opts.server ?? MDNS_IPV4);
    });
  }

  #open(): Promise<UdpSocket> {
    this.#socket ??= this.#opts.network.bindUdp({ family: 'IPv4' }).then((s) => {
      s.onMessage = (data) => this.#onMessage(data);
      return s;
    });
    return this.#socket;
  }

  #onMessage(data: Uint8Array): void {
    let msg: DnsMessage;
    try {
      msg = parseDnsMessage(data);
    } catch (err) {
      if (!isInputError(err)) throw err;
      this.parseErrors++;
      return;
    }
    if (!msg.response) return;
    for (const a of msg.answers) {
      if (a.address === undefined) continue;
      const key = a.name.toLowerCase();
      this.#cache.set(key, {
        address: a.address,
        expires: this.#opts.clock.now() + Math.max(1, a.ttl) * 1000,
      });
      this.#settle(key, a.address);
    }
  }

  #settle(key: string, address: string | undefined): void {
    const list = this.#pending.get(key);
    if (!list) return;
    this.#pending.delete(key);
    for (const p of list) {
      p.timer.cancel();
      p.resolve(address);
    }
  }

  close(): void {
    this.#closed = true;
    for (const key of [...this.#pending.keys()]) this.#settle(key, undefined);
    void this.#socket?.then((s) => s.close());
  }
}
