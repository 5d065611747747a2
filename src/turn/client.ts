/**
 * TURN client (RFC 8656), sans-IO on the Clock: one allocation over one transport.
 *
 *   Allocate (401 -> REALM/NONCE -> retry with long-term MESSAGE-INTEGRITY)  §7.1-§7.3
 *   Refresh before the lifetime runs out; LIFETIME 0 deallocates              §8
 *   CreatePermission per peer IP, refreshed while in use (5 min lifetime)      §10
 *   ChannelBind per peer, refreshed before 10 min                              §12
 *   Send/Data indications and ChannelData                                      §11, §12.4
 *   438 Stale Nonce: take the new NONCE and retry                              §9.2
 *   An allocation that is lost (refresh fails, 437) is made again              (reallocation)
 *
 * REST-style credentials (time-limited username:password from a web service) are ordinary
 * long-term credentials to the client.
 */
import { toHex } from '../core/bytes.js';
import type { Clock, Timer } from '../core/clock.js';
import { ProtocolError, RtcError, StateError, TimeoutError } from '../core/errors.js';
import { Emitter } from '../core/events.js';
import { type Logger, silentLogger } from '../core/log.js';
import type { TransportAddress } from '../core/net.js';
import type { Random } from '../core/random.js';
import {
  CHANNEL_NUMBER_MIN,
  isChannelDataByte,
  parseChannelData,
  serializeChannelData,
} from '../stun/channel-data.js';
import {
  attr,
  createMessage,
  ERROR,
  longTermKey,
  METHOD,
  type ParsedStunMessage,
  parseStunMessage,
  read,
  type StunAttribute,
  serializeStunMessage,
  verifyIntegrity,
} from '../stun/index.js';
import type { TurnTransport } from './transport.js';

export type TurnClientState = 'new' | 'allocating' | 'allocated' | 'failed' | 'closed';

/** RFC 8656 §18.8: REQUESTED-TRANSPORT value for UDP (IANA protocol number 17). */
export const TRANSPORT_UDP = 17;
/** RFC 8656 §3.7 default allocation lifetime, seconds. */
export const DEFAULT_LIFETIME = 600;
/** RFC 8656 §9: permissions live 300 s. */
export const PERMISSION_LIFETIME_MS = 300_000;
/** RFC 8656 §12: channel bindings live 600 s. */
export const CHANNEL_LIFETIME_MS = 600_000;

export interface TurnClientOptions {
  clock: Clock;
  random: Random;
  transport: TurnTransport;
  username: string;
  password: string;
  logger?: Logger;
  /** Requested allocation lifetime in seconds (default 600). */
  lifetime?: number;
  software?: string;
  /** First retransmission timeout over UDP (default 500 ms, RFC 8489 §6.2.1). */
  rto?: number;
  /** A transaction fails after this long (default 39.5 s over UDP, RFC 8489 Rc=7 Rm=16). */
  transactionTimeout?: number;
  /** Reallocate when the allocation is lost (default true). */
  reallocate?: boolean;
}

export interface Allocation {
  readonly relayed: TransportAddress;
  readonly mapped: TransportAddress | undefined;
  readonly lifetime: number;
}

export type TurnClientEvents = {
  /** Application data from a peer (Data indication or ChannelData). */
  data: [TransportAddress, Uint8Array];
  allocated: [Allocation];
  /** After a lost allocation was made again (the relayed address may differ). */
  reallocated: [Allocation];
  failed: [Error];
  statechange: [TurnClientState];
};

/** Error response from the server, with its STUN code. */
export class TurnError extends RtcError {
  readonly status: number;
  constructor(status: number, reason: string) {
    super(`ERR_TURN_${status}`, `TURN error ${status}: ${reason}`);
    this.status = status;
  }
}

interface Pending {
  readonly method: number;
  readonly bytes: Uint8Array;
  readonly resolve: (m: ParsedStunMessage) => void;
  readonly reject: (e: Error) => void;
  timer: Timer | undefined;
  deadline: Timer | undefined;
  rto: number;
}

interface Permission {
  expires: number;
  lastUsed: number;
  pending: Promise<void> | undefined;
  queue: [TransportAddress, Uint8Array][];
  refresh: Timer | undefined;
}

interface Channel {
  readonly number: number;
  readonly peer: TransportAddress;
  bound: boolean;
  refresh: Timer | undefined;
}

const peerKey = (a: TransportAddress): string => `${a.address}|${a.port}`;

export class TurnClient extends Emitter<TurnClientEvents> {
  readonly #o: TurnClientOptions;
  readonly #log: Logger;
  #state: TurnClientState = 'new';
  #realm: string | undefined;
  #nonce: string | undefined;
  #key: Uint8Array | undefined;
  #allocation: Allocation | undefined;
  #pending = new Map<string, Pending>();
  #permissions = new Map<string, Permission>();
  #channels = new Map<string, Channel>();
  #channelByNumber = new Map<number, Channel>();
  #nextChannel = CHANNEL_NUMBER_MIN;
  #refreshTimer: Timer | undefined;

  // Counters
  packetsSent = 0;
  packetsReceived = 0;
  droppedPackets = 0;
  refreshes = 0;
  /** 438 answers recovered from by retrying with the new nonce. */
  staleNonces = 0;
  reallocations = 0;

  constructor(options: TurnClientOptions) {
    super();
    this.#o = options;
    this.#log = options.logger ?? silentLogger;
    options.transport.onMessage = (m) => this.handle(m);
    options.transport.onClose = (e) => {
      if (this.#state === 'closed') return;
      this.#fail(e ?? new ProtocolError('ERR_TURN_TRANSPORT_CLOSED', 'TURN transport closed'));
    };
  }

  get state(): TurnClientState {
    return this.#state;
  }
  get allocation(): Allocation | undefined {
    return this.#allocation;
  }
  get transport(): TurnTransport {
    return this.#o.transport;
  }
  /** Channel number bound to a peer, if any. */
  channelFor(peer: TransportAddress): number | undefined {
    const c = this.#channels.get(peerKey(peer));
    return c?.bound ? c.number : undefined;
  }
  hasPermission(ip: string): boolean {
    const p = this.#permissions.get(ip);
    return p !== undefined && p.pending === undefined && p.expires > this.#o.clock.now();
  }

  #setState(s: TurnClientState): void {
    if (this.#state === s) return;
    this.#state = s;
    this.emit('statechange', s);
  }

  /** Make the allocation. */
  async allocate(): Promise<Allocation> {
    if (this.#state === 'closed') throw new StateError('ERR_TURN_CLOSED', 'TURN client closed');
    this.#setState('allocating');
    try {
      const res = await this.#request(METHOD.ALLOCATE, () => [
        attr.requestedTransport(TRANSPORT_UDP),
        attr.lifetime(this.#o.lifetime ?? DEFAULT_LIFETIME),
        attr.dontFragment(),
      ]);
      const relayed = read.xorRelayedAddress(res);
      if (!relayed)
        throw new ProtocolError(
          'ERR_TURN_NO_RELAYED_ADDRESS',
          'Allocate success without XOR-RELAYED-ADDRESS',
        );
      const a: Allocation = {
        relayed,
        mapped: read.xorMappedAddress(res),
        lifetime: read.lifetime(res) ?? this.#o.lifetime ?? DEFAULT_LIFETIME,
      };
      this.#allocation = a;
      this.#setState('allocated');
      this.#scheduleRefresh(a.lifetime);
      this.emit('allocated', a);
      return a;
    } catch (err) {
      this.#fail(err as Error);
      throw err;
    }
  }

  /**
   * Send application data to a peer through the relay: ChannelData when a channel is bound, a
   * Send indication otherwise. Installs the permission first when needed (data is queued meanwhile).
   */
  sendTo(peer: TransportAddress, data: Uint8Array): boolean {
    if (this.#state !== 'allocated') return false;
    const now = this.#o.clock.now();
    let perm = this.#permissions.get(peer.address);
    if (!perm) {
      perm = { expires: 0, lastUsed: now, pending: undefined, queue: [], refresh: undefined };
      this.#permissions.set(peer.address, perm);
      void this.#createPermission(peer.address).catch(() => {});
    }
    perm.lastUsed = now;
    if (perm.pending || perm.expires <= now) {
      if (perm.queue.length < 64) perm.queue.push([peer, data.slice()]);
      if (!perm.pending) void this.#createPermission(peer.address).catch(() => {});
      return true;
    }
    return this.#sendNow(peer, data);
  }

  #sendNow(peer: TransportAddress, data: Uint8Array): boolean {
    const ch = this.#channels.get(peerKey(peer));
    this.packetsSent++;
    if (ch?.bound) {
      return this.#o.transport.send(
        serializeChannelData({ channel: ch.number, data }, { pad: this.#o.transport.protocol !== 'udp' }),
      );
    }
    const tid = this.#o.random.bytes(12);
    const msg = createMessage(METHOD.SEND, 'indication', tid, [
      attr.xorPeerAddress(peer, tid),
      attr.data(data),
    ]);
    return this.#o.transport.send(serializeStunMessage(msg));
  }

  /** RFC 8656 §10: install (or refresh) the permission for a peer IP. */
  #createPermission(ip: string): Promise<void> {
    let perm = this.#permissions.get(ip);
    if (!perm) {
      perm = { expires: 0, lastUsed: this.#o.clock.now(), pending: undefined, queue: [], refresh: undefined };
      this.#permissions.set(ip, perm);
    }
    if (perm.pending) return perm.pending;
    const p = perm;
    const peer: TransportAddress = { address: ip, port: 0 };
    p.pending = this.#request(METHOD.CREATE_PERMISSION, (tid) => [attr.xorPeerAddress(peer, tid)])
      .then(() => {
        p.pending = undefined;
        p.expires = this.#o.clock.now() + PERMISSION_LIFETIME_MS;
        p.refresh?.cancel();
        // Refresh a minute early while the peer is still in use (RFC 8656 §10: 300 s lifetime).
        p.refresh = this.#o.clock.setTimeout(() => {
          p.refresh = undefined;
          if (this.#state !== 'allocated') return;
          if (this.#o.clock.now() - p.lastUsed < PERMISSION_LIFETIME_MS)
            void this.#createPermission(ip).catch(() => {});
        }, PERMISSION_LIFETIME_MS - 60_000);
        const q = p.queue;
        p.queue = [];
        for (const [to, d] of q) this.#sendNow(to, d);
      })
      .catch((err: Error) => {
        p.pending = undefined;
        p.queue = [];
        this.#log.debug('CreatePermission failed', { ip, error: err.message });
        throw err;
      });
    return p.pending;
  }

  /** Permission for peers we expect to hear from (ICE: every remote candidate of a relay pair). */
  permit(ip: string): Promise<void> {
    if (this.#state !== 'allocated')
      return Promise.reject(new StateError('ERR_TURN_NOT_ALLOCATED', 'no allocation'));
    const p = this.#permissions.get(ip);
    if (p && !p.pending && p.expires > this.#o.clock.now()) {
      p.lastUsed = this.#o.clock.now();
      return Promise.resolve();
    }
    return this.#createPermission(ip);
  }

  /** RFC 8656 §12: bind a channel to a peer (also installs the permission); refreshed every 9 min. */
  async bindChannel(peer: TransportAddress): Promise<number> {
    if (this.#state !== 'allocated') throw new StateError('ERR_TURN_NOT_ALLOCATED', 'no allocation');
    const k = peerKey(peer);
    let ch = this.#channels.get(k);
    if (!ch) {
      if (this.#nextChannel > 0x4fff)
        throw new StateError('ERR_TURN_NO_CHANNELS', 'channel numbers exhausted');
      ch = { number: this.#nextChannel++, peer, bound: false, refresh: undefined };
      this.#channels.set(k, ch);
      this.#channelByNumber.set(ch.number, ch);
    }
    const c = ch;
    await this.#request(METHOD.CHANNEL_BIND, (tid) => [
      attr.channelNumber(c.number),
      attr.xorPeerAddress(peer, tid),
    ]);
    c.bound = true;
    const perm = this.#permissions.get(peer.address);
    if (perm) perm.expires = this.#o.clock.now() + PERMISSION_LIFETIME_MS;
    c.refresh?.cancel();
    c.refresh = this.#o.clock.setTimeout(() => {
      c.refresh = undefined;
      if (this.#state === 'allocated') void this.bindChannel(peer).catch(() => {});
    }, CHANNEL_LIFETIME_MS - 60_000);
    return c.number;
  }

  /** Input from the server: one STUN message or ChannelData. */
  handle(bytes: Uint8Array): void {
    if (this.#state === 'closed') return;
    const b0 = bytes[0];
    if (b0 === undefined) return;
    try {
      if (isChannelDataByte(b0)) {
        const cd = parseChannelData(bytes);
        const ch = this.#channelByNumber.get(cd.channel);
        if (!ch) {
          this.droppedPackets++;
          return;
        }
        this.packetsReceived++;
        this.emit('data', ch.peer, cd.data);
        return;
      }
      const msg = parseStunMessage(bytes);
      if (msg.cls === 'indication') {
        if (msg.method !== METHOD.DATA) return;
        const peer = read.xorPeerAddress(msg);
        const data = read.data(msg);
        if (!peer || !data) {
          this.droppedPackets++;
          return;
        }
        this.packetsReceived++;
        this.emit('data', peer, data);
        return;
      }
      const k = toHex(msg.transactionId);
      const p = this.#pending.get(k);
      if (!p || p.method !== msg.method) return;
      this.#pending.delete(k);
      p.timer?.cancel();
      p.deadline?.cancel();
      p.resolve(msg);
    } catch (err) {
      if (err instanceof RtcError) this.droppedPackets++;
      else throw err;
    }
  }

  /**
   * One authenticated request with the 401 and 438 dances (RFC 8656 §7.2, RFC 8489 §9.2.4):
   * resolves with the success response, rejects with TurnError / TimeoutError.
   */
  async #request(
    method: number,
    build: (tid: Uint8Array) => StunAttribute[],
    retries = 3,
  ): Promise<ParsedStunMessage> {
    for (let attempt = 0; ; attempt++) {
      const tid = this.#o.random.bytes(12);
      const attrs = build(tid);
      if (this.#o.software) attrs.push(attr.software(this.#o.software));
      if (this.#key && this.#realm !== undefined && this.#nonce !== undefined) {
        attrs.push(attr.username(this.#o.username), attr.realm(this.#realm), attr.nonce(this.#nonce));
      }
      const bytes = serializeStunMessage(
        createMessage(method, 'request', tid, attrs),
        this.#key && this.#nonce !== undefined
          ? { integrity: this.#key, fingerprint: true }
          : { fingerprint: true },
      );
      const res = await this.#transact(method, tid, bytes);
      if (res.cls === 'success') {
        // A response to an authenticated request must carry valid integrity (RFC 8489 §9.2.5).
        if (this.#key && res.integrityOffset >= 0 && !verifyIntegrity(res, this.#key)) {
          throw new ProtocolError('ERR_TURN_BAD_INTEGRITY', 'response integrity check failed');
        }
        return res;
      }
      const err = read.errorCode(res);
      const code = err?.code ?? 0;
      const realm = read.realm(res);
      const nonce = read.nonce(res);
      if (
        attempt < retries &&
        code === ERROR.UNAUTHORIZED &&
        realm !== undefined &&
        nonce !== undefined &&
        !this.#key
      ) {
        this.#realm = realm;
        this.#nonce = nonce;
        this.#key = longTermKey(this.#o.username, realm, this.#o.password);
        continue;
      }
      if (attempt < retries && code === ERROR.STALE_NONCE && nonce !== undefined) {
        this.staleNonces++;
        this.#nonce = nonce;
        if (realm !== undefined && realm !== this.#realm) {
          this.#realm = realm;
          this.#key = longTermKey(this.#o.username, realm, this.#o.password);
        }
        continue;
      }
      throw new TurnError(code, err?.reason ?? 'unknown');
    }
  }

  #transact(method: number, tid: Uint8Array, bytes: Uint8Array): Promise<ParsedStunMessage> {
    const udp = this.#o.transport.protocol === 'udp';
    return new Promise((resolve, reject) => {
      const k = toHex(tid);
      const p: Pending = {
        method,
        bytes,
        resolve,
        reject,
        timer: undefined,
        deadline: undefined,
        rto: this.#o.rto ?? 500,
      };
      this.#pending.set(k, p);
      const send = (): void => {
        this.#o.transport.send(bytes);
        if (!udp) return;
        p.timer = this.#o.clock.setTimeout(() => {
          p.rto *= 2;
          send();
        }, p.rto);
      };
      p.deadline = this.#o.clock.setTimeout(() => {
        p.timer?.cancel();
        this.#pending.delete(k);
        reject(new TimeoutError('ERR_TURN_TIMEOUT', 'TURN transaction timed out'));
      }, this.#o.transactionTimeout ?? 39_500);
      send();
    });
  }

  #scheduleRefresh(lifetime: number): void {
    this.#refreshTimer?.cancel();
    // Refresh a minute before expiry, or at 80 % for short lifetimes.
    const ms = Math.max(1000, Math.min(lifetime * 1000 - 60_000, lifetime * 800));
    this.#refreshTimer = this.#o.clock.setTimeout(() => {
      this.#refreshTimer = undefined;
      void this.#refresh();
    }, ms);
  }

  async #refresh(): Promise<void> {
    if (this.#state !== 'allocated') return;
    try {
      const res = await this.#request(METHOD.REFRESH, () => [
        attr.lifetime(this.#o.lifetime ?? DEFAULT_LIFETIME),
      ]);
      this.refreshes++;
      if (this.#state === 'allocated')
        this.#scheduleRefresh(read.lifetime(res) ?? this.#o.lifetime ?? DEFAULT_LIFETIME);
    } catch (err) {
      if (this.#state !== 'allocated') return;
      this.#log.info('TURN refresh failed', { error: (err as Error).message });
      await this.#reallocate(err as Error);
    }
  }

  /** The allocation is gone (437, timeout): make a new one with fresh state. */
  async #reallocate(cause: Error): Promise<void> {
    if (this.#o.reallocate === false) {
      this.#fail(cause);
      return;
    }
    this.reallocations++;
    this.#clearPeers();
    this.#allocation = undefined;
    this.#nonce = undefined;
    this.#key = undefined;
    this.#realm = undefined;
    try {
      const a = await this.allocate();
      this.emit('reallocated', a);
    } catch {
      /* allocate() already failed the client */
    }
  }

  #clearPeers(): void {
    for (const p of this.#permissions.values()) p.refresh?.cancel();
    for (const c of this.#channels.values()) c.refresh?.cancel();
    this.#permissions.clear();
    this.#channels.clear();
    this.#channelByNumber.clear();
  }

  #fail(err: Error): void {
    if (this.#state === 'failed' || this.#state === 'closed') return;
    this.#refreshTimer?.cancel();
    this.#clearPeers();
    this.#setState('failed');
    this.emit('failed', err);
  }

  /**
   * Release the allocation (Refresh with LIFETIME 0, RFC 8656 §8) and close the transport. Waits
   * at most `timeoutMs` for the server's answer.
   */
  async close(timeoutMs = 1000): Promise<void> {
    if (this.#state === 'closed') return;
    const wasAllocated = this.#state === 'allocated';
    this.#refreshTimer?.cancel();
    this.#clearPeers();
    if (wasAllocated) {
      const tid = this.#o.random.bytes(12);
      const attrs: StunAttribute[] = [attr.lifetime(0)];
      if (this.#key && this.#realm !== undefined && this.#nonce !== undefined) {
        attrs.push(attr.username(this.#o.username), attr.realm(this.#realm), attr.nonce(this.#nonce));
      }
      const bytes = serializeStunMessage(
        createMessage(METHOD.REFRESH, 'request', tid, attrs),
        this.#key ? { integrity: this.#key, fingerprint: true } : { fingerprint: true },
      );
      let timer: Timer | undefined;
      await Promise.race([
        this.#transact(METHOD.REFRESH, tid, bytes).catch(() => undefined),
        new Promise<void>((r) => {
          timer = this.#o.clock.setTimeout(r, timeoutMs);
        }),
      ]);
      timer?.cancel();
    }
    this.#setState('closed');
    for (const p of this.#pending.values()) {
      p.timer?.cancel();
      p.deadline?.cancel();
      p.reject(new StateError('ERR_TURN_CLOSED', 'TURN client closed'));
    }
    this.#pending.clear();
    this.#o.transport.close();
  }

  /** Close at once without deallocating (the server lets the allocation expire). */
  abort(): void {
    if (this.#state === 'closed') return;
    this.#refreshTimer?.cancel();
    this.#clearPeers();
    this.#setState('closed');
    for (const p of this.#pending.values()) {
      p.timer?.cancel();
      p.deadline?.cancel();
      p.reject(new StateError('ERR_TURN_CLOSED', 'TURN client closed'));
    }
    this.#pending.clear();
    this.#o.transport.close();
  }
}
