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
 * - Direct mode (opt-in: RTCSTACK_TURN_DIRECT=1): datagrams go straight between this socket
 *   and node:dgram's native handle, skipping dgram's per-datagram JavaScript (argument checks, a
 *   closure and a lookup call per send, an async-id scope, a fresh request object with three
 *   properties, `rinfo.size` and an event emit per receive): about a tenth of the relay's user CPU
 *   in profiles. It uses the handle exactly as dgram's own `doSend`/`onMessage` do (Node 18-22):
 *   `handle.send(req, list, count, port, ip, false)` returns `bytes + 1` when the kernel took the
 *   datagram at once, 0 when libuv queued it (then `req` and its `list` stay with that send, and a
 *   new `req` is made), negative on error (dropped, as dgram does without a callback). The request
 *   constructor comes from `process.binding('udp_wrap')`. Those are Node internals (deprecated,
 *   undocumented, free to change in any release without a runtime check catching a changed
 *   meaning), so this mode is off unless asked for; when any of it is missing (another runtime),
 *   sockets use dgram's public API even when asked.
 */
import type dgram from 'node:dgram';
import type {
  Network,
  TcpConnection,
  TcpListener,
  TransportAddress,
  UdpBindOptions,
  UdpSocket,
} from '../../core/net.js';
import { bindDgram } from '../../core/net-node.js';

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

/** node:dgram's native handle, as its own send and receive paths use it. */
interface NativeUdpHandle {
  onmessage: (nread: number, handle: unknown, buf: Buffer, rinfo: dgram.RemoteInfo) => void;
  send(
    req: SendRequest,
    list: Uint8Array[],
    count: number,
    port: number,
    ip: string,
    callback: boolean,
  ): number;
}

interface SendRequest {
  /** Keeps the buffers alive while libuv holds them (as dgram's doSend does). */
  list?: Uint8Array[];
}

type SendRequestConstructor = new () => SendRequest;

/** The send request constructor of the runtime's UDP binding, or undefined (then: public API). */
const sendRequest: SendRequestConstructor | undefined = (() => {
  try {
    const binding = (process as unknown as { binding(name: string): { SendWrap?: unknown } }).binding(
      'udp_wrap',
    );
    return typeof binding.SendWrap === 'function' ? (binding.SendWrap as SendRequestConstructor) : undefined;
  } catch {
    return undefined;
  }
})();

/** The native handle behind a bound dgram socket, when it has the expected shape. */
function nativeHandle(sock: dgram.Socket): NativeUdpHandle | undefined {
  if (sendRequest === undefined) return undefined;
  const key = Object.getOwnPropertySymbols(sock).find((k) => k.description === 'state symbol');
  const state =
    key === undefined ? undefined : (sock as unknown as Record<symbol, { handle?: unknown }>)[key];
  const h = state?.handle as Partial<NativeUdpHandle> | undefined;
  if (h === undefined || h === null || typeof h.send !== 'function' || typeof h.onmessage !== 'function') {
    return undefined;
  }
  return h as NativeUdpHandle;
}

/** Whether this runtime offers what direct mode needs (for tests and diagnostics). */
export const directUdp: boolean = sendRequest !== undefined;

/** Direct mode is used when the environment asks for it (RTCSTACK_TURN_DIRECT=1). */
export function directRequested(env: Record<string, string | undefined> = process.env): boolean {
  return env.RTCSTACK_TURN_DIRECT === '1';
}

class RelayUdpSocket implements ReusableSendSocket {
  readonly #sock: dgram.Socket;
  readonly local: TransportAddress;
  #closed = false;
  onMessage: ((data: Uint8Array, from: TransportAddress) => void) | null = null;
  /** Datagrams whose handler threw (a bug, counted so it is never silent). */
  handlerErrors = 0;
  /** Direct mode: the native handle and the request object reused while sends complete at once. */
  readonly #handle: NativeUdpHandle | undefined;
  #req: SendRequest | undefined;

  constructor(sock: dgram.Socket, direct: boolean) {
    this.#sock = sock;
    const a = sock.address();
    this.local = { address: a.address, port: a.port };
    const handle = direct ? nativeHandle(sock) : undefined;
    this.#handle = handle;
    if (handle !== undefined && sendRequest !== undefined) {
      this.#req = new sendRequest();
      handle.onmessage = (nread, _h, buf, rinfo) => {
        if (nread >= 0) this.#deliver(buf, rinfo);
      };
    } else {
      sock.on('message', (msg: Buffer, rinfo: dgram.RemoteInfo) => this.#deliver(msg, rinfo));
    }
    // ICMP errors (port unreachable after a send to a closed peer port) must not crash the process.
    sock.on('error', () => {});
  }

  #deliver(buf: Buffer, rinfo: dgram.RemoteInfo): void {
    const h = this.onMessage;
    if (h === null) return;
    try {
      h(buf, rinfo);
    } catch (err) {
      this.handlerErrors++;
      process.emitWarning(`rtcstack turn: UDP handler threw: ${(err as Error).stack ?? String(err)}`);
    }
  }

  /** True when datagrams bypass dgram's JavaScript (see the module comment). */
  get direct(): boolean {
    return this.#handle !== undefined;
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(data: Uint8Array, to: TransportAddress): boolean {
    if (this.#closed) return false;
    const handle = this.#handle;
    const req = this.#req;
    if (handle === undefined || req === undefined || sendRequest === undefined) {
      this.#sock.send(data, to.port, to.address);
      return true;
    }
    const list = [data];
    req.list = list;
    // bytes + 1: the kernel has the datagram, `req` is free again; otherwise it stays with this send.
    if (handle.send(req, list, 1, to.port, to.address, false) < 1) this.#req = new sendRequest();
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
  readonly #direct: boolean;

  /** `direct: true` uses direct mode where available (default: RTCSTACK_TURN_DIRECT=1). */
  constructor(inner: Network, options: { direct?: boolean } = {}) {
    this.#inner = inner;
    this.#direct = options.direct ?? directRequested();
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

  async bindUdp(options: UdpBindOptions = {}): Promise<UdpSocket> {
    return new RelayUdpSocket(await bindDgram(options, literal), this.#direct);
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
