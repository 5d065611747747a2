/**
 * Servers for the NAT lab's internet namespace: coturn (`turnserver`, the reference STUN/TURN
 * server) and ours (`rtcstack turn`). Both listen on the lab's two internet addresses so RFC 5780
 * behaviour discovery works, and both stop with the lab.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCoturnConf } from './coturn-conf.js';
import type { NatLab } from './natlab.js';

export interface LabServer {
  /** "stun:203.0.113.1:3478" */
  readonly stunUrl: string;
  /** "turn:203.0.113.1:3478" (add ?transport=tcp for TCP) */
  readonly turnUrl: string;
  readonly address: string;
  readonly port: number;
  readonly process: ChildProcess;
}

export interface CoturnOptions {
  /** "user:password" pairs for the long-term credential mechanism. Default ['lab:labpass']. */
  users?: string[];
  realm?: string;
  port?: number;
  /** Relay port range. Default 49152-49400. */
  minPort?: number;
  maxPort?: number;
  /** Extra config lines. */
  extra?: string[];
}

/**
 * coturn in the internet namespace with its own config file: with `-c` Debian's
 * /etc/turnserver.conf (which turns RFC 5780 off) is not read.
 */
export async function startCoturn(
  lab: NatLab,
  options: CoturnOptions = {},
): Promise<LabServer & { readonly logFile: string; readonly users: string[] }> {
  const [ip1, ip2] = lab.internetAddresses;
  const port = options.port ?? 3478;
  const dir = mkdtempSync(join(tmpdir(), `rtcs-coturn-${lab.id}-`));
  lab.onDestroy(() => rmSync(dir, { recursive: true, force: true }));
  const users = options.users ?? ['lab:labpass'];
  const confFile = writeCoturnConf(dir, [
    `listening-ip=${ip1}`,
    ...(ip2 ? [`listening-ip=${ip2}`] : []),
    `listening-port=${port}`,
    `alt-listening-port=${port + 1}`,
    `relay-ip=${ip1}`,
    `min-port=${options.minPort ?? 49152}`,
    `max-port=${options.maxPort ?? 49400}`,
    `realm=${options.realm ?? 'natlab.test'}`,
    ...users.map((u) => `user=${u}`),
    'lt-cred-mech',
    'fingerprint',
    'no-tls',
    'no-multicast-peers',
    ...(options.extra ?? []),
  ]);
  const child = lab.spawn('internet', 'turnserver', ['-c', confFile], { stdio: 'ignore' });
  await lab.waitForListen('internet', 'udp', ip1!, port);
  if (ip2) await lab.waitForListen('internet', 'udp', ip2, port + 1);
  return { ...labServer(ip1!, port, child), logFile: join(dir, 'turnserver.log'), users };
}

/** `rtcstack turn` in the internet namespace on both lab addresses (RFC 5780 on). */
export async function startRtcstackTurn(
  lab: NatLab,
  options: { port?: number; args?: string[] } = {},
): Promise<LabServer> {
  const [ip1, ip2] = lab.internetAddresses;
  const port = options.port ?? 3478;
  const child = lab.spawn('internet', process.execPath, [
    'bin/rtcstack',
    'turn',
    '--listening-ip',
    ip1!,
    '--listening-port',
    String(port),
    ...(ip2 ? ['--alt-ip', ip2] : []),
    ...(options.args ?? []),
  ]);
  await lab.waitForOutput(child, /^ready$/m);
  return labServer(ip1!, port, child);
}

function labServer(address: string, port: number, process: ChildProcess): LabServer {
  return { stunUrl: `stun:${address}:${port}`, turnUrl: `turn:${address}:${port}`, address, port, process };
}
