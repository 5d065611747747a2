import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import os from 'node:os';
import {
  type AddressFamily,
  familyOf,
  type InterfaceAddress,
  type Network,
  noteSendSettled,
  type TcpConnection,
  type TcpListener,
  type TransportAddress,
  type UdpBindOptions,
  type UdpSocket,
} from './net.js';

class NodeUdpSocket implements UdpSocket {
  readonly #sock: dgram.Socket;
  /** The socket resolves IP literals synchronously (literalLookup), so a send to one runs at once. */
  readonly #syncLiterals: boolean;
  /** The last destination address known to be an IP literal. */
  #literal: string | undefined;
  readonly local: TransportAddress;
  #closed = false;
  onMessage: ((data: Uint8Array, from: TransportAddress) => void) | null = null;
  /** Datagrams whose handler threw (a bug, counted so it is never silent). */
  handlerErrors = 0;

  constructor(sock: dgram.Socket, syncLiterals: boolean) {
    this.#sock = sock;
    this.#syncLiterals = syncLiterals;
    const a = sock.address();
    this.local = { address: a.address, port: a.port };
    sock.on('message', (msg, rinfo) => {
      const h = this.onMessage;
      if (!h) return;
      try {
        h(msg, { address: rinfo.address, port: rinfo.port });
      } catch (err) {
        this.handlerErrors++;
        process.emitWarning(`rtcstack: UDP handler threw: ${(err as Error).stack ?? String(err)}`);
      }
    });
    // ICMP errors (ECONNREFUSED on a connected peer, ENETUNREACH) must not crash the process.
    sock.on('error', () => {});
  }
  get closed(): boolean {
    return this.#closed;
  }
  send(data: Uint8Array, to: TransportAddress): boolean {
    if (this.#closed) return false;
    this.#sock.send(data, to.port, to.address);
    // Done with the bytes? dgram (bound socket, an IP literal answered by literalLookup) ran the
    // send before returning; libuv's uv_udp_try_send gave the datagram to the kernel unless it
    // queued a request (EAGAIN, or requests already queued), which holds the bytes until sent.
    // A name (dns.lookup answers later) or a queued request: not settled.
    noteSendSettled(this.#isLiteral(to.address) && this.#sock.getSendQueueCount() === 0 ? data : undefined);
    return true;
  }
  #isLiteral(address: string): boolean {
    if (address === this.#literal) return true;
    if (!this.#syncLiterals || net.isIP(address) === 0) return false;
    this.#literal = address;
    return true;
  }
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onMessage = null;
    this.#sock.close();
  }
}

class NodeTcpConnection implements TcpConnection {
  readonly #sock: net.Socket;
  readonly local: TransportAddress;
  readonly remote: TransportAddress;
  #closed = false;
  onData: ((data: Uint8Array) => void) | null = null;
  onClose: ((error?: Error) => void) | null = null;

  constructor(sock: net.Socket) {
    this.#sock = sock;
    this.local = { address: sock.localAddress ?? '', port: sock.localPort ?? 0 };
    this.remote = { address: sock.remoteAddress ?? '', port: sock.remotePort ?? 0 };
    sock.setNoDelay(true);
    let lastError: Error | undefined;
    sock.on('data', (d) => this.onData?.(d));
    sock.on('error', (e) => {
      lastError = e;
    });
    sock.on('close', () => {
      this.#closed = true;
      this.onClose?.(lastError);
    });
  }
  get closed(): boolean {
    return this.#closed;
  }
  write(data: Uint8Array): boolean {
    if (this.#closed) return false;
    return this.#sock.write(data);
  }
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock.destroy();
  }
}

/**
 * dgram resolves every destination through `lookup`, and the default (dns.lookup) defers even an
 * IP literal to the next tick: a closure and a tick per datagram. Literals are answered at once;
 * names still go to dns.lookup.
 */
function literalLookup(
  address: string,
  family: unknown,
  callback: (err: Error | null, address: string, family: number) => void,
): void {
  const f = net.isIP(address);
  if (f !== 0) {
    callback(null, address, f);
    return;
  }
  dns.lookup(address, family as number, callback);
}

/**
 * A dgram socket bound as `options` ask (family from the address when not given, any address by
 * default, buffer sizes applied once bound); `lookup` resolves send destinations.
 */
export function bindDgram(
  options: UdpBindOptions,
  lookup: dgram.SocketOptions['lookup'],
): Promise<dgram.Socket> {
  const family = options.family ?? (options.address ? familyOf(options.address) : 'IPv4');
  const sock = dgram.createSocket({ type: family === 'IPv6' ? 'udp6' : 'udp4', lookup });
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    sock.once('error', onError);
    sock.bind(
      { address: options.address ?? (family === 'IPv6' ? '::' : '0.0.0.0'), port: options.port ?? 0 },
      () => {
        sock.off('error', onError);
        if (options.recvBufferSize) sock.setRecvBufferSize(options.recvBufferSize);
        if (options.sendBufferSize) sock.setSendBufferSize(options.sendBufferSize);
        resolve(sock);
      },
    );
  });
}

/** The real network: node:dgram and node:net. */
export class NodeNetwork implements Network {
  interfaces(): InterfaceAddress[] {
    const out: InterfaceAddress[] = [];
    for (const [name, list] of Object.entries(os.networkInterfaces())) {
      for (const a of list ?? []) {
        out.push({ name, address: a.address, family: a.family as AddressFamily, internal: a.internal });
      }
    }
    return out;
  }

  async bindUdp(options: UdpBindOptions = {}): Promise<UdpSocket> {
    return new NodeUdpSocket(await bindDgram(options, literalLookup), true);
  }

  listenTcp(options: { address?: string; port?: number }): Promise<TcpListener> {
    const server = net.createServer();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: options.address ?? '0.0.0.0', port: options.port ?? 0 }, () => {
        server.off('error', reject);
        const a = server.address() as net.AddressInfo;
        const listener: TcpListener = {
          local: { address: a.address, port: a.port },
          onConnection: null,
          close: () => server.close(),
        };
        server.on('connection', (s) => {
          if (listener.onConnection) listener.onConnection(new NodeTcpConnection(s));
          else s.destroy();
        });
        resolve(listener);
      });
    });
  }

  connectTcp(options: { address: string; port: number; localAddress?: string }): Promise<TcpConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect({
        host: options.address,
        port: options.port,
        localAddress: options.localAddress,
      });
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new NodeTcpConnection(s));
      });
    });
  }
}

export const nodeNetwork: Network = new NodeNetwork();
