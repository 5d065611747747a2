/**
 * The STUN server's request processing, sans-IO (RFC 8489 §6.3, RFC 5780 §6). It takes datagrams
 * or framed stream messages with where they came from, and answers through injected send
 * functions. Binding is built in; other methods (the TURN server's Allocate, Refresh, Send, ...)
 * plug in with `setMethodHandler`, and non-STUN bytes (ChannelData) with `setNonStunHandler`.
 *
 * Bad input never throws: malformed, truncated, wrong-FINGERPRINT, non-request messages are
 * dropped and counted. Nothing that is not a valid request is answered, and a response is never
 * padded beyond the size of the request that asked for it (no amplification through PADDING).
 */
import { ParseError } from '../../core/errors.js';
import { type Logger, silentLogger } from '../../core/log.js';
import type { TransportAddress } from '../../core/net.js';
import { attr, encodeAddress, unknownComprehensionRequired } from '../../stun/attributes.js';
import { ATTR, ERROR, KNOWN_ATTRIBUTES, METHOD } from '../../stun/constants.js';
import { crc32Range } from '../../stun/crc32.js';
import { ipToBytes } from '../../stun/ip.js';
import { createMessage, getAttribute, type ParsedStunMessage, parseStunMessage } from '../../stun/message.js';
import { serializeStunMessage } from '../../stun/serialize.js';

/** Which of the (up to) 2 IPs x 2 ports a message arrived on / leaves from. */
export interface Endpoint {
  readonly ip: 0 | 1;
  readonly port: 0 | 1;
}

export type StunTransport = 'udp' | 'tcp';

export interface StunInbound {
  readonly data: Uint8Array;
  readonly from: TransportAddress;
  readonly transport: StunTransport;
  readonly endpoint: Endpoint;
  /** Send bytes back the way the message came (the same socket or TCP connection). */
  readonly reply: (bytes: Uint8Array) => void;
}

export interface StunRequestContext extends StunInbound {
  readonly message: ParsedStunMessage;
  /** The local address the message arrived on. */
  readonly local: TransportAddress;
}

export type StunMethodHandler = (ctx: StunRequestContext) => void;
export type NonStunHandler = (inbound: StunInbound) => void;

export interface StunCounters {
  /** Messages and datagrams offered to the engine. */
  received: number;
  /** Success responses sent. */
  answered: number;
  /** Error responses sent. */
  errors: number;
  /** Not STUN at all (and no non-STUN handler). */
  notStun: number;
  /** Looked like STUN but failed to parse (truncated, bad length, bad attribute). */
  malformed: number;
  badFingerprint: number;
  /** Valid STUN but not a request (responses, unhandled indications). */
  notRequest: number;
  /** Requests of a method nobody handles. */
  unknownMethod: number;
  /** Requests dropped for a rule (RESPONSE-PORT 0, ...). */
  refused: number;
  /** Exceptions thrown by handlers (bugs; logged). */
  handlerErrors: number;
}

export interface StunEngineOptions {
  /** The primary listening address (must be a concrete IP when `alternate` is set). */
  readonly primary: TransportAddress;
  /** RFC 5780: the alternate IP and port; enables OTHER-ADDRESS, RESPONSE-ORIGIN, CHANGE-REQUEST. */
  readonly alternate?: TransportAddress;
  /** SOFTWARE attribute value (empty string to omit). Default 'rtcstack'. */
  readonly software?: string;
  readonly logger?: Logger;
}

/** Send a datagram from one of the server's UDP endpoints. */
export type UdpSender = (via: Endpoint, bytes: Uint8Array, to: TransportAddress) => void;

// Hot-path copies of wire constants (module-local: no cross-module binding lookups per packet).
/** RFC 8489 §5 */
const HEADER_SIZE = 20;
/** RFC 8489 §14.7 */
const FINGERPRINT_XOR = 0x5354554e;
/** RFC 8489 §5: upper 16 bits of the magic cookie, for the XOR'd port. */
const COOKIE_HIGH = 0x2112;

/** A 20-byte Binding request with no attributes (RFC 8489 §5 header, magic cookie). */
function isBareBindingRequest(d: Uint8Array): boolean {
  return (
    d.length === HEADER_SIZE &&
    d[0] === 0x00 &&
    d[1] === 0x01 &&
    d[2] === 0 &&
    d[3] === 0 &&
    d[4] === 0x21 &&
    d[5] === 0x12 &&
    d[6] === 0xa4 &&
    d[7] === 0x42
  );
}

/** Error responses list at most this many unknown attributes (keeps them small). */
const MAX_UNKNOWN_LISTED = 8;

function attributeBytes(type: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + ((value.length + 3) & ~3));
  out[0] = type >> 8;
  out[1] = type & 0xff;
  out[2] = value.length >> 8;
  out[3] = value.length & 0xff;
  out.set(value, 4);
  return out;
}

export class StunServerEngine {
  readonly counters: StunCounters = {
    received: 0,
    answered: 0,
    errors: 0,
    notStun: 0,
    malformed: 0,
    badFingerprint: 0,
    notRequest: 0,
    unknownMethod: 0,
    refused: 0,
    handlerErrors: 0,
  };
  readonly #sendUdp: UdpSender;
  readonly #log: Logger;
  readonly #handlers = new Map<number, StunMethodHandler>();
  #nonStun: NonStunHandler | undefined;
  readonly #software: StunAttributeLike | undefined;
  readonly #softwareBytes: Uint8Array;
  readonly #primary: TransportAddress;
  readonly #alternate: TransportAddress | undefined;
  /** Per endpoint [ip][port]: RESPONSE-ORIGIN + OTHER-ADDRESS attributes, pre-encoded. */
  readonly #rfc5780Bytes: Uint8Array[][];
  /** Cache of address text -> IP bytes for XOR-MAPPED-ADDRESS (bounded). */
  readonly #ipCache = new Map<string, Uint8Array>();

  constructor(options: StunEngineOptions, sendUdp: UdpSender) {
    this.#sendUdp = sendUdp;
    this.#log = options.logger ?? silentLogger;
    this.#primary = options.primary;
    this.#alternate = options.alternate;
    const sw = options.software ?? 'rtcstack';
    this.#software = sw ? attr.software(sw.slice(0, 127)) : undefined;
    this.#softwareBytes = this.#software
      ? attributeBytes(ATTR.SOFTWARE, this.#software.value)
      : new Uint8Array(0);
    this.#rfc5780Bytes = [0, 1].map((ip) =>
      [0, 1].map((port) => {
        if (!this.#alternate) return new Uint8Array(0);
        const here = this.endpointAddress({ ip: ip as 0 | 1, port: port as 0 | 1 });
        const other = this.endpointAddress({ ip: ip ? 0 : 1, port: port ? 0 : 1 });
        const a = attributeBytes(ATTR.RESPONSE_ORIGIN, encodeAddress(here));
        const b = attributeBytes(ATTR.OTHER_ADDRESS, encodeAddress(other));
        const out = new Uint8Array(a.length + b.length);
        out.set(a);
        out.set(b, a.length);
        return out;
      }),
    );
  }

  /** True when RFC 5780 behaviour discovery is on (an alternate address is configured). */
  get rfc5780(): boolean {
    return this.#alternate !== undefined;
  }

  /** The local transport address of an endpoint. */
  endpointAddress(ep: Endpoint): TransportAddress {
    const alt = this.#alternate;
    return {
      address: ep.ip && alt ? alt.address : this.#primary.address,
      port: ep.port && alt ? alt.port : this.#primary.port,
    };
  }

  /** Handle requests and indications of another method (TURN). */
  setMethodHandler(method: number, handler: StunMethodHandler | undefined): void {
    if (method === METHOD.BINDING) throw new TypeError('Binding is built in');
    if (handler) this.#handlers.set(method, handler);
    else this.#handlers.delete(method);
  }

  /** Receive bytes that are not STUN (TURN ChannelData) instead of dropping them. */
  setNonStunHandler(handler: NonStunHandler | undefined): void {
    this.#nonStun = handler;
  }

  /**
   * Process one UDP datagram that arrived on `endpoint`. Same as `handle`, but a bare Binding
   * request is answered without building the inbound object (the server's hot path).
   */
  handleUdp(data: Uint8Array, from: TransportAddress, endpoint: Endpoint): void {
    if (isBareBindingRequest(data)) {
      this.counters.received++;
      const bytes = this.#bindingResponse(data, 8, from, endpoint, HEADER_SIZE, 0);
      if (!bytes) {
        this.counters.refused++;
        return;
      }
      this.counters.answered++;
      this.#sendUdp(endpoint, bytes, from);
      return;
    }
    this.handle({
      data,
      from,
      transport: 'udp',
      endpoint,
      reply: (bytes) => this.#sendUdp(endpoint, bytes, from),
    });
  }

  /** Process one datagram or framed message. Never throws. */
  handle(inbound: StunInbound): void {
    this.counters.received++;
    const d = inbound.data;
    if (d.length < 4 || (d[0]! & 0xc0) !== 0) {
      if (this.#nonStun) this.#call(() => this.#nonStun!(inbound));
      else this.counters.notStun++;
      return;
    }
    // Fast path (the hot one for ICE keepalives and STUN servers): a bare 20-byte Binding request.
    if (isBareBindingRequest(d)) {
      const bytes = this.#bindingResponse(d, 8, inbound.from, inbound.endpoint, HEADER_SIZE, 0);
      if (!bytes) {
        this.counters.refused++;
        return;
      }
      this.counters.answered++;
      inbound.reply(bytes);
      return;
    }
    let message: ParsedStunMessage;
    try {
      message = parseStunMessage(d);
    } catch (e) {
      if (e instanceof ParseError) {
        if (e.code === 'ERR_STUN_BAD_FINGERPRINT') this.counters.badFingerprint++;
        else if (e.code === 'ERR_STUN_NOT_STUN') this.counters.notStun++;
        else this.counters.malformed++;
        return;
      }
      this.counters.handlerErrors++;
      this.#log.error('STUN parse threw a non-ParseError', { error: String(e) });
      return;
    }
    if (message.method === METHOD.BINDING) {
      if (message.cls !== 'request') {
        // A Binding indication is a keepalive (RFC 8489 §6.3.2): no response.
        this.counters.notRequest++;
        return;
      }
      this.#call(() => this.#binding(inbound, message));
      return;
    }
    const h = this.#handlers.get(message.method);
    if (!h) {
      if (message.cls === 'request') this.counters.unknownMethod++;
      else this.counters.notRequest++;
      return;
    }
    if (message.cls !== 'request' && message.cls !== 'indication') {
      this.counters.notRequest++;
      return;
    }
    const ctx: StunRequestContext = { ...inbound, message, local: this.endpointAddress(inbound.endpoint) };
    this.#call(() => h(ctx));
  }

  #call(f: () => void): void {
    try {
      f();
    } catch (e) {
      if (e instanceof ParseError) {
        this.counters.malformed++;
        return;
      }
      this.counters.handlerErrors++;
      this.#log.error('STUN handler threw', { error: (e as Error)?.stack ?? String(e) });
    }
  }

  /** Send an error response to a request, the way it came (RFC 8489 §6.3.1.1). */
  sendError(
    ctx: StunInbound & { message: ParsedStunMessage },
    code: number,
    reason: string,
    unknown?: number[],
  ): void {
    const attrs = [attr.errorCode(code, reason)];
    if (unknown?.length) attrs.push(attr.unknownAttributes(unknown.slice(0, MAX_UNKNOWN_LISTED)));
    if (this.#software) attrs.push(this.#software);
    const bytes = serializeStunMessage(
      createMessage(ctx.message.method, 'error', ctx.message.transactionId, attrs),
      {
        fingerprint: true,
      },
    );
    this.counters.errors++;
    ctx.reply(bytes);
  }

  #binding(inbound: StunInbound, m: ParsedStunMessage): undefined {
    const fail = (code: number, reason: string, unknown?: number[]): undefined => {
      this.sendError({ ...inbound, message: m }, code, reason, unknown);
    };
    let via = inbound.endpoint;
    let to = inbound.from;
    let paddingLen = 0;
    if (m.attributes.length > 0) {
      // RFC 8489 §6.3.1: unknown comprehension-required attributes -> 420.
      const unknown = unknownComprehensionRequired(m, KNOWN_ATTRIBUTES);
      if (unknown.length > 0) return fail(ERROR.UNKNOWN_ATTRIBUTE, 'Unknown Attribute', unknown);
      const change = getAttribute(m, ATTR.CHANGE_REQUEST);
      if (change) {
        // RFC 5780 §6.1: without an alternate address the server does not understand CHANGE-REQUEST.
        if (!this.#alternate)
          return fail(ERROR.UNKNOWN_ATTRIBUTE, 'Unknown Attribute', [ATTR.CHANGE_REQUEST]);
        if (inbound.transport !== 'udp') return fail(ERROR.BAD_REQUEST, 'CHANGE-REQUEST needs UDP');
        if (change.value.length !== 4) return fail(ERROR.BAD_REQUEST, 'Bad CHANGE-REQUEST');
        const flags = change.value[3]!;
        via = {
          ip: flags & 0x04 ? ((1 - via.ip) as 0 | 1) : via.ip,
          port: flags & 0x02 ? ((1 - via.port) as 0 | 1) : via.port,
        };
      }
      const rp = getAttribute(m, ATTR.RESPONSE_PORT);
      if (rp) {
        // RFC 5780 §7.5: answer to the source IP at this port. Only the client's own IP is ever
        // targeted, so it cannot be used to reflect traffic at a third party.
        if (inbound.transport !== 'udp' || rp.value.length !== 4)
          return fail(ERROR.BAD_REQUEST, 'Bad RESPONSE-PORT');
        const port = (rp.value[0]! << 8) | rp.value[1]!;
        if (port === 0) {
          this.counters.refused++;
          return;
        }
        to = { address: inbound.from.address, port };
      }
      const pad = getAttribute(m, ATTR.PADDING);
      if (pad) paddingLen = pad.value.length;
    }
    const bytes = this.#bindingResponse(
      m.transactionId,
      0,
      inbound.from,
      via,
      inbound.data.length,
      paddingLen,
    );
    if (!bytes) {
      this.counters.refused++;
      return;
    }
    this.counters.answered++;
    if (inbound.transport === 'udp' && (via !== inbound.endpoint || to !== inbound.from)) {
      this.#sendUdp(via, bytes, to);
    } else {
      inbound.reply(bytes);
    }
  }

  #ipBytes(address: string): Uint8Array | undefined {
    let ip = this.#ipCache.get(address);
    if (!ip) {
      ip = ipToBytes(address);
      if (!ip) return undefined;
      if (this.#ipCache.size >= 4096) this.#ipCache.clear();
      this.#ipCache.set(address, ip);
    }
    return ip;
  }

  /**
   * Binding success response, written directly (the hot path): XOR-MAPPED-ADDRESS, then
   * RESPONSE-ORIGIN and OTHER-ADDRESS (RFC 5780), PADDING when asked (never making the response
   * bigger than the request), SOFTWARE and FINGERPRINT.
   */
  #bindingResponse(
    tid: Uint8Array,
    tidAt: number,
    mapped: TransportAddress,
    via: Endpoint,
    requestSize: number,
    paddingLen: number,
  ): Uint8Array | undefined {
    const ip = this.#ipBytes(mapped.address);
    if (!ip) return undefined;
    const xmaLen = 4 + 4 + ip.length;
    const r5780 = this.#rfc5780Bytes[via.ip]![via.port]!;
    const sw = this.#softwareBytes;
    let size = HEADER_SIZE + xmaLen + r5780.length + sw.length + 8;
    let padAttr = 0;
    if (paddingLen > 0) {
      // Pad toward the request's size, never beyond it.
      const room = requestSize - size - 4;
      const want = Math.min((paddingLen + 3) & ~3, room);
      if (want > 0) {
        padAttr = want & ~3;
        size += 4 + padAttr;
      }
    }
    const out = Buffer.allocUnsafe(size);
    // Header: Binding success response.
    out[0] = 0x01;
    out[1] = 0x01;
    out[2] = ((size - HEADER_SIZE) >> 8) & 0xff;
    out[3] = (size - HEADER_SIZE) & 0xff;
    out[4] = 0x21;
    out[5] = 0x12;
    out[6] = 0xa4;
    out[7] = 0x42;
    for (let i = 0; i < 12; i++) out[8 + i] = tid[tidAt + i]!;
    let at = HEADER_SIZE;
    // XOR-MAPPED-ADDRESS (RFC 8489 §14.2)
    out[at] = 0x00;
    out[at + 1] = 0x20;
    out[at + 2] = 0;
    out[at + 3] = 4 + ip.length;
    out[at + 4] = 0;
    out[at + 5] = ip.length === 4 ? 0x01 : 0x02;
    const xport = mapped.port ^ COOKIE_HIGH;
    out[at + 6] = xport >> 8;
    out[at + 7] = xport & 0xff;
    out[at + 8] = ip[0]! ^ 0x21;
    out[at + 9] = ip[1]! ^ 0x12;
    out[at + 10] = ip[2]! ^ 0xa4;
    out[at + 11] = ip[3]! ^ 0x42;
    for (let i = 4; i < ip.length; i++) out[at + 8 + i] = ip[i]! ^ tid[tidAt + i - 4]!;
    at += xmaLen;
    if (r5780.length) {
      out.set(r5780, at);
      at += r5780.length;
    }
    if (padAttr > 0) {
      out[at] = 0x00;
      out[at + 1] = 0x26;
      out[at + 2] = padAttr >> 8;
      out[at + 3] = padAttr & 0xff;
      out.fill(0, at + 4, at + 4 + padAttr);
      at += 4 + padAttr;
    }
    if (sw.length) {
      out.set(sw, at);
      at += sw.length;
    }
    // FINGERPRINT (RFC 8489 §14.7): the length field already covers it.
    const fp = (crc32Range(out, 0, at) ^ FINGERPRINT_XOR) >>> 0;
    out[at] = 0x80;
    out[at + 1] = 0x28;
    out[at + 2] = 0;
    out[at + 3] = 4;
    out.writeUInt32BE(fp, at + 4);
    return out;
  }
}

type StunAttributeLike = { readonly type: number; readonly value: Uint8Array };
