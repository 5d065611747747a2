/**
 * ICE benchmarks, side by side in one run:
 *  1. setup: time from start (gather + checks) to both agents connected, two agents in one process
 *     on loopback, rtcstack vs werift's ICE `Connection` (median and p90 of N rounds);
 *  2. check throughput: checks per CPU second the rtcstack agent sustains with 100 remote
 *     candidates (virtual network, Ta = 0, every check answered with integrity by a responder),
 *     i.e. the cost of building, signing, sending, parsing and verifying one check and its answer.
 *
 *  3. with `--natlab` (root): the same setup time between two cone NATs in the NAT lab (real kernel
 *     NAT, STUN from coturn), each peer a process in its own namespace, rtcstack vs werift.
 *
 *   npm run bench -- ice [-- --rounds 20 --checkRounds 30 --natlab --labRounds 5]
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Connection } from 'werift';
import { ManualClock, SystemClock } from '../src/core/clock.js';
import { SeededRandom } from '../src/core/random.js';
import { VirtualNetwork } from '../src/core/vnet/index.js';
import { IceAgent } from '../src/ice/agent.js';
import { computePriority } from '../src/ice/candidate.js';
import { hasValidIntegrity, serializeCheckSuccess } from '../src/ice/checks.js';
import { parseStunMessage } from '../src/stun/index.js';
import { NatLab } from '../test/helpers/natlab.js';
import { startCoturn } from '../test/helpers/natlab-services.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const ROUNDS = opt('rounds', 20);
const CHECK_ROUNDS = opt('checkRounds', 30);
const LAB_ROUNDS = opt('labRounds', 5);

/** One call between two lab sites; returns the controlling side's ms to connected (NaN if not). */
async function labCall(lab: NatLab, script: string, cfgA: unknown, cfgB: unknown): Promise<number> {
  await lab.flushConntrack();
  const pa = lab.spawnNode('conea', script, [JSON.stringify(cfgA)], { stdio: ['pipe', 'pipe', 'ignore'] });
  const pb = lab.spawnNode('coneb', script, [JSON.stringify(cfgB)], { stdio: ['pipe', 'pipe', 'ignore'] });
  return new Promise<number>((resolve) => {
    let ms = Number.NaN;
    let data = 0;
    const finish = (): void => {
      clearTimeout(timer);
      pa.stdin?.end();
      pb.stdin?.end();
      resolve(ms);
    };
    const timer = setTimeout(finish, 30_000);
    const pipe = (from: ChildProcess, to: ChildProcess, mine: boolean): void => {
      createInterface({ input: from.stdout! }).on('line', (line) => {
        const m = JSON.parse(line) as { type: string; state?: string; ms?: number };
        if (m.type === 'creds' || m.type === 'candidate') to.stdin?.write(`${line}\n`);
        if (
          mine &&
          m.type === 'state' &&
          (m.state === 'connected' || m.state === 'completed') &&
          Number.isNaN(ms)
        )
          ms = m.ms!;
        if (m.type === 'data' && ++data >= 2) finish();
        if (m.type === 'state' && m.state === 'failed') finish();
      });
    };
    pipe(pa, pb, true);
    pipe(pb, pa, false);
  });
}

async function natlabBench(): Promise<void> {
  const lab = await NatLab.create({
    sites: [
      { name: 'conea', type: 'cone' },
      { name: 'coneb', type: 'cone' },
    ],
  });
  try {
    await startCoturn(lab, { port: 3490 });
    const ours: number[] = [];
    const theirs: number[] = [];
    const stunUrl = [{ urls: 'stun:203.0.113.1:3490' }];
    for (let i = 0; i < LAB_ROUNDS; i++) {
      ours.push(
        await labCall(
          lab,
          'test/natlab/ice-peer.ts',
          { controlling: true, iceServers: stunUrl },
          { controlling: false, iceServers: stunUrl },
        ),
      );
      theirs.push(
        await labCall(
          lab,
          'test/natlab/ice-peer-werift.ts',
          { controlling: true, stun: ['203.0.113.1', 3490] },
          { controlling: false, stun: ['203.0.113.1', 3490] },
        ),
      );
    }
    const o = stats(ours);
    const w = stats(theirs);
    console.log(`
ICE setup in the NAT lab (cone <-> cone, STUN only), ${LAB_ROUNDS} rounds, from agent creation in each process`);
    console.log(
      `  rtcstack  median ${o.median.toFixed(0)} ms  (${ours.map((x) => x.toFixed(0)).join(', ')})`,
    );
    console.log(
      `  werift    median ${w.median.toFixed(0)} ms  (${theirs.map((x) => x.toFixed(0)).join(', ')})`,
    );
    console.log(`  ratio     werift/rtcstack = ${(w.median / o.median).toFixed(2)}x`);
  } finally {
    await lab.destroy();
  }
}

function stats(xs: number[]): { median: number; p90: number } {
  const s = [...xs].sort((a, b) => a - b);
  return {
    median: s[Math.floor(s.length / 2)]!,
    p90: s[Math.min(s.length - 1, Math.floor(s.length * 0.9))]!,
  };
}

async function rtcstackSetup(ta = 50): Promise<number> {
  const clock = new SystemClock({ unref: true });
  const filter = {
    includeLoopback: true,
    ipv6: false,
    mdns: false as const,
    interfaceFilter: (i: { address: string }) => i.address === '127.0.0.1',
  };
  const t0 = performance.now();
  const a = new IceAgent({ clock, controlling: true, ta, ...filter });
  const b = new IceAgent({ clock, controlling: false, ta, ...filter });
  a.on('candidate', (c) => b.addRemoteCandidate(c ? c.attribute : null));
  b.on('candidate', (c) => a.addRemoteCandidate(c ? c.attribute : null));
  a.setRemoteCredentials(b.localCredentials.ufrag, b.localCredentials.pwd);
  b.setRemoteCredentials(a.localCredentials.ufrag, a.localCredentials.pwd);
  const up = (x: IceAgent): Promise<void> =>
    new Promise((resolve) => {
      const f = (): void => {
        if (x.state === 'connected' || x.state === 'completed') resolve();
      };
      x.on('statechange', f);
    });
  const both = Promise.all([up(a), up(b)]);
  a.start();
  b.start();
  void a.gather();
  void b.gather();
  await both;
  const ms = performance.now() - t0;
  a.close();
  b.close();
  return ms;
}

async function weriftSetup(): Promise<number> {
  const t0 = performance.now();
  const o = { additionalHostAddresses: ['127.0.0.1'], useIpv6: false };
  const a = new Connection(true, o);
  const b = new Connection(false, o);
  await Promise.all([a.gatherCandidates(), b.gatherCandidates()]);
  a.setRemoteParams({ iceLite: false, usernameFragment: b.localUsername, password: b.localPassword });
  b.setRemoteParams({ iceLite: false, usernameFragment: a.localUsername, password: a.localPassword });
  for (const c of b.localCandidates) await a.addRemoteCandidate(c);
  for (const c of a.localCandidates) await b.addRemoteCandidate(c);
  await a.addRemoteCandidate(undefined);
  await b.addRemoteCandidate(undefined);
  await Promise.all([a.connect(), b.connect()]);
  const ms = performance.now() - t0;
  await a.close();
  await b.close();
  return ms;
}

/** One agent, 100 remote candidates on a responder host; returns [checks answered, cpu ms]. */
async function checkRound(seed: number): Promise<[number, number]> {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock, seed });
  const N = 100;
  const addresses = Array.from({ length: N }, (_, i) => `198.51.100.${i + 1}`);
  const responder = net.host('responder', { addresses });
  const PWD = 'responderpasswordresponder';
  // controlled and never nominated: it checks every pair and keeps them all
  const agent = new IceAgent({
    clock,
    network: net.host('agent'),
    random: new SeededRandom(seed),
    controlling: false,
    mdns: false,
    ta: 0,
  });
  agent.setRemoteCredentials('resp', PWD);
  const socks = await Promise.all(addresses.map((address) => responder.bindUdp({ address, port: 9 })));
  let answered = 0;
  for (const s of socks) {
    s.onMessage = (d, from) => {
      const m = parseStunMessage(d);
      if (m.cls !== 'request' || !hasValidIntegrity(m, PWD)) return;
      answered++;
      s.send(serializeCheckSuccess(m.transactionId, from, PWD), from);
    };
  }
  agent.start();
  void agent.gather();
  await clock.runUntil(() => agent.localCandidates.length > 0, 1000);
  const cpu0 = process.cpuUsage();
  for (const [i, a] of addresses.entries()) {
    agent.addRemoteCandidate(`candidate:${i + 1} 1 udp ${computePriority('host', 1000 + i)} ${a} 9 typ host`);
  }
  // Synchronous advance: no microtask flushing between timers, so the CPU is the agent's and the
  // virtual network's work only.
  for (let t = 0; t < 60_000 && agent.pairs.filter((p) => p.state === 'succeeded').length < N; t++)
    clock.advance(1);
  const cpu = process.cpuUsage(cpu0);
  agent.close();
  for (const s of socks) s.close();
  net.close();
  return [answered, (cpu.user + cpu.system) / 1000];
}

async function main(): Promise<void> {
  console.log(`ICE setup on loopback, ${ROUNDS} rounds each (gather + checks until both connected)`);
  const ours: number[] = [];
  const fast: number[] = [];
  const theirs: number[] = [];
  await rtcstackSetup(); // warm-up
  await weriftSetup();
  for (let i = 0; i < ROUNDS; i++) {
    ours.push(await rtcstackSetup());
    fast.push(await rtcstackSetup(5));
    theirs.push(await weriftSetup());
  }
  const o = stats(ours);
  const w = stats(theirs);
  const f = stats(fast);
  console.log(
    `  rtcstack  median ${o.median.toFixed(1)} ms  p90 ${o.p90.toFixed(1)} ms  (Ta 50 ms, the RFC 8445 default)`,
  );
  console.log(`  rtcstack  median ${f.median.toFixed(1)} ms  p90 ${f.p90.toFixed(1)} ms  (Ta 5 ms)`);
  console.log(`  werift    median ${w.median.toFixed(1)} ms  p90 ${w.p90.toFixed(1)} ms`);
  console.log(
    `  ratio     werift/rtcstack = ${(w.median / o.median).toFixed(2)}x at Ta 50, ${(w.median / f.median).toFixed(2)}x at Ta 5 (higher is better for rtcstack)`,
  );

  console.log(
    `\nCheck throughput with 100 remote candidates (virtual network, Ta = 0), ${CHECK_ROUNDS} rounds`,
  );
  let checks = 0;
  let cpuMs = 0;
  for (let i = 0; i < CHECK_ROUNDS; i++) {
    const [n, ms] = await checkRound(i + 1);
    if (i === 0) continue; // warm-up
    checks += n;
    cpuMs += ms;
  }
  console.log(
    `  rtcstack  ${checks} checks answered in ${cpuMs.toFixed(0)} ms CPU: ${Math.round((checks / cpuMs) * 1000)} checks/s`,
  );
  console.log(
    '  (each check: agent builds+signs a request, responder verifies+answers, agent verifies; one core)',
  );
  if (args.includes('--natlab')) await natlabBench();
  process.exit(0);
}

void main();
