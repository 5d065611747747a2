/**
 * TCP allocations (RFC 6062): the relayed transport address is a TCP listener; the client asks
 * for outgoing connections with Connect (§5.2) or learns of incoming ones by ConnectionAttempt
 * indications (§5.3), then opens a new connection to the server and sends ConnectionBind (§5.4)
 * with the CONNECTION-ID; from then on that connection is a plain byte pipe to the peer. A
 * connection not bound within 30 s is closed (§5.2/§5.3), and at most 64 KiB from the peer is
 * buffered meanwhile.
 */
import type { Timer } from '../../core/clock.js';
import type { TcpConnection, TcpListener, TransportAddress, UdpSocket } from '../../core/net.js';
import { attr } from '../../stun/attributes.js';
import { METHOD } from '../../stun/constants.js';
import { serializeStunMessage } from '../../stun/serialize.js';
import type { Allocation, RawPipe } from './allocation.js';
import type { PeerConnection, TurnHost } from './context.js';

/** RFC 6062 §5.2/§5.3: how long a peer connection waits for its ConnectionBind. */
export const CONNECTION_BIND_TIMEOUT_MS = 30_000;
/** Peer bytes held before the ConnectionBind (beyond this the peer connection is closed). */
const MAX_BUFFERED = 65_536;
/** Connections per TCP allocation. */
const MAX_CONNECTIONS = 64;

/** A UDP socket stand-in for TCP allocations (they relay nothing over UDP). */
export function noUdpRelay(local: TransportAddress): UdpSocket {
  return {
    local,
    closed: true,
    onMessage: null,
    send: () => false,
    close: () => {},
  };
}

export class TcpRelay {
  readonly listener: TcpListener;
  readonly #engine: TurnHost;
  readonly #allocation: Allocation;
  readonly #conns = new Set<PeerConnection>();

  constructor(engine: TurnHost, allocation: Allocation, listener: TcpListener) {
    this.#engine = engine;
    this.#allocation = allocation;
    this.listener = listener;
    listener.onConnection = (conn) => this.#incoming(conn);
  }

  get size(): number {
    return this.#conns.size;
  }

  hasPeer(peer: TransportAddress): boolean {
    for (const c of this.#conns)
      if (c.peer.address === peer.address && c.peer.port === peer.port) return true;
    return false;
  }

  /** RFC 6062 §5.3: a peer connected to the relayed address. */
  #incoming(conn: TcpConnection): void {
    const a = this.#allocation;
    if (!a.permissions.get(conn.remote.address)?.live || this.#conns.size >= MAX_CONNECTIONS) {
      this.#engine.stats.droppedNoPermission++;
      conn.close();
      return;
    }
    const pc = this.#add(conn, conn.remote);
    const tid = this.#engine.options.random.bytes(12);
    a.link.send(
      serializeStunMessage({
        method: METHOD.CONNECTION_ATTEMPT,
        cls: 'indication',
        transactionId: tid,
        attributes: [attr.connectionId(pc.id), attr.xorPeerAddress(conn.remote, tid)],
      }),
    );
  }

  /** RFC 6062 §5.2: connect to a peer; resolves with the CONNECTION-ID, rejects on failure. */
  async connect(peer: TransportAddress): Promise<number> {
    if (this.#conns.size >= MAX_CONNECTIONS) throw new Error('too many connections');
    const network = this.#engine.options.relayPorts.network;
    const clock = this.#engine.clock;
    let timer: Timer | undefined;
    const conn = await Promise.race([
      network.connectTcp({
        address: peer.address,
        port: peer.port,
        localAddress: this.listener.local.address,
      }),
      new Promise<never>((_, reject) => {
        timer = clock.setTimeout(() => reject(new Error('connect timeout')), CONNECTION_BIND_TIMEOUT_MS);
      }),
    ]).finally(() => timer?.cancel());
    if (this.#allocation.closed) {
      conn.close();
      throw new Error('allocation closed');
    }
    return this.#add(conn, peer).id;
  }

  #add(conn: TcpConnection, peer: TransportAddress): PeerConnection {
    const engine = this.#engine;
    let id = engine.options.random.u32() || 1;
    while (engine.peerConnections.has(id)) id = engine.options.random.u32() || 1;
    const pc: PeerConnection = {
      id,
      allocation: this.#allocation,
      peer: { address: peer.address, port: peer.port },
      conn,
      data: undefined,
      buffered: [],
      bufferedBytes: 0,
      timer: undefined,
    };
    pc.timer = engine.clock.setTimeout(() => {
      pc.timer = undefined;
      if (!pc.data) this.#drop(pc);
    }, CONNECTION_BIND_TIMEOUT_MS);
    conn.onData = (d) => {
      if (pc.data) {
        engine.stats.packetsToClient++;
        engine.stats.bytesToClient += d.length;
        pc.data.write(d);
        return;
      }
      pc.bufferedBytes += d.length;
      if (pc.bufferedBytes > MAX_BUFFERED) this.#drop(pc);
      else pc.buffered.push(d.slice());
    };
    conn.onClose = () => this.#drop(pc);
    this.#conns.add(pc);
    engine.peerConnections.set(id, pc);
    return pc;
  }

  /** ConnectionBind succeeded: the client's connection (`link`) now pipes to the peer. */
  bind(pc: PeerConnection, link: { pipe?(to: RawPipe): TcpConnection }): boolean {
    if (!link.pipe || pc.data) return false;
    const data = link.pipe({ write: (b) => this.toPeer(pc, b), closed: () => this.#drop(pc) });
    pc.timer?.cancel();
    pc.timer = undefined;
    pc.data = data;
    const stats = this.#engine.stats;
    for (const b of pc.buffered) {
      stats.packetsToClient++;
      stats.bytesToClient += b.length;
      data.write(b);
    }
    pc.buffered = [];
    pc.bufferedBytes = 0;
    return true;
  }

  /** Client data on a bound data connection. */
  toPeer(pc: PeerConnection, bytes: Uint8Array): void {
    this.#engine.stats.packetsToPeer++;
    this.#engine.stats.bytesToPeer += bytes.length;
    pc.conn.write(bytes);
  }

  #drop(pc: PeerConnection): void {
    if (!this.#conns.delete(pc)) return;
    pc.timer?.cancel();
    this.#engine.peerConnections.delete(pc.id);
    pc.conn.close();
    pc.data?.close();
  }

  close(): void {
    this.listener.onConnection = null;
    this.listener.close();
    for (const pc of [...this.#conns]) this.#drop(pc);
  }
}
