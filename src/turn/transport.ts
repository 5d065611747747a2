/**
 * The client-to-server leg of TURN (RFC 8656 §3.1): UDP, TCP or TLS-over-TCP. Over streams, STUN
 * messages and ChannelData share the byte stream (ChannelData padded to 4, RFC 8656 §12.5); the
 * transport cuts it into messages so the client engine always sees one message at a time.
 */
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { Network, TcpConnection, TransportAddress } from '../core/net.js';
import { streamFrameLength } from '../stun/channel-data.js';

export type TurnTransportProtocol = 'udp' | 'tcp' | 'tls';

export interface TurnTransport {
  readonly protocol: TurnTransportProtocol;
  /** The client's own address on this leg (the host side of the relayed candidate). */
  readonly local: TransportAddress;
  readonly server: TransportAddress;
  /** One STUN message or ChannelData per call (padded by the sender on streams). */
  onMessage: ((msg: Uint8Array) => void) | null;
  /** The stream closed or failed (never for UDP). */
  onClose: ((error?: Error) => void) | null;
  send(msg: Uint8Array): boolean;
  close(): void;
}

export interface OpenTurnTransportOptions {
  network: Network;
  protocol: TurnTransportProtocol;
  server: TransportAddress;
  /** For TLS: SNI name and verification options (node:tls). */
  tls?: tls.ConnectionOptions;
  /** Bind UDP to this local address (default any of the server's family). */
  localAddress?: string;
}

export async function openTurnTransport(o: OpenTurnTransportOptions): Promise<TurnTransport> {
  if (o.protocol === 'udp') {
    const family = o.server.address.includes(':') ? 'IPv6' : 'IPv4';
    const sock = await o.network.bindUdp({ family, ...(o.localAddress ? { address: o.localAddress } : {}) });
    const t: TurnTransport = {
      protocol: 'udp',
      local: sock.local,
      server: o.server,
      onMessage: null,
      onClose: null,
      send: (msg) => sock.send(msg, o.server),
      close: () => sock.close(),
    };
    sock.onMessage = (data, from) => {
      if (from.port === o.server.port && from.address === o.server.address) t.onMessage?.(data);
    };
    return t;
  }
  const conn = await o.network.connectTcp({ address: o.server.address, port: o.server.port });
  if (o.protocol === 'tcp') return new StreamTransport('tcp', conn, o.server, conn);
  const secure = await startTls(conn, o.tls ?? {});
  return new StreamTransport('tls', conn, o.server, secure);
}

/** The byte stream both TCP and TLS present after setup. */
interface ByteStream {
  onData: ((d: Uint8Array) => void) | null;
  onClose: ((e?: Error) => void) | null;
  write(d: Uint8Array): boolean;
  close(): void;
}

class StreamTransport implements TurnTransport {
  readonly protocol: TurnTransportProtocol;
  readonly local: TransportAddress;
  readonly server: TransportAddress;
  onMessage: ((msg: Uint8Array) => void) | null = null;
  onClose: ((error?: Error) => void) | null = null;
  #stream: ByteStream;
  #buf = new Uint8Array(0);
  #closed = false;
  /** Streams that carried garbage and were closed. */
  framingErrors = 0;

  constructor(
    protocol: TurnTransportProtocol,
    conn: TcpConnection,
    server: TransportAddress,
    stream: ByteStream,
  ) {
    this.protocol = protocol;
    this.local = conn.local;
    this.server = server;
    this.#stream = stream;
    stream.onData = (d) => this.#onData(d);
    stream.onClose = (e) => {
      this.#closed = true;
      this.onClose?.(e);
    };
  }

  #onData(d: Uint8Array): void {
    const joined = new Uint8Array(this.#buf.length + d.length);
    joined.set(this.#buf);
    joined.set(d, this.#buf.length);
    let off = 0;
    while (joined.length - off >= 4) {
      const len = streamFrameLength(joined, off, true);
      if (len < 0) {
        this.framingErrors++;
        this.close();
        return;
      }
      if (joined.length - off < len) break;
      this.onMessage?.(joined.subarray(off, off + len));
      if (this.#closed) return;
      off += len;
    }
    this.#buf = joined.slice(off);
  }

  send(msg: Uint8Array): boolean {
    if (this.#closed) return false;
    this.#stream.write(msg);
    return true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stream.close();
  }
}

/** node:tls client over a `Network` TCP connection (so TLS works on any Network implementation). */
function startTls(conn: TcpConnection, options: tls.ConnectionOptions): Promise<ByteStream> {
  const duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      conn.write(chunk);
      cb();
    },
    final(cb) {
      conn.close();
      cb();
    },
    destroy(_err, cb) {
      conn.close();
      cb(null);
    },
  });
  conn.onData = (d) => duplex.push(Buffer.from(d));
  conn.onClose = () => duplex.push(null);
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ ...options, socket: duplex });
    const onError = (e: Error): void => {
      conn.close();
      reject(e);
    };
    sock.once('error', onError);
    sock.once('secureConnect', () => {
      sock.off('error', onError);
      let lastError: Error | undefined;
      const stream: ByteStream = {
        onData: null,
        onClose: null,
        write: (d) => sock.write(d),
        close: () => {
          sock.destroy();
          conn.close();
        },
      };
      sock.on('data', (d: Buffer) => stream.onData?.(d));
      sock.on('error', (e) => {
        lastError = e;
      });
      sock.on('close', () => stream.onClose?.(lastError));
      resolve(stream);
    });
  });
}
