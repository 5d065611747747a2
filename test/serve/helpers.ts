/** Helpers for the serve tests: an in-process server on a random port and a scripted ws client. */
import { WebSocket } from 'ws';
import { type Clock, ManualClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/log.js';
import { defaults, type ServeConfig } from '../../src/server/config.js';
import type { Asset } from '../../src/server/http/web-assets.js';
import { type ServeDeps, type ServeHandle, startServe } from '../../src/server/serve.js';
import type { TurnHandle } from '../../src/server/turn-link.js';
import { waitFor } from '../helpers/wait.js';

export type Msg = Record<string, unknown> & { type: string };

export function testConfig(over: Partial<ServeConfig> = {}): ServeConfig {
  return { ...defaults(), open: true, httpPort: 0, turn: false, logLevel: 'error', ...over } as ServeConfig;
}

const NO_ASSETS = new Map<string, Asset>([
  ['/', { type: 'text/html', body: Buffer.from('<!doctype html>test') }],
]);

export async function startTestServer(
  over: Partial<ServeConfig> = {},
  deps: ServeDeps & { clock?: Clock } = {},
): Promise<ServeHandle & { clock: ManualClock }> {
  const clock = (deps.clock as ManualClock | undefined) ?? new ManualClock({ wallStart: Date.now() });
  const handle = await startServe(testConfig(over), {
    log: silentLogger,
    assets: NO_ASSETS,
    startTurn: async () => undefined,
    ...deps,
    clock,
  });
  return Object.assign(handle, { clock });
}

/** A fake TURN server handle (URLs only) for ICE config tests. */
export function fakeTurn(port = 3478): () => Promise<TurnHandle> {
  return async () => ({
    urls: (host) => [`stun:${host}:${port}`, `turn:${host}:${port}?transport=udp`],
    figures: () => ({ allocations: 2, relayedBytes: 5e9 }),
    close: async () => {},
  });
}

export class TestClient {
  readonly ws: WebSocket;
  readonly inbox: Msg[] = [];
  #waiters: { pred: (m: Msg) => boolean; resolve: (m: Msg) => void; reject: (e: Error) => void }[] = [];
  closed: Promise<{ code: number; reason: string }>;
  closeInfo: { code: number; reason: string } | undefined;

  constructor(url: string, options: { autoPong?: boolean } = {}) {
    this.ws = new WebSocket(url, { autoPong: options.autoPong ?? true });
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const m = JSON.parse(String(data)) as Msg;
      const i = this.#waiters.findIndex((w) => w.pred(m));
      if (i >= 0) {
        const [w] = this.#waiters.splice(i, 1);
        w!.resolve(m);
      } else this.inbox.push(m);
    });
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: String(reason) };
        for (const w of this.#waiters.splice(0))
          w.reject(new Error(`closed ${code} ${reason} while waiting`));
        resolve(this.closeInfo);
      });
    });
    this.ws.on('error', () => {});
  }

  static async open(url: string, options: { autoPong?: boolean } = {}): Promise<TestClient> {
    const c = new TestClient(url, options);
    await new Promise<void>((resolve, reject) => {
      c.ws.once('open', () => resolve());
      c.ws.once('error', reject);
    });
    return c;
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** Next message of `type` (or matching pred), from the inbox or as it arrives. */
  next(type: string | ((m: Msg) => boolean), timeoutMs = 5000): Promise<Msg> {
    const pred = typeof type === 'string' ? (m: Msg) => m.type === type : type;
    const i = this.inbox.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]!);
    if (this.closeInfo) return Promise.reject(new Error(`closed ${this.closeInfo.code} while waiting`));
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        resolve: (m: Msg) => {
          clearTimeout(t);
          resolve(m);
        },
        reject: (e: Error) => {
          clearTimeout(t);
          reject(e);
        },
      };
      // A safety net so a broken server fails the test instead of hanging it (not a timing assertion).
      const t = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        reject(new Error(`no '${String(type)}' message; inbox: ${JSON.stringify(this.inbox).slice(0, 500)}`));
      }, timeoutMs);
      this.#waiters.push(w);
    });
  }

  async join(room: string, extra: Record<string, unknown> = {}): Promise<Msg> {
    this.send({ v: 1, type: 'join', room, ...extra });
    return this.next((m) => m.type === 'welcome' || m.type === 'error');
  }

  /** Round trip through the server: proves the connection is served. */
  async ping(id = 1): Promise<void> {
    this.send({ v: 1, type: 'ping', id });
    await this.next((m) => m.type === 'pong' && m.id === id);
  }

  close(): Promise<unknown> {
    if (this.closeInfo) return Promise.resolve();
    this.ws.close();
    return this.closed;
  }
}

/** Lets pending I/O callbacks run (no wall-clock waiting). */
export function tick(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** Polls `cond` on I/O turns until it holds (bounded by a generous safety limit). */
export const until = (
  cond: () => boolean | Promise<boolean>,
  what: string,
  limitMs = 10_000,
): Promise<void> => waitFor(cond, what, limitMs);

let pingSeq = 1000;
/**
 * Advances the manual clock by `ms` in steps of `stepMs`, with each client answering between steps
 * (any frame counts as a heartbeat), so long jumps do not look like dead connections.
 */
export async function advanceLive(
  clock: ManualClock,
  ms: number,
  stepMs: number,
  clients: TestClient[],
): Promise<void> {
  let left = ms;
  while (left > 0) {
    const step = Math.min(stepMs, left);
    clock.advance(step);
    left -= step;
    for (const c of clients) await c.ping(pingSeq++);
  }
}
