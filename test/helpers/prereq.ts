/**
 * Prerequisites of tests that need a real peer, root or a Debian package.
 * Locally a missing prerequisite skips the test with the command that installs it;
 * in CI (CI=true) it throws, so the file fails loudly instead of skipping.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const inCI = Boolean(process.env.CI) && process.env.CI !== 'false' && process.env.CI !== '0';

export interface Prereq {
  /** What is missing, for the message. */
  readonly name: string;
  /** How to get it. */
  readonly install: string;
  readonly ok: () => boolean;
}

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

export const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

export const PREREQS = {
  coturn: { name: 'coturn', install: 'apt-get install -y coturn', ok: () => hasCommand('turnserver') },
  chromium: {
    name: 'chromium',
    install: 'apt-get install -y chromium',
    ok: () => existsSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'),
  },
  openssl: { name: 'openssl', install: 'apt-get install -y openssl', ok: () => hasCommand('openssl') },
  ffmpeg: { name: 'ffmpeg', install: 'apt-get install -y ffmpeg', ok: () => hasCommand('ffmpeg') },
  redis: {
    name: 'redis-server',
    install: 'apt-get install -y redis-server',
    ok: () => hasCommand('redis-server'),
  },
  netns: {
    name: 'root with ip netns and iptables',
    install: 'run as root; apt-get install -y iproute2 iptables',
    ok: () => isRoot() && hasCommand('ip') && hasCommand('iptables') && canMakeNetns(),
  },
} satisfies Record<string, Prereq>;

let netnsOk: boolean | undefined;
function canMakeNetns(): boolean {
  if (netnsOk !== undefined) return netnsOk;
  const name = `rtcs-probe-${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', name], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    netnsOk = true;
  } catch {
    netnsOk = false;
  }
  return netnsOk;
}

/**
 * Returns node:test options: `{}` when everything is there, `{ skip: message }` locally when not.
 * In CI a missing prerequisite throws (the test file fails, it is never skipped).
 */
export function needs(...reqs: Prereq[]): { skip?: string } {
  const missing = reqs.filter((r) => !r.ok());
  if (missing.length === 0) return {};
  const msg = `missing ${missing.map((m) => m.name).join(', ')}: ${missing.map((m) => m.install).join('; ')}`;
  if (inCI) throw new Error(`CI prerequisite ${msg}`);
  return { skip: msg };
}
