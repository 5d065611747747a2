/**
 * `rtcstack serve` as a function: starts HTTP (web app, API, metrics), WebSocket signaling and,
 * when available, the STUN/TURN server in one process, and returns a handle that stops them all.
 */
import { readFileSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { type Clock, SystemClock } from '../core/clock.js';
import { createLogger, type Logger } from '../core/log.js';
import type { IceServer } from '../protocol/signaling.js';
import { isLoopback, type ServeConfig } from './config.js';
import { createHttpServer } from './http/http-server.js';
import { createMetrics } from './http/metrics.js';
import { type Asset, loadWebAssets } from './http/web-assets.js';
import { registerSfuMetrics } from './sfu/figures.js';
import { SfuServer } from './sfu/sfu-server.js';
import type { ModePolicy, SfuBackend } from './signaling/sfu-backend.js';
import { type IceConfig, SignalingServer } from './signaling/signaling-server.js';
import { StatsStore } from './signaling/stats-store.js';
import { turnRestCredential } from './signaling/tokens.js';
import { generateSelfSigned, type PemPair } from './turn/tls.js';
import { startTurn, type TurnHandle } from './turn-link.js';

export interface ServeHandle {
  readonly config: ServeConfig;
  /** e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly wsUrl: string;
  readonly port: number;
  /** e.g. https://127.0.0.1:8443 when HTTPS is on (`config.https`). */
  readonly httpsUrl: string | undefined;
  readonly httpsPort: number | undefined;
  readonly signaling: SignalingServer;
  readonly turn: TurnHandle | undefined;
  /** The SFU rooms switch to (undefined with --sfu=false). */
  readonly sfu: SfuBackend | undefined;
  close(): Promise<void>;
}

export interface ServeDeps {
  readonly clock?: Clock;
  readonly log?: Logger;
  /** Prebuilt web assets (tests share one bundle across servers). */
  readonly assets?: Map<string, Asset>;
  /** Start the TURN server (default: config.turn). */
  readonly startTurn?: (
    config: ServeConfig,
    log: Logger,
    registry: Registry,
  ) => Promise<TurnHandle | undefined>;
  /** The SFU rooms switch to at `modePolicy.switchAt` participants (none: rooms stay mesh). */
  readonly sfu?: SfuBackend;
  readonly modePolicy?: ModePolicy;
}

/** Sends fresh TURN credentials when this much of their lifetime is left (at most 5 minutes). */
function refreshLeadMs(ttlSec: number): number {
  return Math.min(300_000, (ttlSec * 1000) / 5);
}

export function iceConfigFor(
  config: ServeConfig,
  turn: TurnHandle | undefined,
  wallNow: number,
  peerId: string,
  clientHost: string,
): IceConfig {
  const ttl = config.turnCredentialTtl;
  const expiresAt = Math.floor(wallNow / 1000 + ttl) * 1000;
  const iceServers: IceServer[] = [];
  if (turn) {
    const host = config.publicHost ?? clientHost;
    iceServers.push({
      urls: turn.urls(host),
      ...turnRestCredential(config.turnSecret, peerId, expiresAt / 1000),
    });
  }
  if (config.iceUrls.length > 0) iceServers.push({ urls: [...config.iceUrls] });
  return {
    iceServers,
    expiresAt,
    ...(turn ? { refreshInMs: expiresAt - wallNow - refreshLeadMs(ttl) } : {}),
  };
}

export async function startServe(config: ServeConfig, deps: ServeDeps = {}): Promise<ServeHandle> {
  const clock = deps.clock ?? new SystemClock();
  const log = deps.log ?? createLogger('serve', { level: config.logLevel });
  const assets = deps.assets ?? (await loadWebAssets(log));
  const stats = new StatsStore({ now: () => clock.now() });
  let signaling: SignalingServer | undefined;
  const metrics = createMetrics({
    rooms: () => signaling?.rooms().length ?? 0,
    peers: () => signaling?.peerCount ?? 0,
    stats,
  });
  const turn = await (deps.startTurn ?? startTurn)(config, log, metrics.registry);
  const sfu =
    deps.sfu ??
    ((config.sfu ?? isLoopback(config.host))
      ? new SfuServer({
          log: log.child('sfu'),
          // Loopback candidates when we serve loopback (local calls and tests).
          peerOptions: { includeLoopback: isLoopback(config.host), ipv6: false },
        })
      : undefined);
  if (sfu instanceof SfuServer) registerSfuMetrics(metrics.registry, () => sfu.figures());
  const modePolicy = deps.modePolicy ?? { switchAt: config.sfuSwitchAt, backAt: config.sfuBackAt };
  signaling = new SignalingServer(
    {
      secret: config.secret,
      open: config.open,
      resumeWindowSec: config.resumeWindowSec,
      maxPeersPerRoom: config.maxPeersPerRoom,
      maxPayload: config.maxPayload,
      rateLimit: { perSec: config.rateLimitPerSec, burst: config.rateLimitBurst },
      maxBufferedBytes: config.maxBufferedBytes,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      maxQueuedFrames: 256,
      modePolicy,
      ...(config.recordDir !== undefined && { recordDir: config.recordDir }),
    },
    {
      clock,
      log: log.child('signaling'),
      stats,
      metrics: metrics.signaling,
      iceConfig: (peerId, host) => iceConfigFor(config, turn, clock.wallNow(), peerId, host),
      ...(sfu && { sfu }),
    },
  );
  const sig = signaling;
  const httpDeps = {
    log: log.child('http'),
    assets,
    signaling: sig,
    stats,
    metrics,
    secret: config.secret,
    open: config.open,
    apiKey: config.apiKey,
    turnCostPerGb: config.turnCostPerGb,
    turn: () => turn?.figures(),
    sfu: () => (sfu instanceof SfuServer ? sfu.figures() : undefined),
    wallNow: () => clock.wallNow(),
  };
  const servers: (HttpServer | HttpsServer)[] = [];
  let port: number;
  let httpsPort: number | undefined;
  try {
    const http = createHttpServer(httpDeps);
    servers.push(http);
    port = await listen(http, config.httpPort, config.host);
    if (config.https ?? !isLoopback(config.host)) {
      const pem = await tlsPair(config);
      const https = createHttpServer(httpDeps, pem);
      servers.push(https);
      httpsPort = await listen(https, config.httpsPort, config.host);
    }
  } catch (err) {
    for (const s of servers) s.close();
    await sig.close();
    await sfu?.close();
    await turn?.close();
    throw err;
  }
  const hostInUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${hostInUrl}:${port}`;
  const httpsUrl = httpsPort === undefined ? undefined : `https://${hostInUrl}:${httpsPort}`;
  log.info('serving', {
    url,
    ...(httpsUrl ? { https: httpsUrl } : {}),
    open: config.open,
    turn: turn !== undefined,
    dashboard: `${httpsUrl ?? url}/dashboard`,
  });
  let closing: Promise<void> | undefined;
  return {
    config,
    url,
    wsUrl: `ws://${hostInUrl}:${port}/ws`,
    port,
    httpsUrl,
    httpsPort,
    signaling: sig,
    turn,
    sfu,
    close() {
      closing ??= (async () => {
        const closed = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
        for (const s of servers) s.closeIdleConnections();
        await sig.close();
        await sfu?.close();
        for (const s of servers) s.closeAllConnections();
        await Promise.all(closed);
        await turn?.close();
        log.info('stopped');
      })();
      return closing;
    },
  };
}

function listen(server: HttpServer | HttpsServer, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** The configured certificate and key, or a fresh self-signed pair named after the host. */
async function tlsPair(config: ServeConfig): Promise<PemPair> {
  if (config.tlsCert !== undefined && config.tlsKey !== undefined)
    return { cert: readFileSync(config.tlsCert, 'utf8'), key: readFileSync(config.tlsKey, 'utf8') };
  return generateSelfSigned(config.publicHost ?? config.host);
}
