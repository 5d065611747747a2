/**
 * A Network for tests on the real network (loopback): while `dark`, its sockets drop every
 * datagram both ways, as an outage on that leg would; otherwise they pass everything. It keeps its
 * sockets (a test may send its own datagrams from one, with that socket's address) and shows each
 * datagram sent to `tap`.
 */
import type { Network, TransportAddress, UdpBindOptions, UdpSocket } from '../../src/core/net.js';

export class OutageNetwork implements Network {
  dark = false;
  /** Datagrams dropped while dark (both ways). */
  dropped = 0;
  /** Of those, the ones arriving at this leg's sockets. */
  droppedIn = 0;
  /** Of those, the ones this leg's sockets sent. */
  droppedOut = 0;
  readonly sockets: UdpSocket[] = [];
  /** Sees every datagram sent through a socket of this network (dark or not). */
  tap: ((data: Uint8Array, from: TransportAddress, to: TransportAddress) => void) | undefined;

  constructor(readonly inner: Network) {}

  interfaces(): ReturnType<Network['interfaces']> {
    return this.inner.interfaces();
  }

  async bindUdp(o?: UdpBindOptions): Promise<UdpSocket> {
    const inner = await this.inner.bindUdp(o);
    const net = this;
    let handler: UdpSocket['onMessage'] = null;
    const socket: UdpSocket = {
      get local() {
        return inner.local;
      },
      get closed() {
        return inner.closed;
      },
      get onMessage() {
        return handler;
      },
      set onMessage(f: UdpSocket['onMessage']) {
        handler = f;
        inner.onMessage = f
          ? (data: Uint8Array, from: TransportAddress) => {
              if (!net.dark) f(data, from);
              else {
                net.dropped++;
                net.droppedIn++;
              }
            }
          : null;
      },
      send(data: Uint8Array, to: TransportAddress): boolean {
        net.tap?.(data, inner.local, to);
        if (!net.dark) return inner.send(data, to);
        net.dropped++;
        net.droppedOut++;
        return true; // lost on the way, not refused locally
      },
      close: () => inner.close(),
    };
    this.sockets.push(socket);
    return socket;
  }

  listenTcp(o: Parameters<Network['listenTcp']>[0]): ReturnType<Network['listenTcp']> {
    return this.inner.listenTcp(o);
  }

  connectTcp(o: Parameters<Network['connectTcp']>[0]): ReturnType<Network['connectTcp']> {
    return this.inner.connectTcp(o);
  }
}
