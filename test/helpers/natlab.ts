/**
 * NAT lab: real kernel NAT built from network namespaces, veth pairs and iptables (root only).
 *
 *   internet namespace  rtcs-<id>-inet (id = creator pid in base 36, '-', a counter): bridge br0 with 203.0.113.1 and .2 (servers run here),
 *                       a default route into a black hole (traffic to nowhere vanishes silently)
 *   per NAT site X      rtcs-<id>-nat-X: router, WAN 203.0.113.<10(i+1)> on wan0, LAN 10.10.<i+1>.1 on
 *                       bridge lan; cone = MASQUERADE, symmetric = MASQUERADE --random-fully; drops
 *                       unsolicited packets on the WAN; loss and an outbound-UDP firewall on demand
 *                       rtcs-<id>-X, rtcs-<id>-X2, ...: hosts 10.10.<i+1>.2, .3, ...
 *   per public site X   rtcs-<id>-X: a host with a public address on br0 (no NAT)
 *
 * Pitfalls handled (learnt from shared/natlab): a new namespace forwards nothing (ip_forward on in
 * routers); rp_filter off; IPv6 off everywhere (no link-local noise); the internet needs a default
 * route that drops silently (else relays get ENETUNREACH); a NAT must drop unsolicited WAN packets
 * before conntrack confirms them, or they occupy tuples and MASQUERADE stops preserving ports;
 * conntrack state outlives a case (`flushConntrack()`); no tc netem on this kernel, so loss uses
 * the iptables `statistic` match (bandwidth limits use tc tbf, which it has).
 *
 * Every process started through the lab is tracked and killed by PID in `destroy()`, which also
 * runs on process exit and on SIGINT/SIGTERM.
 */
import { type ChildProcess, execFile, execFileSync, type SpawnOptions, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type NatType = 'cone' | 'symmetric';

export interface SiteOptions {
  /** Short name ([a-z0-9], at most 8 characters): namespace and interface names derive from it. */
  name: string;
  /** 'cone' (MASQUERADE), 'symmetric' (MASQUERADE --random-fully) or 'public' (no NAT). */
  type: NatType | 'public';
  /** Hosts on the LAN (NAT sites only). Default 1. */
  hosts?: number;
  /** Drop all outbound UDP at the router (or the public host): only TCP leaves. */
  dropOutboundUdp?: boolean;
  /** Random loss probability on the WAN link, both directions. */
  loss?: number;
  /** Bandwidth limit of the WAN link in bits per second, both directions (tc tbf). */
  bandwidth?: number;
}

export interface NatLabOptions {
  sites: SiteOptions[];
  /** Addresses of the internet namespace (servers bind here). Default 203.0.113.1 and .2. */
  internetAddresses?: string[];
}

export interface Site {
  readonly name: string;
  readonly type: NatType | 'public';
  /** Namespaces of the site's hosts (the first is `hosts[0]`). */
  readonly hosts: readonly string[];
  /** Addresses of the hosts, in the same order. */
  readonly hostAddresses: readonly string[];
  /** Router namespace (undefined for a public site). */
  readonly router: string | undefined;
  /** Public address: the NAT's WAN address, or the public host's address. */
  readonly publicAddress: string;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const live = new Set<NatLab>();
let exitHooked = false;
let counter = 0;

function run(cmd: string, args: string[], input?: string): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ stdout: String(stdout), stderr: String(stderr), code });
    });
    child.stdin?.on('error', () => {});
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

async function must(cmd: string, args: string[], input?: string): Promise<string> {
  const r = await run(cmd, args, input);
  if (r.code !== 0)
    throw new Error(`natlab: ${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** Namespaces that currently exist. */
export function listNamespaces(): string[] {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
}

/** Lab namespaces are named rtcs-<creator pid in base 36>-<n>-...: the creator can be checked. */
const LAB_NS = /^rtcs-([0-9a-z]+)-(\d+)-/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove labs left behind by a test process that died without cleaning up (SIGKILL, a crash):
 * their namespaces and the processes still inside them, which that lab started.
 */
export async function removeStaleLabs(): Promise<string[]> {
  const stale = listNamespaces().filter((n) => {
    const m = LAB_NS.exec(n);
    return m !== null && !alive(Number.parseInt(m[1]!, 36));
  });
  for (const ns of stale) {
    const r = await run('ip', ['netns', 'pids', ns]);
    for (const pid of r.stdout.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  for (const ns of stale) await run('ip', ['netns', 'del', ns]);
  return stale;
}

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const lab of live) lab.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const lab of live) lab.destroySync();
      process.kill(process.pid, sig);
    });
  }
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

export class NatLab {
  /** Unique part of every namespace name of this lab. */
  readonly id: string;
  readonly prefix: string;
  readonly internet: string;
  readonly internetAddresses: readonly string[];
  readonly sites: ReadonlyMap<string, Site>;
  readonly #children = new Set<ChildProcess>();
  readonly #namespaces: string[] = [];
  readonly #cleanups: (() => void)[] = [];
  #destroyed = false;

  private constructor(id: string, options: NatLabOptions) {
    this.id = id;
    this.prefix = `rtcs-${id}-`;
    this.internet = `${this.prefix}inet`;
    this.internetAddresses = options.internetAddresses ?? ['203.0.113.1', '203.0.113.2'];
    const sites = new Map<string, Site>();
    options.sites.forEach((s, i) => {
      if (!/^[a-z0-9]{1,8}$/.test(s.name)) throw new TypeError(`natlab: bad site name ${s.name}`);
      const publicAddress = `203.0.113.${10 * (i + 1)}`;
      if (s.type === 'public') {
        sites.set(s.name, {
          name: s.name,
          type: 'public',
          hosts: [`${this.prefix}${s.name}`],
          hostAddresses: [publicAddress],
          router: undefined,
          publicAddress,
        });
      } else {
        const n = s.hosts ?? 1;
        sites.set(s.name, {
          name: s.name,
          type: s.type,
          hosts: Array.from({ length: n }, (_, j) => `${this.prefix}${s.name}${j === 0 ? '' : j + 1}`),
          hostAddresses: Array.from({ length: n }, (_, j) => `10.10.${i + 1}.${j + 2}`),
          router: `${this.prefix}nat-${s.name}`,
          publicAddress,
        });
      }
    });
    this.sites = sites;
    const names = [
      this.internet,
      ...[...sites.values()].flatMap((x) => [...x.hosts, ...(x.router ? [x.router] : [])]),
    ];
    if (new Set(names).size !== names.length)
      throw new TypeError(`natlab: site names collide: ${names.join(' ')}`);
    if (options.sites.length > 24) throw new TypeError('natlab: at most 24 sites');
  }

  /** Build the topology. On failure everything made so far is removed before rethrowing. */
  static async create(options: NatLabOptions): Promise<NatLab> {
    let id = '';
    await removeStaleLabs();
    do {
      id = `${process.pid.toString(36)}-${counter++}`;
    } while (listNamespaces().some((n) => n.startsWith(`rtcs-${id}-`)));
    const lab = new NatLab(id, options);
    hookExit();
    live.add(lab);
    try {
      await lab.#build(options);
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  /** A site by name. */
  site(name: string): Site {
    const s = this.sites.get(name);
    if (!s) throw new TypeError(`natlab: no site ${name}`);
    return s;
  }

  // ---------------------------------------------------------------- building
  async #addNs(name: string): Promise<void> {
    await must('ip', ['netns', 'add', name]);
    this.#namespaces.push(name);
    await must('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    await this.#sysctl(name, {
      'net.ipv6.conf.all.disable_ipv6': 1,
      'net.ipv6.conf.default.disable_ipv6': 1,
      'net.ipv4.conf.all.rp_filter': 0,
      'net.ipv4.conf.default.rp_filter': 0,
    });
  }

  async #sysctl(ns: string, values: Record<string, number>): Promise<void> {
    const args = Object.entries(values).map(([k, v]) => `${k}=${v}`);
    await must('ip', ['netns', 'exec', ns, 'sysctl', '-qw', ...args]);
  }

  async #build(options: NatLabOptions): Promise<void> {
    const inet = this.internet;
    await this.#addNs(inet);
    // The internet switches, it does not route: traffic between two routers' LANs vanishes.
    await this.#sysctl(inet, { 'net.ipv4.ip_forward': 0 });
    await must('ip', ['-n', inet, 'link', 'add', 'br0', 'type', 'bridge']);
    await must('ip', ['-n', inet, 'link', 'set', 'br0', 'up']);
    for (const a of this.internetAddresses)
      await must('ip', ['-n', inet, 'addr', 'add', `${a}/24`, 'dev', 'br0']);
    // Default route to a neighbour nobody is: frames leave on a veth loop and are discarded, so a
    // send to an unreachable address succeeds silently (as on the internet) instead of ENETUNREACH.
    await must('ip', ['-n', inet, 'link', 'add', 'void0', 'type', 'veth', 'peer', 'name', 'void1']);
    await must('ip', ['-n', inet, 'link', 'set', 'void0', 'up']);
    await must('ip', ['-n', inet, 'link', 'set', 'void1', 'up']);
    await must('ip', [
      '-n',
      inet,
      'neigh',
      'add',
      '192.0.2.254',
      'lladdr',
      '02:00:00:00:00:fe',
      'dev',
      'void0',
      'nud',
      'permanent',
    ]);
    await must('ip', ['-n', inet, 'route', 'add', 'default', 'via', '192.0.2.254', 'dev', 'void0', 'onlink']);

    for (const s of options.sites) {
      if (s.type === 'public' && (s.hosts ?? 1) !== 1)
        throw new TypeError('natlab: a public site has one host');
    }
    for (const opts of options.sites) {
      const site = this.site(opts.name);
      if (site.type === 'public') await this.#buildPublic(site);
      else await this.#buildNat(site, opts);
      if (opts.dropOutboundUdp) await this.setFirewall(site.name, { dropOutboundUdp: true });
      if (opts.loss) await this.setLoss(site.name, opts.loss);
      if (opts.bandwidth) await this.setBandwidth(site.name, opts.bandwidth);
    }
  }

  async #buildPublic(site: Site): Promise<void> {
    const host = site.hosts[0]!;
    await this.#addNs(host);
    await must('ip', [
      '-n',
      this.internet,
      'link',
      'add',
      `p-${site.name}`,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      host,
    ]);
    await must('ip', ['-n', this.internet, 'link', 'set', `p-${site.name}`, 'master', 'br0', 'up']);
    await must('ip', ['-n', host, 'addr', 'add', `${site.publicAddress}/24`, 'dev', 'eth0']);
    await must('ip', ['-n', host, 'link', 'set', 'eth0', 'up']);
    await must('ip', ['-n', host, 'route', 'add', 'default', 'via', this.internetAddresses[0]!]);
    // Chains the firewall and loss settings fill in later.
    await must(
      'ip',
      ['netns', 'exec', host, 'iptables-restore'],
      [
        '*filter',
        ':RTCS_FW - [0:0]',
        '-A OUTPUT -o eth0 -j RTCS_FW',
        'COMMIT',
        '*mangle',
        ':RTCS_LOSS - [0:0]',
        '-A POSTROUTING -o eth0 -j RTCS_LOSS',
        '-A PREROUTING -i eth0 -j RTCS_LOSS',
        'COMMIT',
        '',
      ].join('\n'),
    );
  }

  async #buildNat(site: Site, opts: SiteOptions): Promise<void> {
    const router = site.router!;
    const lanPrefix = site.hostAddresses[0]!.replace(/\.\d+$/, '');
    await this.#addNs(router);
    await this.#sysctl(router, { 'net.ipv4.ip_forward': 1 });
    // WAN: one end on the internet bridge, the other in the router.
    await must('ip', [
      '-n',
      this.internet,
      'link',
      'add',
      `w-${site.name}`,
      'type',
      'veth',
      'peer',
      'name',
      'wan0',
      'netns',
      router,
    ]);
    await must('ip', ['-n', this.internet, 'link', 'set', `w-${site.name}`, 'master', 'br0', 'up']);
    await must('ip', ['-n', router, 'addr', 'add', `${site.publicAddress}/24`, 'dev', 'wan0']);
    await must('ip', ['-n', router, 'link', 'set', 'wan0', 'up']);
    // Upstream: the internet namespace, which forwards nothing.
    await must('ip', ['-n', router, 'route', 'add', 'default', 'via', this.internetAddresses[0]!]);
    // LAN: a bridge with one veth per host.
    await must('ip', ['-n', router, 'link', 'add', 'lan', 'type', 'bridge']);
    await must('ip', ['-n', router, 'addr', 'add', `${lanPrefix}.1/24`, 'dev', 'lan']);
    await must('ip', ['-n', router, 'link', 'set', 'lan', 'up']);
    for (const [j, host] of site.hosts.entries()) {
      await this.#addNs(host);
      await must('ip', [
        '-n',
        router,
        'link',
        'add',
        `l${j}`,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        host,
      ]);
      await must('ip', ['-n', router, 'link', 'set', `l${j}`, 'master', 'lan', 'up']);
      await must('ip', ['-n', host, 'addr', 'add', `${site.hostAddresses[j]}/24`, 'dev', 'eth0']);
      await must('ip', ['-n', host, 'link', 'set', 'eth0', 'up']);
      await must('ip', ['-n', host, 'route', 'add', 'default', 'via', `${lanPrefix}.1`]);
    }
    const masquerade = opts.type === 'symmetric' ? 'MASQUERADE --random-fully' : 'MASQUERADE';
    await must(
      'ip',
      ['netns', 'exec', router, 'iptables-restore'],
      [
        '*filter',
        ':INPUT ACCEPT [0:0]',
        ':FORWARD DROP [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':RTCS_FW - [0:0]',
        // A home router: unsolicited packets from the WAN die here, before conntrack confirms them.
        '-A INPUT -i wan0 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
        '-A INPUT -i wan0 -p icmp -j ACCEPT',
        '-A INPUT -i wan0 -j DROP',
        '-A FORWARD -i lan -o lan -j ACCEPT',
        '-A FORWARD -i lan -o wan0 -j RTCS_FW',
        '-A FORWARD -i lan -o wan0 -j ACCEPT',
        '-A FORWARD -i wan0 -o lan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
        'COMMIT',
        '*nat',
        `-A POSTROUTING -o wan0 -j ${masquerade}`,
        'COMMIT',
        '*mangle',
        ':RTCS_LOSS - [0:0]',
        '-A POSTROUTING -o wan0 -j RTCS_LOSS',
        '-A PREROUTING -i wan0 -j RTCS_LOSS',
        'COMMIT',
        '',
      ].join('\n'),
    );
  }

  // ---------------------------------------------------------------- run-time knobs
  /** The namespace whose iptables hold a site's firewall and loss rules. */
  #ruleNs(siteName: string): string {
    const s = this.site(siteName);
    return s.router ?? s.hosts[0]!;
  }

  /** Drop (or allow again) all outbound UDP of a site; TCP still passes. */
  async setFirewall(siteName: string, rules: { dropOutboundUdp: boolean }): Promise<void> {
    const ns = this.#ruleNs(siteName);
    await must('ip', ['netns', 'exec', ns, 'iptables', '-F', 'RTCS_FW']);
    if (rules.dropOutboundUdp)
      await must('ip', ['netns', 'exec', ns, 'iptables', '-A', 'RTCS_FW', '-p', 'udp', '-j', 'DROP']);
  }

  /** Random loss on a site's WAN link, each direction, with the iptables statistic match (0 removes it). */
  async setLoss(siteName: string, probability: number): Promise<void> {
    if (!(probability >= 0 && probability < 1)) throw new RangeError('natlab: loss must be in [0, 1)');
    const ns = this.#ruleNs(siteName);
    await must('ip', ['netns', 'exec', ns, 'iptables', '-t', 'mangle', '-F', 'RTCS_LOSS']);
    if (probability > 0) {
      await must('ip', [
        'netns',
        'exec',
        ns,
        'iptables',
        '-t',
        'mangle',
        '-A',
        'RTCS_LOSS',
        '-m',
        'statistic',
        '--mode',
        'random',
        '--probability',
        probability.toFixed(4),
        '-j',
        'DROP',
      ]);
    }
  }

  /**
   * Limit a site's WAN link to `bitsPerSecond` each way with a token bucket (tc tbf: this kernel has
   * it, unlike netem): uplink shaped on the router's wan0 (or the public host's eth0), downlink on
   * the internet side of the link. Packets that would wait longer than `queueMs` are dropped.
   * 0 removes the limit.
   */
  async setBandwidth(
    siteName: string,
    bitsPerSecond: number,
    options: { queueMs?: number } = {},
  ): Promise<void> {
    const s = this.site(siteName);
    const up = s.router ? { ns: s.router, dev: 'wan0' } : { ns: s.hosts[0]!, dev: 'eth0' };
    const down = { ns: this.internet, dev: `${s.router ? 'w' : 'p'}-${s.name}` };
    for (const { ns, dev } of [up, down]) {
      if (bitsPerSecond <= 0) {
        await run('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'del', 'dev', dev, 'root']);
        continue;
      }
      const burst = Math.max(3000, Math.ceil(bitsPerSecond / 8 / 100)); // at least 10 ms of data, 2 packets
      await must('ip', [
        'netns',
        'exec',
        ns,
        'tc',
        'qdisc',
        'replace',
        'dev',
        dev,
        'root',
        'tbf',
        'rate',
        `${Math.round(bitsPerSecond)}bit`,
        'burst',
        String(burst),
        'latency',
        `${options.queueMs ?? 50}ms`,
      ]);
    }
  }

  async #flushNs(ns: string): Promise<void> {
    const tool = await run('ip', ['netns', 'exec', ns, 'conntrack', '-F']);
    if (tool.code === 0) return;
    await must('ip', ['netns', 'exec', ns, 'python3', '-c', CT_FLUSH_PY]);
  }

  /** Forget every NAT mapping (conntrack flush in the routers and the internet). */
  async flushConntrack(): Promise<void> {
    for (const s of this.sites.values()) if (s.router) await this.#flushNs(s.router);
    await this.#flushNs(this.internet);
  }

  /** Conntrack UDP/TCP entries of a site's router, as the kernel prints them (for debugging). */
  async conntrack(siteName: string): Promise<string[]> {
    const ns = this.site(siteName).router;
    if (!ns) return [];
    const r = await run('ip', ['netns', 'exec', ns, 'cat', '/proc/net/nf_conntrack']);
    return r.stdout.split('\n').filter((l) => l.trim() !== '');
  }

  // ---------------------------------------------------------------- processes
  /** Resolve a logical name ('internet', a site name for its first host, 'nat-X') or a full name. */
  ns(name: string): string {
    if (name === 'internet' || name === 'inet') return this.internet;
    if (name.startsWith(this.prefix)) return name;
    const full = `${this.prefix}${name}`;
    if (!this.#namespaces.includes(full)) throw new TypeError(`natlab: no namespace ${name}`);
    return full;
  }

  /** Run a command to completion inside a namespace (the child is tracked while it runs). */
  exec(
    ns: string,
    cmd: string,
    args: string[] = [],
    options: { timeoutMs?: number; input?: string } = {},
  ): Promise<ExecResult> {
    const child = this.spawn(ns, cmd, args, {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    // A command may exit before reading its input: EPIPE then is not an error of ours.
    child.stdin?.on('error', () => {});
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(
          new Error(
            `natlab: ${cmd} ${args.join(' ')} in ${ns} timed out after ${options.timeoutMs} ms\n${stderr}`,
          ),
        );
      }, options.timeoutMs ?? 60_000);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ stdout, stderr, code: code ?? (signal ? 128 : 1) });
      });
    });
  }

  /** Start a command inside a namespace; the lab kills it by PID in destroy(). */
  spawn(ns: string, cmd: string, args: string[] = [], options: SpawnOptions = {}): ChildProcess {
    if (this.#destroyed) throw new Error('natlab: lab destroyed');
    const child = spawn('ip', ['netns', 'exec', this.ns(ns), cmd, ...args], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...options,
    });
    this.#children.add(child);
    child.on('exit', () => this.#children.delete(child));
    // Keep piped output flowing even if nobody reads it (listeners attached now or later still get
    // what follows): a server whose stdout pipe fills up would block.
    child.stdout?.resume();
    child.stderr?.resume();
    return child;
  }

  /** Start a TypeScript (or JS) file with Node inside a namespace (`node --import tsx script`). */
  spawnNode(ns: string, script: string, args: string[] = [], options: SpawnOptions = {}): ChildProcess {
    return this.spawn(ns, process.execPath, ['--import', 'tsx', script, ...args], options);
  }

  /** Run a Node script to completion inside a namespace. */
  execNode(
    ns: string,
    script: string,
    args: string[] = [],
    options: { timeoutMs?: number } = {},
  ): Promise<ExecResult> {
    return this.exec(ns, process.execPath, ['--import', 'tsx', script, ...args], options);
  }

  /** Resolve when a child's stdout prints a line matching `pattern` (a server saying it is ready). */
  waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    return new Promise((resolve, reject) => {
      let buf = '';
      let err = '';
      const onErr = (d: Buffer): void => {
        err += d.toString();
      };
      const onData = (d: Buffer): void => {
        buf += d.toString();
        const m = pattern.exec(buf);
        if (m) done(() => resolve(m[0]));
      };
      const onExit = (code: number | null): void =>
        done(() =>
          reject(new Error(`natlab: process exited (${code}) before printing ${pattern}\n${buf}\n${err}`)),
        );
      const timer = setTimeout(
        () => done(() => reject(new Error(`natlab: no ${pattern} within ${timeoutMs} ms\n${buf}\n${err}`))),
        timeoutMs,
      );
      const done = (fn: () => void): void => {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onErr);
        child.off('exit', onExit);
        fn();
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onErr);
      child.on('exit', onExit);
    });
  }

  /** Resolve when something listens on ADDRESS:PORT inside a namespace (polls `ss`); rejects after timeoutMs. */
  async waitForListen(
    ns: string,
    proto: 'udp' | 'tcp',
    address: string,
    port: number,
    timeoutMs = 20_000,
  ): Promise<void> {
    const want = `${address}:${port}`;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await run('ip', ['netns', 'exec', this.ns(ns), 'ss', '-Hln', proto === 'udp' ? '-u' : '-t']);
      if (r.stdout.split('\n').some((l) => l.split(/\s+/).includes(want))) return;
      if (Date.now() > deadline) throw new Error(`natlab: nothing listens on ${proto} ${want} in ${ns}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** PIDs of the processes the lab started and that are still running. */
  get pids(): number[] {
    return [...this.#children].map((c) => c.pid).filter((p): p is number => p !== undefined);
  }

  // ---------------------------------------------------------------- teardown
  /** Run fn (synchronous: temp files, ...) in destroy(), after the processes are gone. */
  onDestroy(fn: () => void): void {
    this.#cleanups.push(fn);
  }

  #runCleanups(): void {
    for (const fn of this.#cleanups.splice(0)) {
      try {
        fn();
      } catch {
        /* best effort */
      }
    }
  }

  /** Kill the lab's processes (by PID) and delete its namespaces. Idempotent. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const exits = [...this.#children].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
        }),
    );
    for (const c of this.#children) c.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const c of this.#children) c.kill('SIGKILL');
    }, 2000);
    await Promise.all(exits);
    clearTimeout(timer);
    for (const ns of this.#namespaces) await this.#killInside(ns);
    for (const ns of [...this.#namespaces].reverse()) await run('ip', ['netns', 'del', ns]);
    this.#namespaces.length = 0;
    this.#runCleanups();
    live.delete(this);
  }

  /** Processes still inside one of our namespaces were started by us (children of our children). */
  async #killInside(ns: string): Promise<void> {
    const r = await run('ip', ['netns', 'pids', ns]);
    for (const pid of r.stdout.split(/\s+/).filter(Boolean).map(Number)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }

  /** Synchronous teardown for process exit. */
  destroySync(): void {
    this.#destroyed = true;
    for (const c of this.#children) if (c.pid) c.kill('SIGKILL');
    for (const ns of [...this.#namespaces].reverse()) {
      try {
        for (const pid of execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
          .split(/\s+/)
          .filter(Boolean)) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            /* gone */
          }
        }
        if (existsSync(`/run/netns/${ns}`)) execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        /* best effort at exit */
      }
    }
    this.#namespaces.length = 0;
    this.#runCleanups();
    live.delete(this);
  }
}
