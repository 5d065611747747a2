/**
 * The translation state of a NAT (RFC 4787 for UDP, RFC 5382 for TCP): mappings from an internal
 * endpoint to an external port, and the filtering that decides which remote endpoints may send in.
 * Lifetimes are checked against the clock when a mapping is used (no timers), so an idle NAT leaves
 * no timer behind.
 */
import { formatAddress, type TransportAddress } from '../net.js';
import type { Random } from '../random.js';
import type { Protocol } from './packet.js';

/** RFC 4787 section 4.1 (mapping) and 5 (filtering). */
export type NatBehavior = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent';

export interface NatBehaviorOptions {
  /** How external ports are reused across destinations. Default endpoint-independent. */
  mapping?: NatBehavior;
  /** Which senders may reach a mapping. Default address-and-port-dependent (what Linux does). */
  filtering?: NatBehavior;
  /** Deliver LAN packets sent to the NAT's own public address back into the LAN. Default true (RFC 4787 REQ-9). */
  hairpinning?: boolean;
  /** Idle time in ms after which a UDP mapping expires. Default 120000 (RFC 4787 REQ-5: at least 2 min). */
  mappingLifetime?: number;
  /** Idle time in ms after which a TCP mapping expires. Default 7440000 (RFC 5382 REQ-5: 2 h 4 min). */
  tcpMappingLifetime?: number;
  /** 'preserve' keeps the internal port when it is free (RFC 4787 section 4.2.1); 'random' draws one (seeded). */
  portAssignment?: 'preserve' | 'random';
  /** Let inbound packets refresh a mapping too (RFC 4787 REQ-6 makes only outbound refresh a MUST). Default false. */
  inboundRefresh?: boolean;
  /** External ports to assign from, inclusive. Default [1024, 65535]. */
  portRange?: readonly [number, number];
}

export interface Mapping {
  readonly proto: Protocol;
  readonly internal: TransportAddress;
  readonly externalPort: number;
  /** Mapping key part naming the remote (empty for endpoint-independent mapping). */
  readonly remoteKey: string;
  readonly created: number;
  lastUsed: number;
  /** Filtering permissions: remote key (per filtering behaviour) -> last outbound use. */
  readonly permissions: Map<string, number>;
}

export type InboundResult =
  | { ok: true; mapping: Mapping }
  | { ok: false; reason: 'nat-no-mapping' | 'nat-filtered' };

function remotePart(behavior: NatBehavior, remote: TransportAddress): string {
  if (behavior === 'endpoint-independent') return '';
  if (behavior === 'address-dependent') return remote.address;
  return formatAddress(remote);
}

export class NatTable {
  readonly mapping: NatBehavior;
  readonly filtering: NatBehavior;
  readonly portAssignment: 'preserve' | 'random';
  readonly inboundRefresh: boolean;
  readonly udpLifetime: number;
  readonly tcpLifetime: number;
  readonly #range: readonly [number, number];
  readonly #random: Random;
  readonly #byInternal = new Map<string, Mapping>();
  readonly #byExternal = new Map<string, Mapping>();
  /** Mappings created over the table's life (for assertions). */
  created = 0;
  /** Mappings found expired. */
  expired = 0;

  constructor(options: NatBehaviorOptions, random: Random) {
    this.mapping = options.mapping ?? 'endpoint-independent';
    this.filtering = options.filtering ?? 'address-and-port-dependent';
    this.portAssignment = options.portAssignment ?? 'preserve';
    this.inboundRefresh = options.inboundRefresh ?? false;
    this.udpLifetime = options.mappingLifetime ?? 120_000;
    this.tcpLifetime = options.tcpMappingLifetime ?? 7_440_000;
    this.#range = options.portRange ?? [1024, 65535];
    this.#random = random;
  }

  #lifetime(proto: Protocol): number {
    return proto === 'udp' ? this.udpLifetime : this.tcpLifetime;
  }

  #alive(m: Mapping, now: number): boolean {
    if (now - m.lastUsed < this.#lifetime(m.proto)) return true;
    this.#byInternal.delete(`${m.proto}|${formatAddress(m.internal)}|${m.remoteKey}`);
    this.#byExternal.delete(`${m.proto}|${m.externalPort}`);
    this.expired++;
    return false;
  }

  #portFree(proto: Protocol, port: number, now: number): boolean {
    const m = this.#byExternal.get(`${proto}|${port}`);
    return !m || !this.#alive(m, now);
  }

  #assignPort(proto: Protocol, internalPort: number, now: number): number {
    const [lo, hi] = this.#range;
    if (this.portAssignment === 'preserve' && internalPort >= lo && internalPort <= hi) {
      if (this.#portFree(proto, internalPort, now)) return internalPort;
    }
    const span = hi - lo + 1;
    for (let i = 0; i < 64; i++) {
      const port = lo + this.#random.int(span);
      if (this.#portFree(proto, port, now)) return port;
    }
    for (let port = lo; port <= hi; port++) if (this.#portFree(proto, port, now)) return port;
    throw new RangeError('NAT port range exhausted');
  }

  /** The mapping for an outbound packet (created or refreshed), with a permission for its destination. */
  outbound(proto: Protocol, internal: TransportAddress, remote: TransportAddress, now: number): Mapping {
    const remoteKey = remotePart(this.mapping, remote);
    const k = `${proto}|${formatAddress(internal)}|${remoteKey}`;
    let m = this.#byInternal.get(k);
    if (m && !this.#alive(m, now)) m = undefined;
    if (!m) {
      const externalPort = this.#assignPort(proto, internal.port, now);
      m = {
        proto,
        internal: { address: internal.address, port: internal.port },
        externalPort,
        remoteKey,
        created: now,
        lastUsed: now,
        permissions: new Map(),
      };
      this.#byInternal.set(k, m);
      this.#byExternal.set(`${proto}|${externalPort}`, m);
      this.created++;
    }
    m.lastUsed = now;
    m.permissions.set(remotePart(this.filtering, remote), now);
    return m;
  }

  /** Where an inbound packet to an external port goes, or why it is dropped. */
  inbound(proto: Protocol, externalPort: number, remote: TransportAddress, now: number): InboundResult {
    const m = this.#byExternal.get(`${proto}|${externalPort}`);
    if (!m || !this.#alive(m, now)) return { ok: false, reason: 'nat-no-mapping' };
    if (this.filtering !== 'endpoint-independent') {
      const t = m.permissions.get(remotePart(this.filtering, remote));
      if (t === undefined || now - t >= this.#lifetime(proto)) return { ok: false, reason: 'nat-filtered' };
    }
    if (this.inboundRefresh) m.lastUsed = now;
    return { ok: true, mapping: m };
  }

  /** Live mappings (expired ones are removed as a side effect). */
  mappings(now: number, proto?: Protocol): Mapping[] {
    return [...this.#byExternal.values()].filter(
      (m) => (proto === undefined || m.proto === proto) && this.#alive(m, now),
    );
  }

  /** Forget every mapping (like flushing conntrack). */
  clear(): void {
    this.#byInternal.clear();
    this.#byExternal.clear();
  }
}
