/**
 * HTTP routes of `rtcstack serve` (node:http): the call page and dashboard, their scripts,
 * `POST /api/token`, `GET /api/stats` (the dashboard's data), `GET /metrics` (Prometheus text),
 * `GET /healthz`, and the WebSocket upgrade on `/ws` handed to the signaling server.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Logger } from '../../core/log.js';
import type { SfuFigures } from '../sfu/figures.js';
import { ROOM_PATTERN } from '../signaling/protocol.js';
import type { SignalingServer } from '../signaling/signaling-server.js';
import type { StatsStore } from '../signaling/stats-store.js';
import { mintJoinToken } from '../signaling/tokens.js';
import type { ServeMetrics } from './metrics.js';
import type { Asset } from './web-assets.js';

export interface TurnFigures {
  readonly allocations: number;
  readonly relayedBytes: number;
}

export interface HttpDeps {
  readonly log: Logger;
  readonly assets: Map<string, Asset>;
  readonly signaling: SignalingServer;
  readonly stats: StatsStore;
  readonly metrics: ServeMetrics;
  readonly secret: string;
  readonly open: boolean;
  readonly apiKey: string | undefined;
  readonly turnCostPerGb: number;
  readonly turn: () => TurnFigures | undefined;
  /** The SFU's figures (rooms in SFU mode, layers per subscriber, counters), if one runs. */
  readonly sfu?: () => SfuFigures | undefined;
  readonly wallNow: () => number;
}

const MAX_BODY = 4096;
const MAX_TOKEN_TTL = 7 * 86_400;

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function bearerOk(req: IncomingMessage, key: string): boolean {
  const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(key);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The web app, API, metrics and the signaling upgrade on one server: plain HTTP, or HTTPS when `tls`
 * (PEM certificate and key) is given; both serve the same routes.
 */
export function createHttpServer(deps: HttpDeps, tls?: { cert: string; key: string }): Server | HttpsServer {
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handle(deps, req, res).catch((err: Error) => {
      deps.log.error('http handler failed', { url: req.url, err: err.message });
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  };
  const server = tls
    ? createHttpsServer({ cert: tls.cert, key: tls.key }, onRequest)
    : createServer(onRequest);
  server.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
      return;
    }
    deps.signaling.handleUpgrade(req, socket, head);
  });
  server.on('clientError', (_err: Error, socket: { destroy(): void }) => socket.destroy());
  // A TLS handshake that fails (a client refusing our self-signed certificate, garbage) only
  // ends that connection.
  if (tls) server.on('tlsClientError', () => {});
  return server;
}

async function handle(deps: HttpDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  if (req.method === 'GET' || req.method === 'HEAD') {
    const asset = deps.assets.get(path);
    if (asset) {
      res.writeHead(200, {
        'content-type': asset.type,
        'cache-control': 'no-cache',
        'content-length': asset.body.length,
      });
      res.end(req.method === 'HEAD' ? undefined : asset.body);
      return;
    }
    if (path === '/metrics') {
      const text = await deps.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
      res.end(text);
      return;
    }
    if (path === '/api/stats') {
      json(res, 200, dashboardData(deps));
      return;
    }
    if (path === '/healthz') {
      json(res, 200, { ok: true });
      return;
    }
  }
  if (path === '/api/token') {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' });
      res.end();
      return;
    }
    await mintToken(deps, req, res);
    return;
  }
  json(res, 404, { error: `no route for ${req.method} ${path}` });
}

async function mintToken(deps: HttpDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (deps.apiKey !== undefined) {
    if (!bearerOk(req, deps.apiKey)) {
      json(res, 401, { error: 'Authorization: Bearer <api key> required' });
      return;
    }
  } else if (!deps.open) {
    json(res, 403, {
      error: 'token endpoint disabled: start the server with --api-key, or mint with `rtcstack token`',
    });
    return;
  }
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req));
  } catch (err) {
    json(res, 400, { error: `body must be JSON: ${(err as Error).message}` });
    return;
  }
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const room = b.room;
  const ttl = b.ttl ?? 3600;
  const name = b.name;
  if (typeof room !== 'string' || !ROOM_PATTERN.test(room)) {
    json(res, 400, { error: 'room: 1-64 characters of A-Z a-z 0-9 _ . -' });
    return;
  }
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL) {
    json(res, 400, { error: `ttl: whole seconds in [1, ${MAX_TOKEN_TTL}]` });
    return;
  }
  if (name !== undefined && (typeof name !== 'string' || name.length > 64)) {
    json(res, 400, { error: 'name: at most 64 characters' });
    return;
  }
  const exp = Math.floor(deps.wallNow() / 1000) + ttl;
  const token = mintJoinToken(deps.secret, { room, exp, ...(name !== undefined ? { name } : {}) });
  json(res, 200, { token, room, exp });
}

export function dashboardData(
  deps: Pick<HttpDeps, 'signaling' | 'stats' | 'turn' | 'turnCostPerGb' | 'wallNow'> &
    Partial<Pick<HttpDeps, 'sfu'>>,
) {
  const rooms = deps.signaling.rooms().map((r) => ({ ...r, links: deps.stats.reports(r.name) }));
  const shares = deps.stats.pathShares();
  const turn = deps.turn();
  const rtts = rooms.flatMap((r) => r.links.flatMap((l) => (l.rttMs === null ? [] : [l.rttMs])));
  return {
    time: deps.wallNow(),
    rooms,
    totals: {
      rooms: rooms.length,
      peers: deps.signaling.peerCount,
      connections: deps.signaling.connectionCount,
      links: shares.total,
      avgRttMs: rtts.length ? rtts.reduce((a, b) => a + b, 0) / rtts.length : null,
    },
    paths: shares,
    turn: turn
      ? {
          ...turn,
          costPerGb: deps.turnCostPerGb,
          costUsd: (turn.relayedBytes / 1e9) * deps.turnCostPerGb,
        }
      : null,
    sfu: deps.sfu?.() ?? null,
  };
}

export type DashboardData = ReturnType<typeof dashboardData>;
