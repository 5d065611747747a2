/**
 * Prometheus metrics for the TURN server, read from the engine's plain counters at scrape time (so
 * the relay path pays nothing for them). `registry` can be merged into another process-wide
 * registry (`Registry.merge`) or the metrics registered straight into one given by the caller.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { TurnStats } from './stats.js';

/** Metric names, for documentation and tests. */
export const TURN_METRICS = {
  allocations: 'rtcstack_turn_allocations',
  permissions: 'rtcstack_turn_permissions',
  channels: 'rtcstack_turn_channels',
  connections: 'rtcstack_turn_connections',
  allocationsCreated: 'rtcstack_turn_allocations_created_total',
  packets: 'rtcstack_turn_relayed_packets_total',
  bytes: 'rtcstack_turn_relayed_bytes_total',
  authFailures: 'rtcstack_turn_auth_failures_total',
  refusedPeers: 'rtcstack_turn_refused_peers_total',
  dropped: 'rtcstack_turn_dropped_total',
} as const;

/** A counter that mirrors a monotonically growing number: increments by the delta at scrape. */
function mirrorCounter(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => Record<string, number>,
): Counter<string> {
  const last = new Map<string, number>();
  return new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      for (const [label, value] of Object.entries(read())) {
        const prev = last.get(label) ?? 0;
        if (value > prev) {
          if (labelNames.length) this.inc({ [labelNames[0]!]: label }, value - prev);
          else this.inc(value - prev);
        }
        last.set(label, value);
      }
    },
  });
}

export function registerTurnMetrics(stats: TurnStats, registry: Registry = new Registry()): Registry {
  new Gauge({
    name: TURN_METRICS.allocations,
    help: 'Current TURN allocations by client transport',
    labelNames: ['transport'],
    registers: [registry],
    collect() {
      for (const t of ['udp', 'tcp', 'tls'] as const) this.set({ transport: t }, stats.allocations[t]);
    },
  });
  new Gauge({
    name: TURN_METRICS.permissions,
    help: 'Current TURN permissions (peer IPs) over all allocations',
    registers: [registry],
    collect() {
      this.set(stats.permissions);
    },
  });
  new Gauge({
    name: TURN_METRICS.channels,
    help: 'Current TURN channel bindings over all allocations',
    registers: [registry],
    collect() {
      this.set(stats.channels);
    },
  });
  new Gauge({
    name: TURN_METRICS.connections,
    help: 'Current TCP/TLS client connections',
    registers: [registry],
    collect() {
      this.set(stats.connections);
    },
  });
  mirrorCounter(registry, TURN_METRICS.allocationsCreated, 'TURN allocations created', [], () => ({
    '': stats.allocationsCreated,
  }));
  mirrorCounter(registry, TURN_METRICS.packets, 'Datagrams relayed, by direction', ['direction'], () => ({
    to_peer: stats.packetsToPeer,
    to_client: stats.packetsToClient,
  }));
  mirrorCounter(registry, TURN_METRICS.bytes, 'Payload bytes relayed, by direction', ['direction'], () => ({
    to_peer: stats.bytesToPeer,
    to_client: stats.bytesToClient,
  }));
  mirrorCounter(
    registry,
    TURN_METRICS.authFailures,
    'Requests refused for credentials (401/441)',
    [],
    () => ({
      '': stats.authFailures,
    }),
  );
  mirrorCounter(registry, TURN_METRICS.refusedPeers, 'Peer addresses refused by policy (403)', [], () => ({
    '': stats.refusedPeers,
  }));
  mirrorCounter(
    registry,
    TURN_METRICS.dropped,
    'Datagrams and requests dropped, by reason',
    ['reason'],
    () => ({
      no_permission: stats.droppedNoPermission,
      client_data: stats.droppedClientData,
      bandwidth: stats.droppedBandwidth,
      parse_error: stats.parseErrors,
      rate_limited: stats.rateLimited,
      quota: stats.quotaRefusals,
      stale_nonce: stats.staleNonces,
      bad_stream: stats.badStreams,
    }),
  );
  return registry;
}
