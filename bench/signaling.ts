/**
 * Signaling benchmark: N simulated WebSocket clients join rooms of ROOM_SIZE and exchange
 * offer/answer/candidates through the server. Measures joins per second, relay latency p50/p99,
 * relayed messages per second, and the server's memory per connected client.
 *
 * Side by side with an anchor in the same run: a bare `ws` relay (no schema checks, no tokens, no
 * rate limits, no metrics) that forwards by `to`, i.e. the floor of what relaying JSON over ws
 * costs in Node. Each server runs in its own child process so its memory is its own.
 *
 *   npm run bench -- signaling            # 1k clients (and 10k with --big)
 *   node --import tsx bench/signaling.ts --clients 1000 --clients 10000
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';

const ROOM_SIZE = 4;
const CANDIDATES = 4;
/** The paced round offers this many relayed frames per second (below both servers' burst rate). */
const PACE_RATE = 4000;
const SDP = `v=0\r\n${'a=x:'.padEnd(1800, 'y')}\r\n`; // about the size of a real offer without candidates

interface Server {
  readonly name: string;
  readonly url: string;
  readonly proc: ChildProcess;
  stop(): Promise<void>;
}

const ANCHOR_SOURCE = `
const { WebSocketServer } = require('ws');
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', maxPayload: 65536 });
const peers = new Map(); const rooms = new Map(); let next = 1;
wss.on('connection', (ws) => {
  let me;
  ws.on('message', (data) => {
    let m; try { m = JSON.parse(String(data)); } catch { return; }
    if (m.type === 'join') {
      me = 'p' + (next++); peers.set(me, ws);
      let r = rooms.get(m.room); if (!r) rooms.set(m.room, (r = new Set()));
      const others = [...r]; r.add(me);
      for (const o of others) peers.get(o)?.send(JSON.stringify({ v: 1, type: 'peer-joined', peer: { id: me, name: '' } }));
      ws.send(JSON.stringify({ v: 1, type: 'welcome', peerId: me, peers: others.map((id) => ({ id, name: '' })) }));
    } else if (m.to) {
      const t = peers.get(m.to); if (t) { m.from = me; delete m.to; t.send(JSON.stringify(m)); }
    } else if (m.type === 'ping') ws.send(JSON.stringify({ v: 1, type: 'pong', id: m.id }));
  });
  ws.on('close', () => { if (me) peers.delete(me); });
});
wss.on('listening', () => console.error(JSON.stringify({ url: 'http://127.0.0.1:' + wss.address().port })));
process.on('SIGTERM', () => process.exit(0));
`;

function startChild(name: string, cmd: string, args: string[]): Promise<Server> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(err);
      if (m) {
        const url = `${m[1]!.replace('http:', 'ws:')}/ws`;
        resolve({
          name,
          url,
          proc,
          stop: () =>
            new Promise((r) => {
              proc.once('exit', () => r());
              proc.kill('SIGTERM');
            }),
        });
      }
    });
    proc.once('exit', (code) => reject(new Error(`${name} exited ${code}: ${err}`)));
  });
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

function pct(sorted: number[], p: number): number {
  return sorted.length
    ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
    : Number.NaN;
}

interface Client {
  ws: WebSocket;
  id: string;
  peers: string[];
  onMessage: (m: Record<string, unknown>) => void;
}

async function connectAll(
  url: string,
  n: number,
  concurrency: number,
): Promise<{ clients: Client[]; joinsPerSec: number; joinP50: number; joinP99: number }> {
  const clients: Client[] = new Array(n);
  const joinTimes: number[] = [];
  let nextIdx = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (nextIdx < n) {
      const i = nextIdx++;
      const start = performance.now();
      const ws = new WebSocket(url, { perMessageDeflate: false });
      const c: Client = { ws, id: '', peers: [], onMessage: () => {} };
      clients[i] = c;
      await new Promise<void>((resolve, reject) => {
        ws.once('error', reject);
        ws.once('open', () =>
          ws.send(JSON.stringify({ v: 1, type: 'join', room: `room${Math.floor(i / ROOM_SIZE)}` })),
        );
        ws.on('message', (data) => {
          const m = JSON.parse(String(data)) as Record<string, unknown>;
          if (m.type === 'welcome') {
            c.id = String(m.peerId);
            c.peers = (m.peers as { id: string }[]).map((p) => p.id);
            joinTimes.push(performance.now() - start);
            resolve();
          } else if (m.type === 'peer-joined') c.peers.push((m.peer as { id: string }).id);
          else c.onMessage(m);
        });
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const secs = (performance.now() - t0) / 1000;
  joinTimes.sort((a, b) => a - b);
  return { clients, joinsPerSec: n / secs, joinP50: pct(joinTimes, 50), joinP99: pct(joinTimes, 99) };
}

/**
 * Every client sends an offer plus CANDIDATES candidates to each room mate it knows; each offer is
 * answered. Latency per relayed frame from the send timestamp inside it.
 */
async function exchange(
  clients: Client[],
  paceMs: number,
): Promise<{ msgs: number; perSec: number; p50: number; p99: number }> {
  const lat: number[] = [];
  let expected = 0;
  let received = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => {
    done = r;
  });
  for (const c of clients) {
    c.onMessage = (m) => {
      if (m.type !== 'offer' && m.type !== 'answer' && m.type !== 'candidate') return;
      const t =
        typeof m.sdp === 'string'
          ? Number(/^t=(\S+)/m.exec(m.sdp)?.[1])
          : Number((m.candidate as { candidate?: string })?.candidate?.split(' ')[1]);
      if (Number.isFinite(t)) lat.push(performance.now() - t);
      received++;
      if (m.type === 'offer')
        c.ws.send(
          JSON.stringify({ v: 1, type: 'answer', to: m.from, sdp: `t=${performance.now()}\r\n${SDP}` }),
        );
      if (received === expected) done();
    };
  }
  // A pair (a, b) with a < b in one room: a offers, b answers; both trickle candidates.
  for (const c of clients) for (const p of c.peers) if (c.id < p) expected += 2 + 2 * CANDIDATES;
  const sendAll = (c: Client): void => {
    for (const p of c.peers) {
      if (c.id < p)
        c.ws.send(JSON.stringify({ v: 1, type: 'offer', to: p, sdp: `t=${performance.now()}\r\n${SDP}` }));
      for (let k = 0; k < CANDIDATES; k++) {
        const candidate = `candidate:${k} ${performance.now()} udp 2122260223 10.0.0.${k} ${50000 + k} typ host`;
        c.ws.send(
          JSON.stringify({
            v: 1,
            type: 'candidate',
            to: p,
            candidate: { candidate, sdpMid: '0', sdpMLineIndex: 0 },
          }),
        );
      }
    }
  };
  const t0 = performance.now();
  const timers: ReturnType<typeof setTimeout>[] = [];
  if (paceMs === 0) for (const c of clients) sendAll(c);
  else {
    // Each room starts its exchange at its own moment within paceMs: a steady load, not a burst.
    clients.forEach((c, i) => {
      const room = Math.floor(i / ROOM_SIZE);
      timers.push(setTimeout(() => sendAll(c), (((room * 7919) % 1000) / 1000) * paceMs));
    });
  }
  let guard: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([finished, new Promise((r) => (guard = setTimeout(r, 60_000 + paceMs)))]);
  clearTimeout(guard);
  for (const t of timers) clearTimeout(t);
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { msgs: received, perSec: received / secs, p50: pct(lat, 50), p99: pct(lat, 99) };
}

interface Result {
  joinsPerSec: number;
  joinP50: number;
  joinP99: number;
  kibPerClient: number;
  msgs: number;
  /** Server CPU (user + system) per relayed frame in the burst round, microseconds. */
  cpuPerMsgUs: number;
  msgsPerSec: number;
  burstP50: number;
  burstP99: number;
  pacedRate: number;
  p50: number;
  p99: number;
}

async function run(server: Server, n: number): Promise<Result> {
  const before = rssKiB(server.proc.pid!);
  const { clients, joinsPerSec, joinP50, joinP99 } = await connectAll(server.url, n, Math.min(200, n));
  // Let the server settle (GC) before reading its memory.
  await new Promise((r) => setTimeout(r, 500));
  const after = rssKiB(server.proc.pid!);
  const cpu0 = cpuSeconds(server.proc.pid!);
  const burst = await exchange(clients, 0);
  const cpuPerMsgUs = ((cpuSeconds(server.proc.pid!) - cpu0) / burst.msgs) * 1e6;
  const frames = burst.msgs;
  const paceMs = (frames / PACE_RATE) * 1000;
  const paced = await exchange(clients, paceMs);
  for (const c of clients) c.ws.terminate();
  await new Promise((r) => setTimeout(r, 300));
  return {
    joinsPerSec,
    joinP50,
    joinP99,
    kibPerClient: (after - before) / n,
    msgs: burst.msgs,
    cpuPerMsgUs,
    msgsPerSec: burst.perSec,
    burstP50: burst.p50,
    burstP99: burst.p99,
    pacedRate: paced.msgs / (paceMs / 1000),
    p50: paced.p50,
    p99: paced.p99,
  };
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const sizes = argv.flatMap((a, i) => (a === '--clients' ? [Number(argv[i + 1])] : []));
  if (sizes.length === 0) sizes.push(1000, ...(argv.includes('--big') ? [10_000] : []));
  console.log(
    `signaling benchmark: rooms of ${ROOM_SIZE}, each pair: offer + answer + ${CANDIDATES} candidates each way`,
  );
  console.log(
    'server           N  joins/s  join p50/p99 ms   msgs  CPU us/msg  burst msgs/s  burst p50/p99 ms  paced msgs/s  paced p50/p99 ms  server KiB/client',
  );
  for (const n of sizes) {
    const results: [string, Result][] = [];
    for (const which of ['rtcstack', 'bare ws'] as const) {
      const server =
        which === 'rtcstack'
          ? await startChild(which, process.execPath, [
              // e.g. BENCH_NODE_ARGS=--cpu-prof to profile the server
              ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
              'bin/rtcstack',
              'serve',
              '--http-port',
              '0',
              '--turn=false',
              '--log-level',
              'info',
              '--max-peers-per-room',
              String(ROOM_SIZE),
            ])
          : await startChild(which, process.execPath, ['-e', ANCHOR_SOURCE]);
      try {
        const r = await run(server, n);
        results.push([which, r]);
        console.log(
          [
            which.padEnd(8),
            String(n).padStart(6),
            fmt(r.joinsPerSec).padStart(8),
            `${fmt(r.joinP50, 1)}/${fmt(r.joinP99, 1)}`.padStart(16),
            String(r.msgs).padStart(6),
            fmt(r.cpuPerMsgUs, 1).padStart(11),
            fmt(r.msgsPerSec).padStart(13),
            `${fmt(r.burstP50, 1)}/${fmt(r.burstP99, 1)}`.padStart(17),
            fmt(r.pacedRate).padStart(13),
            `${fmt(r.p50, 2)}/${fmt(r.p99, 2)}`.padStart(17),
            fmt(r.kibPerClient, 1).padStart(18),
          ].join(' '),
        );
      } finally {
        await server.stop();
      }
    }
    const [ours, bare] = [results[0]![1], results[1]![1]];
    console.log(
      `ratio rtcstack/bare  N=${n}: joins/s ${fmt(ours.joinsPerSec / bare.joinsPerSec, 2)}, msgs/s ${fmt(ours.msgsPerSec / bare.msgsPerSec, 2)}, server CPU/msg ${fmt(ours.cpuPerMsgUs / bare.cpuPerMsgUs, 2)}x, paced relay p50 ${fmt(ours.p50 / bare.p50, 2)}x, p99 ${fmt(ours.p99 / bare.p99, 2)}x, memory/client ${fmt(ours.kibPerClient / bare.kibPerClient, 2)}x`,
    );
  }
}

await main();
