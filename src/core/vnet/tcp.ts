/**
 * TCP on the virtual network, simplified: a SYN / SYN-ACK handshake (so NATs create and match
 * mappings as for real TCP), data segments of at most TCP_MSS bytes delivered reliably and in order
 * (links never drop or reorder TCP), FIN for an orderly close and RST for refusal and reset.
 */
import type { Timer } from '../clock.js';
import { formatAddress, type TcpConnection, type TcpListener, type TransportAddress } from '../net.js';
import { type Fabric, VirtualNetworkError } from './fabric.js';
import { TCP_MSS, type TcpSegmentKind, type VirtualPacket } from './packet.js';
import type { PortAllocator } from './ports.js';

/** Virtual time a connect waits for SYN-ACK before failing with ETIMEDOUT. */
export const TCP_CONNECT_TIMEOUT_MS = 10_000;

/** What the TCP stack needs from its host. */
export interface TcpHostSide {
  readonly name: string;
  readonly fabric: Fabric;
  readonly ports: PortAllocator;
  /** Source address for a destination (undefined: no route). */
  sourceFor(dst: string, requested?: string): string | undefined;
  /** Is this address one of the host's (or the wildcard)? */
  ownsAddress(address: string): boolean;
  transmit(p: VirtualPacket): void;
}

const key = (local: TransportAddress, remote: TransportAddress): string =>
  `${formatAddress(local)}|${formatAddress(remote)}`;
const isWildcard = (a: string): boolean => a === '0.0.0.0' || a === '::';

export class VirtualTcpConnection implements TcpConnection {
  readonly local: TransportAddress;
  readonly remote: TransportAddress;
  readonly #stack: TcpStack;
  #closed = false;
  onData: ((data: Uint8Array) => void) | null = null;
  onClose: ((error?: Error) => void) | null = null;
  bytesWritten = 0;
  bytesRead = 0;

  constructor(stack: TcpStack, local: TransportAddress, remote: TransportAddress) {
    this.#stack = stack;
    this.local = local;
    this.remote = remote;
  }
  get closed(): boolean {
    return this.#closed;
  }
  write(data: Uint8Array): boolean {
    if (this.#closed) return false;
    for (let i = 0; i < data.length; i += TCP_MSS) {
      this.#stack.segment('data', this.local, this.remote, data.slice(i, i + TCP_MSS));
    }
    this.bytesWritten += data.length;
    return true;
  }
  close(): void {
    if (this.#closed) return;
    this.#stack.segment('fin', this.local, this.remote);
    this.#end();
  }
  /** Peer's FIN or RST, or our own close: closed, onClose on the clock (as Node emits 'close'). */
  #end(error?: Error): void {
    this.#closed = true;
    this.#stack.forget(this);
    this.#stack.host.fabric.schedule(0, () => this.onClose?.(error));
  }
  /** @internal */
  handle(kind: TcpSegmentKind, data: Uint8Array): void {
    if (this.#closed) return;
    if (kind === 'data') {
      this.bytesRead += data.length;
      this.onData?.(data);
    } else if (kind === 'fin') this.#end();
    else if (kind === 'rst') this.#end(new VirtualNetworkError('ECONNRESET', 'connection reset by peer'));
  }
}

class VirtualTcpListener implements TcpListener {
  readonly local: TransportAddress;
  readonly #stack: TcpStack;
  onConnection: ((conn: TcpConnection) => void) | null = null;
  closed = false;
  constructor(stack: TcpStack, local: TransportAddress) {
    this.#stack = stack;
    this.local = local;
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#stack.unlisten(this);
  }
}

interface PendingConnect {
  local: TransportAddress;
  remote: TransportAddress;
  timer: Timer;
  resolve: (c: VirtualTcpConnection) => void;
  reject: (e: Error) => void;
}

/** One host's TCP: listeners, connections, pending connects. */
export class TcpStack {
  readonly host: TcpHostSide;
  readonly #listeners: VirtualTcpListener[] = [];
  readonly #conns = new Map<string, VirtualTcpConnection>();
  readonly #pending = new Map<string, PendingConnect>();

  constructor(host: TcpHostSide) {
    this.host = host;
  }

  #portInUse(port: number): boolean {
    if (this.#listeners.some((l) => l.local.port === port)) return true;
    for (const c of this.#conns.values()) if (c.local.port === port) return true;
    for (const p of this.#pending.values()) if (p.local.port === port) return true;
    return false;
  }

  listen(options: { address?: string; port?: number }): Promise<TcpListener> {
    const address = options.address ?? '0.0.0.0';
    if (!this.host.ownsAddress(address)) {
      return Promise.reject(
        new VirtualNetworkError('EADDRNOTAVAIL', `${this.host.name} has no address ${address}`),
      );
    }
    let port = options.port ?? 0;
    if (port === 0) port = this.host.ports.allocate((p) => this.#portInUse(p)) ?? 0;
    const clash = this.#listeners.some(
      (l) =>
        l.local.port === port &&
        (l.local.address === address || isWildcard(l.local.address) || isWildcard(address)),
    );
    if (port === 0 || clash) {
      return Promise.reject(
        new VirtualNetworkError('EADDRINUSE', `${address}:${port} in use on ${this.host.name}`),
      );
    }
    const l = new VirtualTcpListener(this, { address, port });
    this.#listeners.push(l);
    return Promise.resolve(l);
  }

  connect(options: { address: string; port: number; localAddress?: string }): Promise<TcpConnection> {
    if (options.localAddress !== undefined && !this.host.ownsAddress(options.localAddress)) {
      return Promise.reject(
        new VirtualNetworkError('EADDRNOTAVAIL', `${this.host.name} has no address ${options.localAddress}`),
      );
    }
    const src = this.host.sourceFor(options.address, options.localAddress);
    if (src === undefined) {
      return Promise.reject(new VirtualNetworkError('ENETUNREACH', `no route to ${options.address}`));
    }
    const port = this.host.ports.allocate((p) => this.#portInUse(p));
    if (port === undefined) return Promise.reject(new VirtualNetworkError('EADDRINUSE', 'no free port'));
    const local = { address: src, port };
    const remote = { address: options.address, port: options.port };
    return new Promise((resolve, reject) => {
      const k = key(local, remote);
      const timer = this.host.fabric.schedule(TCP_CONNECT_TIMEOUT_MS, () => {
        this.#pending.delete(k);
        reject(new VirtualNetworkError('ETIMEDOUT', `connect to ${formatAddress(remote)} timed out`));
      });
      this.#pending.set(k, { local, remote, timer, resolve, reject });
      this.segment('syn', local, remote);
    });
  }

  /** A TCP packet arrived for this host. */
  receive(p: VirtualPacket): boolean {
    const kind = p.tcp ?? 'data';
    const k = key(p.dst, p.src);
    const conn = this.#conns.get(k);
    if (conn) {
      conn.handle(kind, p.data);
      return true;
    }
    if (kind === 'syn') return this.#accept(p);
    const pending = this.#pending.get(k);
    if (pending && (kind === 'syn-ack' || kind === 'rst')) {
      this.#pending.delete(k);
      pending.timer.cancel();
      if (kind === 'rst') {
        pending.reject(
          new VirtualNetworkError('ECONNREFUSED', `connection to ${formatAddress(p.src)} refused`),
        );
      } else {
        const c = new VirtualTcpConnection(this, pending.local, pending.remote);
        this.#conns.set(k, c);
        pending.resolve(c);
      }
      return true;
    }
    if (kind !== 'rst') this.segment('rst', p.dst, p.src);
    return false;
  }

  #accept(p: VirtualPacket): boolean {
    const l =
      this.#listeners.find((x) => x.local.port === p.dst.port && x.local.address === p.dst.address) ??
      this.#listeners.find((x) => x.local.port === p.dst.port && isWildcard(x.local.address));
    if (!l?.onConnection) {
      this.segment('rst', p.dst, p.src);
      return false;
    }
    const c = new VirtualTcpConnection(this, p.dst, p.src);
    this.#conns.set(key(p.dst, p.src), c);
    this.segment('syn-ack', p.dst, p.src);
    l.onConnection(c);
    return true;
  }

  segment(kind: TcpSegmentKind, src: TransportAddress, dst: TransportAddress, data?: Uint8Array): void {
    const fabric = this.host.fabric;
    this.host.transmit({
      id: fabric.nextPacketId(),
      proto: 'tcp',
      tcp: kind,
      src,
      dst,
      data: data ?? new Uint8Array(0),
    });
  }

  forget(c: VirtualTcpConnection): void {
    this.#conns.delete(key(c.local, c.remote));
  }
  unlisten(l: VirtualTcpListener): void {
    const i = this.#listeners.indexOf(l);
    if (i >= 0) this.#listeners.splice(i, 1);
  }

  open(): string[] {
    return [
      ...this.#listeners.map((l) => `tcp listener ${formatAddress(l.local)}`),
      ...[...this.#conns.values()].map((c) => `tcp ${formatAddress(c.local)} -> ${formatAddress(c.remote)}`),
      ...[...this.#pending.values()].map(
        (c) => `tcp connecting ${formatAddress(c.local)} -> ${formatAddress(c.remote)}`,
      ),
    ];
  }

  closeAll(): void {
    for (const l of [...this.#listeners]) l.close();
    for (const c of [...this.#conns.values()]) c.close();
    for (const [k, p] of [...this.#pending]) {
      this.#pending.delete(k);
      p.timer.cancel();
      p.reject(new VirtualNetworkError('ECONNABORTED', 'host closed'));
    }
  }
}
