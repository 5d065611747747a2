/**
 * The STUN server (the Binding part of the TURN server): binds UDP sockets and TCP listeners on a
 * `Network` and feeds what arrives to the sans-IO `StunServerEngine`. With an alternate IP it
 * listens on 2 IPs x 2 ports for RFC 5780 behaviour discovery. TURN plugs in through `engine`
 * (`setMethodHandler`, `setNonStunHandler`) and `udpSocket()` for relayed sends.
 */
import { type Clock, SystemClock, type Timer } from '../../core/clock.js';
import { type Logger, silentLogger } from '../../core/log.js';
import type { Network, TcpConnection, TcpListener, TransportAddress, UdpSocket } from '../../core/net.js';
import { type Endpoint, type StunCounters, StunServerEngine } from './stun-engine.js';
import { StreamFramer } from './stun-framer.js';

export interface StunServerOptions {
  readonly network: Network;
  /** Primary IP (coturn: --listening-ip). Default 0.0.0.0; must be concrete with `altIp`. */
  readonly listeningIp?: string;
  /** Primary port (coturn: --listening-port). Default 3478; 0 picks a free port. */
  readonly listeningPort?: number;
  /** RFC 5780 alternate IP; enables behaviour discovery. */
  readonly altIp?: string;
  /** RFC 5780 alternate port (coturn: --alt-listening-port). Default listeningPort + 1 (0: any). */
  readonly altPort?: number;
  readonly udp?: boolean;
  readonly tcp?: boolean;
  readonly software?: string;
  readonly recvBufferSize?: number;
  readonly sendBufferSize?: number;
  /** Concurrent TCP connections accepted (default 1024); more are closed at once. */
  readonly maxTcpConnections?: number;
  /** Bytes a TCP connection may buffer while waiting for the rest of a message (default 64 KiB + 24). */
  readonly maxTcpBuffered?: number;
  /** A TCP connection idle this long (no bytes from the client) is closed (default 120 s; 0 = never). */
  readonly tcpIdleTimeoutMs?: number;
  /** Clock for the idle timers (default: the system clock, timers unref'd). */
  readonly clock?: Clock;
  readonly logger?: Logger;
}

export interface StunServerCounters extends StunCounters {
  tcpAccepted: number;
  tcpRejected: number;
  /** TCP connections closed for bad framing or exceeding the buffer cap. */
  tcpFramingErrors: number;
  /** TCP connections closed for idleness. */
  tcpIdleClosed: number;
}

const EPS: readonly Endpoint[] = [
  { ip: 0, port: 0 },
  { ip: 0, port: 1 },
  { ip: 1, port: 0 },
  { ip: 1, port: 1 },
];

export class StunServer {
  readonly engine: StunServerEngine;
  readonly #udp: (UdpSocket | undefined)[][];
  readonly #tcp: TcpListener[];
  readonly #conns = new Set<TcpConnection>();
  readonly #tcpCounters = { tcpAccepted: 0, tcpRejected: 0, tcpFramingErrors: 0, tcpIdleClosed: 0 };
  readonly #clock: Clock;
  readonly #idleMs: number;
  readonly #idle = new Map<TcpConnection, Timer>();
  readonly #maxConns: number;
  readonly #maxBuffered: number;
  #closed = false;

  private constructor(
    engine: StunServerEngine,
    udp: (UdpSocket | undefined)[][],
    tcp: { ep: Endpoint; listener: TcpListener }[],
    options: StunServerOptions,
  ) {
    this.engine = engine;
    this.#udp = udp;
    this.#tcp = tcp.map((t) => t.listener);
    this.#maxConns = options.maxTcpConnections ?? 1024;
    this.#maxBuffered = options.maxTcpBuffered ?? 65_536 + 24;
    this.#clock = options.clock ?? new SystemClock({ unref: true });
    this.#idleMs = options.tcpIdleTimeoutMs ?? 120_000;
    for (const ep of EPS) {
      const s = udp[ep.ip]?.[ep.port];
      if (!s) continue;
      s.onMessage = (data, from) => engine.handleUdp(data, from, ep);
    }
    for (const { ep, listener } of tcp) listener.onConnection = (c) => this.#accept(c, ep);
  }

  /**
   * Bind everything; rejects if a socket cannot be bound (and closes what was bound). With port 0
   * the UDP port picked first may be taken for TCP or on the other IP: then it tries new ports.
   */
  static async start(options: StunServerOptions): Promise<StunServer> {
    const anyPort = options.listeningPort === 0 || options.altPort === 0;
    for (let attempt = 1; ; attempt++) {
      try {
        return await StunServer.#start(options);
      } catch (e) {
        const inUse = (e as { code?: string }).code === 'EADDRINUSE';
        if (!anyPort || !inUse || attempt >= 20) throw e;
      }
    }
  }

  static async #start(options: StunServerOptions): Promise<StunServer> {
    const ip1 = options.listeningIp ?? '0.0.0.0';
    const alt = options.altIp;
    if (alt && (ip1 === '0.0.0.0' || ip1 === '::')) {
      throw new TypeError('RFC 5780 (--alt-ip) needs a concrete --listening-ip');
    }
    const useUdp = options.udp ?? true;
    const useTcp = options.tcp ?? true;
    if (!useUdp && !useTcp) throw new TypeError('nothing to listen on (UDP and TCP both off)');
    const net = options.network;
    const opened: { close(): void }[] = [];
    try {
      const port1 = options.listeningPort ?? 3478;
      const udp: (UdpSocket | undefined)[][] = [[], []];
      const tcp: { ep: Endpoint; listener: TcpListener }[] = [];
      const bindUdp = async (address: string, port: number): Promise<UdpSocket> => {
        const s = await net.bindUdp({
          address,
          port,
          recvBufferSize: options.recvBufferSize,
          sendBufferSize: options.sendBufferSize,
        });
        opened.push(s);
        return s;
      };
      const listenTcp = async (address: string, port: number): Promise<TcpListener> => {
        const l = await net.listenTcp({ address, port });
        opened.push(l);
        return l;
      };
      // Primary endpoint first: it fixes the port when 0 was asked for.
      let p1 = port1;
      if (useUdp) {
        udp[0]![0] = await bindUdp(ip1, port1);
        p1 = udp[0]![0]!.local.port;
      }
      if (useTcp) {
        const l = await listenTcp(ip1, p1);
        p1 = l.local.port;
        tcp.push({ ep: { ip: 0, port: 0 }, listener: l });
      }
      let alternate: TransportAddress | undefined;
      if (alt) {
        let p2 = options.altPort ?? (port1 === 0 ? 0 : port1 + 1);
        if (useUdp) {
          udp[0]![1] = await bindUdp(ip1, p2);
          p2 = udp[0]![1]!.local.port;
          udp[1]![0] = await bindUdp(alt, p1);
          udp[1]![1] = await bindUdp(alt, p2);
        }
        if (useTcp) {
          const l01 = await listenTcp(ip1, p2);
          p2 = l01.local.port;
          tcp.push({ ep: { ip: 0, port: 1 }, listener: l01 });
          tcp.push({ ep: { ip: 1, port: 0 }, listener: await listenTcp(alt, p1) });
          tcp.push({ ep: { ip: 1, port: 1 }, listener: await listenTcp(alt, p2) });
        }
        alternate = { address: alt, port: p2 };
      }
      const engine = new StunServerEngine(
        {
          primary: { address: ip1, port: p1 },
          alternate,
          software: options.software,
          logger: options.logger ?? silentLogger,
        },
        (via, bytes, to) => udp[via.ip]?.[via.port]?.send(bytes, to),
      );
      return new StunServer(engine, udp, tcp, options);
    } catch (e) {
      for (const o of opened) o.close();
      throw e;
    }
  }

  #accept(conn: TcpConnection, ep: Endpoint): void {
    if (this.#closed || this.#conns.size >= this.#maxConns) {
      this.#tcpCounters.tcpRejected++;
      conn.close();
      return;
    }
    this.#tcpCounters.tcpAccepted++;
    this.#conns.add(conn);
    const framer = new StreamFramer(this.#maxBuffered);
    const drop = (): void => {
      this.#idle.get(conn)?.cancel();
      this.#idle.delete(conn);
      conn.close();
      this.#conns.delete(conn);
    };
    const armIdle = (): void => {
      this.#idle.get(conn)?.cancel();
      if (this.#idleMs > 0) {
        this.#idle.set(
          conn,
          this.#clock.setTimeout(() => {
            this.#tcpCounters.tcpIdleClosed++;
            drop();
          }, this.#idleMs),
        );
      }
    };
    armIdle();
    const reply = (bytes: Uint8Array): void => {
      conn.write(bytes);
    };
    conn.onData = (chunk) => {
      armIdle();
      const { frames, error } = framer.push(chunk);
      for (const f of frames) {
        this.engine.handle({ data: f.bytes, from: conn.remote, transport: 'tcp', endpoint: ep, reply });
      }
      if (error) {
        this.#tcpCounters.tcpFramingErrors++;
        drop();
      }
    };
    conn.onClose = () => {
      this.#idle.get(conn)?.cancel();
      this.#idle.delete(conn);
      this.#conns.delete(conn);
    };
  }

  /** The primary UDP address (what clients use), or the TCP one when UDP is off. */
  get address(): TransportAddress {
    return this.engine.endpointAddress({ ip: 0, port: 0 });
  }

  /** RFC 5780 alternate address, when configured. */
  get alternateAddress(): TransportAddress | undefined {
    return this.engine.rfc5780 ? this.engine.endpointAddress({ ip: 1, port: 1 }) : undefined;
  }

  /** A bound UDP socket of an endpoint (for the TURN server's own sends). */
  udpSocket(ep: Endpoint = { ip: 0, port: 0 }): UdpSocket | undefined {
    return this.#udp[ep.ip]?.[ep.port];
  }

  get counters(): Readonly<StunServerCounters> {
    return { ...this.engine.counters, ...this.#tcpCounters };
  }

  get tcpConnections(): number {
    return this.#conns.size;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const row of this.#udp) for (const s of row) s?.close();
    for (const l of this.#tcp) l.close();
    for (const c of this.#conns) c.close();
    this.#conns.clear();
    for (const t of this.#idle.values()) t.cancel();
    this.#idle.clear();
  }
}
