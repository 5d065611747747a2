/**
 * A router forwards packets between the nodes attached to it, by exact destination address. The
 * internet is a router with no upstream; a NAT router has a LAN of attached nodes and an upstream
 * (its WAN side) through which it translates everything not addressed to its LAN.
 */
import type { Fabric, PacketSink } from './fabric.js';
import { type HostFirewall, type Uplink, VirtualHost } from './host.js';
import { Link, type LinkConditions } from './link.js';
import type { VirtualPacket } from './packet.js';

export interface Attachment extends Uplink {
  readonly node: PacketSink;
  readonly addresses: readonly string[];
}

export interface HostOptions {
  /** The host's address on this router's network. */
  address?: string;
  /** Several addresses (a multi-homed host, or a STUN server with an alternate address). */
  addresses?: readonly string[];
  /** Conditions of the link between the host and this router. */
  link?: LinkConditions;
  /** Host firewall rules. */
  firewall?: Partial<HostFirewall>;
}

export abstract class Router {
  readonly name: string;
  readonly fabric: Fabric;
  readonly #byAddress = new Map<string, Attachment>();
  readonly #attachments: Attachment[] = [];

  constructor(fabric: Fabric, name: string) {
    this.fabric = fabric;
    this.name = name;
  }

  /** Address for a node attached without one. */
  protected abstract assignAddress(): string;

  /** A fresh address on this router's network, skipping addresses already taken. */
  assignAddressFor(): string {
    for (let i = 0; i < 100_000; i++) {
      const a = this.assignAddress();
      if (!this.#byAddress.has(a) && !this.ownsAddress(a)) return a;
    }
    throw new RangeError(`${this.name}: no free address`);
  }

  /** A packet from an attached node arrived over its uplink. */
  protected abstract route(p: VirtualPacket, from: Attachment): void;

  /** Attach a node (a host, or a NAT's WAN side) with its addresses and link conditions. */
  attach(node: PacketSink, addresses: readonly string[], conditions: LinkConditions = {}): Attachment {
    for (const a of addresses) {
      if (this.#byAddress.has(a) || this.ownsAddress(a))
        throw new TypeError(`${this.name}: address ${a} in use`);
    }
    const link = new Link(this.fabric, `${node.name}<->${this.name}`, conditions);
    const att: Attachment = {
      node,
      addresses: [...addresses],
      link,
      send: (p) => link.up.send(p, (q) => this.route(q, att)),
    };
    for (const a of addresses) this.#byAddress.set(a, att);
    this.#attachments.push(att);
    return att;
  }

  /** Addresses the router itself answers for (a NAT's public address). */
  ownsAddress(_address: string): boolean {
    return false;
  }

  /** The attachment that owns an address. */
  lookup(address: string): Attachment | undefined {
    return this.#byAddress.get(address);
  }

  /** Send p down the link of the node that owns its destination. */
  protected forward(p: VirtualPacket, to: Attachment): void {
    to.link.down.send(p, (q) => {
      if (!this.fabric.closed) to.node.receive(q);
    });
  }

  /**
   * Give an existing host another interface, on this router's network (a multi-homed host).
   * Returns the new interface's addresses.
   */
  addInterface(host: VirtualHost, options: Omit<HostOptions, 'firewall'> = {}): readonly string[] {
    const addresses = options.addresses ?? (options.address ? [options.address] : [this.assignAddressFor()]);
    host.addInterface(addresses, (h) => this.attach(h, addresses, options.link));
    return addresses;
  }

  /** Add a host on this router's network. */
  host(name: string, options: HostOptions = {}): VirtualHost {
    const addresses = options.addresses ?? (options.address ? [options.address] : [this.assignAddressFor()]);
    const h = new VirtualHost(this.fabric, name, addresses, (host) =>
      this.attach(host, addresses, options.link),
    );
    if (options.firewall?.dropOutboundUdp) h.firewall.dropOutboundUdp = true;
    return h;
  }
}
