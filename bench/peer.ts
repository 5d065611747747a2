/**
 * `npm run bench -- peer`: connection setup time (createOffer to a data channel open on both sides,
 * warm, loopback, trickle ICE) for rtcstack, werift, node-datachannel and @roamhq/wrtc side by side,
 * and memory per connected rtcstack pair with many pairs up: the marginal cost of one more pair and
 * the figure from an idle process, with its one-time part (V8's young generation). Prints medians
 * and ratios. The timeline of one setup (every datagram, state and event): bench/_peer-timeline.ts.
 *
 * Flags: --rounds N (default 15), --warmup N (unmeasured rounds before them, default 2), --pairs N
 * (default 100), --only <stack>[,<stack>] (e.g. to profile one), --one-process (see measureInChild).
 * The JavaScript stacks reach their optimized code only after a few dozen setups in a process
 * (rtcstack: ~15-23 ms for the first ~15, 7-11 ms after), so a larger --warmup measures their warm
 * setup; every stack gets the same rounds, each stack in a child process of its own.
 * Warm-up goes on for longer than that: V8 still compiles (TurboFan, on background threads) about
 * one function per rtcstack setup between setups 30 and 130 and 0.6 per setup after 300 (functions
 * run once or twice per setup get hot late); the event loop's CPU per rtcstack setup falls from
 * ~8-9 ms at setups 25-100 to ~5.5 ms after 300-500 (load 8-14), so --warmup 300 measures the
 * steady state of a long-running process, --warmup 25 one still compiling (its cpu/round includes
 * ~3 ms of background compilation).
 *
 * cpu/round is the whole process (all threads) from a round's start to its connections closed;
 * "event loop" is the JavaScript thread alone (Linux schedstat): the work on a setup's critical
 * path for rtcstack, while a native stack does most of its work on threads of its own.
 *
 * What "rtcstack" runs: the package as it ships, src compiled by tsc with tsconfig.build.json (what
 * `npm run build` puts in dist/ and `import 'rtcstack'` loads), built from the current src into a
 * temporary directory at start (~2-4 s, not timed). Until session 7 the row ran src through tsx, the
 * development loader: esbuild's keepNames wraps every function and class it creates in a helper that
 * redefines its `name` (closures made per datagram and per promise included), work no deployment
 * does (0.6-1.2 ms per setup between esbuild bundles of this bench with and without keepNames, two
 * runs of 40 setups at load 5-12; between the two rows here, each in a process of its own, the
 * difference stays inside the run-to-run noise). That row is kept as "rtcstack (tsx)".
 * werift is its published JavaScript; node-datachannel and wrtc are native.
 *
 * Every stack chosen prints a row: its figures, or why it has none (unavailable, a failed or timed
 * out setup with the round it stopped at); a round over 3x the median and 50 ms is counted as a
 * stall and listed. The process exits non-zero when a row has no figures.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// Memory per pair is read after forced collections; `npm run bench` starts node without
// --expose-gc, so enable it here (the documented way to reach gc() at run time).
if (!(globalThis as { gc?: unknown }).gc) {
  setFlagsFromString('--expose-gc');
  (globalThis as { gc?: unknown }).gc = runInNewContext('gc');
}

const args = process.argv.slice(2);
const flag = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const ROUNDS = flag('rounds', 15);
const WARMUP = flag('warmup', 2);
const PAIRS = flag('pairs', 100);
const text = (name: string): string | undefined =>
  args.includes(`--${name}`) ? (args[args.indexOf(`--${name}`) + 1] ?? '') : undefined;
/** --only <name>[,<name>]: run only these stacks (for profiling one of them). */
const ONLY = text('only')?.split(',');
/** Internal: this process is the child measuring one stack (see measureInChild). */
const CHILD = text('child');
/** Internal: the directory holding the built rtcstack (made once by the parent). */
const BUILT = text('built');
/** --one-process: every stack in this process, one after another (the measurement before session 7). */
const ONE_PROCESS = args.includes('--one-process');

/** The W3C subset every stack here offers (each with its own quirks). */
interface Pc {
  createOffer(): Promise<{ type: string; sdp?: string }>;
  createAnswer(): Promise<{ type: string; sdp?: string }>;
  setLocalDescription(d: unknown): Promise<unknown>;
  setRemoteDescription(d: unknown): Promise<unknown>;
  addIceCandidate(c: unknown): Promise<unknown>;
  createDataChannel(label: string): { readyState: string; onopen: unknown; close(): void };
  localDescription: unknown;
  onicecandidate: unknown;
  ondatachannel: unknown;
  close(): unknown;
}

interface Stack {
  readonly name: string;
  make(): Promise<() => Pc>;
}

const RTCSTACK_OPTIONS = { includeLoopback: true, ipv6: false };

/**
 * rtcstack's src compiled by tsc as `npm run build` does (tsconfig.build.json), into a temporary
 * directory removed when this (the parent) process exits; returns the directory.
 */
function buildRtcstack(): string {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const out = mkdtempSync(join(tmpdir(), 'rtcstack-bench-peer-'));
  process.on('exit', () => rmSync(out, { recursive: true, force: true }));
  // --noCheck: the emit only (the typecheck is CI's job); tsc emits the same JavaScript either way.
  const tsc = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules/typescript/bin/tsc'),
      ...['-p', join(root, 'tsconfig.build.json'), '--outDir', out],
      ...['--noCheck', '--declaration', 'false', '--sourceMap', 'false'],
    ],
    { encoding: 'utf8' },
  );
  if (!existsSync(join(out, 'src/peer/index.js')))
    throw new Error(`tsc build failed: ${(tsc.stdout + tsc.stderr).trim().slice(0, 300)}`);
  // The package is ESM ("type": "module" in package.json); the temporary tree needs saying so too.
  writeFileSync(join(out, 'package.json'), '{"type":"module"}');
  return out;
}

let builtDir: string | undefined = BUILT;
async function builtRtcstack(): Promise<new (c: unknown, o: unknown) => Pc> {
  builtDir ??= buildRtcstack();
  const mod = (await import(pathToFileURL(join(builtDir, 'src/peer/index.js')).href)) as {
    RTCPeerConnection: new (c: unknown, o: unknown) => Pc;
  };
  return mod.RTCPeerConnection;
}

const STACKS: Stack[] = [
  {
    name: 'rtcstack',
    async make() {
      const Ctor = await builtRtcstack();
      return () => new Ctor({}, RTCSTACK_OPTIONS);
    },
  },
  {
    name: 'rtcstack (tsx)',
    async make() {
      const { RTCPeerConnection } = await import('../src/peer/index.js');
      return () => new RTCPeerConnection({}, RTCSTACK_OPTIONS) as unknown as Pc;
    },
  },
  {
    name: 'werift',
    async make() {
      const { RTCPeerConnection } = await import('werift');
      return () =>
        new RTCPeerConnection({
          iceServers: [],
          iceAdditionalHostAddresses: ['127.0.0.1'],
          iceUseIpv6: false,
        }) as unknown as Pc;
    },
  },
  {
    name: 'node-datachannel',
    async make() {
      const { RTCPeerConnection } = await import('node-datachannel/polyfill');
      return () => new RTCPeerConnection({ iceServers: [] }) as unknown as Pc;
    },
  },
  {
    name: '@roamhq/wrtc',
    async make() {
      const mod = (await import('@roamhq/wrtc')) as unknown as {
        default?: { RTCPeerConnection: new (c: unknown) => Pc };
        RTCPeerConnection?: new (c: unknown) => Pc;
      };
      const Ctor = (mod.default ?? mod).RTCPeerConnection!;
      return () => new Ctor({ iceServers: [] });
    },
  },
];

/**
 * Trickle `from`'s candidates to `to`, held until `to` has its remote description (as signaling
 * would deliver them): node-datachannel fails a later setRemoteDescription after an early candidate.
 * Returns the call that releases them.
 */
function trickle(from: Pc, to: Pc): () => void {
  let held: unknown[] | undefined = [];
  const add = (c: unknown): void => void to.addIceCandidate(c).catch(() => {});
  from.onicecandidate = (e: { candidate?: { candidate?: string; toJSON?: () => unknown } | null }) => {
    const c = e?.candidate;
    if (!c?.candidate) return;
    const init = typeof c.toJSON === 'function' ? c.toJSON() : c;
    if (held) held.push(init);
    else add(init);
  };
  return () => {
    const queued = held ?? [];
    held = undefined;
    for (const c of queued) add(c);
  };
}

/** A setup that takes longer than this fails its stack's row (the timer keeps the process alive). */
const SETUP_TIMEOUT_MS = 20_000;

/** One connection: offer to both sides' channels open. Returns ms and the pair (open). */
async function connect(make: () => Pc): Promise<{ ms: number; a: Pc; b: Pc }> {
  const t0 = performance.now();
  const a = make();
  const b = make();
  const setup = async (): Promise<void> => {
    const releaseToB = trickle(a, b);
    const releaseToA = trickle(b, a);
    const dc = a.createDataChannel('bench');
    const aOpen = new Promise<void>((resolve) => {
      dc.onopen = () => resolve();
    });
    const bOpen = new Promise<void>((resolve) => {
      b.ondatachannel = (e: { channel: { readyState: string; onopen: unknown } }) => {
        if (e.channel.readyState === 'open') resolve();
        else e.channel.onopen = () => resolve();
      };
    });
    const offer = await a.createOffer();
    await a.setLocalDescription(offer);
    await b.setRemoteDescription(a.localDescription ?? offer);
    releaseToB();
    const answer = await b.createAnswer();
    await b.setLocalDescription(answer);
    await a.setRemoteDescription(b.localDescription ?? answer);
    releaseToA();
    await Promise.all([aOpen, bOpen]);
  };
  // Not unref'd: a setup stuck with nothing else pending must fail here, not end the process
  // quietly (a native stack's threads do not keep node's event loop alive).
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`setup timeout (${SETUP_TIMEOUT_MS} ms)`)), SETUP_TIMEOUT_MS);
  });
  try {
    await Promise.race([setup(), timeout]);
  } catch (err) {
    a.close();
    b.close();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return { ms: performance.now() - t0, a, b };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

/** One stack's row: its figures, or why it has none. */
interface Row {
  readonly times: number[];
  /** Process CPU (all threads) and event-loop CPU per measured round, ms. */
  readonly cpuMs?: number;
  readonly loopMs?: number;
  readonly error?: string;
}

/** Marks the child's result line on its stdout. */
const ROW_PREFIX = 'ROW ';

/** The child's rounds of its one stack, one after another; its round, for an early end. */
let running = 0;
async function measureHere(stack: Stack): Promise<Row> {
  let make: () => Pc;
  try {
    make = await stack.make();
  } catch (err) {
    return { times: [], error: `unavailable: ${(err as Error).message}` };
  }
  const times: number[] = [];
  let cpu = process.cpuUsage();
  let loop = eventLoopCpuMs();
  for (let i = 0; i < ROUNDS + WARMUP; i++) {
    running = i + 1;
    try {
      if (i === WARMUP) {
        cpu = process.cpuUsage();
        loop = eventLoopCpuMs();
      }
      const { ms, a, b } = await connect(make);
      if (i >= WARMUP) times.push(ms); // after the warm-up rounds
      await a.close();
      await b.close();
    } catch (err) {
      return { times, error: `failed in round ${i + 1} of ${ROUNDS + WARMUP}: ${(err as Error).message}` };
    }
  }
  running = 0;
  const used = process.cpuUsage(cpu);
  const loopNow = eventLoopCpuMs();
  return {
    times,
    cpuMs: (used.user + used.system) / 1000 / ROUNDS,
    ...(loopNow !== undefined && loop !== undefined && { loopMs: (loopNow - loop) / ROUNDS }),
  };
}

/**
 * One stack measured in a child process of its own (this file with --child), its stacks loaded
 * there and nowhere else: in one shared process the first stack ran on a cold node (its dgram,
 * crypto wrappers, promises and EventTarget not yet optimized) and the later ones on the node the
 * earlier ones had warmed, which favoured rows by their order (rtcstack's own two rows differed by
 * up to 0.7-2.9 ms per setup by position alone); taking rounds in turn in one process instead made
 * node's shared code polymorphic and node-datachannel stall most rounds. Each child gets the same
 * warm-up rounds of its own. A child that ends without its result line still gets a row.
 * --one-process keeps the old way (every stack here, in the order listed), for comparison: wrtc's
 * median there was 10.6-12.7 ms in four runs where its own process gave 12.9-14.8 ms in five (load
 * 1.5-5), rtcstack's about the same either way.
 */
function measureInChild(stack: Stack): Promise<Row> {
  const child = spawn(
    process.execPath,
    [
      ...['--import', 'tsx', fileURLToPath(import.meta.url), '--child', stack.name],
      ...['--rounds', String(ROUNDS), '--warmup', String(WARMUP)],
      ...(builtDir ? ['--built', builtDir] : []),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    out += d;
  });
  // Each setup fails by itself after SETUP_TIMEOUT_MS; this catches a child stuck in native code.
  const guard = setTimeout(() => child.kill('SIGKILL'), (ROUNDS + WARMUP) * SETUP_TIMEOUT_MS + 60_000);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      const line = out.split('\n').find((l) => l.startsWith(ROW_PREFIX));
      if (line) resolve(JSON.parse(line.slice(ROW_PREFIX.length)) as Row);
      else resolve({ times: [], error: `its process ended (${signal ?? `code ${code}`}) without figures` });
    });
  });
}

if (CHILD !== undefined) {
  const stack = STACKS.find((s) => s.name === CHILD);
  process.on('exit', () => {
    // The event loop ran dry in a setup that neither finished nor failed: say so, never no row.
    if (running)
      console.log(
        `${ROW_PREFIX}${JSON.stringify({ times: [], error: `the process ended in round ${running} (a setup neither finished nor failed)` })}`,
      );
  });
  const row: Row = stack ? await measureHere(stack) : { times: [], error: `no stack ${CHILD}` };
  running = 0;
  console.log(`${ROW_PREFIX}${JSON.stringify(row)}`);
  process.exit(0);
}

/**
 * CPU time of this (the event-loop) thread in ms, from Linux's schedstat (undefined elsewhere). The
 * rest of cpu/round is other threads: V8's background compiler and GC helpers, libuv's pool
 * (key generation, signatures), and a native stack's own threads.
 */
function eventLoopCpuMs(): number | undefined {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return undefined;
  }
}

interface PairMemory {
  heapMB: number;
  rssMB: number;
  buffersMB: number;
}

interface MemoryReport {
  /** Per pair over the first PAIRS pairs, from an idle process. */
  first: PairMemory;
  /** Per pair over the next PAIRS pairs: the marginal cost (the slope). */
  next: PairMemory;
  /** What the first PAIRS cost beyond PAIRS x the marginal figure (MB, whole process). */
  fixed: PairMemory;
  /** V8 young-generation (new space) size at 0, PAIRS and 2 x PAIRS pairs, MB. */
  newSpaceMB: [number, number, number];
}

/**
 * Memory per connected rtcstack pair at 0, PAIRS and 2 x PAIRS pairs up. The marginal figure (the
 * slope between PAIRS and 2 x PAIRS) is the cost of one more pair; the first PAIRS from idle also
 * hold a one-time part, reported separately: V8's young generation, whose semi-spaces grow under
 * the allocation burst of the setups and stay in RSS (its size is printed; with
 * --max-semi-space-size=1 the from-idle figure drops to about the marginal one), and allocator
 * arenas that keep freed memory. Stacks benchmarked before in the same process may have grown
 * these already.
 */
async function memoryPerPair(): Promise<MemoryReport> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const make = await STACKS[0]!.make();
  // Collections after a few event-loop turns (closed handles released): no fixed sleep.
  const settle = async (): Promise<{ mem: NodeJS.MemoryUsage; newSpace: number }> => {
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      gc?.();
    }
    const ns = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    return { mem: process.memoryUsage(), newSpace: ns?.space_size ?? 0 };
  };
  const MB = 2 ** 20;
  const diff = (a: NodeJS.MemoryUsage, b: NodeJS.MemoryUsage, n: number): PairMemory => ({
    heapMB: (b.heapUsed - a.heapUsed) / n / MB,
    rssMB: (b.rss - a.rss) / n / MB,
    buffersMB: (b.arrayBuffers - a.arrayBuffers) / n / MB,
  });
  const pairs: Pc[] = [];
  const connectMany = async (): Promise<void> => {
    for (let i = 0; i < PAIRS; i++) {
      const { a, b } = await connect(make);
      pairs.push(a, b);
    }
  };
  const m0 = await settle();
  await connectMany();
  const m1 = await settle();
  await connectMany();
  const m2 = await settle();
  for (const p of pairs) await p.close();
  const first = diff(m0.mem, m1.mem, PAIRS);
  const next = diff(m1.mem, m2.mem, PAIRS);
  return {
    first,
    next,
    fixed: {
      heapMB: (first.heapMB - next.heapMB) * PAIRS,
      rssMB: (first.rssMB - next.rssMB) * PAIRS,
      buffersMB: (first.buffersMB - next.buffersMB) * PAIRS,
    },
    newSpaceMB: [m0.newSpace / MB, m1.newSpace / MB, m2.newSpace / MB],
  };
}

console.log(
  `setup time: createOffer -> data channel open on both sides, loopback, ${ROUNDS} rounds after ${WARMUP} warm-up, ${ONE_PROCESS ? 'every stack in this process' : 'each stack in a process of its own'}`,
);
const results = new Map<string, number>();
const missing: string[] = [];
for (const stack of STACKS) {
  if (ONLY && !ONLY.includes(stack.name)) continue;
  let row: Row;
  try {
    if (stack.name === 'rtcstack') builtDir ??= buildRtcstack();
    row = ONE_PROCESS ? await measureHere(stack) : await measureInChild(stack);
  } catch (err) {
    row = { times: [], error: (err as Error).message };
  }
  const r = row.times;
  if (row.error || r.length === 0) {
    console.log(`  ${stack.name.padEnd(18)} NO FIGURES: ${row.error ?? 'no rounds'}`);
    missing.push(stack.name);
    continue;
  }
  const m = median(r);
  results.set(stack.name, m);
  // A stall: a round far above the median (node-datachannel has been seen to stop for 1 s).
  const stalls = r.filter((x) => x > 3 * m && x > 50);
  const loop = row.loopMs !== undefined ? ` (event loop ${row.loopMs.toFixed(1)})` : '';
  console.log(
    `  ${stack.name.padEnd(18)} median ${m.toFixed(1).padStart(7)} ms   min ${Math.min(...r).toFixed(1)}   max ${Math.max(...r).toFixed(1)}   cpu/round ${(row.cpuMs ?? 0).toFixed(1)} ms${loop}${stalls.length ? `   STALLS: ${stalls.length} of ${r.length} rounds (${stalls.map((x) => x.toFixed(0)).join(', ')} ms)` : ''}`,
  );
}
const ours = results.get('rtcstack');
if (ours !== undefined) {
  console.log('ratios (their median / ours; > 1 means rtcstack is faster):');
  for (const [name, m] of results)
    if (name !== 'rtcstack') console.log(`  vs ${name.padEnd(18)} ${(m / ours).toFixed(2)}x`);
}
if (missing.length) {
  console.log(`ERROR: no figures for ${missing.join(', ')} (see their rows)`);
  process.exitCode = 1;
}
if (PAIRS > 0) {
  const mem = await memoryPerPair();
  const line = (m: PairMemory): string =>
    `heap ${m.heapMB.toFixed(3)} MB, ArrayBuffers ${m.buffersMB.toFixed(3)} MB, rss ${m.rssMB.toFixed(3)} MB`;
  const gcNote = (globalThis as { gc?: unknown }).gc ? '' : ', no --expose-gc';
  console.log(`memory per connected rtcstack pair${gcNote}:`);
  console.log(`  marginal (pairs ${PAIRS + 1}-${2 * PAIRS}):   ${line(mem.next)}   <- per-pair cost`);
  console.log(`  from idle (pairs 1-${PAIRS}):      ${line(mem.first)}`);
  console.log(
    `  one-time part of the first ${PAIRS}: rss ${mem.fixed.rssMB.toFixed(1)} MB, heap ${mem.fixed.heapMB.toFixed(1)} MB; V8 new space ${mem.newSpaceMB.map((x) => x.toFixed(1)).join(' -> ')} MB at 0, ${PAIRS}, ${2 * PAIRS} pairs`,
  );
}
process.exit(process.exitCode ?? 0);
