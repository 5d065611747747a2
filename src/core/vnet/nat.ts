/**
 * A NAT router: a LAN of attached hosts (and nested NATs) behind one public address, translating
 * with the RFC 4787 behaviours configured in its `NatTable`. Packets between LAN hosts stay on the
 * LAN; packets to the NAT's own public address are hairpinned (or dropped); everything else is
 * translated and sent upstream, where unsolicited inbound packets are dropped silently.
 */
import type { Fabric, PacketSink } from './fabric.js';
import type { LinkConditions } from './link.js';
import { type Mapping, type NatBehaviorOptions, NatTable } from './nat-table.js';
import type { DropReason, VirtualPacket } from './packet.js';
import { type Attachment, Router } from './router.js';

/** RFC 3489 names for common combinations (RFC 4787 section 3 explains why they are imprecise). */
export const NAT_PRESETS = {
  /** Endpoint-independent mapping and filtering. */
  fullCone: {
    mapping: 'endpoint-independent',
    filtering: 'endpoint-independent',
    portAssignment: 'preserve',
  },
  /** Endpoint-independent mapping, address-dependent filtering. */
  restrictedCone: {
    mapping: 'endpoint-independent',
    filtering: 'address-dependent',
    portAssignment: 'preserve',
  },
  /** Endpoint-independent mapping, address-and-port-dependent filtering (Linux MASQUERADE). */
  portRestrictedCone: {
    mapping: 'endpoint-independent',
    filtering: 'address-and-port-dependent',
    portAssignment: 'preserve',
  },
  /** A new random external port per destination; only that destination may answer (MASQUERADE --random-fully). */
  symmetric: {
    mapping: 'address-and-port-dependent',
    filtering: 'address-and-port-dependent',
    portAssignment: 'random',
  },
} as const satisfies Record<string, NatBehaviorOptions>;

export type NatPreset = keyof typeof NAT_PRESETS;

export interface NatOptions extends NatBehaviorOptions {
  /** Start from a preset; explicit behaviour options override it. */
  preset?: NatPreset;
  /** Public (WAN) address. Default: assigned by the upstream router. */
  address?: string;
  /** First three octets of the LAN for hosts added without an address, e.g. '10.1.0'. */
  lan?: string;
  /** Conditions of the link between this NAT and its upstream router. */
  wanLink?: LinkConditions;
  /** Drop every UDP packet from the LAN to the outside (a firewall that leaves only TCP). */
  dropOutboundUdp?: boolean;
}

export class NatRouter extends Router implements PacketSink {
  readonly publicAddress: string;
  readonly table: NatTable;
  readonly hairpinning: boolean;
  /** Firewall: drop outbound UDP (can be switched at run time). */
  dropOutboundUdp: boolean;
  readonly #wan: Attachment;
  readonly #lanPrefix: string;
  #nextHost = 2;
  #nextChildLan = 1;

  constructor(fabric: Fabric, name: string, upstream: Router, lanPrefix: string, options: NatOptions = {}) {
    super(fabric, name);
    const behavior: NatBehaviorOptions = {
      ...(options.preset ? NAT_PRESETS[options.preset] : {}),
      ...options,
    };
    this.table = new NatTable(behavior, fabric.deriveRandom());
    this.hairpinning = behavior.hairpinning ?? true;
    this.dropOutboundUdp = options.dropOutboundUdp ?? false;
    this.#lanPrefix = options.lan ?? lanPrefix;
    this.publicAddress = options.address ?? upstream.assignAddressFor();
    this.#wan = upstream.attach(this, [this.publicAddress], options.wanLink);
  }

  /** The link between this NAT and its upstream router. */
  get wanLink(): Attachment['link'] {
    return this.#wan.link;
  }

  protected assignAddress(): string {
    return `${this.#lanPrefix}.${this.#nextHost++}`;
  }

  override ownsAddress(address: string): boolean {
    return address === this.publicAddress;
  }

  /** A NAT behind this one (double NAT, carrier-grade NAT). */
  nat(name: string, options: NatOptions = {}): NatRouter {
    return new NatRouter(this.fabric, name, this, `192.168.${this.#nextChildLan++}`, options);
  }

  /** Live mappings, for assertions. */
  mappings(proto?: VirtualPacket['proto']): Mapping[] {
    return this.table.mappings(this.fabric.clock.now(), proto);
  }

  #drop(p: VirtualPacket, reason: DropReason): void {
    this.fabric.drop(p, reason, this.name);
  }

  protected route(p: VirtualPacket, _from: Attachment): void {
    const lan = this.lookup(p.dst.address);
    if (lan) {
      this.forward(p, lan);
      return;
    }
    if (p.dst.address === this.publicAddress) {
      this.#hairpin(p);
      return;
    }
    if (p.proto === 'udp' && this.dropOutboundUdp) {
      this.#drop(p, 'firewall');
      return;
    }
    const m = this.table.outbound(p.proto, p.src, p.dst, this.fabric.clock.now());
    this.#wan.send({ ...p, src: { address: this.publicAddress, port: m.externalPort } });
  }

  /** A packet from upstream for our public address. */
  receive(p: VirtualPacket): void {
    this.#inbound(p, p);
  }

  #inbound(p: VirtualPacket, original: VirtualPacket): void {
    const r = this.table.inbound(p.proto, p.dst.port, p.src, this.fabric.clock.now());
    if (!r.ok) {
      this.#drop(original, r.reason);
      return;
    }
    const to = this.lookup(r.mapping.internal.address);
    if (!to) {
      this.#drop(original, 'no-route');
      return;
    }
    this.forward({ ...p, dst: r.mapping.internal }, to);
  }

  /** RFC 4787 section 6: LAN to own public address; the source is translated too (REQ-9). */
  #hairpin(p: VirtualPacket): void {
    if (!this.hairpinning) {
      this.#drop(p, 'nat-no-hairpin');
      return;
    }
    const m = this.table.outbound(p.proto, p.src, p.dst, this.fabric.clock.now());
    this.#inbound({ ...p, src: { address: this.publicAddress, port: m.externalPort } }, p);
  }
}
