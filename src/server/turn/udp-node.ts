/**
 * Real UDP sockets for the relay's hot path. When the server runs on the real network it binds its
 * UDP sockets (client listeners and relayed addresses) here instead of through core's NodeNetwork;
 * TCP and everything else still goes through the given network. What differs, each measured on
 * the relay path (bench/turn.ts, `node --cpu-prof` under turnutils_uclient load):
 *
 * - The sender of a datagram is node:dgram's own `rinfo` object, handed to `onMessage` as is:
 *   no object per datagram. (It has `address` and `port`; whoever keeps it copies it.)
 * - Every destination here is an IP literal (client addresses come from the kernel, peer addresses
 *   from XOR-PEER-ADDRESS), so the lookup dgram runs before each send answers at once instead of
 *   testing the text with net.isIP. A name would make the send fail (dropped), never resolve.
 * - `sendQueued()` says whether the last send is still holding its buffer (the kernel's send buffer
 *   was full and libuv queued the datagram). When it is not, the buffer was copied into the kernel
 *   during `send`, so one output buffer can be reused for every datagram (see `OutputBuffer`).
 */
import dgram from 'node:dgram';
import type {
  Network,
  TcpConnection,
  TcpListener,
  TransportAddress,
  UdpBindOptions,
  UdpSocket,
} from '../../core/net.js';
import { familyOf } from '../../core/net.js';

/** A UDP socket that can tell whether its sends copy the bytes before returning. */
export interface ReusableSendSocket extends UdpSocket {
  /** True while a datagram handed to `send` still waits in user space (its buffer is in use). */
  sendQueued(): boolean;
}

export function hasReusableSend(s: UdpSocket): s is ReusableSendSocket {
  return typeof (s as Partial<ReusableSendSocket>).sendQueued === 'function';
}

function literal(address: string, family: unknown, callback: (e: null, a: string, f: number) => void): void {
  callback(null, address, family === 6 ? 6 : 4);
}

class RelayUdpSocket implements ReusableSendSocket {
  readonly #sock: dgram.Socket;
  readonly local: TransportAddress;
  #closed = false;
  onMessage: ((data: Uint8Array, from: TransportAddress) => void) | null = null;
  /** Datagrams whose handler threw (a bug, counted so it is never silent). */
  handlerErrors = 0;

  constructor(sock: dgram.Socket) {
    this.#sock = sock;
    const a = sock.address();
    this.local = { address: a.address, port: a.port };
    sock.on('message', (msg: Buffer, rinfo: dgram.RemoteInfo) => {
      const h = this.onMessage;
      if (h === null) return;
      try {
        h(msg, rinfo);
      } catch (err) {
        this.handlerErrors++;
        process.emitWarning(`rtcstack turn: UDP handler threw: ${(err as Error).stack ?? String(err)}`);
      }
    });
    // ICMP errors (port unreachable after a send to a closed peer port) must not crash the process.
    sock.on('error', () => {});
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(data: Uint8Array, to: TransportAddress): boolean {
    if (this.#closed) return false;
    this.#sock.send(data, to.port, to.address);
    return true;
  }

  sendQueued(): boolean {
    return !this.#closed && this.#sock.getSendQueueCount() > 0;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onMessage = null;
    this.#sock.close();
  }
}

/** `network` for TCP and interfaces, the sockets above for UDP. */
export class RelayNetwork implements Network {
  readonly #inner: Network;

  constructor(inner: Network) {
    this.#inner = inner;
  }

  interfaces(): ReturnType<Network['interfaces']> {
    return this.#inner.interfaces();
  }

  listenTcp(options: { address?: string; port?: number }): Promise<TcpListener> {
    return this.#inner.listenTcp(options);
  }

  connectTcp(options: { address: string; port: number; localAddress?: string }): Promise<TcpConnection> {
    return this.#inner.connectTcp(options);
  }

  bindUdp(options: UdpBindOptions = {}): Promise<UdpSocket> {
    const family = options.family ?? (options.address ? familyOf(options.address) : 'IPv4');
    const sock = dgram.createSocket({ type: family === 'IPv6' ? 'udp6' : 'udp4', lookup: literal });
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      sock.once('error', onError);
      sock.bind(
        { address: options.address ?? (family === 'IPv6' ? '::' : '0.0.0.0'), port: options.port ?? 0 },
        () => {
          sock.off('error', onError);
          if (options.recvBufferSize) sock.setRecvBufferSize(options.recvBufferSize);
          if (options.sendBufferSize) sock.setSendBufferSize(options.sendBufferSize);
          resolve(new RelayUdpSocket(sock));
        },
      );
    });
  }
}

/**
 * One reusable output buffer for datagrams built on the hot path (ChannelData and Data indications
 * toward UDP clients). `take(n)` hands out the shared buffer unless the socket still holds it from
 * an earlier send, in which case it is given up to that send and a fresh one takes its place.
 */
export class OutputBuffer {
  #buf: Uint8Array;
  readonly #size: number;

  constructor(size = 65_536 + 64) {
    this.#size = size;
    this.#buf = new Uint8Array(size);
  }

  /** A buffer of at least `n` bytes that `socket` may be given (reuse only when it is free). */
  take(n: number, socket: ReusableSendSocket): Uint8Array {
    if (n > this.#size) return new Uint8Array(n);
    if (socket.sendQueued()) this.#buf = new Uint8Array(this.#size);
    return this.#buf;
  }
}
