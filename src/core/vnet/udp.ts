/** UDP sockets of a virtual host. */
import { noteSendSettled, type TransportAddress, type UdpSocket } from '../net.js';

/** The host side a socket needs: sending a datagram and releasing its port. */
export interface UdpHostSide {
  sendUdp(socket: VirtualUdpSocket, data: Uint8Array, to: TransportAddress): boolean;
  releaseUdp(socket: VirtualUdpSocket): void;
}

export class VirtualUdpSocket implements UdpSocket {
  readonly local: TransportAddress;
  readonly #host: UdpHostSide;
  #closed = false;
  onMessage: ((data: Uint8Array, from: TransportAddress) => void) | null = null;
  /** Datagrams received by this socket. */
  received = 0;
  /** Datagrams handed to the network by this socket. */
  sent = 0;
  /** Handler exceptions (each is rethrown: in a test an exception in a receive loop is a bug). */
  handlerErrors = 0;

  constructor(host: UdpHostSide, local: TransportAddress) {
    this.#host = host;
    this.local = local;
  }
  get closed(): boolean {
    return this.#closed;
  }
  send(data: Uint8Array, to: TransportAddress): boolean {
    if (this.#closed) return false;
    const ok = this.#host.sendUdp(this, data, to);
    if (ok) this.sent++;
    // The host copied the datagram (or dropped it): nothing here holds `data`.
    noteSendSettled(data);
    return ok;
  }
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onMessage = null;
    this.#host.releaseUdp(this);
  }
  /** Called by the host; false when the socket cannot take it (closed, no handler). */
  deliver(data: Uint8Array, from: TransportAddress): boolean {
    const h = this.onMessage;
    if (this.#closed || !h) return false;
    this.received++;
    try {
      h(data, from);
    } catch (err) {
      this.handlerErrors++;
      throw err;
    }
    return true;
  }
}
