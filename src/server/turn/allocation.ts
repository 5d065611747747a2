/**
 * One TURN allocation (RFC 8656 §2.2, §7): the relayed transport address, its permissions (per
 * peer IP, 300 s), its channel bindings (600 s), its lifetime. Timers run on the injected Clock.
 * The data paths (`fromPeer`, `channelToPeer`, `sendToPeer`) are the relay's hot path: views,
 * no per-packet closures, counters as plain increments.
 */
import type { Clock, Timer } from '../../core/clock.js';
import type { TcpConnection, TransportAddress, UdpSocket } from '../../core/net.js';
import type { Random } from '../../core/random.js';
import { padTo4 } from '../../stun/channel-data.js';
import { bytesToIp, ipToBytes } from '../../stun/ip.js';
import { dataIndicationLength, type SendIndicationFields, writeDataIndication } from './indications.js';
import type { ByteBucket } from './rate-limit.js';
import type { TurnStats } from './stats.js';

export type ClientTransport = 'udp' | 'tcp' | 'tls';

/** The client-facing end of a 5-tuple, implemented by the listeners. */
export interface ClientLink {
  readonly transport: ClientTransport;
  /** The server's address on this 5-tuple. */
  readonly local: TransportAddress;
  /** The client's address. */
  readonly remote: TransportAddress;
  /** A stream (TCP/TLS): ChannelData is padded to a multiple of 4 (RFC 8656 §12.5). */
  readonly stream: boolean;
  /** True once the client end is gone (TCP closed, listener closed). */
  readonly closed: boolean;
  send(data: Uint8Array): void;
  /**
   * A buffer of at least `n` bytes to build one outgoing message in, handed back to `sendOutput`
   * before the next call (UDP links reuse one buffer; streams get a fresh one each time).
   */
  output(n: number): Uint8Array;
  /** Send the first `length` bytes of a buffer from `output`. */
  sendOutput(buf: Uint8Array, length: number): void;
  /** The engine created an allocation on this 5-tuple: route its traffic to it. */
  attach(allocation: Allocation): void;
  /** The allocation ended. */
  detach(allocation: Allocation): void;
  /**
   * Streams only (RFC 6062 ConnectionBind): from now on every byte from the client goes to `to`
   * unparsed; returns the connection for the other direction.
   */
  pipe?(to: RawPipe): TcpConnection;
}

/** Where a bound RFC 6062 data connection's bytes go. */
export interface RawPipe {
  write(bytes: Uint8Array): void;
  /** The data connection closed. */
  closed(): void;
}

/** RFC 8656 §9: permission lifetime. */
export const PERMISSION_LIFETIME_MS = 300_000;
/** RFC 8656 §12: channel binding lifetime. */
export const CHANNEL_LIFETIME_MS = 600_000;

export interface Permission {
  readonly ip: string;
  /** The IP as 4 or 16 bytes (for Data indications). */
  readonly ipBytes: Uint8Array;
  /** False once the permission lapsed; the object stays while channels still point at it. */
  live: boolean;
  expiresAt: number;
  timer: Timer | undefined;
  /** Channels bound to peers at this IP, by peer port. */
  readonly channels: Map<number, Channel>;
}

export interface Channel {
  readonly number: number;
  readonly peer: TransportAddress;
  readonly permission: Permission;
  expiresAt: number;
  timer: Timer | undefined;
}

export interface AllocationInit {
  readonly id: number;
  readonly link: ClientLink;
  readonly relay: UdpSocket;
  /** The relayed transport address told to the client (external IP applied). */
  readonly relayed: TransportAddress;
  readonly username: string;
  readonly account: string;
  readonly realm: string;
  readonly key: Uint8Array;
  /** Wall-clock ms when the credential expires (REST), or undefined. */
  readonly credentialExpiresAt: number | undefined;
  /** The Allocate's transaction id (a retransmission gets the same answer). */
  readonly transactionId: Uint8Array;
  readonly clock: Clock;
  readonly random: Random;
  readonly stats: TurnStats;
  readonly bucket: ByteBucket | undefined;
  /** Most permissions (peer IPs) one allocation may hold. */
  readonly maxPermissions: number;
}

export class Allocation {
  readonly id: number;
  readonly link: ClientLink;
  readonly relay: UdpSocket;
  readonly relayed: TransportAddress;
  readonly username: string;
  readonly account: string;
  readonly realm: string;
  readonly key: Uint8Array;
  readonly credentialExpiresAt: number | undefined;
  readonly transactionId: Uint8Array;
  readonly permissions = new Map<string, Permission>();
  /** Channel bindings by number. */
  readonly channels = new Map<number, Channel>();
  /** The success response to the Allocate (resent on retransmission). */
  allocateResponse: Uint8Array | undefined;
  expiresAt = 0;
  #timer: Timer | undefined;
  #closed = false;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #stats: TurnStats;
  readonly #bucket: ByteBucket | undefined;
  readonly #stream: boolean;
  readonly maxPermissions: number;
  /** The RFC 6062 side of a TCP allocation (closed with the allocation). */
  tcp: { close(): void } | undefined;
  /** Called once when the allocation ends (expiry or deletion). */
  onClose: ((a: Allocation) => void) | null = null;
  /** The permission of the last peer heard from (most datagrams come from the peer before). */
  #lastPeer: Permission | undefined;
  /** The last Send indication's peer (port + IP bytes) and the address it decoded to. */
  readonly #lastSendKey = new Uint8Array(18);
  readonly #sendKey = new Uint8Array(18);
  #lastSendKeyLength = 0;
  #lastSendPeer: TransportAddress | undefined;

  constructor(init: AllocationInit) {
    this.id = init.id;
    this.link = init.link;
    this.relay = init.relay;
    this.relayed = init.relayed;
    this.username = init.username;
    this.account = init.account;
    this.realm = init.realm;
    this.key = init.key;
    this.credentialExpiresAt = init.credentialExpiresAt;
    this.transactionId = init.transactionId;
    this.#clock = init.clock;
    this.#random = init.random;
    this.#stats = init.stats;
    this.#bucket = init.bucket;
    this.#stream = init.link.stream;
    this.maxPermissions = init.maxPermissions;
    this.relay.onMessage = (data, from) => this.fromPeer(data, from);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Set the time to expiry (the allocation's lifetime, RFC 8656 §7.2/§7.3). */
  refresh(lifetimeMs: number): void {
    this.#timer?.cancel();
    this.expiresAt = this.#clock.now() + lifetimeMs;
    this.#timer = this.#clock.setTimeout(() => this.close(), lifetimeMs);
  }

  /** Install or refresh the permission for a peer IP (RFC 8656 §9). */
  permit(ip: string): Permission {
    let p = this.permissions.get(ip);
    if (!p) {
      const ipBytes = ipToBytes(ip) ?? new Uint8Array(4);
      p = { ip, ipBytes, live: false, expiresAt: 0, timer: undefined, channels: new Map() };
      this.permissions.set(ip, p);
    }
    if (!p.live) {
      p.live = true;
      this.#stats.permissions++;
    }
    p.timer?.cancel();
    p.expiresAt = this.#clock.now() + PERMISSION_LIFETIME_MS;
    const perm = p;
    p.timer = this.#clock.setTimeout(() => this.#expirePermission(perm), PERMISSION_LIFETIME_MS);
    return p;
  }

  #expirePermission(p: Permission): void {
    p.timer = undefined;
    // Once the permission lapses, data to and from that IP stops; channels to it stay bound until
    // they expire (a ChannelBind refresh re-installs the permission).
    p.live = false;
    this.#stats.permissions--;
    if (p.channels.size === 0) this.permissions.delete(p.ip);
  }

  /** Bind or refresh channel `number` to `peer` (the caller checked the RFC 8656 §12 rules). */
  bind(number: number, peer: TransportAddress): Channel {
    const perm = this.permit(peer.address);
    let ch = this.channels.get(number);
    if (!ch) {
      ch = {
        number,
        peer: { address: peer.address, port: peer.port },
        permission: perm,
        expiresAt: 0,
        timer: undefined,
      };
      this.channels.set(number, ch);
      perm.channels.set(peer.port, ch);
      this.#stats.channels++;
    }
    ch.timer?.cancel();
    ch.expiresAt = this.#clock.now() + CHANNEL_LIFETIME_MS;
    const c = ch;
    ch.timer = this.#clock.setTimeout(() => this.#expireChannel(c), CHANNEL_LIFETIME_MS);
    return ch;
  }

  #expireChannel(c: Channel): void {
    c.timer = undefined;
    if (this.channels.get(c.number) !== c) return;
    this.channels.delete(c.number);
    const p = c.permission;
    if (p.channels.get(c.peer.port) === c) p.channels.delete(c.peer.port);
    if (!p.live && p.channels.size === 0 && this.permissions.get(p.ip) === p) this.permissions.delete(p.ip);
    this.#stats.channels--;
  }

  /** The channel bound to `peer`, if any (for the "same peer, other channel" rule). */
  channelForPeer(peer: TransportAddress): Channel | undefined {
    for (const c of this.channels.values()) {
      if (c.peer.port === peer.port && c.peer.address === peer.address) return c;
    }
    return undefined;
  }

  /** A datagram from a peer arrived on the relayed address (RFC 8656 §11.3, §12.6). */
  fromPeer(data: Uint8Array, from: TransportAddress): void {
    let perm = this.#lastPeer;
    if (perm === undefined || !perm.live || perm.ip !== from.address) {
      perm = this.permissions.get(from.address);
      if (perm === undefined || !perm.live) {
        this.#stats.droppedNoPermission++;
        return;
      }
      this.#lastPeer = perm;
    }
    const len = data.length;
    if (this.#bucket !== undefined && !this.#bucket.take(len, this.#clock.now())) {
      this.#stats.droppedBandwidth++;
      return;
    }
    const ch = perm.channels.size === 0 ? undefined : perm.channels.get(from.port);
    const link = this.link;
    let total: number;
    let out: Uint8Array;
    if (ch !== undefined) {
      // RFC 8656 §12.4 ChannelData; over streams padded to 4 (§12.5).
      total = 4 + (this.#stream ? padTo4(len) : len);
      out = link.output(total);
      const n = ch.number;
      out[0] = n >> 8;
      out[1] = n & 0xff;
      out[2] = len >> 8;
      out[3] = len & 0xff;
      out.set(data, 4);
      for (let i = 4 + len; i < total; i++) out[i] = 0;
    } else {
      out = link.output(dataIndicationLength(perm.ipBytes.length, len));
      total = writeDataIndication(out, this.#random, perm.ipBytes, from.port, data);
    }
    this.#stats.packetsToClient++;
    this.#stats.bytesToClient += len;
    link.sendOutput(out, total);
  }

  /**
   * ChannelData from the client (RFC 8656 §12.5): `frame` starts with the 4-byte header, already
   * checked to hold `len` bytes of data. Returns false when dropped.
   */
  channelToPeer(channel: number, frame: Uint8Array, len: number): boolean {
    const ch = this.channels.get(channel);
    if (ch === undefined || !ch.permission.live) {
      this.#stats.droppedClientData++;
      return false;
    }
    if (this.#bucket !== undefined && !this.#bucket.take(len, this.#clock.now())) {
      this.#stats.droppedBandwidth++;
      return false;
    }
    this.#stats.packetsToPeer++;
    this.#stats.bytesToPeer += len;
    this.relay.send(new Uint8Array(frame.buffer, frame.byteOffset + 4, len), ch.peer);
    return true;
  }

  /** A Send indication's payload (RFC 8656 §11.2): relayed only if the peer IP has a permission. */
  sendToPeer(peer: TransportAddress, data: Uint8Array): boolean {
    if (this.permissions.get(peer.address)?.live !== true) {
      this.#stats.droppedClientData++;
      return false;
    }
    if (this.#bucket !== undefined && !this.#bucket.take(data.length, this.#clock.now())) {
      this.#stats.droppedBandwidth++;
      return false;
    }
    this.#stats.packetsToPeer++;
    this.#stats.bytesToPeer += data.length;
    this.relay.send(data, peer);
    return true;
  }

  /**
   * A Send indication read in place (`readSendIndication`): the peer address is decoded once per
   * distinct XOR-PEER-ADDRESS, not per datagram.
   */
  sendIndicationToPeer(bytes: Uint8Array, f: SendIndicationFields): boolean {
    // Port and un-XORed IP (X-Address XOR magic cookie | transaction id, RFC 8489 §14.2: bytes 4..
    // of the header) into `next`, compared with the last one.
    const next = this.#sendKey;
    const last = this.#lastSendKey;
    const n = f.ipLength + 2;
    next[0] = f.port >> 8;
    next[1] = f.port & 0xff;
    for (let i = 0; i < f.ipLength; i++) next[2 + i] = bytes[f.ipOffset + i]! ^ bytes[4 + i]!;
    let peer = this.#lastSendPeer;
    let same = peer !== undefined && n === this.#lastSendKeyLength;
    for (let i = 0; same && i < n; i++) same = next[i] === last[i];
    if (!same || peer === undefined) {
      peer = { address: bytesToIp(next.slice(2, n)), port: f.port };
      this.#lastSendPeer = peer;
      this.#lastSendKeyLength = n;
      last.set(next.subarray(0, n));
    }
    return this.sendToPeer(peer, new Uint8Array(bytes.buffer, bytes.byteOffset + f.dataOffset, f.dataLength));
  }

  /** End the allocation: cancel timers, close the relay socket, notify the owner. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#timer?.cancel();
    for (const p of this.permissions.values()) p.timer?.cancel();
    for (const c of this.channels.values()) c.timer?.cancel();
    for (const p of this.permissions.values()) if (p.live) this.#stats.permissions--;
    this.#stats.channels -= this.channels.size;
    this.permissions.clear();
    this.channels.clear();
    this.#lastPeer = undefined;
    this.#lastSendPeer = undefined;
    this.relay.onMessage = null;
    this.relay.close();
    this.tcp?.close();
    this.onClose?.(this);
  }
}
