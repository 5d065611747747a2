/**
 * Prometheus metrics of `rtcstack serve` on a private prom-client Registry (several servers in one
 * process, as in tests, do not collide). Gauges that mirror state (rooms, peers, path shares) are
 * computed when scraped.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { SignalingMetrics } from '../signaling/signaling-server.js';
import type { StatsStore } from '../signaling/stats-store.js';

export interface MetricsSources {
  readonly rooms: () => number;
  readonly peers: () => number;
  readonly stats: StatsStore;
}

export interface ServeMetrics {
  readonly registry: Registry;
  readonly signaling: SignalingMetrics;
}

export function createMetrics(src: MetricsSources, options: { defaultMetrics?: boolean } = {}): ServeMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true)
    collectDefaultMetrics({ register: registry, prefix: 'rtcstack_process_' });

  const connections = new Gauge({
    name: 'rtcstack_signaling_connections',
    help: 'Open signaling WebSocket connections',
    registers: [registry],
  });
  new Gauge({
    name: 'rtcstack_rooms',
    help: 'Rooms with at least one peer',
    registers: [registry],
    collect() {
      this.set(src.rooms());
    },
  });
  new Gauge({
    name: 'rtcstack_peers',
    help: 'Peers in rooms (connected or within their resume window)',
    registers: [registry],
    collect() {
      this.set(src.peers());
    },
  });
  const messages = new Counter({
    name: 'rtcstack_signaling_messages_total',
    help: 'Signaling frames by direction and type',
    labelNames: ['direction', 'type'] as const,
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'rtcstack_signaling_rejected_total',
    help: 'Refused frames and dropped connections by error code',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const joins = new Counter({
    name: 'rtcstack_joins_total',
    help: 'Room joins by kind (join or resume)',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const setup = new Histogram({
    name: 'rtcstack_connection_setup_seconds',
    help: 'Peer connection setup time reported by clients (first offer to connected)',
    buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32],
    registers: [registry],
  });
  const iceFailures = new Counter({
    name: 'rtcstack_ice_failures_total',
    help: 'Peer connections that reached failed, reported by clients',
    registers: [registry],
  });
  const iceRestarts = new Counter({
    name: 'rtcstack_ice_restarts_total',
    help: 'ICE restarts started by clients',
    registers: [registry],
  });
  new Gauge({
    name: 'rtcstack_selected_pairs',
    help: 'Connected peer links by selected candidate pair type (from client stats)',
    labelNames: ['type'] as const,
    registers: [registry],
    collect() {
      const shares = src.stats.pathShares();
      for (const [type, n] of Object.entries(shares.counts)) this.set({ type }, n);
    },
  });
  new Gauge({
    name: 'rtcstack_relay_share',
    help: 'Share of connected peer links that go through a TURN relay (0-1)',
    registers: [registry],
    collect() {
      this.set(src.stats.pathShares().relayShare);
    },
  });
  new Gauge({
    name: 'rtcstack_peer_rtt_seconds_avg',
    help: 'Mean round-trip time of connected peer links (from client stats)',
    registers: [registry],
    collect() {
      const rtts = src.stats.reports().flatMap((r) => (r.rttMs === null ? [] : [r.rttMs]));
      this.set(rtts.length ? rtts.reduce((a, b) => a + b, 0) / rtts.length / 1000 : 0);
    },
  });
  new Gauge({
    name: 'rtcstack_peer_bitrate_kbps',
    help: 'Sum of inbound bitrate of all peer links (from client stats)',
    registers: [registry],
    collect() {
      this.set(src.stats.reports().reduce((a, r) => a + r.bitrateInKbps, 0));
    },
  });

  const signaling: SignalingMetrics = {
    connection: (d) => connections.inc(d),
    message: (direction, type) => messages.inc({ direction, type }),
    rejected: (code) => rejected.inc({ code }),
    joined: (kind) => joins.inc({ kind }),
    clientEvent(name, setupMs) {
      if (name === 'connected' && setupMs !== undefined) setup.observe(setupMs / 1000);
      else if (name === 'ice-failed') iceFailures.inc();
      else if (name === 'ice-restart') iceRestarts.inc();
    },
  };
  return { registry, signaling };
}
