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
