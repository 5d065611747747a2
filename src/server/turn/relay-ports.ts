/**
 * Relayed transport addresses: a UDP socket bound on the relay IP, on a port from the configured
 * range (coturn `--min-port/--max-port`, default 49152-65535), optionally even (RFC 8656 §7.2,
 * EVEN-PORT). Ports are tried from a random start so two allocations rarely race for one.
 */
import type { AddressFamily, Network, TcpListener, UdpSocket } from '../../core/net.js';
import type { Random } from '../../core/random.js';

export interface RelayPortOptions {
  readonly network: Network;
  readonly random: Random;
  /** Relay IP per family (coturn `--relay-ip`). A family without one cannot be allocated. */
  readonly relayIps: Readonly<Partial<Record<AddressFamily, string>>>;
  /** Port range; 0/0 lets the OS choose. */
  readonly minPort: number;
  readonly maxPort: number;
  /** Socket buffer sizes for relay sockets (real network only). */
  readonly bufferSize?: number;
  /** Bind attempts before giving up (508). */
  readonly attempts?: number;
}

export class RelayPorts {
  readonly #o: RelayPortOptions;

  constructor(options: RelayPortOptions) {
    this.#o = options;
  }

  get network(): Network {
    return this.#o.network;
  }

  /** A TCP listener for an RFC 6062 allocation, or undefined when no port could be had. */
  async bindTcp(family: AddressFamily): Promise<TcpListener | undefined> {
    const o = this.#o;
    const address = o.relayIps[family];
    if (address === undefined) return undefined;
    if (o.minPort === 0 && o.maxPort === 0)
      return o.network.listenTcp({ address, port: 0 }).catch(() => undefined);
    const lo = o.minPort || 49152;
    const hi = o.maxPort || 65535;
    const span = hi - lo + 1;
    for (let i = 0; i < Math.min(o.attempts ?? 64, span); i++) {
      const port = lo + o.random.int(span);
      try {
        return await o.network.listenTcp({ address, port });
      } catch {
        // taken: try another
      }
    }
    return undefined;
  }

  supports(family: AddressFamily): boolean {
    return this.#o.relayIps[family] !== undefined;
  }

  /**
   * EVEN-PORT with the R bit (RFC 8656 §7.2): an even port and the odd one above it, both bound,
   * or undefined.
   */
  async bindPair(family: AddressFamily): Promise<[UdpSocket, UdpSocket] | undefined> {
    for (let i = 0; i < 16; i++) {
      const even = await this.bind(family, true);
      if (!even) return undefined;
      const address = even.local.address;
      try {
        const sizes = this.#o.bufferSize
          ? { recvBufferSize: this.#o.bufferSize, sendBufferSize: this.#o.bufferSize }
          : {};
        const odd = await this.#o.network.bindUdp({ address, port: even.local.port + 1, family, ...sizes });
        return [even, odd];
      } catch {
        even.close();
      }
    }
    return undefined;
  }

  /** Bind a relay socket, or undefined when no port could be had. */
  async bind(family: AddressFamily, evenPort: boolean): Promise<UdpSocket | undefined> {
    const o = this.#o;
    const address = o.relayIps[family];
    if (address === undefined) return undefined;
    const sizes = o.bufferSize ? { recvBufferSize: o.bufferSize, sendBufferSize: o.bufferSize } : {};
    if (o.minPort === 0 && o.maxPort === 0) {
      for (let i = 0; evenPort && i < 32; i++) {
        const s = await o.network.bindUdp({ address, port: 0, family, ...sizes }).catch(() => undefined);
        if (s && s.local.port % 2 === 0) return s;
        s?.close();
      }
      try {
        return await o.network.bindUdp({ address, port: 0, family, ...sizes });
      } catch {
        return undefined;
      }
    }
    const lo = o.minPort || 49152;
    const hi = o.maxPort || 65535;
    const span = hi - lo + 1;
    let port = lo + o.random.int(span);
    const attempts = Math.min(o.attempts ?? 64, span);
    for (let i = 0; i < attempts; i++) {
      if (evenPort && port % 2 === 1) port = port + 1 > hi ? lo + (lo % 2) : port + 1;
      try {
        return await o.network.bindUdp({ address, port, family, ...sizes });
      } catch {
        port = lo + ((port - lo + 1 + o.random.int(span)) % span);
      }
    }
    return undefined;
  }
}
