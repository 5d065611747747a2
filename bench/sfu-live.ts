/**
 * Two real SFUs under the same load, one after the other, on loopback: Janus's VideoRoom (Debian
 * package `janus`, a child process with a generated config: VideoRoom + WebSocket transport on
 * 127.0.0.1, ICE on 127.0.0.1 only, no STUN/IPv6/mDNS) and ours (`rtcstack serve --sfu`, a child
 * process: signaling v1, SfuServer on our RTCPeerConnection). This process holds the clients,
 * rtcstack RTCPeerConnections (the W3C API): one publisher sending VP8 in simulcast (rids q/h/f,
 * 320x180/640x360/1280x720; frames of 600/2,000/4,200 bytes at 30 fps, the top layer ~1.06 Mbit/s
 * of payload, packetized by our RTCRtpSender; keyframes every 90 frames and on request) plus Opus
 * (80-byte frames every 20 ms), and N subscribers, each subscribing to the publisher's video and
 * audio, the top layer (Janus: its default substream, the highest; ours: the layer the
 * subscriber's budget allows). The subscribers decline transport-cc by default, so neither SFU
 * estimates their downlinks and ours keeps every one on the top layer (its initial 2 Mbit/s
 * budget): with transport-cc (SFU_LIVE_TWCC=1, as a browser would agree) ours held all 200
 * subscribers on h in the one run made (their feedback carries this busy process's read delays),
 * while Janus has no such adaptation; the consumers-per-core figure is per Mbit/s either way,
 * but the same layer keeps the packet mix the same. Janus is told the offer's rids go low to
 * high (`rid_order: 'lmh'` with the jsep, its API's own flag): it takes them as high to low
 * otherwise and forwarded q as its top substream.
 *
 * Measured over `--seconds` after `--warmup` seconds of every subscriber receiving video: the SFU
 * process's CPU (utime + stime of all its threads, /proc/<pid>/stat), and what it forwarded as
 * the subscribers count it (inbound-rtp packets received, less those received as retransmissions:
 * our SFU probes a subscriber's downlink by resending media over RTX, which costs it CPU but is
 * not forwarding; bytes as SRTP datagrams: header + payload + 10-byte tag). Packets the
 * subscribers count lost are not counted as forwarded: an SFU that cannot keep up drops the
 * publisher's packets at its socket and forwards the gap (seen with Janus at N = 200); the lost
 * share is printed, and the machine's UDP receive-buffer drops over the window (/proc/net/snmp
 * RcvbufErrors: the SFU's ingress, the subscribers', anyone's). Printed as bench/sfu.ts does:
 * forwarded packets per CPU second, and consumers per core at
 * 1 Mbit/s (forwarded Mbit/s per CPU second), with the per-consumer rate actually received so a
 * lower layer shows, and the ratio rtcstack/Janus. The SFUs alternate order across rounds; the
 * load average is printed beside each row (the subscribers in this process share the two cores).
 *
 * A row whose per-consumer rate is under ~1.1 Mbit/s, or whose video fps is under 30, is an SFU
 * that did not keep up in real time on its share of the box (on 2 shared cores at load 4-12 a
 * single busy thread gets about half a core): Janus then drops the publisher's packets at its
 * sockets (default buffers: UDP drops, lost %), ours queues them in its ICE sockets' 4 MiB
 * buffers and forwards seconds late (SFU_LIVE_METRICS shows the backlog, and the "idle" CPU is
 * then that backlog being worked off). Its CPU per forwarded packet still compares.
 *
 *   npm run bench -- sfu-live [-- --seconds 10 --warmup 5 --rounds 2]
 *   SFU_LIVE_N=10,50 npm run bench -- sfu-live     (default N = 10, 50, 200)
 *   SFU_LIVE_SIMULCAST=0 npm run bench -- sfu-live (one VP8 layer, ~1 Mbit/s, no rids)
 *   SFU_LIVE_ONLY=janus|rtcstack|base[,...]        (only these SFUs, e.g. rtcstack,base)
 *   SFU_LIVE_TWCC=1                                (subscribers agree to transport-cc)
 *   SFU_LIVE_JANUS_LOOPS=2                         (Janus's event_loops: handles share 2 threads;
 *                                                   default: its default, a thread per handle)
 *   SFU_LIVE_JANUS_LOG=/tmp/janus.log              (append Janus's output there)
 *   SFU_LIVE_PROF=/tmp/prof                        (our SFU run with node --cpu-prof, written there)
 *   SFU_LIVE_NODE_FLAGS='--trace-gc --perf-basic-prof'
 *                                                  (more node flags for our SFU's process;
 *                                                   its output in SFU_LIVE_LOG if set)
 *   SFU_LIVE_BASE=/tmp/old-checkout                (a third SFU, "base": `rtcstack serve` of another
 *                                                   checkout, e.g. the previous commit's tree, in
 *                                                   the same rounds, for a before/after ratio)
 *   SFU_LIVE_METRICS=1                             (diagnostics: the publisher's per-layer counts
 *                                                   over the window, our SFU's /metrics totals and
 *                                                   the fullest UDP receive queues, by process,
 *                                                   at the window's end and before/after idle)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { JANUS_BIN, janusAvailable, killOnExit, startJanus } from './_janus.js';
import {
  diffCounters,
  LiveSource,
  type ReceiveCounters,
  receiveCounters,
  sentBytes,
  sumCounters,
} from './_sfu-live-media.js';
import { janusRoom, type LiveRoom, rtcstackRoom } from './_sfu-live-rooms.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLK_TCK = 100;

function options(): { seconds: number; warmup: number; rounds: number } {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((x) => x !== '--'),
    options: {
      seconds: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '2' },
    },
  });
  const num = (k: keyof typeof values): number => {
    const v = Number(values[k]);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`bad --${k} ${values[k]}`);
    return v;
  };
  return { seconds: num('seconds'), warmup: num('warmup'), rounds: num('rounds') };
}

/** CPU seconds (user + system, all threads) of process `pid` so far. */
function cpuSeconds(pid: number): number {
  const [user, sys] = cpuSplit(pid);
  return user + sys;
}
/** User and system CPU seconds (all threads) of process `pid` so far. */
function cpuSplit(pid: number): [number, number] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3; utime/stime are 14/15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [Number(f[11]) / CLK_TCK, Number(f[12]) / CLK_TCK];
}

/**
 * Times the threads of process `pid` went to sleep so far (voluntary context switches, all threads):
 * each is a wakeup later (a datagram or a timer). On this 2-vCPU VM a sleep and wakeup costs the
 * sleeper tens of microseconds of CPU and cold caches after it (see docs/status.md, session 9).
 */
function sleepsOf(pid: number): number {
  let n = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const m = /^voluntary_ctxt_switches:\s+(\d+)/m.exec(
        readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8'),
      );
      n += Number(m?.[1] ?? 0);
    } catch {
      // the thread ended
    }
  }
  return n;
}

/** UDP datagrams the kernel dropped on full receive buffers so far (all sockets of the machine). */
function udpRcvbufErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Udp:'));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  return Number(values[names.indexOf('RcvbufErrors')] ?? 0);
}

const readlinkSafe = (path: string): string | undefined => {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
};

interface Sfu {
  readonly pid: number;
  readonly wsUrl: string;
  stop(): Promise<void>;
}

/** `rtcstack serve` (of checkout `from`) on loopback, SFU mode from the second participant, room size n + 1. */
async function startRtcstack(n: number, from = root): Promise<Sfu> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...(process.env.SFU_LIVE_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.SFU_LIVE_PROF] : []),
      ...(process.env.SFU_LIVE_NODE_FLAGS?.split(' ').filter((x) => x) ?? []),
      join(from, 'bin/rtcstack'),
      'serve',
      '--host',
      '127.0.0.1',
      '--http-port',
      '0',
      '--turn=false',
      '--sfu',
      '--sfu-switch-at',
      '2',
      '--sfu-back-at',
      '0',
      '--max-peers-per-room',
      String(n + 1),
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const unguard = killOnExit(child);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
    const t = setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
    unguard();
  };
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => {
      void stop();
      reject(new Error(`rtcstack serve did not start:\n${out}`));
    }, 30_000);
    let started = false;
    const read = (d: Buffer): void => {
      if (process.env.SFU_LIVE_LOG) appendFileSync(process.env.SFU_LIVE_LOG, d);
      if (started) return;
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        started = true;
        clearTimeout(t);
        resolve(m[1]!);
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('exit', (code) => reject(new Error(`rtcstack serve exited ${code}:\n${out}`)));
  });
  return {
    pid: child.pid!,
    wsUrl: `${url.replace(/^http/, 'ws')}/ws`,
    stop,
  };
}

/** The SFUs: Janus, ours, and ours from the SFU_LIVE_BASE checkout. */
type Which = 'janus' | 'rtcstack' | 'base';
const BASE = process.env.SFU_LIVE_BASE;

interface Row {
  sfu: Which;
  n: number;
  round: number;
  c: ReceiveCounters;
  cpuSec: number;
  /** The kernel's share of it (system time: sends, and on loopback the delivery to the receiver). */
  sysShare: number;
  /** The SFU's sleeps (voluntary context switches of all its threads) over the window. */
  sleeps: number;
  wallSec: number;
  clientCpuSec: number;
  load: number;
  /** Subscribers getting video at the f / h / q rate, or none. */
  layers: number[];
  /** The SFU's CPU % once the publisher's media stopped (connections up, nothing to forward). */
  idlePct: number;
  /** UDP receive-buffer drops on the machine during the window (the SFU's ingress, subscribers, others). */
  drops: number;
  /** What the publisher sent (RTP bytes, all layers and audio), and its sender's target. */
  pubMbps: number;
  pubTarget: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function measure(
  which: Which,
  n: number,
  round: number,
  o: ReturnType<typeof options>,
  simulcast: boolean,
): Promise<Row> {
  const loops = Number(process.env.SFU_LIVE_JANUS_LOOPS ?? 0);
  const sfu: Sfu =
    which === 'janus'
      ? await startJanus({
          ...(loops ? { eventLoops: loops } : {}),
          ...(process.env.SFU_LIVE_JANUS_LOG ? { logFile: process.env.SFU_LIVE_JANUS_LOG } : {}),
        })
      : await startRtcstack(n, which === 'base' ? BASE : root);
  const source = new LiveSource(simulcast);
  let room: LiveRoom | undefined;
  try {
    source.start();
    room =
      which === 'janus'
        ? await janusRoom(sfu.wsUrl, n, source, twcc)
        : await rtcstackRoom(sfu.wsUrl, n, source, twcc);
    const subs = room.subscribers;
    const end = Date.now() + 60_000;
    for (;;) {
      const per = await Promise.all(subs.map((pc) => receiveCounters([pc])));
      if (per.every((c) => c.framesVideo > 0)) break;
      if (Date.now() > end)
        throw new Error(
          `${which}: ${per.filter((c) => c.framesVideo === 0).length} of ${n} subscribers got no video`,
        );
      await sleep(200);
    }
    await sleep(o.warmup * 1000);
    const layerStats = async (): Promise<Map<string, number[]>> => {
      const m = new Map<string, number[]>();
      for (const x of (await room!.publisher.getStats()).values())
        if (x.type === 'outbound-rtp') {
          const st = x as unknown as {
            rid?: string;
            kind: string;
            packetsSent: number;
            framesSent?: number;
            nackCount: number;
            retransmittedPacketsSent: number;
          };
          m.set(st.rid ?? st.kind, [
            st.packetsSent,
            st.framesSent ?? 0,
            st.nackCount,
            st.retransmittedPacketsSent,
          ]);
        }
      return m;
    };
    const ls0 = process.env.SFU_LIVE_METRICS ? await layerStats() : undefined;
    const each0 = await Promise.all(subs.map((pc) => receiveCounters([pc])));
    const p0 = await sentBytes(room.publisher);
    const split0 = cpuSplit(sfu.pid);
    const sleeps0 = sleepsOf(sfu.pid);
    const cpu0 = split0[0] + split0[1];
    const drops0 = udpRcvbufErrors();
    const me0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(o.seconds * 1000);
    const split1 = cpuSplit(sfu.pid);
    const sleeps = sleepsOf(sfu.pid) - sleeps0;
    const cpu1 = split1[0] + split1[1];
    const drops = udpRcvbufErrors() - drops0;
    const wallSec = (performance.now() - t0) / 1000;
    const me = process.cpuUsage(me0);
    const each1 = await Promise.all(subs.map((pc) => receiveCounters([pc])));
    const p1 = await sentBytes(room.publisher);
    if (ls0) {
      const ls1 = await layerStats();
      for (const [k, v] of ls1)
        console.log(
          `publisher ${k}: packets/frames/nacks/rtx over the window ${v.map((x, i) => x - (ls0.get(k)?.[i] ?? 0)).join('/')}`,
        );
    }
    const metrics = async (): Promise<void> => {
      if (!process.env.SFU_LIVE_METRICS || which === 'janus') return;
      const text = await (
        await fetch(`${sfu.wsUrl.replace(/^ws/, 'http').replace(/\/ws$/, '')}/metrics`)
      ).text();
      const lines = text.split('\n').filter((l) => l.startsWith('rtcstack_sfu_') && !/\} 0$/.test(l));
      // The fullest UDP receive queues on the machine (kernel /proc/net/udp: tx_queue:rx_queue hex).
      const queues = readFileSync('/proc/net/udp', 'utf8')
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => f.length > 4)
        .map((f) => ({
          port: Number.parseInt(f[1]!.split(':')[1]!, 16),
          rx: Number.parseInt(f[4]!.split(':')[1]!, 16),
          inode: f[9]!,
        }))
        .sort((a, b) => b.rx - a.rx)
        .slice(0, 3);
      const owner = (inode: string): string => {
        for (const [name, pid] of [
          ['sfu', sfu.pid],
          ['bench', process.pid],
        ] as const) {
          const fds = readdirSync(`/proc/${pid}/fd`);
          if (fds.some((fd) => readlinkSafe(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`)) return name;
        }
        return 'other';
      };
      console.log(
        `${(performance.now() / 1000).toFixed(1)} s: fullest UDP receive queues ${queues.map((q) => `:${q.port} (${owner(q.inode)}) ${q.rx} B`).join(', ')}`,
      );
      console.log(lines.filter((l) => !/\{room=/.test(l)).join('\n'));
      console.log(
        lines
          .filter((l) => /estimated_bandwidth/.test(l))
          .slice(0, 3)
          .join('\n'),
      );
    };
    await metrics();
    const each = each1.map((c, i) => diffCounters(each0[i]!, c));
    // Subscribers by the video rate they got: the top layer (~1.1 Mbit/s), h (~0.5), q (~0.15), none.
    const layers = [0, 0, 0, 0];
    for (const c of each) {
      const mbps = (c.videoBytes * 8) / wallSec / 1e6;
      layers[mbps > 0.8 ? 0 : mbps > 0.3 ? 1 : mbps > 0.05 ? 2 : 3]!++;
    }
    const video = room.publisher.getSenders().find((x) => x.track?.kind === 'video');
    // The same connections with nothing to forward: what the SFU spends on them alone (timers,
    // RTCP, ICE consent), measured after the publisher's media stops.
    source.stop();
    await sleep(1500);
    await metrics();
    const idle0 = cpuSeconds(sfu.pid);
    const i0 = performance.now();
    await sleep(3000);
    const idlePct = (100 * (cpuSeconds(sfu.pid) - idle0)) / ((performance.now() - i0) / 1000);
    await metrics();
    return {
      idlePct,
      sfu: which,
      n,
      round,
      c: each.reduce(sumCounters),
      layers,
      drops,
      cpuSec: cpu1 - cpu0,
      sysShare: (split1[1] - split0[1]) / Math.max(0.01, cpu1 - cpu0),
      sleeps,
      wallSec,
      clientCpuSec: (me.user + me.system) / 1e6,
      load: loadavg()[0]!,
      pubMbps: ((p1 - p0) * 8) / wallSec / 1e6,
      pubTarget: (video?.targetBitrate ?? 0) / 1e6,
    };
  } finally {
    source.stop();
    await room?.close();
    await sfu.stop();
  }
}

const o = options();
if (!janusAvailable()) {
  console.log(
    `sfu-live: ${JANUS_BIN} is missing: install Janus (apt-get install -y janus) to compare with its VideoRoom; nothing measured.`,
  );
  process.exit(0);
}
const simulcast = process.env.SFU_LIVE_SIMULCAST !== '0';
const twcc = process.env.SFU_LIVE_TWCC === '1';
const only = process.env.SFU_LIVE_ONLY?.split(',');
const ns = process.env.SFU_LIVE_N?.split(',').map(Number) ?? [10, 50, 200];
console.log(
  `sfu-live: Janus VideoRoom vs rtcstack serve, each a child process on loopback; 1 publisher (VP8 ${simulcast ? 'simulcast q/h/f' : 'one layer'} + Opus) and N subscribers in this process; subscribers ${twcc ? 'with' : 'without'} transport-cc; Janus event_loops: ${process.env.SFU_LIVE_JANUS_LOOPS ?? 'default (a thread per handle)'}; ${o.warmup} s warm-up, ${o.seconds} s measured, ${o.rounds} rounds, order alternating\n`,
);
console.log(
  'N    | round | SFU      | SFU CPU % (idle) | sys % | CPU us/pkt (u + s) | sleeps/s | fwd pkts/s/core | consumers/core @1 Mbps | per-consumer Mbps | lost % | rtx % | udp drops | subs f/h/q/none | video fps | pub Mbps / target | clients CPU % | load',
);
const rows: Row[] = [];
for (const n of ns) {
  for (let round = 0; round < o.rounds; round++) {
    const sfus: Which[] = BASE ? ['janus', 'base', 'rtcstack'] : ['janus', 'rtcstack'];
    const order = round % 2 === 0 ? sfus : [...sfus].reverse();
    for (const which of order) {
      if (only && !only.includes(which)) continue;
      let r: Row;
      try {
        r = await measure(which, n, round, o, simulcast);
      } catch (err) {
        console.log(
          `${String(n).padEnd(4)} | ${String(round).padEnd(5)} | ${which.padEnd(8)} | failed: ${(err as Error).message}`,
        );
        continue;
      }
      rows.push(r);
      console.log(
        [
          String(n).padEnd(4),
          String(round).padEnd(5),
          which.padEnd(8),
          `${((100 * r.cpuSec) / r.wallSec).toFixed(0)} (${r.idlePct.toFixed(0)})`.padStart(16),
          (100 * r.sysShare).toFixed(0).padStart(5),
          `${((1e6 * r.cpuSec) / Math.max(1, r.c.packets)).toFixed(1)} (${((1e6 * r.cpuSec * (1 - r.sysShare)) / Math.max(1, r.c.packets)).toFixed(1)} + ${((1e6 * r.cpuSec * r.sysShare) / Math.max(1, r.c.packets)).toFixed(1)})`.padStart(
            18,
          ),
          (r.sleeps / r.wallSec).toFixed(0).padStart(8),
          Math.round(r.c.packets / r.cpuSec)
            .toLocaleString('en')
            .padStart(15),
          Math.round((r.c.bytes * 8) / r.cpuSec / 1e6)
            .toLocaleString('en')
            .padStart(22),
          ((r.c.bytes * 8) / r.wallSec / n / 1e6).toFixed(2).padStart(17),
          ((100 * r.c.lost) / Math.max(1, r.c.packets)).toFixed(2).padStart(6),
          ((100 * r.c.retransmitted) / Math.max(1, r.c.packets)).toFixed(1).padStart(5),
          String(r.drops).padStart(9),
          r.layers.join('/').padStart(15),
          (r.c.framesVideo / r.wallSec / n).toFixed(1).padStart(9),
          `${r.pubMbps.toFixed(2)} / ${r.pubTarget.toFixed(2)}`.padStart(17),
          ((100 * r.clientCpuSec) / r.wallSec).toFixed(0).padStart(13),
          r.load.toFixed(1),
        ].join(' | '),
      );
    }
  }
}
console.log('\nratio rtcstack / Janus (consumers per core, median of rounds):');
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
for (const n of ns) {
  const of = (w: string): number[] =>
    rows.filter((r) => r.n === n && r.sfu === w).map((r) => (r.c.bytes * 8) / r.cpuSec / 1e6);
  const j = of('janus');
  const u = of('rtcstack');
  if (!j.length || !u.length) console.log(`  N=${n}: missing a side`);
  else
    console.log(
      `  N=${n}: rtcstack ${median(u).toFixed(0)} / Janus ${median(j).toFixed(0)} = ${(median(u) / median(j)).toFixed(2)}x`,
    );
  const b = of('base');
  if (b.length && u.length)
    console.log(
      `  N=${n}: rtcstack ${median(u).toFixed(0)} / base ${median(b).toFixed(0)} = ${(median(u) / median(b)).toFixed(2)}x`,
    );
}
console.log(
  '\nSFU CPU %: utime+stime of the SFU process over the window (100 = one core), in brackets once the publisher stopped (the connections alone); sys %: the kernel share of it (on loopback a send also pays the delivery to the receiving socket); CPU us/pkt: that CPU per forwarded packet, user + system; sleeps/s: voluntary context switches of the SFU process (all threads), each a wakeup (a datagram or a timer); fwd pkts: media RTP packets the subscribers received (lost ones and retransmissions not counted) (rtx %: packets received over RTX per forwarded packet: NACK answers, and our SFU probes of the downlink, which resend media); consumers/core @1 Mbps: forwarded Mbit/s (SRTP datagrams) per CPU second of the SFU, as bench/sfu.ts prints it; per-consumer Mbps: what each subscriber got (video ~1.1 + audio when on the top layer).',
);
process.exit(0);
