/**
 * Shell plumbing of the NAT lab: running `ip` / `iptables` / `tc` inside namespaces, finding and
 * removing namespaces, flushing conntrack. Commands take their arguments as one space-separated
 * string where no argument contains a space.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

export function run(cmd: string, args: string[], input?: string): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ stdout: String(stdout), stderr: String(stderr), code });
    });
    // A command may exit before reading its input: EPIPE then is not an error of ours.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input);
  });
}

export async function must(cmd: string, args: string[], input?: string): Promise<string> {
  const r = await run(cmd, args, input);
  if (r.code !== 0)
    throw new Error(`natlab: ${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

const words = (line: string): string[] => line.split(' ').filter(Boolean);

/** `ip -n NS <line>`, failing loudly. */
export function ip(ns: string, line: string): Promise<string> {
  return must('ip', ['-n', ns, ...words(line)]);
}

/** `ip netns exec NS <line>`, failing loudly (input goes to stdin). */
export function inNs(ns: string, line: string, input?: string): Promise<string> {
  return must('ip', ['netns', 'exec', ns, ...words(line)], input);
}

/** `ip netns exec NS <line>`, never throwing. */
export function tryInNs(ns: string, line: string): Promise<ExecResult> {
  return run('ip', ['netns', 'exec', ns, ...words(line)]);
}

export function sysctl(ns: string, values: Record<string, number>): Promise<string> {
  return inNs(
    ns,
    `sysctl -qw ${Object.entries(values)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
}

/** Namespaces that currently exist. */
export function listNamespaces(): string[] {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
}

/** Kill every process inside a namespace (all of them were started by the lab that owns it). */
export async function killInside(ns: string): Promise<void> {
  const r = await run('ip', ['netns', 'pids', ns]);
  for (const pid of r.stdout.split(/\s+/).filter(Boolean)) signal(Number(pid), 'SIGKILL');
}

/** killInside and `ip netns del`, synchronously (for process exit). */
export function deleteNamespaceSync(ns: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
    for (const pid of pids.split(/\s+/).filter(Boolean)) signal(Number(pid), 'SIGKILL');
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  } catch {
    /* best effort at exit */
  }
}

function signal(pid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Lab namespaces are named rtcs-<creator pid in base 36>-<n>-...: the creator can be checked. */
const LAB_NS = /^rtcs-([0-9a-z]+)-(\d+)-/;

/**
 * Remove labs left behind by a test process that died without cleaning up (SIGKILL, a crash):
 * their namespaces and the processes still inside them, which that lab started.
 */
export async function removeStaleLabs(): Promise<string[]> {
  const stale = listNamespaces().filter((n) => {
    const m = LAB_NS.exec(n);
    return m !== null && !signal(Number.parseInt(m[1]!, 36), 0);
  });
  for (const ns of stale) await killInside(ns);
  for (const ns of stale) await run('ip', ['netns', 'del', ns]);
  return stale;
}

/** ctnetlink "delete all" for the current namespace (when the conntrack tool is missing); our own code. */
const CT_FLUSH_PY = `
import socket, struct
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)  # NETLINK_NETFILTER
s.bind((0, 0))
msg = struct.pack("=BBH", socket.AF_INET, 0, 0)             # nfgenmsg without attributes: every entry
hdr = struct.pack("=IHHII", 16 + len(msg), (1 << 8) | 2, 1 | 4, 1, 0)  # CTNETLINK, IPCTNL_MSG_CT_DELETE, REQUEST|ACK
s.send(hdr + msg)
r = s.recv(4096)
if struct.unpack_from("=H", r, 4)[0] == 2 and struct.unpack_from("=i", r, 16)[0] not in (0, -2):
    raise SystemExit("conntrack flush failed: errno %d" % -struct.unpack_from("=i", r, 16)[0])
`;

/** Forget every conntrack entry (every NAT mapping) of a namespace: `conntrack -F`, or ctnetlink via python3. */
export async function flushConntrackIn(ns: string): Promise<void> {
  if ((await tryInNs(ns, 'conntrack -F')).code === 0) return;
  await must('ip', ['netns', 'exec', ns, 'python3', '-c', CT_FLUSH_PY]);
}
