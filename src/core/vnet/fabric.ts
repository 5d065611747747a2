/**
 * What the parts of the virtual network (links, routers, hosts) need from the network they belong
 * to: the clock, seeded randomness, counters, the trace and a way to schedule work that `close()`
 * can cancel. `VirtualNetwork` implements it; the parts only see this interface (no import cycle).
 */
import type { Clock, Timer } from '../clock.js';
import { RtcError } from '../errors.js';
import type { Random } from '../random.js';
import type { Counters, DropReason, TraceEvent, VirtualPacket } from './packet.js';

export interface Fabric {
  readonly clock: Clock;
  /** Run fn after ms on the clock (0 still goes through the clock). Cancelled by network close. */
  schedule(ms: number, fn: () => void): Timer;
  /** A new independent seeded stream (derived from the network's seed in creation order). */
  deriveRandom(): Random;
  /** A fresh packet id. */
  nextPacketId(): number;
  counters(proto: VirtualPacket['proto']): Counters;
  /** Count and trace a drop. */
  drop(p: VirtualPacket, reason: DropReason, at: string): void;
  record(event: TraceEvent['event'], p: VirtualPacket, at: string): void;
  /** Called by each host at creation, so the network can list and close its sockets. */
  addHost(host: SocketOwner): void;
  readonly closed: boolean;
}

/** Something a router forwards packets to: a host or the WAN side of a NAT router. */
export interface PacketSink {
  readonly name: string;
  receive(p: VirtualPacket): void;
}

/** A host as the network sees it for leak checks. */
export interface SocketOwner {
  readonly name: string;
  /** Descriptions of the sockets, listeners and connections still open. */
  openSockets(): string[];
  /** Close everything the host has open. */
  closeAll(): void;
}

/**
 * Socket-level failures. The codes are Node's (`EADDRINUSE`, `EADDRNOTAVAIL`, `ECONNREFUSED`,
 * `ECONNRESET`, `ETIMEDOUT`, `ENETUNREACH`), so code that retries a port range or handles a refused
 * connection treats the real and the virtual network alike.
 */
export class VirtualNetworkError extends RtcError {}
