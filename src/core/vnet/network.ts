/**
 * The virtual network: an in-memory internet of hosts and NAT routers driven by a ManualClock.
 * Every hop goes through the clock (a delay of 0 too), every impairment draws from seeded streams,
 * so a scenario replays exactly for a given seed.
 *
 *   const clock = new ManualClock();
 *   const net = new VirtualNetwork({ clock, seed: 7 });
 *   const stun = net.host('stun', { addresses: ['203.0.113.1', '203.0.113.2'] });
 *   const nat = net.nat('home', { preset: 'symmetric', address: '203.0.113.10' });
 *   const alice = nat.host('alice');              // 10.1.0.2 behind 203.0.113.10
 *   // alice and stun implement Network: bindUdp, listenTcp, connectTcp, interfaces
 *   await clock.runUntil(() => done);
 *   net.close(); net.assertNoOpenSockets();
 */
import type { ManualClock, Timer } from '../clock.js';
import { formatAddress } from '../net.js';
import { type Random, SeededRandom } from '../random.js';
import type { Fabric, SocketOwner } from './fabric.js';
import type { VirtualHost } from './host.js';
import { type NatOptions, NatRouter } from './nat.js';
import { Counters, type DropReason, type TraceEvent, type VirtualPacket, wireSize } from './packet.js';
import { type Attachment, type HostOptions, Router } from './router.js';
import { Scheduler } from './scheduler.js';

export interface VirtualNetworkOptions {
  clock: ManualClock;
  /** Seed of every random stream (loss, jitter, NAT ports). Default 1. */
  seed?: number;
  /** Record every send, delivery, duplication and drop in `trace`. Default false. */
  trace?: boolean;
}

class Internet extends Router {
  #next = 0;
  protected assignAddress(): string {
    const n = this.#next++;
    // TEST-NET-3, then TEST-NET-2 (RFC 5737)
    return n < 240 ? `203.0.113.${n + 10}` : `198.51.100.${((n - 240) % 250) + 1}`;
  }
  protected route(p: VirtualPacket, _from: Attachment): void {
    const to = this.lookup(p.dst.address);
    if (to) this.forward(p, to);
    else this.fabric.drop(p, 'no-route', this.name);
  }
}

export class VirtualNetwork implements Fabric {
  readonly clock: ManualClock;
  /** Every event when created with `trace: true`, else empty. */
  readonly trace: TraceEvent[] = [];
  readonly stats = { udp: new Counters(), tcp: new Counters() };
  /**
   * Called for every send, delivery, duplication and drop with the packet itself (payload
   * included): for tests that look at what is on the wire. Set to null to stop.
   */
  tap: ((event: TraceEvent['event'], p: VirtualPacket, at: string, reason?: DropReason) => void) | null =
    null;
  readonly #traceOn: boolean;
  readonly #seeds: SeededRandom;
  readonly #internet: Internet;
  readonly #hosts: SocketOwner[] = [];
  readonly #scheduler: Scheduler;
  #packetId = 0;
  #closed = false;
  #nextLan = 1;

  constructor(options: VirtualNetworkOptions) {
    this.clock = options.clock;
    this.#seeds = new SeededRandom(options.seed ?? 1);
    this.#traceOn = options.trace ?? false;
    this.#scheduler = new Scheduler(this.clock);
    this.#internet = new Internet(this, 'internet');
  }

  // ---------------------------------------------------------------- topology
  /** A host with a public address, directly on the internet (no NAT). */
  host(name: string, options: HostOptions = {}): VirtualHost {
    return this.#internet.host(name, options);
  }

  /** Give a host another interface with a public address (a multi-homed host). */
  addInterface(host: VirtualHost, options: Omit<HostOptions, 'firewall'> = {}): readonly string[] {
    return this.#internet.addInterface(host, options);
  }

  /** A NAT router on the internet; add hosts behind it with `nat.host(name)`. */
  nat(name: string, options: NatOptions = {}): NatRouter {
    return new NatRouter(this, name, this.#internet, `10.${this.#nextLan++}.0`, options);
  }

  // ---------------------------------------------------------------- Fabric
  get closed(): boolean {
    return this.#closed;
  }
  schedule(ms: number, fn: () => void): Timer {
    if (this.#closed) return { cancel: () => {} };
    return this.#scheduler.schedule(ms, fn);
  }
  deriveRandom(): Random {
    return new SeededRandom(this.#seeds.u32());
  }
  nextPacketId(): number {
    return ++this.#packetId;
  }
  counters(proto: VirtualPacket['proto']): Counters {
    return this.stats[proto];
  }
  drop(p: VirtualPacket, reason: DropReason, at: string): void {
    this.stats[p.proto].dropped[reason]++;
    this.record('drop', p, at, reason);
  }
  record(event: TraceEvent['event'], p: VirtualPacket, at: string, reason?: DropReason): void {
    this.tap?.(event, p, at, reason);
    if (!this.#traceOn) return;
    const e: TraceEvent = {
      t: this.clock.now(),
      event,
      id: p.id,
      proto: p.proto,
      src: formatAddress(p.src),
      dst: formatAddress(p.dst),
      size: wireSize(p),
      at,
      ...(reason ? { reason } : {}),
    };
    this.trace.push(e);
  }
  addHost(host: SocketOwner): void {
    this.#hosts.push(host);
  }

  // ---------------------------------------------------------------- lifecycle
  /** Packets (and other network work) still scheduled on the clock. */
  get inFlight(): number {
    return this.#scheduler.pending;
  }

  /** Every socket, listener and connection still open, as "host: udp 10.1.0.2:49152". */
  openSockets(): string[] {
    return this.#hosts.flatMap((h) => h.openSockets());
  }

  /** Throws listing the sockets still open (end every scenario with it, after closing your engines). */
  assertNoOpenSockets(): void {
    const open = this.openSockets();
    if (open.length > 0)
      throw new Error(`virtual network: ${open.length} socket(s) left open:\n  ${open.join('\n  ')}`);
  }

  /** Close every socket and cancel everything in flight (not counted). Idempotent. */
  close(): void {
    if (this.#closed) return;
    for (const h of this.#hosts) h.closeAll();
    this.#closed = true;
    this.#scheduler.clear();
  }
}
