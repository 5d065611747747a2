/**
 * Data channel benchmark: rtcstack side by side with node-datachannel, werift and @roamhq/wrtc, full
 * peer connections (ICE + DTLS + SCTP) over real UDP on loopback, two peers in one process.
 *
 *   npm run bench -- datachannel [-- --quick] [--only=name,name] [--queue=1,16] [--work=substr,...]
 *                                [--layers]
 *
 * Workloads: reliable ordered 64 MiB in 16 KiB messages (with the application keeping 1 MiB and
 * 16 MiB queued), unordered maxRetransmits 0 (16 KiB messages), and 100-byte messages (reliable
 * ordered). Prints MB/s, messages/s, CPU seconds (whole process: both peers, all threads), UDP
 * receive drops of this process's sockets, and ratios against each anchor.
 *
 * The native stacks run each peer's network, DTLS and SCTP work on their own threads; the rows
 * `rtcstack` and `werift` give the JavaScript stacks the same shape (the receiving peer in a worker
 * thread), the `(1 thread)` rows run both peers on the main thread. `--layers` adds rows for SCTP
 * alone (no ICE, no DTLS) over an in-memory pipe and over plain UDP.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import {
  type BenchPair,
  type ChannelOptions,
  type Contender,
  nodeDatachannel,
  rtcstackMemory,
  rtcstackMemoryPmtu,
  rtcstackPeer,
  rtcstackSplit,
  rtcstackUdp,
  rtcstackUdpPmtu,
  werift,
  weriftSplit,
  wrtc,
} from './datachannel-peers.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');
const queues = (args.find((a) => a.startsWith('--queue='))?.slice(8) ?? '1,16').split(',').map(Number);
const MiB = 1 << 20;

interface Result {
  mbps: number;
  msgsPerSec: number;
  cpu: number;
  wall: number;
  delivered: number;
  drops: number;
}

/**
 * UDP receive drops on this process's sockets (every thread's, native stacks' included): the `drops`
 * column of /proc/net/udp{,6} for the socket inodes among /proc/self/fd. Other processes' drops on a
 * shared machine do not count.
 */
function udpDrops(): number {
  try {
    const inodes = new Set<string>();
    for (const fd of readdirSync('/proc/self/fd')) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        /* closed meanwhile */
      }
    }
    let drops = 0;
    for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
      const lines = readFileSync(table, 'utf8').trim().split('\n').slice(1);
      for (const l of lines) {
        const f = l.trim().split(/\s+/);
        if (inodes.has(f[9]!)) drops += Number(f[12] ?? 0);
      }
    }
    return drops;
  } catch {
    return 0;
  }
}

/**
 * Send `count` messages of `size` bytes, keeping at most `queue` bytes buffered. Reliable workloads
 * end when everything arrived; unreliable ones when the sender is done and the receiver has been
 * quiet for 500 ms (time counted to the last message).
 */
async function transfer(
  pair: BenchPair,
  size: number,
  count: number,
  queue: number,
  reliable: boolean,
  timeoutMs: number,
): Promise<Result> {
  const data = new Uint8Array(size).fill(0x61);
  let sent = 0;
  let received = 0;
  let bytes = 0;
  let last = 0;
  const drops0 = udpDrops();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const done = new Promise<void>((resolve) => {
    let quiet: NodeJS.Timeout | undefined;
    const check = () => {
      if (received >= count) return resolve();
      if (!reliable && sent >= count) {
        clearTimeout(quiet);
        quiet = setTimeout(resolve, 500);
      }
    };
    pair.receiver.onMessage((k, n, at) => {
      received += k;
      bytes += n;
      last = at;
      check();
    });
    const fill = () => {
      while (sent < count && pair.sender.bufferedAmount() < queue) {
        pair.sender.send(data);
        sent++;
      }
      check();
    };
    pair.sender.onLow(queue >> 1, fill);
    fill();
    // Some stacks miss a bufferedamountlow now and then: poll as a fallback so a run never hangs.
    const poll = setInterval(() => {
      if (sent < count) fill();
      else clearInterval(poll);
    }, 20);
    setTimeout(() => {
      clearInterval(poll);
      resolve();
    }, timeoutMs).unref();
  });
  await done;
  const cpu = process.cpuUsage(cpu0);
  const end = reliable || received >= count ? performance.now() : last;
  const wall = Math.max(1e-3, (end - t0) / 1000);
  return {
    mbps: bytes / wall / 1e6,
    msgsPerSec: received / wall,
    cpu: (cpu.user + cpu.system) / 1e6,
    wall,
    delivered: received / count,
    drops: udpDrops() - drops0,
  };
}

interface Workload {
  name: string;
  options: ChannelOptions;
  size: number;
  count: (c: Contender) => number;
  queue: number;
  reliable: boolean;
}

const big = (c: Contender) => {
  const total = quick ? 16 * MiB : 64 * MiB;
  return (c === werift || c === weriftSplit ? Math.min(total, 4 * MiB) : total) / 16384;
};
const small = (c: Contender) => (c === werift || c === weriftSplit ? 10_000 : quick ? 200_000 : 1_000_000);

const workloads: Workload[] = [
  ...queues.map((q) => ({
    name: `reliable ordered 16 KiB msgs, ${q} MiB queued`,
    options: { unordered: false },
    size: 16384,
    count: big,
    queue: q * MiB,
    reliable: true,
  })),
  {
    name: 'unordered maxRetransmits 0, 16 KiB msgs',
    options: { unordered: true, maxRetransmits: 0 },
    size: 16384,
    count: big,
    queue: MiB,
    reliable: false,
  },
  {
    name: '100-byte msgs, reliable ordered',
    options: { unordered: false },
    size: 100,
    count: small,
    queue: MiB,
    reliable: true,
  },
];

// The layer rows (SCTP without DTLS) only with --layers: they isolate SCTP from DTLS and ICE.
const layers = args.includes('--layers');
// --work=substring,...: only the workloads whose name contains one of them (e.g. --work=1\ MiB,100-byte).
const work = args
  .find((a) => a.startsWith('--work='))
  ?.slice(7)
  .split(',');
const chosenWorkloads = workloads.filter((w) => !work || work.some((x) => w.name.includes(x)));
const ours = [
  rtcstackSplit,
  rtcstackPeer,
  ...(layers ? [rtcstackMemory, rtcstackMemoryPmtu, rtcstackUdp, rtcstackUdpPmtu] : []),
];
const contenders = [...ours, nodeDatachannel, weriftSplit, werift, wrtc].filter(
  (c) => !only || only.some((o) => c.name.includes(o)),
);

/** Work per CPU second (whole process, both peers): steadier than wall time on a shared machine. */
function perCpu(r: Result): { mb: number; msgs: number } {
  const bytes = r.mbps * r.wall;
  const msgs = r.msgsPerSec * r.wall;
  return { mb: bytes / Math.max(1e-3, r.cpu), msgs: msgs / Math.max(1e-3, r.cpu) };
}

function median(xs: Result[]): Result {
  return [...xs].sort((a, b) => a.mbps - b.mbps)[Math.floor(xs.length / 2)]!;
}

const fmt = (n: number, d = 1) => n.toFixed(d).padStart(9);

/**
 * A stack that never opens or never finishes closing (seen once with @roamhq/wrtc) fails its row
 * instead of hanging the whole bench; the transfer itself has its own limit.
 */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result in ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

async function main(): Promise<void> {
  console.log('data channel benchmark (two peers in one process, loopback)');
  console.log(
    `load average ${(await import('node:os'))
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} on ${(await import('node:os')).cpus().length} cores`,
  );
  for (const c of contenders) console.log(`  ${c.name.padEnd(18)} ${c.note}`);
  const runs = quick ? 1 : 3;
  for (const w of chosenWorkloads) {
    console.log(`\n${w.name} (median of ${runs})`);
    console.log(
      `  ${'implementation'.padEnd(18)} ${'MB/s'.padStart(9)} ${'msgs/s'.padStart(9)} ${'CPU s'.padStart(9)} ${'wall s'.padStart(9)} ${'MB/CPU-s'.padStart(9)} ${'msg/CPU-s'.padStart(9)} ${'delivered'.padStart(9)} ${'drops'.padStart(7)}`,
    );
    const results = new Map<Contender, Result>();
    for (const c of contenders) {
      const rs: Result[] = [];
      try {
        for (let i = 0; i < runs; i++) {
          const pair = await within(c.make(w.options), 30_000, `${c.name}: connecting`);
          try {
            // werift can stall for minutes (seen: its worker-hosted receiver on 100-byte messages).
            const limit = c === werift || c === weriftSplit ? 30_000 : 120_000;
            rs.push(await transfer(pair, w.size, w.count(c), w.queue, w.reliable, limit));
          } finally {
            await within(pair.close(), 10_000, `${c.name}: closing`);
          }
        }
      } catch (e) {
        console.log(`  ${c.name.padEnd(18)} failed: ${(e as Error).message}`);
        continue;
      }
      const r = median(rs);
      results.set(c, r);
      console.log(
        `  ${c.name.padEnd(18)} ${fmt(r.mbps)} ${fmt(r.msgsPerSec, 0)} ${fmt(r.cpu, 2)} ${fmt(r.wall, 2)} ${fmt(perCpu(r).mb)} ${fmt(perCpu(r).msgs, 0)} ${fmt(r.delivered * 100, 1)}% ${String(r.drops).padStart(7)}`,
      );
    }
    for (const anchor of [nodeDatachannel, weriftSplit, werift, wrtc]) {
      const a = results.get(anchor);
      if (!a) continue;
      for (const o of ours) {
        const r = results.get(o);
        if (!r) continue;
        console.log(
          `  ratio ${o.name} / ${anchor.name}: ${(r.mbps / a.mbps).toFixed(2)}x MB/s, ${(r.msgsPerSec / a.msgsPerSec).toFixed(2)}x msgs/s; per CPU second ${(perCpu(r).mb / perCpu(a).mb).toFixed(2)}x`,
        );
      }
    }
  }
  console.log(
    '\nnote: every row without "pipe"/"udp" in its name is a full peer connection (ICE + DTLS + SCTP, UDP on loopback).',
  );
  console.log(
    'CPU s counts the whole process (both peers, every thread); load on a shared machine colours MB/s.',
  );
  console.log(
    'werift moves 4 MiB / 10k messages instead of the full amount (it is slow); rates are comparable.',
  );
  setTimeout(() => process.exit(0), 200).unref();
}

await main();
