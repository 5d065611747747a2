/**
 * Candidate gathering (RFC 8445 §5.1.1) over the `Network`: host candidates on every usable
 * interface, server-reflexive candidates from STUN Binding requests sent from each host base,
 * relayed candidates from TURN allocations over UDP, TCP or TLS.
 */
import { lookup } from 'node:dns/promises';
import { toHex } from '../core/bytes.js';
import type { Clock, Timer } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import {
  familyOf,
  type InterfaceAddress,
  type Network,
  type TransportAddress,
  type UdpSocket,
} from '../core/net.js';
import { nodeNetwork } from '../core/net-node.js';
import type { Random } from '../core/random.js';
import { createMessage, METHOD, type ParsedStunMessage, read, serializeStunMessage } from '../stun/index.js';
import { TurnClient } from '../turn/client.js';
import { openTurnTransport } from '../turn/transport.js';
import type { Base } from './base.js';
import { hostLocalPreference } from './candidate.js';
import type { LocalCandidate } from './pair.js';
import { openActiveBase, openPassiveBase } from './tcp.js';
import type { IceAgentOptions, IceCandidateError } from './types.js';
import { type IceServerUrl, parseIceServerUrl } from './url.js';

/** How long the real network's interface list is reused (os.networkInterfaces costs ~0.1 ms+). */
const INTERFACE_CACHE_MS = 1000;
let cachedInterfaces: { at: number; list: InterfaceAddress[] } | undefined;

/**
 * The interfaces to gather on. The real network's list is read at most once a second (connections
 * made together, as pairs on one host are, share one read); other networks are asked every time.
 */
function interfacesOf(network: Network, clock: Clock): InterfaceAddress[] {
  if (network !== nodeNetwork) return network.interfaces();
  const now = clock.now();
  if (!cachedInterfaces || now - cachedInterfaces.at > INTERFACE_CACHE_MS || now < cachedInterfaces.at) {
    cachedInterfaces = { at: now, list: network.interfaces() };
  }
  return cachedInterfaces.list;
}

/** What the gatherer needs from the agent (kept narrow so the two modules do not import each other). */
export interface GatherHost {
  readonly clock: Clock;
  readonly network: Network;
  readonly random: Random;
  readonly log: Logger;
  readonly options: Readonly<IceAgentOptions>;
  readonly closed: boolean;
  addBase(base: Base): void;
  /** Forget a base (its candidates and pairs fail) without closing what it shares with others. */
  removeBase(id: string): void;
  handlePacket(baseId: string, data: Uint8Array, from: TransportAddress): void;
  expectServerResponse(
    tid: Uint8Array,
    handler: ((m: ParsedStunMessage, from: TransportAddress) => void) | undefined,
  ): void;
  addLocalCandidate(
    c: Omit<LocalCandidate, 'id' | 'foundation' | 'priority' | 'component'> & {
      localPreference: number;
      server?: string;
    },
  ): LocalCandidate | undefined;
  reportCandidateError(e: IceCandidateError): void;
}

interface HostBase {
  readonly base: Base;
  readonly socket: UdpSocket;
  readonly localPreference: number;
}

function isIpLiteral(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(':');
}

/** Relay candidates rank below everything; among relays UDP above TCP above TLS (RFC 8445 §5.1.2.2). */
const RELAY_PREFERENCE = { udp: 65535, tcp: 32767, tls: 16383 } as const;
/**
 * Socket buffers of host candidates' UDP sockets. The kernel default (~208 KiB) holds about a dozen
 * 16 KiB datagrams (SCTP over DTLS on loopback), so a burst overflows it and every drop halves the
 * SCTP congestion window. Linux caps the request at net.core.{r,w}mem_max; memory is only used while
 * datagrams wait.
 */
const SOCKET_BUFFERS = { recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 } as const;

export class Gatherer {
  readonly #h: GatherHost;
  #hosts: HostBase[] = [];
  #turn: TurnClient[] = [];
  #timers = new Set<Timer>();
  #finishers = new Set<() => void>();
  #closed = false;
  #servers: { url: IceServerUrl; username?: string; credential?: string }[] = [];

  constructor(host: GatherHost) {
    this.#h = host;
  }

  get turnClients(): readonly TurnClient[] {
    return this.#turn;
  }

  async gather(): Promise<void> {
    const o = this.#h.options;
    const relayOnly = o.iceTransportPolicy === 'relay';
    const servers: { url: IceServerUrl; username?: string; credential?: string }[] = [];
    for (const s of o.iceServers ?? []) {
      for (const u of typeof s.urls === 'string' ? [s.urls] : s.urls) {
        try {
          servers.push({
            url: parseIceServerUrl(u),
            ...(s.username !== undefined ? { username: s.username } : {}),
            ...(s.credential !== undefined ? { credential: s.credential } : {}),
          });
        } catch {
          this.#h.reportCandidateError({ url: u, errorCode: 701, errorText: 'invalid ICE server url' });
        }
      }
    }
    this.#servers = servers;
    if (!relayOnly) await this.#gatherHosts();
    const jobs: Promise<void>[] = [];
    for (const s of servers) {
      if (s.url.scheme === 'stun' && !relayOnly) {
        for (const hb of this.#hosts) jobs.push(this.#srflx(hb, s.url));
      } else if (s.url.scheme === 'turn' || s.url.scheme === 'turns') {
        jobs.push(this.#relay(s.url, s.username ?? '', s.credential ?? ''));
      }
    }
    await Promise.all(jobs);
  }

  /** Server-reflexive candidates again from the existing host bases (ICE restart). */
  async gatherReflexive(): Promise<void> {
    if (this.#h.options.iceTransportPolicy === 'relay') return;
    const jobs: Promise<void>[] = [];
    for (const s of this.#servers) {
      if (s.url.scheme === 'stun') for (const hb of this.#hosts) jobs.push(this.#srflx(hb, s.url));
    }
    await Promise.all(jobs);
  }

  #usable(i: InterfaceAddress): boolean {
    const o = this.#h.options;
    if (i.internal && !o.includeLoopback) return false;
    if (i.family === 'IPv6' && (o.ipv6 === false || /^fe80:/i.test(i.address))) return false;
    if (o.interfaceFilter && !o.interfaceFilter(i)) return false;
    return true;
  }

  async #bind(address: string): Promise<UdpSocket> {
    const range = this.#h.options.portRange;
    if (!range) return this.#h.network.bindUdp({ address, ...SOCKET_BUFFERS });
    const span = range.max - range.min + 1;
    const start = this.#h.random.int(span);
    for (let i = 0; i < span; i++) {
      try {
        return await this.#h.network.bindUdp({
          address,
          port: range.min + ((start + i) % span),
          ...SOCKET_BUFFERS,
        });
      } catch {
        /* port taken: try the next */
      }
    }
    throw new Error(`no free port in ${range.min}-${range.max} on ${address}`);
  }

  async #gatherHosts(): Promise<void> {
    const ifaces = interfacesOf(this.#h.network, this.#h.clock).filter((i) => this.#usable(i));
    // Bind every interface's socket at once (each bind waits for the event loop), then announce the
    // candidates in interface order.
    const bound = ifaces.map((iface) =>
      this.#bind(iface.address).catch((err: unknown) => {
        this.#h.log.warn('cannot bind host candidate', {
          address: iface.address,
          error: (err as Error).message,
        });
        return undefined;
      }),
    );
    let index = 0;
    for (const [i, iface] of ifaces.entries()) {
      const localPreference = hostLocalPreference(iface.address, index++);
      const socket = await bound[i];
      if (!socket) continue;
      if (this.#closed || this.#h.closed) {
        socket.close();
        for (const later of bound.slice(i + 1)) void later.then((s) => s?.close());
        return;
      }
      const id = `udp:${socket.local.address}:${socket.local.port}`;
      const base: Base = {
        id,
        protocol: 'udp',
        kind: 'host',
        address: socket.local,
        send: (d, to) => socket.send(d, to),
        close: () => socket.close(),
      };
      socket.onMessage = (data, from) => this.#h.handlePacket(id, data, from);
      this.#hosts.push({ base, socket, localPreference });
      this.#h.addBase(base);
      this.#h.addLocalCandidate({
        type: 'host',
        protocol: 'udp',
        address: socket.local.address,
        port: socket.local.port,
        baseId: id,
        baseAddress: socket.local.address,
        basePort: socket.local.port,
        localPreference,
      });
      if (this.#h.options.iceTcp) await this.#gatherTcp(iface.address, localPreference);
    }
  }

  /** RFC 6544 host candidates: one passive (listening) and one active (port 9) per interface. */
  async #gatherTcp(address: string, localPreference: number): Promise<void> {
    const deliver = (baseId: string, data: Uint8Array, from: TransportAddress): void =>
      this.#h.handlePacket(baseId, data, from);
    try {
      const passive = await openPassiveBase(this.#h.network, address, deliver);
      if (this.#closed || this.#h.closed) {
        passive.close();
        return;
      }
      this.#h.addBase(passive);
      const active = openActiveBase(this.#h.network, address, deliver);
      this.#h.addBase(active);
      for (const base of [passive, active]) {
        this.#h.addLocalCandidate({
          type: 'host',
          protocol: 'tcp',
          address: base.address.address,
          port: base.address.port,
          ...(base.tcpType !== undefined ? { tcpType: base.tcpType } : {}),
          baseId: base.id,
          baseAddress: base.address.address,
          basePort: base.address.port,
          localPreference,
        });
      }
    } catch (err) {
      this.#h.log.warn('cannot open ICE-TCP candidates', { address, error: (err as Error).message });
    }
  }

  async #resolve(host: string): Promise<string> {
    if (isIpLiteral(host)) return host;
    if (this.#h.options.resolveHost) return this.#h.options.resolveHost(host);
    return (await lookup(host)).address;
  }

  /** RFC 8445 §5.1.1.2: a Binding request from the host base; the mapped address is the srflx. */
  async #srflx(hb: HostBase, url: IceServerUrl): Promise<void> {
    let server: TransportAddress;
    try {
      server = { address: await this.#resolve(url.host), port: url.port };
    } catch {
      this.#h.reportCandidateError({ url: url.url, errorCode: 701, errorText: 'cannot resolve server' });
      return;
    }
    if (familyOf(server.address) !== familyOf(hb.base.address.address)) return;
    const deadline = this.#h.clock.now() + (this.#h.options.gatherTimeout ?? 5000);
    let result: { m: ParsedStunMessage; from: TransportAddress } | undefined;
    const tid = this.#h.random.bytes(12);
    const req = serializeStunMessage(createMessage(METHOD.BINDING, 'request', tid, []), {
      fingerprint: true,
    });
    await new Promise<void>((resolve) => {
      let timer: Timer | undefined;
      let rto = 250;
      const finish = (): void => {
        if (timer) {
          timer.cancel();
          this.#timers.delete(timer);
        }
        this.#finishers.delete(finish);
        resolve();
      };
      this.#finishers.add(finish);
      this.#h.expectServerResponse(tid, (m, from) => {
        result = { m, from };
        finish();
      });
      const send = (): void => {
        const left = deadline - this.#h.clock.now();
        if (this.#closed || left <= 0) {
          finish();
          return;
        }
        hb.base.send(req, server);
        if (timer) this.#timers.delete(timer);
        timer = this.#h.clock.setTimeout(send, Math.min(rto, left));
        this.#timers.add(timer);
        rto *= 2;
      };
      send();
    });
    this.#h.expectServerResponse(tid, undefined);
    if (this.#closed) return;
    if (result?.m.cls !== 'success') {
      this.#h.reportCandidateError({
        url: url.url,
        errorCode: result ? (read.errorCode(result.m)?.code ?? 700) : 701,
        errorText: result ? 'STUN error response' : 'STUN binding request timed out',
        address: hb.base.address.address,
        port: hb.base.address.port,
      });
      return;
    }
    const mapped = read.xorMappedAddress(result.m) ?? read.mappedAddress(result.m);
    if (!mapped) return;
    // A mapped address equal to the base is redundant with the host candidate (RFC 8445 §5.1.3).
    if (mapped.address === hb.base.address.address && mapped.port === hb.base.address.port) return;
    this.#h.addLocalCandidate({
      type: 'srflx',
      protocol: 'udp',
      address: mapped.address,
      port: mapped.port,
      relatedAddress: hb.base.address.address,
      relatedPort: hb.base.address.port,
      baseId: hb.base.id,
      baseAddress: hb.base.address.address,
      basePort: hb.base.address.port,
      localPreference: hb.localPreference,
      url: url.url,
      server: `${server.address}:${server.port}`,
    });
  }

  /** RFC 8656 allocation: the relayed address is the candidate, its base the allocation. */
  async #relay(url: IceServerUrl, username: string, password: string): Promise<void> {
    let client: TurnClient | undefined;
    try {
      const server = { address: await this.#resolve(url.host), port: url.port };
      const transport = await openTurnTransport({
        network: this.#h.network,
        protocol: url.transport,
        server,
        ...(url.transport === 'tls'
          ? {
              tls: {
                // SNI carries names only (RFC 6066 §3), never an IP literal.
                ...(isIpLiteral(url.host) ? {} : { servername: url.host }),
                ...(this.#h.options.turnTls ?? {}),
              },
            }
          : {}),
      });
      if (this.#closed) {
        transport.close();
        return;
      }
      client = new TurnClient({
        clock: this.#h.clock,
        random: this.#h.random,
        transport,
        username,
        password,
        logger: this.#h.log.child('turn'),
        ...(this.#h.options.software ? { software: this.#h.options.software } : {}),
        ...(url.transport !== 'udp' ? { transactionTimeout: this.#h.options.gatherTimeout ?? 5000 } : {}),
      });
      this.#turn.push(client);
      const alloc = await this.#withTimeout(client.allocate());
      if (this.#closed) return;
      const c = client;
      let current = '';
      const install = (relayed: TransportAddress, mapped: TransportAddress | undefined): void => {
        const id = `relay:${url.transport}:${relayed.address}:${relayed.port}`;
        const previous = current;
        current = id;
        const base: Base = {
          id,
          protocol: 'udp',
          kind: 'relay',
          address: relayed,
          send: (d, to) => current === id && c.sendTo(to, d),
          selected: (remote) => {
            if (c.channelFor(remote) === undefined) void c.bindChannel(remote).catch(() => {});
          },
          close: () => void c.close().catch(() => {}),
        };
        this.#h.addBase(base);
        if (previous) this.#h.removeBase(previous);
        this.#h.addLocalCandidate({
          type: 'relay',
          protocol: 'udp',
          address: relayed.address,
          port: relayed.port,
          ...(mapped ? { relatedAddress: mapped.address, relatedPort: mapped.port } : {}),
          baseId: id,
          baseAddress: relayed.address,
          basePort: relayed.port,
          localPreference: RELAY_PREFERENCE[url.transport],
          url: url.url,
          relayProtocol: url.transport,
          server: `${server.address}:${server.port}:${url.transport}`,
        });
      };
      c.on('data', (peer, data) => this.#h.handlePacket(current, data, peer));
      // A lost allocation made again: the new relayed address is a new candidate (trickled), the old
      // one and its pairs are gone.
      c.on('reallocated', (a) => {
        if (!this.#closed && !this.#h.closed) install(a.relayed, a.mapped);
      });
      install(alloc.relayed, alloc.mapped);
    } catch (err) {
      const status = (err as { status?: number }).status;
      this.#h.reportCandidateError({
        url: url.url,
        errorCode: status ?? 701,
        errorText: (err as Error).message,
      });
      if (client) client.abort();
    }
  }

  #withTimeout<T>(p: Promise<T>): Promise<T> {
    const ms = this.#h.options.gatherTimeout ?? 5000;
    return new Promise<T>((resolve, reject) => {
      const t = this.#h.clock.setTimeout(() => {
        this.#timers.delete(t);
        reject(new Error('TURN allocation timed out'));
      }, ms);
      this.#timers.add(t);
      p.then(
        (v) => {
          t.cancel();
          this.#timers.delete(t);
          resolve(v);
        },
        (e) => {
          t.cancel();
          this.#timers.delete(t);
          reject(e);
        },
      );
    });
  }

  close(): void {
    this.#closed = true;
    for (const t of this.#timers) t.cancel();
    this.#timers.clear();
    for (const f of [...this.#finishers]) f();
    for (const c of this.#turn) if (c.state !== 'allocated') c.abort();
  }
}

/** For logs: a transaction id as hex. */
export const tidHex = toHex;
