/**
 * TURN over TCP and TLS (RFC 8656 §3.1): STUN messages and ChannelData (padded to 4 bytes, §12.5)
 * share one byte stream; the first byte of each frame says which, and its length field how long it
 * is. An allocation made over a connection lives as long as the connection. A stream that is not
 * STUN/ChannelData, a connection idle without an allocation, or one over the connection limit is
 * closed, so garbage and floods cost bounded memory.
 */
import type { Clock, Timer } from '../../core/clock.js';
import type { TcpConnection, TcpListener, TransportAddress } from '../../core/net.js';
import { streamFrameLength } from '../../stun/channel-data.js';
import type { Allocation, ClientLink, RawPipe } from './allocation.js';
import type { TurnEngine } from './engine.js';

/** Largest frame: a STUN message of 65535 + 20 bytes or ChannelData of 4 + 65535 (+3 padding). */
const MAX_FRAME = 65_536 + 20;

export interface StreamListenerOptions {
  readonly transport: 'tcp' | 'tls';
  /** Close a connection that has no allocation after this long (default 30 s). */
  readonly idleMs?: number;
  /** Most connections at once for this listener (default 10000). */
  readonly maxConnections?: number;
  /** Wrap each accepted connection (TLS). */
  readonly wrap?: (conn: TcpConnection) => TcpConnection;
}

class StreamLink implements ClientLink {
  readonly transport: 'tcp' | 'tls';
  readonly stream = true;
  readonly local: TransportAddress;
  readonly remote: TransportAddress;
  allocation: Allocation | undefined;
  readonly conn: TcpConnection;
  #pending: Uint8Array | undefined;
  #idle: Timer | undefined;
  /** Set once ConnectionBind made this an RFC 6062 data connection. */
  #raw: RawPipe | undefined;
  readonly #engine: TurnEngine;
  readonly #owner: StreamListener;

  constructor(
    owner: StreamListener,
    engine: TurnEngine,
    conn: TcpConnection,
    transport: 'tcp' | 'tls',
    idleMs: number,
  ) {
    this.#owner = owner;
    this.#engine = engine;
    this.conn = conn;
    this.transport = transport;
    this.local = conn.local;
    this.remote = conn.remote;
    this.#idle = engine.clock.setTimeout(() => {
      this.#idle = undefined;
      if (!this.allocation) this.close();
    }, idleMs);
    conn.onData = (d) => this.#onData(d);
    conn.onClose = () => this.#onClosed();
  }

  get closed(): boolean {
    return this.conn.closed;
  }
  send(data: Uint8Array): void {
    this.conn.write(data);
  }
  output(n: number): Uint8Array {
    // The connection keeps what it is given until written: a fresh buffer each time.
    return Buffer.allocUnsafe(n);
  }
  sendOutput(buf: Uint8Array, length: number): void {
    this.conn.write(length === buf.length ? buf : buf.subarray(0, length));
  }
  attach(a: Allocation): void {
    this.allocation = a;
    this.#idle?.cancel();
    this.#idle = undefined;
  }
  detach(a: Allocation): void {
    if (this.allocation === a) this.allocation = undefined;
  }
  pipe(to: RawPipe): TcpConnection {
    this.#raw = to;
    this.#idle?.cancel();
    this.#idle = undefined;
    return this.conn;
  }

  #onData(chunk: Uint8Array): void {
    if (this.#raw) {
      this.#raw.write(chunk);
      return;
    }
    let buf = chunk;
    if (this.#pending) {
      const p = this.#pending;
      const joined = new Uint8Array(p.length + chunk.length);
      joined.set(p, 0);
      joined.set(chunk, p.length);
      buf = joined;
      this.#pending = undefined;
    }
    let at = 0;
    const n = buf.length;
    while (n - at >= 4) {
      const len = streamFrameLength(buf, at, true, this.#engine.maxChannelNumber > 0x4fff);
      if (len < 0 || len > MAX_FRAME) {
        this.#engine.stats.badStreams++;
        this.close();
        return;
      }
      if (n - at < len) break;
      const frame = buf.subarray(at, at + len);
      at += len;
      if (buf[at - len]! >= 0x40) this.#engine.handleChannelData(frame, this.allocation);
      else this.#engine.handleStun(frame, this, this.allocation);
      if (this.conn.closed) return;
      // handleStun may have turned this into a data connection (ConnectionBind).
      const raw = this.#raw as RawPipe | undefined;
      if (raw) {
        if (at < n) raw.write(buf.subarray(at));
        return;
      }
    }
    if (at < n) this.#pending = buf.slice(at);
  }

  #onClosed(): void {
    this.#idle?.cancel();
    this.#idle = undefined;
    this.#pending = undefined;
    this.#owner.forget(this);
    this.allocation?.close();
    const raw = this.#raw;
    this.#raw = undefined;
    raw?.closed();
  }

  close(): void {
    if (!this.conn.closed) this.conn.close();
    this.#onClosed();
  }
}

export class StreamListener {
  readonly listener: TcpListener;
  readonly #engine: TurnEngine;
  readonly #links = new Set<StreamLink>();

  constructor(engine: TurnEngine, listener: TcpListener, options: StreamListenerOptions) {
    this.#engine = engine;
    this.listener = listener;
    listener.onConnection = (raw) => {
      const max = options.maxConnections ?? 10_000;
      if (this.#links.size >= max) {
        engine.stats.quotaRefusals++;
        raw.close();
        return;
      }
      let conn: TcpConnection;
      try {
        conn = options.wrap ? options.wrap(raw) : raw;
      } catch {
        raw.close();
        return;
      }
      const link = new StreamLink(this, engine, conn, options.transport, options.idleMs ?? 30_000);
      this.#links.add(link);
      engine.stats.connections++;
    };
  }

  get connections(): number {
    return this.#links.size;
  }

  /** Called by a link when it closes. */
  forget(link: StreamLink): void {
    if (this.#links.delete(link)) this.#engine.stats.connections--;
  }

  get clock(): Clock {
    return this.#engine.clock;
  }

  close(): void {
    this.listener.onConnection = null;
    this.listener.close();
    for (const l of [...this.#links]) l.close();
  }
}
