/**
 * The network as engines and adapters see it. Two implementations: `NodeNetwork` (real sockets via
 * node:dgram/node:net) and the virtual network in `./vnet/` (hosts and NAT routers in memory, driven
 * by a ManualClock). Code that opens sockets takes a `Network`, so it runs on both.
 */
export type AddressFamily = 'IPv4' | 'IPv6';

export interface TransportAddress {
  readonly address: string;
  readonly port: number;
}

export interface InterfaceAddress {
  readonly name: string;
  readonly address: string;
  readonly family: AddressFamily;
  readonly internal: boolean;
}

export interface UdpSocket {
  readonly local: TransportAddress;
  readonly closed: boolean;
  /** Called for each datagram received. The bytes are only valid during the call unless copied. */
  onMessage: ((data: Uint8Array, from: TransportAddress) => void) | null;
  /**
   * Fire-and-forget send. Returns false if the datagram was dropped locally (closed socket, oversize).
   * A socket that is done with `data` when this returns (the kernel or the socket took a copy)
   * says so with `noteSendSettled(data)`, so that the owner of the bytes may reuse them (see
   * `sendSettled`); one that still holds them must not. A layer between a sender and its socket
   * that keeps `data` past the call must not pass that same view down to a socket.
   */
  send(data: Uint8Array, to: TransportAddress): boolean;
  close(): void;
}

export interface TcpConnection {
  readonly local: TransportAddress;
  readonly remote: TransportAddress;
  readonly closed: boolean;
  onData: ((data: Uint8Array) => void) | null;
  onClose: ((error?: Error) => void) | null;
  /** Returns false when the write was buffered past the high-water mark (backpressure). */
  write(data: Uint8Array): boolean;
  close(): void;
}

export interface TcpListener {
  readonly local: TransportAddress;
  onConnection: ((conn: TcpConnection) => void) | null;
  close(): void;
}

export interface UdpBindOptions {
  /** Local address; default the unspecified address of `family`. */
  address?: string;
  /** Local port; default 0 (any). */
  port?: number;
  family?: AddressFamily;
  /** Socket buffer sizes in bytes (real network only). */
  recvBufferSize?: number;
  sendBufferSize?: number;
}

export interface Network {
  /** Addresses of this host's interfaces. */
  interfaces(): InterfaceAddress[];
  bindUdp(options?: UdpBindOptions): Promise<UdpSocket>;
  listenTcp(options: { address?: string; port?: number }): Promise<TcpListener>;
  connectTcp(options: { address: string; port: number; localAddress?: string }): Promise<TcpConnection>;
}

/**
 * Send-side memory reuse. The view whose bytes the latest socket send was done with when it
 * returned: the kernel had taken them (a synchronous sendmsg) or the socket had copied them. Only
 * the JavaScript thread touches it: a send and the check right after it run with nothing between.
 */
let settled: Uint8Array | undefined;

/** For sockets: the send of `data` is done with its bytes (undefined: the latest send is not). */
export function noteSendSettled(data: Uint8Array | undefined): void {
  settled = data;
}

/**
 * For the owner of `data`, right after the send call that carried it returned: true when the
 * socket was done with those bytes by then (`noteSendSettled`), so they may be written over;
 * false when it may still read them later (queued by the socket, resolved asynchronously, held by
 * a layer on the way, or never reached a socket that says). Consumes the note.
 */
export function sendSettled(data: Uint8Array): boolean {
  const s = settled === data;
  settled = undefined;
  return s;
}

export function familyOf(address: string): AddressFamily {
  return address.includes(':') ? 'IPv6' : 'IPv4';
}

export function formatAddress(a: TransportAddress): string {
  return familyOf(a.address) === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

export function sameAddress(a: TransportAddress, b: TransportAddress): boolean {
  return a.port === b.port && a.address === b.address;
}

/** Parse "1.2.3.4:5" or "[::1]:5". Throws TypeError on anything else. */
export function parseAddress(text: string): TransportAddress {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(text) ?? /^([^:\s]+):(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new TypeError(`invalid transport address: ${text}`);
  return { address: m[1]!, port };
}
