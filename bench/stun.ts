/**
 * STUN Binding transactions per second: rtcstack's STUN server (`rtcstack turn --alt-ip`, RFC 5780
 * mode, one Node process), rtcstack's TURN relay answering Binding (`rtcstack turn`), and coturn's
 * `turnserver` (RFC 5780 on, default threads), driven by the same load generator, side by side in
 * one run. The generator keeps a window of outstanding 20-byte Binding requests per socket
 * and sends the next one as soon as an answer arrives (lost ones are resent after 200 ms).
 * Reports the median of the rounds, the server's CPU use, and UDP drops from /proc/net/snmp.
 *
 *   npm run bench -- stun [-- --seconds 4 --rounds 3 --sockets 4 --window 64 --only rtcstack,coturn]
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { writeCoturnConf } from '../test/helpers/coturn-conf.js';

interface Options {
  seconds: number;
  rounds: number;
  sockets: number;
  window: number;
  warmup: number;
  only?: string;
}

function options(): Options {
  const o: Options = { seconds: 4, rounds: 3, sockets: 4, window: 64, warmup: 1 };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const k = a[i]!.replace(/^--/, '');
    const v = a[++i];
    if (v === undefined) throw new Error(`--${k} needs a value`);
    if (k === 'only') o.only = v;
    else if (k in o) (o as unknown as Record<string, number>)[k] = Number(v);
    else throw new Error(`unknown option --${k}`);
  }
  return o;
}

/** Udp counters from /proc/net/snmp (RcvbufErrors, SndbufErrors, InErrors). */
function udpSnmp(): Record<string, number> {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('Udp:'));
    const keys = lines[0]!.split(/\s+/).slice(1);
    const vals = lines[1]!.split(/\s+/).slice(1).map(Number);
    return Object.fromEntries(keys.map((k, i) => [k, vals[i]!]));
  } catch {
    return {};
  }
}

/** CPU seconds (user + system, all threads) of a process. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return Number.NaN;
  }
}

interface LoadResult {
  tps: number;
  timeouts: number;
  bad: number;
}

/** Closed-loop load: `window` outstanding requests on each of `sockets` sockets. */
async function load(port: number, o: Options): Promise<LoadResult> {
  const socks: dgram.Socket[] = [];
  const nSlots = o.sockets * o.window;
  const bufs: Buffer[] = [];
  const seq = new Uint32Array(nSlots);
  const sentAt = new Float64Array(nSlots);
  let completed = 0;
  let timeouts = 0;
  let bad = 0;
  let running = true;
  for (let s = 0; s < o.sockets; s++) {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    sock.setRecvBufferSize(4 << 20);
    sock.setSendBufferSize(4 << 20);
    // Connected sockets skip the per-send address lookup: the generator must not be the bottleneck.
    await new Promise<void>((r) => sock.connect(port, '127.0.0.1', () => r()));
    socks.push(sock);
  }
  const send = (slot: number): void => {
    const b = bufs[slot]!;
    b.writeUInt32BE(++seq[slot]!, 12);
    sentAt[slot] = performance.now();
    socks[Math.floor(slot / o.window)]!.send(b);
  };
  for (let slot = 0; slot < nSlots; slot++) {
    const b = Buffer.alloc(20);
    b.writeUInt16BE(0x0001, 0); // Binding request, no attributes
    b.writeUInt32BE(0x2112a442, 4);
    b.writeUInt32BE(slot, 8);
    b.writeUInt32BE(0x52544353, 16); // "RTCS"
    bufs.push(b);
  }
  for (const sock of socks) {
    sock.on('message', (m) => {
      if (m.length < 20 || m[0] !== 0x01 || m[1] !== 0x01) {
        bad++;
        return;
      }
      const slot = m.readUInt32BE(8);
      if (slot >= nSlots || m.readUInt32BE(12) !== seq[slot]) return; // late answer to a resent one
      completed++;
      if (running) send(slot);
    });
  }
  const retry = setInterval(() => {
    const now = performance.now();
    for (let slot = 0; slot < nSlots; slot++) {
      if (now - sentAt[slot]! > 200) {
        timeouts++;
        send(slot);
      }
    }
  }, 50);
  for (let slot = 0; slot < nSlots; slot++) send(slot);
  await new Promise((r) => setTimeout(r, o.warmup * 1000));
  const c0 = completed;
  const t0 = performance.now();
  const to0 = timeouts;
  await new Promise((r) => setTimeout(r, o.seconds * 1000));
  const tps = ((completed - c0) * 1000) / (performance.now() - t0);
  running = false;
  clearInterval(retry);
  await new Promise((r) => setTimeout(r, 100));
  for (const s of socks) s.close();
  return { tps, timeouts: timeouts - to0, bad };
}

interface Server {
  name: string;
  port: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

async function waitReady(port: number): Promise<void> {
  const sock = dgram.createSocket('udp4');
  const req = Buffer.alloc(20);
  req.writeUInt16BE(1, 0);
  req.writeUInt32BE(0x2112a442, 4);
  try {
    await new Promise<void>((resolve, reject) => {
      const t0 = performance.now();
      sock.on('message', () => resolve());
      const tick = (): void => {
        if (performance.now() - t0 > 15_000) {
          reject(new Error(`no STUN answer on port ${port}`));
          return;
        }
        sock.send(req, port, '127.0.0.1');
        timer = setTimeout(tick, 100);
      };
      let timer = setTimeout(tick, 0);
      sock.once('message', () => clearTimeout(timer));
    });
  } finally {
    sock.close();
  }
}

function stopper(proc: ChildProcess): () => Promise<void> {
  return async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
}

async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  s.close();
  return p;
}

/**
 * `rtcstack turn` as a child process. With --alt-ip it runs the RFC 5780 STUN server
 * (src/server/turn/stun-server.ts); without, the TURN relay, which answers Binding too.
 */
async function startRtcstack(name: string, args: string[]): Promise<Server> {
  const proc = spawn(
    process.execPath,
    ['bin/rtcstack', 'turn', '-L', '127.0.0.1', '-p', '0', '--no-tcp', ...args],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  let port = 0;
  for await (const line of createInterface({ input: proc.stdout! })) {
    const m = /^listening udp 127\.0\.0\.1:(\d+)/.exec(line);
    if (m && !port) port = Number(m[1]);
    if (line === 'ready') break;
  }
  if (!port) throw new Error(`rtcstack turn ${args.join(' ')} did not start`);
  proc.stdout!.resume();
  await waitReady(port);
  return { name, port, proc, stop: stopper(proc) };
}

async function startCoturn(dir: string): Promise<Server | undefined> {
  if (spawnSync('sh', ['-c', 'command -v turnserver'], { stdio: 'ignore' }).status !== 0) {
    console.log('  coturn: turnserver not installed (apt-get install -y coturn); skipped');
    return undefined;
  }
  const port = await freePort();
  const conf = writeCoturnConf(dir, [
    'listening-ip=127.0.0.1',
    'listening-ip=127.0.0.2',
    `listening-port=${port}`,
    `alt-listening-port=${port + 1}`,
    'no-tcp',
    'no-tls',
  ]);
  const proc = spawn('turnserver', ['-c', conf], { stdio: 'ignore' });
  await waitReady(port);
  return { name: 'coturn', port, proc, stop: stopper(proc) };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const o = options();
  const dir = mkdtempSync(join(tmpdir(), 'rtcs-bench-stun-'));
  const servers: Server[] = [];
  try {
    const want = (n: string): boolean => !o.only || o.only.split(',').includes(n);
    if (want('rtcstack'))
      servers.push(await startRtcstack('rtcstack', ['--alt-ip', '127.0.0.2', '--alt-port', '0']));
    if (want('rtcstack-turn')) servers.push(await startRtcstack('rtcstack-turn', []));
    if (want('coturn')) {
      const c = await startCoturn(dir);
      if (c) servers.push(c);
    }
    console.log(
      `STUN Binding transactions/s on loopback: ${o.sockets} sockets x ${o.window} outstanding, ` +
        `${o.rounds} rounds x ${o.seconds} s (after ${o.warmup} s warm-up), median`,
    );
    const stats = new Map<string, { tps: number[]; cpu: number[]; timeouts: number; drops: number }>();
    for (const s of servers) stats.set(s.name, { tps: [], cpu: [], timeouts: 0, drops: 0 });
    for (let round = 0; round < o.rounds; round++) {
      for (const s of servers) {
        const snmp0 = udpSnmp();
        const cpu0 = cpuSeconds(s.proc.pid!);
        const t0 = performance.now();
        const r = await load(s.port, o);
        const cpu = (cpuSeconds(s.proc.pid!) - cpu0) / ((performance.now() - t0) / 1000);
        const snmp1 = udpSnmp();
        const drops =
          (snmp1.RcvbufErrors ?? 0) -
          (snmp0.RcvbufErrors ?? 0) +
          (snmp1.SndbufErrors ?? 0) -
          (snmp0.SndbufErrors ?? 0);
        const st = stats.get(s.name)!;
        st.tps.push(r.tps);
        st.cpu.push(cpu);
        st.timeouts += r.timeouts;
        st.drops += drops;
        console.log(
          `  round ${round + 1} ${s.name.padEnd(13)} ${fmt(r.tps).padStart(9)}/s  server cpu ${(cpu * 100).toFixed(0)}%` +
            `  resent ${r.timeouts}  udp drops ${drops}${r.bad ? `  bad ${r.bad}` : ''}`,
        );
      }
    }
    console.log('');
    for (const [name, st] of stats) {
      const tps = median(st.tps);
      const cpu = median(st.cpu);
      console.log(
        `  ${name.padEnd(13)} ${fmt(tps).padStart(9)} transactions/s   server cpu ${(cpu * 100).toFixed(0)}%` +
          `   ${fmt(tps / Math.max(cpu, 0.01))}/s per core   udp drops ${st.drops}`,
      );
    }
    const ours = stats.get('rtcstack');
    const theirs = stats.get('coturn');
    if (ours && theirs) {
      const ratio = median(ours.tps) / median(theirs.tps);
      const perCore =
        median(ours.tps) /
        Math.max(median(ours.cpu), 0.01) /
        (median(theirs.tps) / Math.max(median(theirs.cpu), 0.01));
      console.log(
        `\n  ratio rtcstack/coturn: ${ratio.toFixed(2)}x throughput, ${perCore.toFixed(2)}x per CPU core`,
      );
    }
  } finally {
    for (const s of servers) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
