/**
 * Data channel benchmark: rtcstack side by side with node-datachannel, werift and @roamhq/wrtc, two
 * peers in one process.
 *
 *   node --import tsx bench/datachannel.ts [--quick] [--only=name,name] [--queue=1,16]
 *
 * Workloads: reliable ordered 64 MiB in 16 KiB messages (with the application keeping 1 MiB and
 * 16 MiB queued), unordered maxRetransmits 0 (16 KiB messages), and 100-byte messages (reliable
 * ordered). Prints MB/s, messages/s, CPU seconds (whole process: both peers), UDP receive drops and
 * ratios against node-datachannel and werift.
 *
 * Until the peer connection lands, rtcstack runs SCTP + data channels directly over an in-memory pipe
 * and over plain UDP on loopback (no ICE, no DTLS); the anchors run full peer connections (ICE + DTLS).
 */
import { readFileSync } from 'node:fs';
import {
  type BenchPair,
  type ChannelOptions,
  type Contender,
  nodeDatachannel,
  rtcstackMemory,
  rtcstackMemoryPmtu,
  rtcstackUdp,
  rtcstackUdpPmtu,
  werift,
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

function udpRcvbufErrors(): number {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('Udp:'));
    const head = lines[0]!.split(/\s+/);
    const vals = lines[1]!.split(/\s+/);
    return Number(vals[head.indexOf('RcvbufErrors')] ?? 0);
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
  const drops0 = udpRcvbufErrors();
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
    pair.receiver.onMessage((n) => {
      received++;
      bytes += n;
      last = performance.now();
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
    drops: udpRcvbufErrors() - drops0,
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
  return (c === werift ? Math.min(total, 8 * MiB) : total) / 16384;
};
const small = (c: Contender) => (c === werift ? 20_000 : quick ? 200_000 : 1_000_000);

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

const ours = [rtcstackMemory, rtcstackMemoryPmtu, rtcstackUdp, rtcstackUdpPmtu];
const contenders = [...ours, nodeDatachannel, werift, wrtc].filter(
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
  for (const w of workloads) {
    console.log(`\n${w.name} (median of ${runs})`);
    console.log(
      `  ${'implementation'.padEnd(18)} ${'MB/s'.padStart(9)} ${'msgs/s'.padStart(9)} ${'CPU s'.padStart(9)} ${'wall s'.padStart(9)} ${'MB/CPU-s'.padStart(9)} ${'msg/CPU-s'.padStart(9)} ${'delivered'.padStart(9)} ${'drops'.padStart(7)}`,
    );
    const results = new Map<Contender, Result>();
    for (const c of contenders) {
      const rs: Result[] = [];
      try {
        for (let i = 0; i < runs; i++) {
          const pair = await c.make(w.options);
          try {
            rs.push(await transfer(pair, w.size, w.count(c), w.queue, w.reliable, 120_000));
          } finally {
            await pair.close();
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
    for (const anchor of [nodeDatachannel, werift, wrtc]) {
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
    '\nnote: rtcstack rows have no DTLS yet (the peer connection is not wired); anchor rows include ICE + DTLS.',
  );
  console.log(
    'werift moves 8 MiB / 20k messages instead of the full amount (it is slow); rates are comparable.',
  );
  setTimeout(() => process.exit(0), 200).unref();
}

await main();
