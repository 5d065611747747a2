/**
 * The TURN server engine (RFC 8656): Allocate, Refresh, CreatePermission, ChannelBind, Send
 * indications, ChannelData, plus Binding on the same ports. Sans-IO in the sense of the project:
 * listeners hand it bytes with a `ClientLink` (the 5-tuple's client end), time comes from the
 * injected Clock, relay sockets come from the injected `Network` (real or virtual).
 *
 * Authentication is the long-term mechanism (RFC 8489 §9.2) with stateless expiring nonces; users
 * are static or TURN REST ephemeral (see `credentials.ts`).
 */
import { randomBytes } from 'node:crypto';
import type { Clock, Timer } from '../../core/clock.js';
import { ParseError } from '../../core/errors.js';
import { type Logger, silentLogger } from '../../core/log.js';
import { type AddressFamily, familyOf, type TcpListener, type UdpSocket } from '../../core/net.js';
import type { Random } from '../../core/random.js';
import { attr, read } from '../../stun/attributes.js';
import { ERROR, FAMILY_IPV4, FAMILY_IPV6, KNOWN_ATTRIBUTES, METHOD } from '../../stun/constants.js';
import { type ParsedStunMessage, parseStunMessage, type StunAttribute } from '../../stun/message.js';
import { serializeStunMessage } from '../../stun/serialize.js';
import { Allocation, type ClientLink } from './allocation.js';
import { Authenticator } from './auth.js';
import type { PeerConnection, RequestContext, TurnHost } from './context.js';
import type { Credentials } from './credentials.js';
import {
  handleChannelBind,
  handleConnect,
  handleConnectionBind,
  handleCreatePermission,
  handleSend,
} from './handlers.js';
import { readSendIndication, SEND_INDICATION_TYPE, type SendIndicationFields } from './indications.js';
import { NonceIssuer } from './nonce.js';
import type { PeerPolicy } from './peer-policy.js';
import { ByteBucket, RateLimiter } from './rate-limit.js';
import type { RelayPorts } from './relay-ports.js';
import { TurnStats } from './stats.js';
import { noUdpRelay, TcpRelay } from './tcp-relay.js';

/** RFC 8656 §18.8: REQUESTED-TRANSPORT protocol number for UDP. */
export const PROTOCOL_UDP = 17;
/** RFC 6062 §6.1: REQUESTED-TRANSPORT protocol number for TCP. */
export const PROTOCOL_TCP = 6;
/** RFC 8656 §3.2: default allocation lifetime. */
export const DEFAULT_LIFETIME_S = 600;
/** RFC 8656 §7.2: a server's maximum lifetime is typically one hour. */
export const MAX_LIFETIME_S = 3600;

export interface TurnEngineOptions {
  readonly realm: string;
  readonly credentials: Credentials;
  readonly policy: PeerPolicy;
  readonly relayPorts: RelayPorts;
  readonly clock: Clock;
  /** For Data indication transaction ids and port choice (not secrets). */
  readonly random: Random;
  readonly logger?: Logger;
  /** Relay IP -> address to advertise in XOR-RELAYED-ADDRESS (coturn `--external-ip`). */
  readonly externalIps?: ReadonlyMap<string, string>;
  readonly defaultLifetimeS?: number;
  readonly maxLifetimeS?: number;
  /** Allocations per account (0 = unlimited; coturn `--user-quota`). */
  readonly userQuota?: number;
  /** Allocations in total (0 = unlimited; coturn `--total-quota`). */
  readonly totalQuota?: number;
  /** Bytes per second per allocation (0 = unlimited; coturn `--max-bps`). */
  readonly maxBps?: number;
  /** Nonce lifetime (coturn `--stale-nonce`, default 600 s). */
  readonly nonceLifetimeS?: number;
  /** Unauthenticated TURN requests per second per source IP (default 20, burst 40). */
  readonly unauthRate?: number;
  /** Most peer IPs with permissions per allocation (default 1000). */
  readonly maxPermissions?: number;
  readonly software?: string;
  /**
   * Accept only RFC 8656 channel numbers (0x4000-0x4FFF). Default false: the RFC 5766 range up to
   * 0x7FFF is accepted too, because clients built on it (coturn's uclient) still use it.
   */
  readonly strictChannelRange?: boolean;
}

/** RFC 8656 §7.2: how long a reserved port (EVEN-PORT R bit) is held for its RESERVATION-TOKEN. */
export const RESERVATION_LIFETIME_MS = 30_000;
/** Most reservations held at once (each is one bound socket). */
const MAX_RESERVATIONS = 1024;

export class TurnEngine implements TurnHost {
  readonly stats = new TurnStats();
  readonly options: TurnEngineOptions;
  readonly allocations = new Set<Allocation>();
  readonly peerConnections = new Map<number, PeerConnection>();
  readonly #perAccount = new Map<string, number>();
  /** 5-tuples with an Allocate in progress (the relay bind is async). Bounded by the quotas. */
  readonly #pending = new Set<string>();
  readonly #auth: Authenticator;
  readonly #log: Logger;
  readonly #reservations = new Map<string, { socket: UdpSocket; timer: Timer; family: AddressFamily }>();
  #nextId = 1;
  #closed = false;
  /** Filled by `readSendIndication` for each Send indication (one object, reused). */
  readonly #send: SendIndicationFields = { ipOffset: 0, ipLength: 0, port: 0, dataOffset: 0, dataLength: 0 };

  constructor(options: TurnEngineOptions) {
    this.options = options;
    const nonces = new NonceIssuer(options.clock, (options.nonceLifetimeS ?? 600) * 1000);
    const rate = options.unauthRate ?? 20;
    this.#auth = new Authenticator({
      realm: options.realm,
      credentials: options.credentials,
      clock: options.clock,
      stats: this.stats,
      nonces,
      limiter: new RateLimiter(rate, rate * 2),
    });
    this.#log = options.logger ?? silentLogger;
  }

  get clock(): Clock {
    return this.options.clock;
  }

  /** Sources tracked by the unauthenticated rate limiter (bounded). */
  get rateLimiterSize(): number {
    return this.#auth.limiter.size;
  }

  get pendingAllocates(): number {
    return this.#pending.size;
  }

  get reservations(): number {
    return this.#reservations.size;
  }

  /** Highest channel number accepted in ChannelBind and ChannelData. */
  get maxChannelNumber(): number {
    return this.options.strictChannelRange ? 0x4fff : 0x7fff;
  }

  /** A STUN message (datagram or stream frame) from a client. Never throws on bad input. */
  handleStun(data: Uint8Array, link: ClientLink, allocation: Allocation | undefined): void {
    if (this.#closed) return;
    // Hot path: a Send indication of the usual shape is relayed without building a message.
    if (
      allocation !== undefined &&
      data[1] === (SEND_INDICATION_TYPE & 0xff) &&
      data[0] === SEND_INDICATION_TYPE >> 8 &&
      readSendIndication(data, this.#send)
    ) {
      allocation.sendIndicationToPeer(data, this.#send);
      return;
    }
    let msg: ParsedStunMessage;
    try {
      msg = parseStunMessage(data);
    } catch (err) {
      if (err instanceof ParseError) {
        this.stats.parseErrors++;
        return;
      }
      throw err;
    }
    try {
      this.#dispatch(msg, link, allocation);
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      // A malformed attribute value: 400 for requests, silence otherwise.
      this.stats.parseErrors++;
      if (msg.cls === 'request')
        this.#error(msg, link, ERROR.BAD_REQUEST, 'Bad Request', undefined, undefined);
    }
  }

  /**
   * ChannelData from a client (hot path): `frame` holds the 4-byte header and at least `len` bytes
   * after it. Drops silently (counted) when there is no allocation or binding.
   */
  handleChannelData(frame: Uint8Array, allocation: Allocation | undefined): void {
    if (allocation === undefined) {
      this.stats.droppedClientData++;
      return;
    }
    const len = (frame[2]! << 8) | frame[3]!;
    if (len + 4 > frame.length) {
      this.stats.parseErrors++;
      return;
    }
    allocation.channelToPeer((frame[0]! << 8) | frame[1]!, frame, len);
  }

  #dispatch(msg: ParsedStunMessage, link: ClientLink, allocation: Allocation | undefined): void {
    const fingerprint = msg.fingerprintOffset >= 0;
    if (msg.cls === 'indication') {
      if (msg.method === METHOD.SEND && allocation) handleSend(this, msg, allocation);
      else this.stats.droppedClientData++;
      return;
    }
    if (msg.cls !== 'request') return; // responses from clients are ignored
    if (msg.method === METHOD.BINDING) {
      this.#reply(
        msg,
        link,
        'success',
        [attr.xorMappedAddress(link.remote, msg.transactionId)],
        undefined,
        fingerprint,
      );
      return;
    }
    const known =
      msg.method === METHOD.ALLOCATE ||
      msg.method === METHOD.REFRESH ||
      msg.method === METHOD.CREATE_PERMISSION ||
      msg.method === METHOD.CHANNEL_BIND ||
      msg.method === METHOD.CONNECT ||
      msg.method === METHOD.CONNECTION_BIND;
    if (!known) {
      this.#error(msg, link, ERROR.BAD_REQUEST, 'Unsupported method', undefined, undefined);
      return;
    }
    const unknown: number[] = [];
    for (const a of msg.attributes) {
      if (a.type < 0x8000 && !KNOWN_ATTRIBUTES.has(a.type) && !unknown.includes(a.type)) unknown.push(a.type);
    }
    if (unknown.length > 0) {
      this.#error(msg, link, ERROR.UNKNOWN_ATTRIBUTE, 'Unknown Attribute', undefined, undefined, [
        attr.unknownAttributes(unknown),
      ]);
      return;
    }
    const auth = this.#auth.authenticate(msg, link, allocation, (code, reason, key, extra) =>
      this.#error(msg, link, code, reason, key, key ? msg.fingerprintOffset >= 0 : undefined, extra),
    );
    if (!auth) return;
    const ctx: RequestContext = {
      msg,
      link,
      allocation,
      key: auth.key,
      username: auth.username,
      fingerprint,
    };
    switch (msg.method) {
      case METHOD.ALLOCATE:
        this.#allocate(ctx, auth.account, auth.username, auth.expiresAt);
        return;
      case METHOD.REFRESH:
        this.#refresh(ctx, auth.expiresAt);
        return;
      case METHOD.CREATE_PERMISSION:
        handleCreatePermission(this, ctx);
        return;
      case METHOD.CHANNEL_BIND:
        handleChannelBind(this, ctx);
        return;
      case METHOD.CONNECT:
        handleConnect(this, ctx);
        return;
      case METHOD.CONNECTION_BIND:
        handleConnectionBind(this, ctx);
        return;
    }
  }

  /** Lifetime (ms) capped by the credential's expiry; 0 when the credential has run out. */
  #capLifetime(seconds: number, credentialExpiresAt: number | undefined): number {
    let ms = seconds * 1000;
    if (credentialExpiresAt !== undefined) ms = Math.min(ms, credentialExpiresAt - this.clock.wallNow());
    return Math.max(0, Math.floor(ms));
  }

  /** RFC 8656 §7.2: Allocate. */
  #allocate(
    ctx: RequestContext,
    account: string,
    username: string,
    credentialExpiresAt: number | undefined,
  ): void {
    const { msg, link, key, fingerprint } = ctx;
    const o = this.options;
    if (ctx.allocation) {
      const a = ctx.allocation;
      if (a.allocateResponse && bytesEq(a.transactionId, msg.transactionId)) {
        link.send(a.allocateResponse); // retransmission of the Allocate that created it
      } else {
        this.#error(msg, link, ERROR.ALLOCATION_MISMATCH, 'Allocation Mismatch', key, fingerprint);
      }
      return;
    }
    const tupleKey = `${link.transport}|${link.remote.address}|${link.remote.port}|${link.local.address}|${link.local.port}`;
    if (this.#pending.has(tupleKey)) return; // retransmission while the relay is being bound
    const transport = read.requestedTransport(msg);
    if (transport === undefined) {
      this.#error(msg, link, ERROR.BAD_REQUEST, 'Missing REQUESTED-TRANSPORT', key, fingerprint);
      return;
    }
    const tcpRelay = transport === PROTOCOL_TCP && link.stream;
    if (
      tcpRelay &&
      (read.dontFragment(msg) || read.evenPort(msg) !== undefined || read.reservationToken(msg) !== undefined)
    ) {
      // RFC 6062 §5.1: these make no sense for a TCP relay.
      this.#error(msg, link, ERROR.BAD_REQUEST, 'Bad Request', key, fingerprint);
      return;
    }
    if (transport !== PROTOCOL_UDP && !tcpRelay) {
      this.#error(
        msg,
        link,
        ERROR.UNSUPPORTED_TRANSPORT_PROTOCOL,
        'Unsupported Transport Protocol',
        key,
        fingerprint,
      );
      return;
    }
    const token = read.reservationToken(msg);
    const famAttr = read.requestedAddressFamily(msg);
    if (token && famAttr !== undefined) {
      this.#error(msg, link, ERROR.BAD_REQUEST, 'Bad Request', key, fingerprint);
      return;
    }
    let reserved: { socket: UdpSocket; timer: Timer; family: AddressFamily } | undefined;
    if (token) {
      const hex = Buffer.from(token).toString('hex');
      reserved = this.#reservations.get(hex);
      if (!reserved) {
        this.stats.quotaRefusals++;
        this.#error(msg, link, ERROR.INSUFFICIENT_CAPACITY, 'Insufficient Capacity', key, fingerprint);
        return;
      }
      this.#reservations.delete(hex);
      reserved.timer.cancel();
    }
    const even = read.evenPort(msg);
    if (even === true && this.#reservations.size >= MAX_RESERVATIONS) {
      this.stats.quotaRefusals++;
      this.#error(msg, link, ERROR.INSUFFICIENT_CAPACITY, 'Insufficient Capacity', key, fingerprint);
      return;
    }
    // REQUESTED-ADDRESS-FAMILY picks IPv6 or keeps the default; any other value, or a family the
    // relay has no address for, is 440.
    const family: AddressFamily | undefined =
      famAttr === FAMILY_IPV6
        ? 'IPv6'
        : famAttr === undefined || famAttr === FAMILY_IPV4
          ? (reserved?.family ?? 'IPv4')
          : undefined;
    if (family === undefined || !o.relayPorts.supports(family)) {
      this.#error(
        msg,
        link,
        ERROR.ADDRESS_FAMILY_NOT_SUPPORTED,
        'Address Family not Supported',
        key,
        fingerprint,
      );
      return;
    }
    const userCount = this.#perAccount.get(account) ?? 0;
    const total = this.allocations.size + this.#pending.size;
    if ((o.userQuota && userCount >= o.userQuota) || (o.totalQuota && total >= o.totalQuota)) {
      reserved?.socket.close();
      this.stats.quotaRefusals++;
      this.#error(msg, link, ERROR.ALLOCATION_QUOTA_REACHED, 'Allocation Quota Reached', key, fingerprint);
      return;
    }
    const requested = read.lifetime(msg);
    const maxS = o.maxLifetimeS ?? MAX_LIFETIME_S;
    const defS = o.defaultLifetimeS ?? DEFAULT_LIFETIME_S;
    const wanted = requested === undefined ? defS : Math.max(defS, Math.min(requested, maxS));
    const lifetimeMs = this.#capLifetime(wanted, credentialExpiresAt);
    if (lifetimeMs < 1000) {
      reserved?.socket.close();
      this.stats.authFailures++;
      this.#error(msg, link, ERROR.UNAUTHORIZED, 'Credential Expired', key, fingerprint);
      return;
    }
    this.#pending.add(tupleKey);
    this.#perAccount.set(account, userCount + 1);
    let reservationToken: Uint8Array | undefined;
    let tcpListener: TcpListener | undefined;
    const bound: Promise<UdpSocket | undefined> = tcpRelay
      ? o.relayPorts.bindTcp(family).then((l) => {
          tcpListener = l;
          return l ? noUdpRelay(l.local) : undefined;
        })
      : reserved
        ? Promise.resolve(reserved.socket)
        : even === true
          ? o.relayPorts.bindPair(family).then((pair) => {
              if (!pair) return undefined;
              if (this.#closed) {
                pair[1].close();
                return pair[0];
              }
              reservationToken = new Uint8Array(randomBytes(8));
              const hex = Buffer.from(reservationToken).toString('hex');
              const timer = this.clock.setTimeout(() => {
                this.#reservations.get(hex)?.socket.close();
                this.#reservations.delete(hex);
              }, RESERVATION_LIFETIME_MS);
              this.#reservations.set(hex, { socket: pair[1], timer, family });
              return pair[0];
            })
          : o.relayPorts.bind(family, even === false);
    void bound.then(
      (relay) => {
        this.#pending.delete(tupleKey);
        if (!relay || this.#closed || link.closed) {
          relay?.close();
          tcpListener?.close();
          this.#releaseAccount(account);
          if (!relay) {
            this.stats.quotaRefusals++;
            this.#error(msg, link, ERROR.INSUFFICIENT_CAPACITY, 'Insufficient Capacity', key, fingerprint);
          }
          return;
        }
        const relayed = {
          address: o.externalIps?.get(relay.local.address) ?? relay.local.address,
          port: relay.local.port,
        };
        const a = new Allocation({
          id: this.#nextId++,
          link,
          relay,
          relayed,
          username,
          account,
          realm: o.realm,
          key: key!,
          credentialExpiresAt,
          transactionId: msg.transactionId.slice(),
          clock: this.clock,
          random: o.random,
          stats: this.stats,
          bucket: o.maxBps ? new ByteBucket(o.maxBps, this.clock.now()) : undefined,
          maxPermissions: o.maxPermissions ?? 1000,
        });
        a.onClose = (x) => this.#ended(x);
        if (tcpListener) a.tcp = new TcpRelay(this, a, tcpListener);
        this.allocations.add(a);
        this.stats.allocations[link.transport]++;
        this.stats.allocationsCreated++;
        link.attach(a);
        a.refresh(lifetimeMs);
        const resp = this.#build(
          msg,
          'success',
          [
            attr.xorRelayedAddress(relayed, msg.transactionId),
            attr.lifetime(Math.floor(lifetimeMs / 1000)),
            attr.xorMappedAddress(link.remote, msg.transactionId),
            ...(reservationToken ? [attr.reservationToken(reservationToken)] : []),
          ],
          key,
          fingerprint,
        );
        a.allocateResponse = resp;
        this.#log.debug('allocation', { id: a.id, client: link.remote, relayed, user: username });
        link.send(resp);
      },
      (err: unknown) => {
        this.#pending.delete(tupleKey);
        this.#releaseAccount(account);
        this.#log.error('relay bind failed', { error: String(err) });
      },
    );
  }

  /** RFC 8656 §7.3: Refresh (lifetime 0 deletes). */
  #refresh(ctx: RequestContext, credentialExpiresAt: number | undefined): void {
    const { msg, link, key, fingerprint, allocation } = ctx;
    if (!allocation) {
      this.#error(msg, link, ERROR.ALLOCATION_MISMATCH, 'Allocation Mismatch', key, fingerprint);
      return;
    }
    const fam = read.requestedAddressFamily(msg);
    if (
      fam !== undefined &&
      fam !== (familyOf(allocation.relayed.address) === 'IPv6' ? FAMILY_IPV6 : FAMILY_IPV4)
    ) {
      this.#error(
        msg,
        link,
        ERROR.PEER_ADDRESS_FAMILY_MISMATCH,
        'Peer Address Family Mismatch',
        key,
        fingerprint,
      );
      return;
    }
    const requested = read.lifetime(msg);
    const o = this.options;
    const wanted =
      requested === undefined
        ? (o.defaultLifetimeS ?? DEFAULT_LIFETIME_S)
        : Math.min(requested, o.maxLifetimeS ?? MAX_LIFETIME_S);
    if (wanted === 0) {
      allocation.close();
      this.#reply(msg, link, 'success', [attr.lifetime(0)], key, fingerprint);
      return;
    }
    const ms = this.#capLifetime(wanted, credentialExpiresAt ?? allocation.credentialExpiresAt);
    if (ms < 1000) {
      this.stats.authFailures++;
      this.#error(msg, link, ERROR.UNAUTHORIZED, 'Credential Expired', key, fingerprint);
      return;
    }
    allocation.refresh(ms);
    this.#reply(msg, link, 'success', [attr.lifetime(Math.floor(ms / 1000))], key, fingerprint);
  }

  #ended(a: Allocation): void {
    if (!this.allocations.delete(a)) return;
    this.stats.allocations[a.link.transport]--;
    this.stats.allocationsEnded++;
    this.#releaseAccount(a.account);
    a.link.detach(a);
    this.#log.debug('allocation ended', { id: a.id });
  }

  #releaseAccount(account: string): void {
    const n = (this.#perAccount.get(account) ?? 1) - 1;
    if (n <= 0) this.#perAccount.delete(account);
    else this.#perAccount.set(account, n);
  }

  /** Allocations held by an account (for quota tests and metrics). */
  allocationsOf(account: string): number {
    return this.#perAccount.get(account) ?? 0;
  }

  #build(
    msg: ParsedStunMessage,
    cls: 'success' | 'error',
    attributes: StunAttribute[],
    key: Uint8Array | undefined,
    fingerprint: boolean | undefined,
  ): Uint8Array {
    if (this.options.software) attributes.push(attr.software(this.options.software));
    return serializeStunMessage(
      { method: msg.method, cls, transactionId: msg.transactionId, attributes },
      { integrity: key, fingerprint: fingerprint ?? msg.fingerprintOffset >= 0 },
    );
  }

  /** Send a success response with these attributes. */
  reply(ctx: RequestContext, attributes: StunAttribute[]): void {
    this.#reply(ctx.msg, ctx.link, 'success', attributes, ctx.key, ctx.fingerprint);
  }

  /** Send an error response (integrity-protected when the request was authenticated). */
  error(ctx: RequestContext, code: number, reason: string): void {
    this.#error(ctx.msg, ctx.link, code, reason, ctx.key, ctx.fingerprint);
  }

  #reply(
    msg: ParsedStunMessage,
    link: ClientLink,
    cls: 'success' | 'error',
    attributes: StunAttribute[],
    key: Uint8Array | undefined,
    fingerprint: boolean | undefined,
  ): void {
    link.send(this.#build(msg, cls, attributes, key, fingerprint));
  }

  #error(
    msg: ParsedStunMessage,
    link: ClientLink,
    code: number,
    reason: string,
    key: Uint8Array | undefined,
    fingerprint: boolean | undefined,
    extra: StunAttribute[] = [],
  ): void {
    this.#reply(msg, link, 'error', [attr.errorCode(code, reason), ...extra], key, fingerprint);
  }

  /** End every allocation and refuse further input. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const a of [...this.allocations]) a.close();
    for (const r of this.#reservations.values()) {
      r.timer.cancel();
      r.socket.close();
    }
    this.#reservations.clear();
  }
}

function bytesEq(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
