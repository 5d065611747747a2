import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { Emitter } from '../core/events.js';
import { formatAddress, type TransportAddress, type UdpSocket } from '../core/net.js';
import { DtlsEndpoint, type DtlsEndpointOptions, type DtlsState } from './endpoint.js';
import type { SrtpKeyingMaterial } from './srtp-profiles.js';

export interface DtlsTransportEvents {
  [key: string]: unknown[];
  state: [DtlsState];
  data: [Uint8Array];
  error: [Error];
}

/**
 * A thin adapter binding a DtlsEndpoint to a UDP socket and one remote address, in the shape of
 * the W3C RTCDtlsTransport (`state`, `getRemoteCertificates()`). Datagrams from other addresses
 * are ignored. The peer connection will bind the endpoint to its ICE transport the same way.
 */
export class DtlsTransport extends Emitter<DtlsTransportEvents> {
  readonly endpoint: DtlsEndpoint;
  readonly socket: UdpSocket;
  readonly remote: TransportAddress;

  constructor(
    socket: UdpSocket,
    remote: TransportAddress,
    options: Omit<DtlsEndpointOptions, 'send' | 'clock'> & { clock?: Clock },
  ) {
    super();
    this.socket = socket;
    this.remote = remote;
    this.endpoint = new DtlsEndpoint({
      cookieContext: new TextEncoder().encode(formatAddress(remote)),
      ...options,
      clock: options.clock ?? systemClock,
      send: (d) => {
        socket.send(d, remote);
      },
    });
    this.endpoint.on('state', (s) => this.emit('state', s));
    this.endpoint.on('data', (d) => this.emit('data', d));
    this.endpoint.on('error', (e) => this.emit('error', e));
    socket.onMessage = (data, from) => {
      if (from.port !== remote.port || from.address !== remote.address) return;
      this.endpoint.handle(data);
    };
  }

  get state(): DtlsState {
    return this.endpoint.state;
  }

  start(): void {
    this.endpoint.start();
  }

  /** Resolves when connected; rejects with the failure. */
  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.state === 'connected') return resolve();
      if (this.state === 'failed' || this.state === 'closed')
        return reject(this.endpoint.error ?? new Error(this.state));
      const offs = [
        this.endpoint.on('connected', () => {
          for (const o of offs) o();
          resolve();
        }),
        this.endpoint.on('error', (e) => {
          for (const o of offs) o();
          reject(e);
        }),
        this.endpoint.on('close', () => {
          for (const o of offs) o();
          reject(new Error('closed'));
        }),
      ];
    });
  }

  send(data: Uint8Array): void {
    this.endpoint.send(data);
  }

  /** DER certificates of the peer (one, the leaf). */
  getRemoteCertificates(): Uint8Array[] {
    const c = this.endpoint.remoteCertificate;
    return c ? [c] : [];
  }

  getSrtpKeyingMaterial(): SrtpKeyingMaterial | undefined {
    return this.endpoint.getSrtpKeyingMaterial();
  }

  /** Close the DTLS session (close_notify); the socket stays open (the caller owns it). */
  close(): void {
    this.endpoint.close();
  }
}
