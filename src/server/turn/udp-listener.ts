/**
 * The client-facing UDP listener: one socket, a table from client address to allocation, and the
 * demultiplexing of each datagram by its first byte (RFC 7983): 0x40-0x4F ChannelData (the hot
 * path, handed over without parsing), 0x00-0x3F STUN, anything else dropped and counted.
 */
import type { TransportAddress, UdpSocket } from '../../core/net.js';
import type { Allocation, ClientLink } from './allocation.js';
import { ClientTable } from './client-table.js';
import type { TurnEngine } from './engine.js';
import { hasReusableSend, OutputBuffer, type ReusableSendSocket } from './udp-node.js';

class UdpLink implements ClientLink {
  readonly transport = 'udp' as const;
  readonly stream = false;
  readonly local: TransportAddress;
  readonly remote: TransportAddress;
  readonly #listener: UdpListener;

  constructor(listener: UdpListener, remote: TransportAddress) {
    this.#listener = listener;
    this.local = listener.socket.local;
    this.remote = { address: remote.address, port: remote.port };
  }
  get closed(): boolean {
    return this.#listener.socket.closed;
  }
  send(data: Uint8Array): void {
    this.#listener.socket.send(data, this.remote);
  }
  output(n: number): Uint8Array {
    return this.#listener.output(n);
  }
  sendOutput(buf: Uint8Array, length: number): void {
    this.#listener.socket.send(
      length === buf.length ? buf : new Uint8Array(buf.buffer, buf.byteOffset, length),
      this.remote,
    );
  }
  attach(a: Allocation): void {
    this.#listener.table.set(this.remote.address, this.remote.port, a);
  }
  detach(a: Allocation): void {
    const t = this.#listener.table;
    if (t.get(this.remote.address, this.remote.port) === a) t.delete(this.remote.address, this.remote.port);
  }
}

export class UdpListener {
  readonly socket: UdpSocket;
  readonly table = new ClientTable<Allocation>();
  readonly #engine: TurnEngine;
  /** Highest first byte taken as ChannelData (0x4F, or 0x7F for the RFC 5766 range). */
  readonly #maxChannelByte: number;
  /** One buffer for every datagram built toward clients, when the socket allows reuse. */
  readonly #out = new OutputBuffer();
  readonly #reusable: ReusableSendSocket | undefined;

  constructor(engine: TurnEngine, socket: UdpSocket) {
    this.#engine = engine;
    this.#maxChannelByte = engine.maxChannelNumber >> 8;
    this.socket = socket;
    this.#reusable = hasReusableSend(socket) ? socket : undefined;
    socket.onMessage = (data, from) => this.#onDatagram(data, from);
  }

  #onDatagram(data: Uint8Array, from: TransportAddress): void {
    const b0 = data[0];
    if (b0 === undefined) return;
    if (b0 >= 0x40 && b0 <= this.#maxChannelByte) {
      if (data.length < 4) {
        this.#engine.stats.parseErrors++;
        return;
      }
      this.#engine.handleChannelData(data, this.table.get(from.address, from.port));
      return;
    }
    if (b0 < 0x40) {
      const a = this.table.get(from.address, from.port);
      this.#engine.handleStun(data, a ? a.link : new UdpLink(this, from), a);
      return;
    }
    this.#engine.stats.parseErrors++;
  }

  /** A buffer to build one datagram in (see `ClientLink.output`). */
  output(n: number): Uint8Array {
    const s = this.#reusable;
    return s !== undefined ? this.#out.take(n, s) : Buffer.allocUnsafe(n);
  }

  close(): void {
    this.socket.close();
  }
}
