/**
 * ICE-TCP (RFC 6544) host candidates: a passive base (a listener; every accepted connection is a
 * path to one remote address) and an active base (connects to a remote passive candidate the first
 * time a check goes there). STUN and application data are framed as RFC 4571 says:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   -----------------------------------------------------------------
 *   |             LENGTH            |  STUN / DTLS / RTP packet ... |
 *   -----------------------------------------------------------------
 */
import type { Network, TcpConnection, TcpListener, TransportAddress } from '../core/net.js';
import type { Base } from './base.js';

/** RFC 4571 §2: 16-bit length prefix. */
export const RFC4571_MAX_FRAME = 0xffff;
/** Frames queued per connection while it is being set up. */
const MAX_QUEUED = 64;

const key = (a: TransportAddress): string => `${a.address}|${a.port}`;

/** Cuts an RFC 4571 byte stream into frames. */
export class Rfc4571Deframer {
  #buf = new Uint8Array(0);

  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    let buf: Uint8Array;
    if (this.#buf.length === 0) buf = chunk;
    else {
      buf = new Uint8Array(this.#buf.length + chunk.length);
      buf.set(this.#buf);
      buf.set(chunk, this.#buf.length);
    }
    let off = 0;
    while (buf.length - off >= 2) {
      const len = (buf[off]! << 8) | buf[off + 1]!;
      if (buf.length - off - 2 < len) break;
      onFrame(buf.subarray(off + 2, off + 2 + len));
      off += 2 + len;
    }
    this.#buf = buf.slice(off);
  }
}

export function frameRfc4571(data: Uint8Array): Uint8Array {
  if (data.length > RFC4571_MAX_FRAME) throw new RangeError('RFC 4571 frame too large');
  const out = new Uint8Array(2 + data.length);
  out[0] = data.length >> 8;
  out[1] = data.length & 0xff;
  out.set(data, 2);
  return out;
}

type Deliver = (baseId: string, data: Uint8Array, from: TransportAddress) => void;

function attach(conn: TcpConnection, baseId: string, deliver: Deliver, onClose: () => void): void {
  const d = new Rfc4571Deframer();
  const from = conn.remote;
  conn.onData = (chunk) => d.push(chunk, (frame) => deliver(baseId, frame, from));
  conn.onClose = () => onClose();
}

/** A passive TCP base: sends only on connections the peer opened. */
export async function openPassiveBase(network: Network, address: string, deliver: Deliver): Promise<Base> {
  const listener: TcpListener = await network.listenTcp({ address });
  const id = `tcp-passive:${listener.local.address}:${listener.local.port}`;
  const conns = new Map<string, TcpConnection>();
  listener.onConnection = (conn) => {
    const k = key(conn.remote);
    conns.get(k)?.close();
    conns.set(k, conn);
    attach(conn, id, deliver, () => {
      if (conns.get(k) === conn) conns.delete(k);
    });
  };
  return {
    id,
    protocol: 'tcp',
    kind: 'host',
    tcpType: 'passive',
    address: listener.local,
    send: (data, to) => {
      const c = conns.get(key(to));
      if (!c || c.closed || data.length > RFC4571_MAX_FRAME) return false;
      return c.write(frameRfc4571(data)) || true;
    },
    close: () => {
      listener.close();
      for (const c of conns.values()) c.close();
      conns.clear();
    },
  };
}

/**
 * An active TCP base: the candidate advertises port 9 (RFC 6544 §4.5); each remote passive address
 * gets its own connection, opened on the first send, with frames queued until it is up.
 */
export function openActiveBase(network: Network, address: string, deliver: Deliver): Base {
  const id = `tcp-active:${address}`;
  const conns = new Map<string, { conn?: TcpConnection; queue: Uint8Array[]; failed: boolean }>();
  let closed = false;
  return {
    id,
    protocol: 'tcp',
    kind: 'host',
    tcpType: 'active',
    address: { address, port: 9 },
    send: (data, to) => {
      if (closed || data.length > RFC4571_MAX_FRAME) return false;
      const k = key(to);
      let e = conns.get(k);
      if (e?.conn && !e.conn.closed) return e.conn.write(frameRfc4571(data)) || true;
      if (e?.failed) return false;
      if (!e) {
        const entry: { conn?: TcpConnection; queue: Uint8Array[]; failed: boolean } = {
          queue: [],
          failed: false,
        };
        e = entry;
        conns.set(k, entry);
        network.connectTcp({ address: to.address, port: to.port, localAddress: address }).then(
          (conn) => {
            if (closed) {
              conn.close();
              return;
            }
            entry.conn = conn;
            attach(conn, id, deliver, () => {
              if (conns.get(k) === entry) conns.delete(k);
            });
            for (const f of entry.queue) conn.write(frameRfc4571(f));
            entry.queue = [];
          },
          () => {
            entry.failed = true;
            entry.queue = [];
          },
        );
      }
      if (e.queue.length < MAX_QUEUED) e.queue.push(data.slice());
      return true;
    },
    close: () => {
      closed = true;
      for (const e of conns.values()) e.conn?.close();
      conns.clear();
    },
  };
}
