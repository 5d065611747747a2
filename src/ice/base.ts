/**
 * A base (RFC 8445 §5.1.1): the transport address a candidate sends from. Host bases are sockets;
 * relayed bases are TURN allocations. The agent only needs to send and to learn what arrived.
 */
import type { TransportAddress } from '../core/net.js';

export interface Base {
  readonly id: string;
  readonly protocol: 'udp' | 'tcp';
  readonly kind: 'host' | 'relay';
  /** ICE-TCP bases (RFC 6544): which side opens the connections. */
  readonly tcpType?: 'active' | 'passive';
  /** The base's own address (for relays, the relayed address). */
  readonly address: TransportAddress;
  send(data: Uint8Array, to: TransportAddress): boolean;
  /** The pair to `remote` on this base was selected (a relay binds a TURN channel to it). */
  selected?(remote: TransportAddress): void;
  close(): void;
}
