/**
 * The seam between `rtcstack serve` and the STUN/TURN server of src/server/turn/: serve starts it in
 * the same process, registers its metrics in serve's registry (so /metrics has both), hands its
 * URLs with TURN REST credentials to clients, and reads its counters for the dashboard.
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../core/log.js';
import { isLoopback, type ServeConfig } from './config.js';
import { startTurnServer } from './turn/server.js';

/** What serve needs from a running TURN server. */
export interface TurnHandle {
  /** ICE URLs (stun:/turn:) for a client that reached us by `host`. */
  urls(host: string): string[];
  /** Allocations open now and payload bytes relayed so far (both directions). */
  figures(): { allocations: number; relayedBytes: number };
  close(): Promise<void>;
}

export async function startTurn(
  config: ServeConfig,
  log: Logger,
  registry: Registry,
): Promise<TurnHandle | undefined> {
  if (!config.turn) return undefined;
  const turn = await startTurnServer({
    realm: config.turnRealm,
    secrets: [config.turnSecret],
    listeningIps: [config.host],
    listeningPort: config.turnPort,
    tls: false,
    allowLoopbackPeers: config.turnAllowLoopbackPeers ?? isLoopback(config.host),
    registry,
    logger: log.child('turn'),
  });
  const udp = turn.ports.udp[0];
  const tcp = turn.ports.tcp[0];
  return {
    urls(host) {
      const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
      const urls: string[] = [];
      if (udp !== undefined) urls.push(`stun:${h}:${udp}`, `turn:${h}:${udp}?transport=udp`);
      if (tcp !== undefined) urls.push(`turn:${h}:${tcp}?transport=tcp`);
      return urls;
    },
    figures() {
      const s = turn.stats;
      return {
        allocations: s.allocations.udp + s.allocations.tcp + s.allocations.tls,
        relayedBytes: s.bytesToPeer + s.bytesToClient,
      };
    },
    close: () => turn.close(),
  };
}
