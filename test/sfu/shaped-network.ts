/**
 * A bottleneck on what one side sends, for tests on the real network: datagrams leave at most at
 * `capacity` bits/s through a FIFO holding up to `queueMs` of them; what does not fit is dropped
 * (tail drop), as at a congested router. Wrap the Network a peer connection binds its sockets on
 * (PeerOptions.network) to limit its sending (an SFU's downlink to one subscriber). Receiving is
 * untouched. Capacity Infinity (the default) sends at once.
 */
import type { Network, TransportAddress, UdpBindOptions, UdpSocket } from '../../src/core/net.js';

export class ShapedNetwork implements Network {
  /** Bits per second (Infinity: no limit). */
  capacity = Number.POSITIVE_INFINITY;
  /** Longest a datagram may wait in the queue before the link drops it. */
  queueMs = 250;
  sent = 0;
  dropped = 0;
  readonly #sockets = new Set<ShapedSocket>();

  constructor(
    readonly inner: Network,
    readonly now: () => number = () => performance.now(),
  ) {}

  interfaces(): ReturnType<Network['interfaces']> {
    return this.inner.interfaces();
  }
  async bindUdp(o?: UdpBindOptions): Promise<UdpSocket> {
    const s = new ShapedSocket(await this.inner.bindUdp(o), this);
    this.#sockets.add(s);
    return s;
  }
  listenTcp(o: Parameters<Network['listenTcp']>[0]): ReturnType<Network['listenTcp']> {
    return this.inner.listenTcp(o);
  }
  connectTcp(o: Parameters<Network['connectTcp']>[0]): ReturnType<Network['connectTcp']> {
    return this.inner.connectTcp(o);
  }

  /** @internal When the next datagram of `bytes` would leave the link, or undefined (dropped). */
  admit(bytes: number): number | undefined {
    const now = this.now();
    if (this.capacity === Number.POSITIVE_INFINITY) {
      this.sent++;
      return now;
    }
    const start = Math.max(now, this.#busyUntil);
    if (start - now > this.queueMs) {
      this.dropped++;
      return undefined;
    }
    this.#busyUntil = start + (bytes * 8 * 1000) / this.capacity;
    this.sent++;
    return this.#busyUntil;
  }
  #busyUntil = 0;
}

class ShapedSocket implements UdpSocket {
  readonly #queue: { at: number; data: Uint8Array; to: TransportAddress }[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly inner: UdpSocket,
    readonly link: ShapedNetwork,
  ) {}

  get local(): TransportAddress {
    return this.inner.local;
  }
  get closed(): boolean {
    return this.inner.closed;
  }
  get onMessage(): UdpSocket['onMessage'] {
    return this.inner.onMessage;
  }
  set onMessage(f: UdpSocket['onMessage']) {
    this.inner.onMessage = f;
  }

  send(data: Uint8Array, to: TransportAddress): boolean {
    if (this.inner.closed) return false;
    const at = this.link.admit(data.length);
    if (at === undefined) return true; // lost on the link, not refused locally
    if (this.#queue.length === 0 && at <= this.link.now()) return this.inner.send(data, to);
    this.#queue.push({ at, data: data.slice(), to });
    this.#arm();
    return true;
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
    this.inner.close();
  }

  #arm(): void {
    if (this.#timer || this.#queue.length === 0) return;
    const wait = Math.max(0, this.#queue[0]!.at - this.link.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const now = this.link.now();
      while (this.#queue.length > 0 && this.#queue[0]!.at <= now + 1) {
        const q = this.#queue.shift()!;
        if (!this.inner.closed) this.inner.send(q.data, q.to);
      }
      this.#arm();
    }, wait);
  }
}
