/**
 * NAT lab: real kernel NAT built from network namespaces, veth pairs and iptables (root only).
 *
 *   internet namespace  rtcs-<id>-inet: bridge br0 with 203.0.113.1 and .2 (servers run here), a
 *                       default route into a black hole (traffic to nowhere vanishes silently)
 *   per NAT site X      rtcs-<id>-nat-X: router, WAN 203.0.113.<10(i+1)> on wan0, LAN 10.10.<i+1>.1 on
 *                       bridge lan; cone = MASQUERADE, symmetric = MASQUERADE --random-fully; drops
 *                       unsolicited packets on the WAN; loss and an outbound-UDP firewall on demand
 *                       rtcs-<id>-X, rtcs-<id>-X2, ...: hosts 10.10.<i+1>.2, .3, ...
 *   per public site X   rtcs-<id>-X: a host with a public address on br0 (no NAT)
 *   (id = the creating process's pid in base 36, '-', a counter: labs of parallel test files never
 *   collide, and a lab whose creator died is recognised and removed by the next one)
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
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  deleteNamespaceSync,
  type ExecResult,
  flushConntrackIn,
  killInside,
  listNamespaces,
  must,
  removeStaleLabs,
  run,
} from './natlab-shell.js';
import {
  buildInternet,
  buildNatSite,
  buildPublicSite,
  firewallRules,
  lossRules,
  prepareNs,
  type SitePlan,
  shape,
} from './natlab-topology.js';

export { type ExecResult, listNamespaces, removeStaleLabs } from './natlab-shell.js';

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

/** A site as built: namespaces of its hosts (first = the site's name) and router, addresses. */
export type Site = SitePlan;

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const live = new Set<NatLab>();
let exitHooked = false;
let counter = 0;

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

function plan(prefix: string, options: NatLabOptions): Map<string, Site> {
  const sites = new Map<string, Site>();
  if (options.sites.length > 24) throw new TypeError('natlab: at most 24 sites');
  options.sites.forEach((s, i) => {
    if (!/^[a-z0-9]{1,8}$/.test(s.name)) throw new TypeError(`natlab: bad site name ${s.name}`);
    const publicAddress = `203.0.113.${10 * (i + 1)}`;
    if (s.type === 'public') {
      if ((s.hosts ?? 1) !== 1) throw new TypeError('natlab: a public site has one host');
      sites.set(s.name, {
        name: s.name,
        type: 'public',
        hosts: [`${prefix}${s.name}`],
        hostAddresses: [publicAddress],
        router: undefined,
        publicAddress,
      });
      return;
    }
    const n = s.hosts ?? 1;
    sites.set(s.name, {
      name: s.name,
      type: s.type,
      hosts: Array.from({ length: n }, (_, j) => `${prefix}${s.name}${j === 0 ? '' : j + 1}`),
      hostAddresses: Array.from({ length: n }, (_, j) => `10.10.${i + 1}.${j + 2}`),
      router: `${prefix}nat-${s.name}`,
      publicAddress,
    });
  });
  const names = [
    `${prefix}inet`,
    ...[...sites.values()].flatMap((x) => [...x.hosts, ...(x.router ? [x.router] : [])]),
  ];
  if (new Set(names).size !== names.length)
    throw new TypeError(`natlab: site names collide: ${names.join(' ')}`);
  return sites;
}

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
    this.sites = plan(this.prefix, options);
  }

  /** Build the topology. On failure everything made so far is removed before rethrowing. */
  static async create(options: NatLabOptions): Promise<NatLab> {
    await removeStaleLabs();
    let id = '';
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

  async #build(options: NatLabOptions): Promise<void> {
    const addNs = async (name: string): Promise<void> => {
      await must('ip', ['netns', 'add', name]);
      this.#namespaces.push(name);
      await prepareNs(name);
    };
    const gateway = this.internetAddresses[0]!;
    await buildInternet(addNs, this.internet, this.internetAddresses);
    for (const opts of options.sites) {
      const site = this.site(opts.name);
      if (site.type === 'public') await buildPublicSite(addNs, this.internet, gateway, site);
      else await buildNatSite(addNs, this.internet, gateway, site);
      if (opts.dropOutboundUdp) await this.setFirewall(site.name, { dropOutboundUdp: true });
      if (opts.loss) await this.setLoss(site.name, opts.loss);
      if (opts.bandwidth) await this.setBandwidth(site.name, opts.bandwidth);
    }
  }

  // ---------------------------------------------------------------- run-time knobs
  /** The namespace whose iptables hold a site's firewall and loss rules. */
  #ruleNs(siteName: string): string {
    const s = this.site(siteName);
    return s.router ?? s.hosts[0]!;
  }

  /** Drop (or allow again) all outbound UDP of a site; TCP still passes. */
  setFirewall(siteName: string, rules: { dropOutboundUdp: boolean }): Promise<void> {
    return firewallRules(this.#ruleNs(siteName), rules.dropOutboundUdp);
  }

  /** Random loss on a site's WAN link, each direction, with the iptables statistic match (0 removes it). */
  setLoss(siteName: string, probability: number): Promise<void> {
    return lossRules(this.#ruleNs(siteName), probability);
  }

  /**
   * Limit a site's WAN link to `bitsPerSecond` each way with a token bucket (tc tbf: this kernel has
   * it, unlike netem): uplink shaped on the router's wan0 (or the public host's eth0), downlink on
   * the internet side of the link. Packets that would wait longer than `queueMs` (default 50) are
   * dropped. 0 removes the limit.
   */
  async setBandwidth(
    siteName: string,
    bitsPerSecond: number,
    options: { queueMs?: number } = {},
  ): Promise<void> {
    const s = this.site(siteName);
    const queueMs = options.queueMs ?? 50;
    if (s.router) await shape(s.router, 'wan0', bitsPerSecond, queueMs);
    else await shape(s.hosts[0]!, 'eth0', bitsPerSecond, queueMs);
    await shape(this.internet, `${s.router ? 'w' : 'p'}-${s.name}`, bitsPerSecond, queueMs);
  }

  /** Forget every NAT mapping (conntrack flush in the routers and the internet). */
  async flushConntrack(): Promise<void> {
    for (const s of this.sites.values()) if (s.router) await flushConntrackIn(s.router);
    await flushConntrackIn(this.internet);
  }

  /** Conntrack entries of a site's router, as the kernel prints them (for assertions and debugging). */
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
    // Whatever is still inside our namespaces was started by us (children of our children).
    for (const ns of this.#namespaces) await killInside(ns);
    for (const ns of [...this.#namespaces].reverse()) await run('ip', ['netns', 'del', ns]);
    this.#namespaces.length = 0;
    this.#runCleanups();
    live.delete(this);
  }

  /** Synchronous teardown for process exit. */
  destroySync(): void {
    this.#destroyed = true;
    for (const c of this.#children) if (c.pid) c.kill('SIGKILL');
    for (const ns of [...this.#namespaces].reverse()) deleteNamespaceSync(ns);
    this.#namespaces.length = 0;
    this.#runCleanups();
    live.delete(this);
  }
}
