/**
 * TURN relay: the same coturn `turnutils_uclient` load (N concurrent allocations, 1000-byte
 * messages, channels, echoed by `turnutils_peer`) against coturn's `turnserver` and against
 * `rtcstack turn`, side by side in one run. Per load and server: relayed packets per second (each
 * echoed message is relayed twice: client -> peer and peer -> client), Mbps, loss, the server's
 * CPU seconds (user + system, all threads, from /proc/<pid>/stat) per relayed packet, UDP receive
 * buffer drops (/proc/net/snmp), and the ratios rtcstack/coturn.
 *
 *   npm run bench -- turn [-- --rounds 1 --loads 10x5,50x5,10x1,10x5s --messages 1000]
 *
 * A load `MxZ` is M clients each sending one message every Z ms (uclient -m M -z Z) over channels
 * (ChannelData); `MxZs` the same with Send/Data indications instead (uclient -s). CPU is split into
 * user and system time: the kernel's share (sendmsg/recvmsg on loopback) is about the same for any
 * server, the user share is what the server's own code costs.
 *
 * For scale, each load also measures the floor of any node:dgram server at the same packet rate: a
 * Node process that only echoes 1000-byte datagrams (one receive and one send per packet, as a
 * relayed packet costs), fed by this process. rtcstack/floor near 1 means the TURN logic adds little
 * and the rest is Node's per-datagram cost.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

interface Load {
  clients: number;
  intervalMs: number;
  /** Send/Data indications instead of channels (uclient -s). */
  indications: boolean;
}

function loadName(l: Load): string {
  return `${l.clients}x${l.intervalMs}ms${l.indications ? '-send' : ''}`;
}

interface Options {
  rounds: number;
  loads: Load[];
  messages: number;
  only?: string;
}

function options(): Options {
  const o: Options = {
    rounds: 1,
    loads: [
      { clients: 10, intervalMs: 5, indications: false },
      { clients: 50, intervalMs: 5, indications: false },
      { clients: 10, intervalMs: 1, indications: false },
      { clients: 10, intervalMs: 5, indications: true },
    ],
    messages: 1000,
  };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const k = a[i]!.replace(/^--/, '');
    const v = a[++i];
    if (v === undefined) throw new Error(`--${k} needs a value`);
    if (k === 'rounds') o.rounds = Number(v);
    else if (k === 'messages') o.messages = Number(v);
    else if (k === 'only') o.only = v;
    else if (k === 'loads') {
      o.loads = v.split(',').map((s) => {
        const indications = s.endsWith('s');
        const [m, z] = (indications ? s.slice(0, -1) : s).split('x').map(Number);
        if (!m || !z) throw new Error(`--loads: MxZ or MxZs, got '${s}'`);
        return { clients: m, intervalMs: z, indications };
      });
    } else throw new Error(`unknown option --${k}`);
  }
  return o;
}

function udpRcvbufErrors(): number {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('Udp:'));
    const keys = lines[0]!.split(/\s+/);
    const vals = lines[1]!.split(/\s+/);
    return Number(vals[keys.indexOf('RcvbufErrors')] ?? 0);
  } catch {
    return 0;
  }
}

/** CPU seconds of a process (all threads): user and system. */
function cpuTimes(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(f[11]) / 100, sys: Number(f[12]) / 100 };
}

/** CPU seconds (user + system, all threads) of a process. */
function cpuSeconds(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.sys;
}

async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const ok = await new Promise<boolean>((resolve) => {
      const s = dgram.createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
}

function waitForLine(p: ChildProcess, re: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${re}`)), timeoutMs);
    const onLine = (l: string): void => {
      if (re.test(l)) {
        clearTimeout(t);
        resolve();
      }
    };
    if (p.stdout) createInterface({ input: p.stdout }).on('line', onLine);
    if (p.stderr) createInterface({ input: p.stderr }).on('line', onLine);
  });
}

interface Server {
  name: string;
  port: number;
  proc: ChildProcess;
}

async function startCoturn(): Promise<Server> {
  const port = await freePort();
  const proc = spawn(
    'turnserver',
    [
      '-n',
      '--no-cli',
      '--listening-ip=127.0.0.1',
      `--listening-port=${port}`,
      '--relay-ip=127.0.0.1',
      '--allow-loopback-peers',
      '--lt-cred-mech',
      '--user=u:p',
      '--realm=bench',
      '--no-tls',
      '--no-dtls',
      '--min-port=42000',
      '--max-port=44999',
      '--log-file=stdout',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await Promise.race([
    waitForLine(proc, /listener opened on|Total General servers|IPv4\. UDP listener/i, 10_000).catch(
      () => {},
    ),
    new Promise((r) => setTimeout(r, 2000)),
  ]);
  return { name: 'coturn', port, proc };
}

async function startOurs(): Promise<Server> {
  const port = await freePort();
  const proc = spawn(
    process.execPath,
    [
      'bin/rtcstack',
      'turn',
      '-L',
      '127.0.0.1',
      '-p',
      String(port),
      '--no-tls',
      '-u',
      'u:p',
      '-r',
      'bench',
      '--allow-loopback-peers',
      '--min-port',
      '45000',
      '--max-port',
      '47999',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await waitForLine(proc, /^ready$/, 20_000);
  return { name: 'rtcstack', port, proc };
}

interface Result {
  server: string;
  load: string;
  sent: number;
  received: number;
  relayed: number;
  seconds: number;
  pps: number;
  mbps: number;
  loss: number;
  cpuS: number;
  usPerPacket: number;
  /** The user and system parts of usPerPacket. */
  userUs: number;
  sysUs: number;
  rcvbufErrors: number;
}

function uclient(
  server: Server,
  peerPort: number,
  clients: number,
  intervalMs: number,
  messages: number,
  indications = false,
) {
  return new Promise<{ out: string; seconds: number }>((resolve) => {
    const t0 = performance.now();
    const p = spawn(
      'turnutils_uclient',
      [
        '-u',
        'u',
        '-w',
        'p',
        '-e',
        '127.0.0.1',
        '-r',
        String(peerPort),
        '-p',
        String(server.port),
        '-n',
        String(messages),
        '-l',
        '1000',
        '-m',
        String(clients),
        '-z',
        String(intervalMs),
        '-c',
        ...(indications ? ['-s'] : []),
        '127.0.0.1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const kill = setTimeout(() => p.kill('SIGKILL'), 180_000);
    p.on('close', () => {
      clearTimeout(kill);
      resolve({ out, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

async function measure(server: Server, peerPort: number, load: Load, o: Options) {
  const pid = server.proc.pid!;
  const snmp0 = udpRcvbufErrors();
  const t0 = cpuTimes(pid);
  const { clients, intervalMs } = load;
  const { out, seconds } = await uclient(server, peerPort, clients, intervalMs, o.messages, load.indications);
  const t1 = cpuTimes(pid);
  const cpu = t1.user - t0.user + (t1.sys - t0.sys);
  const m = /tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$/m.exec(out);
  const sent = m ? Number(m[1]) : 0;
  const received = m ? Number(m[2]) : 0;
  // uclient's own clock for the transfer phase (whole seconds), else the process wall time.
  const tx = /Total transmit time is (\d+)/.exec(out);
  const secs = tx && Number(tx[1]) > 0 ? Number(tx[1]) : seconds;
  const relayed = sent + received;
  const r: Result = {
    server: server.name,
    load: loadName(load),
    sent,
    received,
    relayed,
    seconds: +secs.toFixed(2),
    pps: Math.round(relayed / secs),
    mbps: +((relayed * 1000 * 8) / secs / 1e6).toFixed(1),
    loss: sent ? +((sent - received) / sent).toFixed(4) : 1,
    cpuS: +cpu.toFixed(2),
    usPerPacket: relayed ? +((cpu * 1e6) / relayed).toFixed(2) : Number.NaN,
    userUs: relayed ? +(((t1.user - t0.user) * 1e6) / relayed).toFixed(2) : Number.NaN,
    sysUs: relayed ? +(((t1.sys - t0.sys) * 1e6) / relayed).toFixed(2) : Number.NaN,
    rcvbufErrors: udpRcvbufErrors() - snmp0,
  };
  return r;
}

/** CPU µs per echoed datagram of a bare node:dgram echo process fed at `pps` for `seconds`. */
async function nodeEchoFloor(pps: number, seconds: number): Promise<{ usPerPacket: number; echoed: number }> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const d=require('node:dgram');const s=d.createSocket('udp4');s.bind(0,'127.0.0.1',()=>console.log(s.address().port));s.on('message',(m,r)=>s.send(m,r.port,r.address));`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const port = await new Promise<number>((resolve) => {
      createInterface({ input: child.stdout! }).once('line', (l) => resolve(Number(l)));
    });
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    let echoed = 0;
    sock.on('message', () => echoed++);
    const buf = Buffer.alloc(1000);
    const cpu0 = cpuSeconds(child.pid!);
    const t0 = performance.now();
    let sent = 0;
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        const due = Math.floor(((performance.now() - t0) / 1000) * pps);
        while (sent < due) {
          sock.send(buf, port, '127.0.0.1');
          sent++;
        }
        if (performance.now() - t0 > seconds * 1000) {
          clearInterval(t);
          setTimeout(resolve, 200);
        }
      }, 1);
    });
    const cpu = cpuSeconds(child.pid!) - cpu0;
    sock.close();
    return { usPerPacket: echoed ? +((cpu * 1e6) / echoed).toFixed(2) : Number.NaN, echoed };
  } finally {
    if (child.pid) process.kill(child.pid, 'SIGKILL');
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const o = options();
  const peerPort = await freePort();
  const peer = spawn('turnutils_peer', ['-L', '127.0.0.1', '-p', String(peerPort)], { stdio: 'ignore' });
  const servers: Server[] = [];
  try {
    await new Promise((r) => setTimeout(r, 300));
    if (!o.only || o.only.includes('coturn')) servers.push(await startCoturn());
    if (!o.only || o.only.includes('rtcstack')) servers.push(await startOurs());
    // Warm-up (not measured): JIT for ours (both data paths and allocation setup), thread pools and
    // caches for both.
    for (const s of servers) {
      await uclient(s, peerPort, 10, 1, 500);
      await uclient(s, peerPort, 10, 1, 300, true);
    }
    const rows: Result[] = [];
    for (const load of o.loads) {
      const per = new Map<string, Result[]>();
      for (let round = 0; round < o.rounds; round++) {
        for (const s of servers) {
          const r = await measure(s, peerPort, load, o);
          per.set(s.name, [...(per.get(s.name) ?? []), r]);
          console.log(JSON.stringify(r));
        }
      }
      for (const [, rs] of per) {
        const byCpu = [...rs].sort((a, b) => a.usPerPacket - b.usPerPacket);
        const mid = byCpu[Math.floor(byCpu.length / 2)]!;
        rows.push({ ...mid, pps: median(rs.map((r) => r.pps)), loss: median(rs.map((r) => r.loss)) });
      }
    }
    console.log(
      '\nload            server      relayed/s    Mbps   loss    server CPU s   µs CPU/packet (user + sys)  rcvbuf drops',
    );
    for (const r of rows) {
      console.log(
        `${r.load.padEnd(15)} ${r.server.padEnd(10)} ${String(r.pps).padStart(10)} ${String(r.mbps).padStart(7)} ${(r.loss * 100).toFixed(2).padStart(6)}% ${String(r.cpuS).padStart(12)} ${String(r.usPerPacket).padStart(14)} (${r.userUs} + ${r.sysUs})`.padEnd(
          100,
        ) + String(r.rcvbufErrors).padStart(6),
      );
    }
    const floors = new Map<string, number>();
    for (const r of rows.filter((x) => x.server === 'rtcstack')) {
      const f = await nodeEchoFloor(r.pps, 3);
      floors.set(r.load, f.usPerPacket);
      console.log(
        `node:dgram echo floor at ${r.pps} packets/s: ${f.usPerPacket} µs CPU/packet (${f.echoed} echoed)`,
      );
    }
    console.log('\nratios rtcstack / coturn (CPU per packet: lower is better; target <= 1)');
    for (const load of o.loads) {
      const name = loadName(load);
      const ours = rows.find((r) => r.load === name && r.server === 'rtcstack');
      const theirs = rows.find((r) => r.load === name && r.server === 'coturn');
      if (!ours || !theirs) continue;
      console.log(
        `${name.padEnd(15)} relayed/s x${(ours.pps / theirs.pps).toFixed(2)}   CPU/packet x${(ours.usPerPacket / theirs.usPerPacket).toFixed(2)} (user x${(ours.userUs / theirs.userUs).toFixed(2)}, sys x${(ours.sysUs / theirs.sysUs).toFixed(2)})   loss ${(ours.loss * 100).toFixed(2)}% vs ${(theirs.loss * 100).toFixed(2)}%   rtcstack/node-echo-floor x${(ours.usPerPacket / (floors.get(name) ?? Number.NaN)).toFixed(2)}`,
      );
    }
  } finally {
    for (const s of servers) if (s.proc.pid) process.kill(s.proc.pid, 'SIGKILL');
    if (peer.pid) process.kill(peer.pid, 'SIGKILL');
  }
}

await main();
