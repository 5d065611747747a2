/**
 * A virtual host: implements `Network`, so engines and adapters run on it unchanged. It has a
 * loopback interface and one or more network interfaces, each a link to a router (the internet or
 * a NAT's LAN) with one or more addresses: a multi-homed host (Wi-Fi behind one NAT, cellular behind
 * another) has two. Packets leave through the interface that owns their source address.
 */
import {
  type AddressFamily,
  familyOf,
  formatAddress,
  type InterfaceAddress,
  type Network,
  type TcpConnection,
  type TcpListener,
  type TransportAddress,
  type UdpBindOptions,
  type UdpSocket,
} from '../net.js';
import { type Fabric, type PacketSink, type SocketOwner, VirtualNetworkError } from './fabric.js';
import type { Link } from './link.js';
import { Counters, MAX_UDP_PAYLOAD, type VirtualPacket } from './packet.js';
import { PortAllocator } from './ports.js';
import { TcpStack } from './tcp.js';
import { type UdpHostSide, VirtualUdpSocket } from './udp.js';

/** The host's side of its link: the router end is behind `send`. */
export interface Uplink {
  readonly link: Link;
  send(p: VirtualPacket): void;
}

export interface HostFirewall {
  /** Drop every UDP datagram this host sends off-host (TCP still works): for TURN over TCP/TLS tests. */
  dropOutboundUdp: boolean;
}

const LOOPBACK4 = '127.0.0.1';
const LOOPBACK6 = '::1';
const isWildcard = (a: string): boolean => a === '0.0.0.0' || a === '::';
const isLoopback = (a: string): boolean => a === LOOPBACK4 || a === LOOPBACK6;

export class VirtualHost implements Network, PacketSink, SocketOwner, UdpHostSide {
  readonly name: string;
  #addresses: readonly string[] = [];
  readonly fabric: Fabric;
  readonly ports = new PortAllocator();
  /** UDP counters of this host (sent by its sockets, delivered to its sockets, drops at the host). */
  readonly stats = new Counters();
  readonly firewall: HostFirewall = { dropOutboundUdp: false };
  readonly #ifaces: { addresses: readonly string[]; uplink: Uplink }[] = [];
  readonly #udp: VirtualUdpSocket[] = [];
  readonly #tcp: TcpStack;

  constructor(
    fabric: Fabric,
    name: string,
    addresses: readonly string[],
    attach: (host: VirtualHost) => Uplink,
  ) {
    if (addresses.length === 0) throw new TypeError(`host ${name} needs at least one address`);
    this.fabric = fabric;
    this.name = name;
    this.#tcp = new TcpStack(this);
    this.addInterface(addresses, attach);
    fabric.addHost(this);
  }

  /** The host's addresses on all its interfaces (not loopback), primary interface first. */
  get addresses(): readonly string[] {
    return this.#addresses;
  }

  /** The link of the primary interface (set conditions on it: delay, loss, bandwidth, ...). */
  get link(): Link {
    return this.#ifaces[0]!.uplink.link;
  }

  /** The link of the interface that owns `address`. */
  linkOf(address: string): Link | undefined {
    return this.#ifaces.find((i) => i.addresses.includes(address))?.uplink.link;
  }

  /** Add an interface (use `router.addInterface(host, options)`, which attaches it). */
  addInterface(addresses: readonly string[], attach: (host: VirtualHost) => Uplink): void {
    for (const a of addresses)
      if (this.addresses.includes(a)) throw new TypeError(`${this.name} already has ${a}`);
    this.#ifaces.push({ addresses: [...addresses], uplink: attach(this) });
    this.#addresses = [...this.#addresses, ...addresses];
  }

  #uplinkFor(src: string): Uplink {
    return (this.#ifaces.find((i) => i.addresses.includes(src)) ?? this.#ifaces[0]!).uplink;
  }

  // ---------------------------------------------------------------- Network
  interfaces(): InterfaceAddress[] {
    const out: InterfaceAddress[] = [{ name: 'lo', address: LOOPBACK4, family: 'IPv4', internal: true }];
    this.addresses.forEach((address, i) => {
      out.push({ name: `eth${i}`, address, family: familyOf(address), internal: false });
    });
    return out;
  }

  bindUdp(options: UdpBindOptions = {}): Promise<UdpSocket> {
    const family: AddressFamily = options.family ?? (options.address ? familyOf(options.address) : 'IPv4');
    const address = options.address ?? (family === 'IPv6' ? '::' : '0.0.0.0');
    if (!this.ownsAddress(address)) {
      return Promise.reject(
        new VirtualNetworkError('EADDRNOTAVAIL', `${this.name} has no address ${address}`),
      );
    }
    let port = options.port ?? 0;
    if (port === 0) port = this.ports.allocate((p) => this.#udp.some((s) => s.local.port === p)) ?? 0;
    const clash = this.#udp.some(
      (s) =>
        s.local.port === port &&
        familyOf(s.local.address) === familyOf(address) &&
        (s.local.address === address || isWildcard(s.local.address) || isWildcard(address)),
    );
    if (port === 0 || clash) {
      return Promise.reject(
        new VirtualNetworkError('EADDRINUSE', `${address}:${port} in use on ${this.name}`),
      );
    }
    const s = new VirtualUdpSocket(this, { address, port });
    this.#udp.push(s);
    return Promise.resolve(s);
  }

  listenTcp(options: { address?: string; port?: number }): Promise<TcpListener> {
    return this.#tcp.listen(options);
  }

  connectTcp(options: { address: string; port: number; localAddress?: string }): Promise<TcpConnection> {
    return this.#tcp.connect(options);
  }

  // ---------------------------------------------------------------- addresses
  ownsAddress(address: string): boolean {
    return isWildcard(address) || isLoopback(address) || this.addresses.includes(address);
  }

  /** Source address for packets to dst: the bound address, else the first of dst's family. */
  sourceFor(dst: string, bound?: string): string | undefined {
    const fam = familyOf(dst);
    if (bound !== undefined && familyOf(bound) !== fam) return undefined;
    if (bound !== undefined && !isWildcard(bound)) return bound;
    if (isLoopback(dst)) return dst;
    return this.addresses.find((a) => familyOf(a) === fam);
  }

  // ---------------------------------------------------------------- sending
  sendUdp(socket: VirtualUdpSocket, data: Uint8Array, to: TransportAddress): boolean {
    const src = this.sourceFor(to.address, socket.local.address);
    if (src === undefined || data.length > MAX_UDP_PAYLOAD || to.port <= 0 || to.port > 65535) return false;
    const p: VirtualPacket = {
      id: this.fabric.nextPacketId(),
      proto: 'udp',
      src: { address: src, port: socket.local.port },
      dst: { address: to.address, port: to.port },
      data: data.slice(),
    };
    const counters = this.fabric.counters('udp');
    counters.sent++;
    counters.bytesSent += p.data.length;
    this.stats.sent++;
    this.stats.bytesSent += p.data.length;
    this.fabric.record('send', p, this.name);
    if (this.ownsAddress(to.address)) {
      this.fabric.schedule(0, () => this.receive(p));
      return true;
    }
    if (this.firewall.dropOutboundUdp) {
      this.#drop(p, 'firewall');
      return true;
    }
    const uplink = this.#uplinkFor(src);
    if (!uplink.link.up.fits(p)) {
      // The host knows its own link's MTU: a local error, as EMSGSIZE would be.
      this.#drop(p, 'mtu');
      return false;
    }
    uplink.send(p);
    return true;
  }

  /** Send a TCP segment (from the TCP stack). */
  transmit(p: VirtualPacket): void {
    const c = this.fabric.counters('tcp');
    c.sent++;
    c.bytesSent += p.data.length;
    this.fabric.record('send', p, this.name);
    if (this.ownsAddress(p.dst.address)) this.fabric.schedule(0, () => this.receive(p));
    else this.#uplinkFor(p.src.address).send(p);
  }

  releaseUdp(socket: VirtualUdpSocket): void {
    const i = this.#udp.indexOf(socket);
    if (i >= 0) this.#udp.splice(i, 1);
  }

  #drop(p: VirtualPacket, reason: Parameters<Fabric['drop']>[1]): void {
    if (p.proto === 'udp') this.stats.dropped[reason]++;
    this.fabric.drop(p, reason, this.name);
  }

  // ---------------------------------------------------------------- receiving
  receive(p: VirtualPacket): void {
    if (p.proto === 'tcp') {
      if (this.#tcp.receive(p)) {
        const c = this.fabric.counters('tcp');
        c.delivered++;
        c.bytesDelivered += p.data.length;
        this.fabric.record('deliver', p, this.name);
      } else this.fabric.drop(p, 'no-socket', this.name);
      return;
    }
    const fam = familyOf(p.dst.address);
    const socket =
      this.#udp.find((s) => s.local.port === p.dst.port && s.local.address === p.dst.address) ??
      this.#udp.find(
        (s) =>
          s.local.port === p.dst.port && isWildcard(s.local.address) && familyOf(s.local.address) === fam,
      );
    if (!socket?.onMessage) {
      this.#drop(p, 'no-socket');
      return;
    }
    const counters = this.fabric.counters('udp');
    counters.delivered++;
    counters.bytesDelivered += p.data.length;
    this.stats.delivered++;
    this.stats.bytesDelivered += p.data.length;
    this.fabric.record('deliver', p, this.name);
    socket.deliver(p.data, p.src);
  }

  // ---------------------------------------------------------------- lifecycle
  openSockets(): string[] {
    return [
      ...this.#udp.map((s) => `${this.name}: udp ${formatAddress(s.local)}`),
      ...this.#tcp.open().map((d) => `${this.name}: ${d}`),
    ];
  }

  closeAll(): void {
    for (const s of [...this.#udp]) s.close();
    this.#tcp.closeAll();
  }
}
