/**
 * What travels on the virtual network: one IP packet carrying a UDP datagram or a TCP segment.
 * Addresses are plain strings (IPv4 or IPv6); routing is by exact address, not by prefix.
 */
import { familyOf, type TransportAddress } from '../net.js';

export type Protocol = 'udp' | 'tcp';

/** The simplified TCP model: handshake, data, orderly close and reset. No loss, no retransmission. */
export type TcpSegmentKind = 'syn' | 'syn-ack' | 'data' | 'fin' | 'rst';

export interface VirtualPacket {
  /** Unique per send; a duplicate keeps the id of its original. */
  readonly id: number;
  readonly proto: Protocol;
  readonly src: TransportAddress;
  readonly dst: TransportAddress;
  /** UDP payload, or the TCP segment's payload (empty for control segments). */
  readonly data: Uint8Array;
  /** Set for TCP. */
  readonly tcp?: TcpSegmentKind;
}

/** IPv4 header (20) + UDP header (8); RFC 791, RFC 768. */
export const UDP_IPV4_OVERHEAD = 28;
/** IPv6 header (40) + UDP header (8); RFC 8200. */
export const UDP_IPV6_OVERHEAD = 48;
/** IPv4 header (20) + TCP header without options (20); RFC 9293. */
export const TCP_IPV4_OVERHEAD = 40;
export const TCP_IPV6_OVERHEAD = 60;
/** Largest UDP payload over IPv4 (65535 - 28). */
export const MAX_UDP_PAYLOAD = 65507;
/** Segment size for TCP writes (a 1500-byte Ethernet MTU less headers). */
export const TCP_MSS = 1460;

/** Size of the packet on the wire (IP header included): what MTU and bandwidth limits count. */
export function wireSize(p: VirtualPacket): number {
  const v6 = familyOf(p.dst.address) === 'IPv6';
  if (p.proto === 'udp') return p.data.length + (v6 ? UDP_IPV6_OVERHEAD : UDP_IPV4_OVERHEAD);
  return p.data.length + (v6 ? TCP_IPV6_OVERHEAD : TCP_IPV4_OVERHEAD);
}

/** Why a packet did not arrive. */
export type DropReason =
  /** Random loss on a link. */
  | 'loss'
  /** Larger than a link's MTU. */
  | 'mtu'
  /** The bandwidth-limited link's queue was full. */
  | 'queue'
  /** No host or router owns the destination address. */
  | 'no-route'
  /** Reached the host, but no open socket is bound to the port (or the socket has no handler). */
  | 'no-socket'
  /** A NAT had no mapping for the destination port (or the mapping expired). */
  | 'nat-no-mapping'
  /** A NAT had a mapping but its filtering behaviour rejected the sender. */
  | 'nat-filtered'
  /** A LAN host sent to its NAT's public address and the NAT does not hairpin. */
  | 'nat-no-hairpin'
  /** A firewall rule (e.g. drop all outbound UDP). */
  | 'firewall';

export const DROP_REASONS: readonly DropReason[] = [
  'loss',
  'mtu',
  'queue',
  'no-route',
  'no-socket',
  'nat-no-mapping',
  'nat-filtered',
  'nat-no-hairpin',
  'firewall',
];

/** Packet counters for assertions: one set per protocol on the network, one per host. */
export class Counters {
  /** Packets handed to the network by sockets (duplicates not included). */
  sent = 0;
  /** Packets handed to a socket's handler. */
  delivered = 0;
  /** Extra copies made by link duplication. */
  duplicated = 0;
  bytesSent = 0;
  bytesDelivered = 0;
  readonly dropped: Record<DropReason, number> = Object.fromEntries(
    DROP_REASONS.map((r) => [r, 0]),
  ) as Record<DropReason, number>;

  get droppedTotal(): number {
    let n = 0;
    for (const r of DROP_REASONS) n += this.dropped[r];
    return n;
  }

  snapshot(): {
    sent: number;
    delivered: number;
    duplicated: number;
    bytesSent: number;
    bytesDelivered: number;
    dropped: Record<DropReason, number>;
  } {
    return {
      sent: this.sent,
      delivered: this.delivered,
      duplicated: this.duplicated,
      bytesSent: this.bytesSent,
      bytesDelivered: this.bytesDelivered,
      dropped: { ...this.dropped },
    };
  }
}

/** One line of the optional packet trace (for determinism checks and debugging). */
export interface TraceEvent {
  readonly t: number;
  readonly event: 'send' | 'deliver' | 'drop' | 'duplicate';
  readonly id: number;
  readonly proto: Protocol;
  readonly src: string;
  readonly dst: string;
  readonly size: number;
  /** Where it happened (host or router name). */
  readonly at: string;
  readonly reason?: DropReason;
}
