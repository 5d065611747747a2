/**
 * The virtual network (see network.ts for an example):
 * - `VirtualNetwork({ clock, seed, trace })`: the internet. `host(name, { address | addresses, link,
 *   firewall })` adds a public host; `nat(name, { preset | mapping/filtering/..., address, wanLink,
 *   dropOutboundUdp })` a NAT router; `stats.udp/tcp` counters; `trace`, `tap`; `inFlight`;
 *   `openSockets()`, `assertNoOpenSockets()`, `close()`.
 * - `NatRouter`: `host(name, options)` on its LAN (10.N.0.x), `nat()` for a NAT behind it,
 *   `publicAddress`, `mappings()`, `table` (RFC 4787 state), `dropOutboundUdp`, `wanLink`.
 * - `VirtualHost` implements `Network` (bindUdp, listenTcp, connectTcp, interfaces); `link`
 *   (`link.set({ delay, jitter, loss, duplicate, reorder, mtu, bandwidth, ... }, 'up' | 'down')`),
 *   `stats`, `firewall.dropOutboundUdp`.
 */
export { VirtualNetworkError } from './fabric.js';
export { type HostFirewall, type Uplink, VirtualHost } from './host.js';
export { Link, type LinkConditions, LinkDirection, type LinkDirectionStats } from './link.js';
export { NAT_PRESETS, type NatOptions, type NatPreset, NatRouter } from './nat.js';
export {
  type InboundResult,
  type Mapping,
  type NatBehavior,
  type NatBehaviorOptions,
  NatTable,
} from './nat-table.js';
export { VirtualNetwork, type VirtualNetworkOptions } from './network.js';
export {
  Counters,
  DROP_REASONS,
  type DropReason,
  MAX_UDP_PAYLOAD,
  type TraceEvent,
  type VirtualPacket,
  wireSize,
} from './packet.js';
export type { Attachment, HostOptions } from './router.js';
export { TCP_CONNECT_TIMEOUT_MS, VirtualTcpConnection } from './tcp.js';
export { VirtualUdpSocket } from './udp.js';
