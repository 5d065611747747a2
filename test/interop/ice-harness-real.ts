/**
 * Helpers for ICE on the real network (loopback only): start/stop coturn by PID, and connect two
 * agents with in-process signaling.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemClock } from '../../src/core/clock.js';
import { IceAgent } from '../../src/ice/agent.js';
import type { IceAgentOptions } from '../../src/ice/types.js';

export async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Coturn {
  port: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** coturn on 127.0.0.1 with user u:p, realm test (flags from TESTING.md); with `tls`, TLS on tlsPort. */
export async function startCoturn(tls?: {
  cert: string;
  key: string;
}): Promise<Coturn & { tlsPort: number }> {
  const port = await freePort();
  const tlsPort = await freePort();
  // Own user database and pid file: instances started by concurrent tests must not share them.
  const dir = mkdtempSync(join(tmpdir(), 'rtcs-ice-coturn-'));
  const proc = spawn(
    'turnserver',
    [
      '-n',
      '--no-cli',
      '--listening-ip=127.0.0.1',
      '--relay-ip=127.0.0.1',
      `--listening-port=${port}`,
      '--min-port=46000',
      '--max-port=46999',
      '--allow-loopback-peers',
      '--lt-cred-mech',
      '--user=u:p',
      '--realm=test',
      ...(tls
        ? [`--cert=${tls.cert}`, `--pkey=${tls.key}`, `--tls-listening-port=${tlsPort}`]
        : ['--no-tls']),
      '--no-dtls',
      '--log-file=stdout',
      `--userdb=${join(dir, 'turndb')}`,
      `--pidfile=${join(dir, 'turnserver.pid')}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  proc.stdout?.resume();
  proc.stderr?.resume();
  // Ready when its TCP listener accepts (at most 10 s).
  const t0 = Date.now();
  while (Date.now() - t0 < 10_000 && proc.exitCode === null) {
    const up = await new Promise<boolean>((resolve) => {
      const c = net.connect({ host: '127.0.0.1', port }, () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    tlsPort,
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        const done = (): void => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (proc.exitCode !== null) return done();
        proc.once('exit', done);
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 2000).unref();
      }),
  };
}

export interface RealPair {
  a: IceAgent;
  b: IceAgent;
  connected: Promise<void>;
  close(): void;
}

const loopbackOnly = {
  includeLoopback: true,
  ipv6: false,
  interfaceFilter: (i: { address: string }) => i.address === '127.0.0.1',
};

/** Two agents on loopback (real sockets, system clock), signaling in-process. */
export function realPair(
  optsA: Partial<IceAgentOptions> = {},
  optsB: Partial<IceAgentOptions> = {},
): RealPair {
  const clock = new SystemClock({ unref: true });
  const a = new IceAgent({ clock, controlling: true, mdns: false, ...loopbackOnly, ...optsA });
  const b = new IceAgent({ clock, controlling: false, mdns: false, ...loopbackOnly, ...optsB });
  a.on('candidate', (c) => {
    if (!b.closed) b.addRemoteCandidate(c ? c.attribute : null);
  });
  b.on('candidate', (c) => {
    if (!a.closed) a.addRemoteCandidate(c ? c.attribute : null);
  });
  a.setRemoteCredentials(b.localCredentials.ufrag, b.localCredentials.pwd);
  b.setRemoteCredentials(a.localCredentials.ufrag, a.localCredentials.pwd);
  const up = (x: IceAgent): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (x.state === 'connected' || x.state === 'completed') resolve();
        else if (x.state === 'failed' || x.state === 'closed') reject(new Error(`agent ${x.state}`));
      };
      x.on('statechange', check);
      check();
    });
  a.start();
  b.start();
  void a.gather();
  void b.gather();
  return {
    a,
    b,
    connected: Promise.all([up(a), up(b)]).then(() => {}),
    close: () => {
      a.close();
      b.close();
    },
  };
}
