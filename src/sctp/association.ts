/**
 * A sans-IO SCTP association as WebRTC uses it (RFC 8261: SCTP over DTLS, so the lower layer is "send
 * a datagram" / "handle a datagram"). Time from an injected Clock, randomness from an injected Random
 * (the cookie secret from node:crypto), output through an injected `send`.
 *
 * Both WebRTC peers send INIT (simultaneous open, RFC 9260 §5.2.1/§5.2.4), so either side may
 * `start()`; a side that never starts still answers INIT statelessly with a cookie.
 */
import { ByteWriter } from '../core/bytes.js';
import type { Clock } from '../core/clock.js';
import { isInputError, ParseError, RtcError } from '../core/errors.js';
import { Emitter } from '../core/events.js';
import { type Logger, silentLogger } from '../core/log.js';
import { cryptoRandom, type Random } from '../core/random.js';
import type { SctpAssociationOptions, SctpEvents, SctpState, SctpStats } from './association-types.js';
import { parseChunk, writeChunk } from './chunk-codec.js';
import { FLAG_IMMEDIATE, parseDataChunk } from './chunk-data.js';
import type { Chunk, DataChunk, InitChunk, SackChunk } from './chunk-types.js';
import {
  CAUSE_PROTOCOL_VIOLATION,
  CAUSE_UNRECOGNIZED_CHUNK,
  CAUSE_USER_ABORT,
  CHUNK_DATA,
  CHUNK_I_DATA,
  CHUNK_INIT,
  COMMON_HEADER_SIZE,
} from './constants.js';
import { makeCookie, openCookie } from './cookie.js';
import {
  initChunk,
  PEER_FWD_TSN,
  PEER_IDATA,
  PEER_LARGE_PACKETS,
  PEER_RECONFIG,
  PEER_ZERO_CHECKSUM,
  peerFeatures,
} from './handshake.js';
import { Inbound } from './inbound.js';
import { Outbound, type SendOptions } from './outbound.js';
import { checksumOk, forEachChunk, setChecksum, writeHeader } from './packet.js';
import { stateCookie } from './params.js';
import { PathMtuProber, PROBE_INFO_SIZE } from './plpmtud.js';
import { RtoEstimator } from './rto.js';
import { writeSack } from './sack-writer.js';
import { StreamReset } from './stream-reset.js';

export type { SctpAssociationOptions, SctpEvents, SctpState, SctpStats } from './association-types.js';

import { LazyTimer } from './timer.js';

const COOKIE_LIFETIME_MS = 60_000;

/**
 * Packets are carved from a slab shared by every association of the process instead of one
 * allocation each. A packet handed to `send` is never written again: the slab only moves forward and
 * is dropped when full (collected once its packets are). A carve reserves a whole MTU (a synchronous
 * delivery inside a flush may carve again) and gives back what the packet did not use when nothing
 * was carved after it. Slabs start at 16 KiB and double up to 256 KiB as traffic fills them; being
 * shared, an idle association holds none (each held 16-64 KiB of its own on loopback, where a
 * packet may take 16 KiB).
 */
const packetSlab = { buf: new Uint8Array(0), at: 0, size: 16 * 1024 };

function carvePacket(mtu: number): Uint8Array {
  const s = packetSlab;
  if (s.at + mtu > s.buf.length) {
    s.buf = new Uint8Array(Math.max(s.size, mtu));
    s.size = Math.min(256 * 1024, s.size * 2);
    s.at = 0;
  }
  const start = s.at;
  s.at += mtu;
  return s.buf.subarray(start, start + mtu);
}

/** Keep `used` bytes (8-aligned) of the last carve and give the rest back. */
function trimPacket(packet: Uint8Array, used: number): void {
  const s = packetSlab;
  if (packet.buffer !== s.buf.buffer || packet.byteOffset + packet.length !== s.at) return;
  s.at = packet.byteOffset + ((used + 7) & ~7);
}

/** Largest UDP payload (65535 - 8 - 20): no SCTP packet over a datagram transport can exceed it. */
const MAX_PACKET = 65507;

export class SctpAssociation extends Emitter<SctpEvents> {
  readonly #clock: Clock;
  readonly #sendFn: (p: Uint8Array) => void;
  readonly #random: Random;
  readonly #log: Logger;
  readonly localPort: number;
  /** The peer's SCTP port (SDP a=sctp-port); may be set until start(). */
  remotePort: number;
  #mtu: number;
  #maxMtu: number;
  readonly #baseMtu: number;
  readonly #announceLarge: boolean;
  readonly maxMessageSize: number;
  readonly #rwnd: number;
  readonly #offerZero: boolean;
  readonly #offerIData: boolean;
  readonly #maxRetrans: number;
  readonly #maxInitRetrans: number;
  readonly #hbInterval: number;
  readonly #sackDelay: number;
  readonly #schedule: (fn: () => void) => void;
  readonly #maxBurst: number;
  readonly #continue: (fn: () => void) => void;
  #continuationPending = false;
  /** Cookie MAC key: a secret, so from node:crypto (core/random pool), never the injected Random. */
  readonly #secret = cryptoRandom.bytes(32);
  readonly isClient: boolean;

  #state: SctpState = 'closed';
  readonly #myTag: number;
  #peerTag = 0;
  readonly #myInitialTsn: number;
  #peerFeatures = 0;
  #zeroTx = false;
  #out: Outbound | null = null;
  #in: Inbound | null = null;
  readonly #rto: RtoEstimator;

  // Handshake
  #initChunk: Uint8Array | null = null;
  #cookieEcho: Uint8Array | null = null;
  #initRetries = 0;
  readonly #t1: LazyTimer;
  // Data
  readonly #t3: LazyTimer;
  readonly #sackTimer: LazyTimer;
  readonly #hbTimer: LazyTimer;
  readonly #t2: LazyTimer;
  readonly #reset: StreamReset;
  readonly #prober: PathMtuProber;
  #errorCount = 0;
  #sackOwed = false;
  #sackNow = false;
  #dataPacketsSinceSack = 0;
  #flushScheduled = false;
  #hbOutstanding = false;
  #ctrl: Chunk[] = [];
  #shutdownRetries = 0;

  readonly stats: Omit<
    SctpStats,
    | 'retransmissions'
    | 'fastRetransmits'
    | 'abandonedMessages'
    | 'cwnd'
    | 'ssthresh'
    | 'flightSize'
    | 'peerRwnd'
    | 'queuedBytes'
    | 'rto'
    | 'srtt'
  > = {
    packetsSent: 0,
    packetsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    parseErrors: 0,
    checksumErrors: 0,
    t3Expiries: 0,
    delayedSacks: 0,
  };

  constructor(o: SctpAssociationOptions) {
    super();
    this.#clock = o.clock;
    this.#sendFn = o.send;
    this.#random = o.random ?? cryptoRandom;
    this.#log = o.logger ?? silentLogger;
    this.localPort = o.localPort ?? 5000;
    this.remotePort = o.remotePort ?? 5000;
    this.#mtu = o.mtu ?? 1200;
    this.#baseMtu = this.#mtu;
    this.#announceLarge = o.announceLargePackets ?? true;
    this.#maxMtu = Math.max(this.#mtu, Math.min(o.maxMtu ?? this.#mtu, MAX_PACKET));
    this.maxMessageSize = o.maxMessageSize ?? 262144;
    this.#rwnd = o.receiveWindow ?? 2 * 1024 * 1024;
    this.#offerZero = o.zeroChecksum ?? true;
    this.#offerIData = o.interleaving ?? true;
    this.#maxRetrans = o.maxRetransmissions ?? 10;
    this.#maxInitRetrans = o.maxInitRetransmits ?? 8;
    this.#hbInterval = o.heartbeatInterval ?? 30_000;
    this.#sackDelay = o.sackDelay ?? 200;
    this.#schedule = o.scheduleFlush ?? queueMicrotask;
    this.#maxBurst = o.maxBurst ?? 16;
    this.#continue = o.scheduleContinuation ?? setImmediate;
    this.isClient = o.isClient ?? false;
    this.#rto = new RtoEstimator({
      initial: o.rtoInitial ?? 1000,
      min: o.rtoMin ?? 200,
      max: o.rtoMax ?? 60_000,
    });
    this.#myTag = this.#nonZero();
    this.#myInitialTsn = this.#random.u32();
    const c = this.#clock;
    this.#t1 = new LazyTimer(c, () => this.#onT1());
    this.#t3 = new LazyTimer(c, () => this.#onT3());
    this.#sackTimer = new LazyTimer(c, () => {
      this.stats.delayedSacks++;
      this.#sackNow = true;
      this.#flush();
    });
    this.#hbTimer = new LazyTimer(c, () => this.#onHeartbeatTimer());
    this.#t2 = new LazyTimer(c, () => this.#onT2());
    this.#reset = new StreamReset(
      {
        clock: c,
        log: this.#log,
        outbound: () => this.#out,
        inbound: () => this.#in,
        peerSupportsReconfig: () => (this.#peerFeatures & PEER_RECONFIG) !== 0,
        rto: () => this.#rto.rto,
        backOff: () => this.#rto.backOff(),
        countError: () => {
          if (++this.#errorCount <= this.#maxRetrans) return true;
          this.#fail(new RtcError('ERR_SCTP_PEER_UNREACHABLE', 'RE-CONFIG unanswered'));
          return false;
        },
        resetErrors: () => {
          this.#errorCount = 0;
        },
        queueControl: (chunk) => this.#ctrl.push(chunk),
        flush: () => this.#flush(),
        incomingReset: (ids) => this.emit('streamReset', ids),
        outgoingResetDone: (ids) => this.emit('streamResetDone', ids),
      },
      this.#myInitialTsn,
    );
    this.#prober = new PathMtuProber(
      {
        clock: c,
        random: this.#random,
        rto: () => this.#rto.rto,
        sendChunks: (chunks) => {
          if (this.#state === 'established')
            this.#transmit(this.#packet(this.#peerTag, chunks, this.#zeroTx));
        },
        confirmed: (size) => this.#onProbeConfirmed(size),
      },
      this.#mtu,
      this.#maxMtu,
    );
  }

  #nonZero(): number {
    let v = 0;
    while (v === 0) v = this.#random.u32() >>> 0;
    return v;
  }

  /** Current packet size limit (grows with PLPMTUD). */
  get mtu(): number {
    return this.#mtu;
  }

  /**
   * The PLPMTUD ceiling (RFC 8899 PL_MAX), settable at any time: the lower layer knows what the local
   * interface carries without fragmenting (a whole DTLS record on loopback). Raising it starts probing;
   * lowering it below the current size shrinks new packets at once (chunks already sent keep their
   * size). Never below the configured `mtu`.
   */
  get maxMtu(): number {
    return this.#maxMtu;
  }
  set maxMtu(v: number) {
    const max = Math.max(this.#baseMtu, Math.min(Math.floor(v), MAX_PACKET));
    if (max === this.#maxMtu) return;
    this.#maxMtu = max;
    if (this.#mtu > max) {
      this.#mtu = max;
      if (this.#out) this.#out.mtu = max;
      this.emit('mtu', max);
    }
    this.#applyCeiling();
  }

  /** Probe past the configured size only towards a peer that announced it takes large packets. */
  #applyCeiling(): void {
    this.#prober.max = this.#peerFeatures & PEER_LARGE_PACKETS ? this.#maxMtu : this.#baseMtu;
  }

  get state(): SctpState {
    return this.#state;
  }
  /** I-DATA negotiated (both sides offered it). */
  get interleaving(): boolean {
    return this.#out?.idata ?? false;
  }
  /** RFC 9653 zero checksum in use for what we send. */
  get zeroChecksum(): boolean {
    return this.#zeroTx;
  }
  get fullStats(): SctpStats {
    const o = this.#out;
    return {
      ...this.stats,
      retransmissions: o?.retransmissions ?? 0,
      fastRetransmits: o?.fastRetransmits ?? 0,
      abandonedMessages: o?.abandonedMessages ?? 0,
      cwnd: o?.cwnd ?? 0,
      ssthresh: o?.ssthresh ?? 0,
      flightSize: o?.flightSize ?? 0,
      peerRwnd: o?.peerRwnd ?? 0,
      queuedBytes: o?.queuedBytes ?? 0,
      rto: this.#rto.rto,
      srtt: this.#rto.srtt,
    };
  }

  #setState(s: SctpState): void {
    if (s === this.#state) return;
    this.#log.debug('state', { from: this.#state, to: s });
    this.#state = s;
    this.emit('state', s);
  }

  // ---------------------------------------------------------------- handshake

  #initLike(type: 1 | 2, cookie?: Uint8Array): Chunk {
    return initChunk(type, {
      tag: this.#myTag,
      rwnd: this.#rwnd,
      initialTsn: this.#myInitialTsn,
      interleaving: this.#offerIData,
      zeroChecksum: this.#offerZero,
      maxPacket: this.#announceLarge ? MAX_PACKET : undefined,
      cookie,
    });
  }

  /** Send INIT (active open). WebRTC calls this on both sides. */
  start(): void {
    if (this.#state !== 'closed') return;
    this.#initChunk = this.#packet(0, [this.#initLike(1)], false);
    this.#setState('cookie-wait');
    this.#initRetries = 0;
    this.#transmit(this.#initChunk);
    this.#t1.start(this.#rto.rto);
  }

  #onT1(): void {
    const pkt = this.#state === 'cookie-wait' ? this.#initChunk : this.#cookieEcho;
    if (!pkt || (this.#state !== 'cookie-wait' && this.#state !== 'cookie-echoed')) return;
    if (++this.#initRetries > this.#maxInitRetrans) {
      this.#fail(new RtcError('ERR_SCTP_HANDSHAKE_TIMEOUT', 'no answer to INIT / COOKIE ECHO'));
      return;
    }
    this.#rto.backOff();
    this.#transmit(pkt);
    this.#t1.start(this.#rto.rto);
  }

  #onInit(c: InitChunk): void {
    if (c.initiateTag === 0) return;
    const cookie = makeCookie(this.#secret, {
      created: this.#clock.now(),
      localTag: this.#myTag,
      peerTag: c.initiateTag,
      localInitialTsn: this.#myInitialTsn,
      peerInitialTsn: c.initialTsn,
      peerRwnd: c.aRwnd,
      peerOutStreams: c.outboundStreams,
      peerInStreams: c.inboundStreams,
      peerFeatures: peerFeatures(c),
    });
    // INIT ACK goes to the INIT's Initiate Tag.
    this.#transmit(this.#packet(c.initiateTag, [this.#initLike(2, cookie)], false));
  }

  #onInitAck(c: InitChunk): void {
    if (this.#state !== 'cookie-wait') return;
    const cookie = stateCookie(c.params);
    if (!cookie || c.initiateTag === 0) return;
    this.#peerTag = c.initiateTag;
    this.#setup(c.initialTsn, c.aRwnd, peerFeatures(c));
    this.#t1.stop();
    this.#cookieEcho = this.#packet(this.#peerTag, [{ type: 10, cookie }], false);
    this.#setState('cookie-echoed');
    this.#initRetries = 0;
    this.#transmit(this.#cookieEcho);
    this.#t1.start(this.#rto.rto);
  }

  #onCookieEcho(cookie: Uint8Array): void {
    const c = openCookie(this.#secret, cookie);
    if (!c || c.localTag !== this.#myTag) return;
    if (this.#clock.now() - c.created > COOKIE_LIFETIME_MS) return;
    if (this.#state === 'closed' || this.#state === 'cookie-wait') {
      this.#peerTag = c.peerTag;
      this.#setup(c.peerInitialTsn, c.peerRwnd, c.peerFeatures);
    } else if (c.peerTag !== this.#peerTag) {
      return; // a restart with new tags: not supported, ignore
    }
    this.#ctrl.push({ type: 11, reflected: false });
    this.#established();
    this.#sackNow = true;
  }

  #setup(peerInitialTsn: number, peerRwnd: number, features: number): void {
    if (this.#out) return;
    this.#peerFeatures = features;
    this.#applyCeiling();
    const idata = this.#offerIData && (features & PEER_IDATA) !== 0;
    this.#zeroTx = this.#offerZero && (features & PEER_ZERO_CHECKSUM) !== 0;
    this.#out = new Outbound({
      mtu: this.#mtu,
      initialTsn: this.#myInitialTsn,
      idata,
      peerRwnd,
      onBufferedAmountLow: (id) => this.#lowPending.push(id),
    });
    this.#in = new Inbound({
      peerInitialTsn,
      idata,
      rwnd: this.#rwnd,
      maxMessageSize: this.maxMessageSize,
      deliver: (id, ppid, data, unordered) => this.emit('message', id, ppid, data, unordered),
    });
    this.#reset.setPeerInitialTsn(peerInitialTsn);
    for (const [id, t] of this.#thresholds) this.#out.stream(id).lowThreshold = t;
    this.#thresholds.clear();
  }

  #established(): void {
    if (this.#state !== 'cookie-echoed' && this.#state !== 'cookie-wait' && this.#state !== 'closed') return;
    this.#t1.stop();
    this.#initChunk = null;
    this.#cookieEcho = null;
    this.#setState('established');
    this.#hbTimer.start(this.#hbInterval);
    this.#prober.start();
    this.emit('open');
    this.#requestFlush();
  }

  // ---------------------------------------------------------------- receive

  /** Handle one SCTP packet from the lower layer. Malformed packets are counted and dropped. */
  handle(packet: Uint8Array): void {
    this.stats.packetsReceived++;
    this.stats.bytesReceived += packet.length;
    try {
      this.#handle(packet);
    } catch (e) {
      if (!isInputError(e)) throw e;
      this.stats.parseErrors++;
      this.#log.debug('dropped packet', { error: String(e) });
    }
    // Answer once the lower layer has handed over what it holds now (the other SCTP packets of a
    // datagram carrying several DTLS records): one SACK and one burst for all of them.
    this.#requestFlush();
  }

  #handle(buf: Uint8Array): void {
    if (this.#ended) {
      this.#outOfTheBlue(buf);
      return;
    }
    if (buf.length < COMMON_HEADER_SIZE) throw new ParseError('sctp', 'header', 0, 'short packet');
    if (!checksumOk(buf, this.#offerZero)) {
      this.stats.checksumErrors++;
      return;
    }
    const srcPort = (buf[0]! << 8) | buf[1]!;
    const dstPort = (buf[2]! << 8) | buf[3]!;
    if (srcPort !== this.remotePort || dstPort !== this.localPort) return;
    const vtag = ((buf[4]! << 24) | (buf[5]! << 16) | (buf[6]! << 8) | buf[7]!) >>> 0;
    // INIT must come alone with tag 0 (RFC 9260 §8.5.1).
    if (buf.length >= 16 && buf[12] === CHUNK_INIT) {
      if (vtag !== 0) return;
      const len = (buf[14]! << 8) | buf[15]!;
      if (len < 4 || 12 + len > buf.length) throw new ParseError('sctp', 'init.length', 14, 'bad length');
      const c = parseChunk(buf, 12, len) as InitChunk;
      this.#onInit(c);
      return;
    }
    let dataInPacket = false;
    let immediate = false;
    forEachChunk(buf, (type, at, length) => {
      if (this.#ended) return false;
      if (type === CHUNK_DATA || type === CHUNK_I_DATA) {
        if (vtag !== this.#myTag || !this.#in) return false;
        if (
          this.#state !== 'established' &&
          this.#state !== 'shutdown-pending' &&
          this.#state !== 'shutdown-sent'
        )
          return true;
        const expect = this.#out!.idata ? CHUNK_I_DATA : CHUNK_DATA;
        if (type !== expect) {
          this.#abort('protocol-violation', CAUSE_PROTOCOL_VIOLATION);
          return false;
        }
        const c: DataChunk = parseDataChunk(buf, at, length);
        dataInPacket = true;
        if (c.immediate) immediate = true;
        if (!this.#in.receive(c)) this.#sackNow = true;
        return true;
      }
      const c = parseChunk(buf, at, length);
      return this.#onControl(c, vtag);
    });
    if (dataInPacket && this.#in) {
      this.#sackOwed = true;
      this.#dataPacketsSinceSack++;
      if (immediate || this.#in.hasGaps || this.#dataPacketsSinceSack >= 2) this.#sackNow = true;
      else this.#sackTimer.ensure(this.#sackDelay);
      this.#reset.maybePerformDeferred();
    }
  }

  /**
   * A packet after the association is gone (RFC 9260 §8.4): answer a SHUTDOWN ACK with a SHUTDOWN
   * COMPLETE (T bit, their tag reflected) so a peer whose final SHUTDOWN COMPLETE got lost can close.
   */
  #outOfTheBlue(buf: Uint8Array): void {
    if (buf.length < 16 || buf[12] !== 8 || !checksumOk(buf, this.#offerZero)) return;
    const vtag = ((buf[4]! << 24) | (buf[5]! << 16) | (buf[6]! << 8) | buf[7]!) >>> 0;
    this.#transmit(this.#packet(vtag, [{ type: 14, reflected: true }], false));
  }

  /** Returns false to stop processing the packet. */
  #onControl(c: Chunk, vtag: number): boolean {
    const ownTag = vtag === this.#myTag;
    switch (c.type) {
      case 2:
        if (!ownTag) return false;
        this.#onInitAck(c);
        return true;
      case 10:
        if (!ownTag) return false;
        this.#onCookieEcho(c.cookie);
        return true;
      case 11:
        if (!ownTag) return false;
        if (this.#state === 'cookie-echoed') this.#established();
        return true;
      case 6:
        if (c.reflected ? vtag !== this.#peerTag || this.#peerTag === 0 : !ownTag) return false;
        this.#closed(new RtcError('ERR_SCTP_ABORTED', `peer aborted (cause ${c.causes[0]?.code ?? 'none'})`));
        return false;
      case 14:
        if (c.reflected ? vtag !== this.#peerTag : !ownTag) return false;
        if (this.#state === 'shutdown-ack-sent') this.#closed();
        return false;
    }
    if (!ownTag || !this.#out) return false;
    switch (c.type) {
      case 3:
        this.#onSack(c);
        return true;
      case 4:
        this.#ctrl.push({ type: 5, info: c.info.slice() });
        return true;
      case 5:
        this.#onHeartbeatAck(c.info);
        return true;
      case 7:
        this.#onShutdown(c.cumTsnAck);
        return true;
      case 8:
        if (this.#state === 'shutdown-sent' || this.#state === 'shutdown-ack-sent') {
          this.#transmit(this.#packet(this.#peerTag, [{ type: 14, reflected: false }], this.#zeroTx));
          this.#closed();
        }
        return false;
      case 9:
        this.#log.debug('peer error', { causes: c.causes.map((x) => x.code) });
        return true;
      case 192:
        this.#in!.forward(
          c.newCumTsn,
          c.streams.map((s) => ({ streamId: s.streamId, unordered: false, seq: s.ssn })),
        );
        this.#sackNow = true;
        this.#reset.maybePerformDeferred();
        return true;
      case 194:
        this.#in!.forward(
          c.newCumTsn,
          c.streams.map((s) => ({ streamId: s.streamId, unordered: s.unordered, seq: s.mid })),
        );
        this.#sackNow = true;
        this.#reset.maybePerformDeferred();
        return true;
      case 130:
        for (const p of c.params) this.#reset.onParam(p);
        return true;
      case -1: {
        // RFC 9260 §3.2: the two high bits of the type say what to do with an unknown chunk.
        const action = c.chunkType >> 6;
        if (action === 1 || action === 3) {
          const w = new ByteWriter(8);
          writeChunk(w, c);
          this.#ctrl.push({
            type: 9,
            reflected: false,
            causes: [{ code: CAUSE_UNRECOGNIZED_CHUNK, info: w.finish().slice() }],
          });
        }
        return action >= 2;
      }
      default:
        return true;
    }
  }

  #onSack(c: SackChunk): void {
    const out = this.#out!;
    const r = out.processSack(c, this.#clock.now());
    if (r.rtt >= 0) this.#rto.measure(r.rtt);
    if (r.progress) this.#errorCount = 0;
    if (out.hasOutstanding) {
      if (r.cumAdvanced) this.#t3.start(this.#rto.rto);
    } else this.#t3.stop();
    if (out.needForwardTsn) this.#queueForwardTsn();
    if (this.#state === 'shutdown-pending' || this.#state === 'shutdown-received') this.#maybeShutdown();
    this.#reset.maybeSend();
  }

  // ---------------------------------------------------------------- send

  /**
   * Queue a message on a stream. Throws if the association is closed or the stream is being reset.
   */
  send(streamId: number, ppid: number, data: Uint8Array, options: SendOptions = {}): void {
    const st = this.#state;
    if (
      this.#ended ||
      (st !== 'established' && st !== 'cookie-wait' && st !== 'cookie-echoed' && st !== 'closed')
    ) {
      throw new RtcError('ERR_SCTP_STATE', `cannot send in state ${this.#state}`);
    }
    if (!this.#out) {
      // Before the handshake completes: keep messages until it does.
      this.#early.push({ streamId, ppid, data, options });
      return;
    }
    this.#out.enqueue(
      streamId,
      ppid,
      data,
      options,
      options.maxPacketLifeTime === undefined ? 0 : this.#clock.now(),
    );
    this.#requestFlush();
  }
  #early: { streamId: number; ppid: number; data: Uint8Array; options: SendOptions }[] = [];

  /** Bytes queued on a stream and not yet sent. */
  bufferedAmount(streamId: number): number {
    const early = this.#early.reduce((n, m) => n + (m.streamId === streamId ? m.data.length : 0), 0);
    return (this.#out?.streams.get(streamId)?.buffered ?? 0) + early;
  }
  setBufferedAmountLowThreshold(streamId: number, threshold: number): void {
    if (!this.#out) {
      this.#thresholds.set(streamId, threshold);
      return;
    }
    this.#out.stream(streamId).lowThreshold = threshold;
  }
  #thresholds = new Map<number, number>();

  /** The peer supports RE-CONFIG (stream reset). */
  get streamResetSupported(): boolean {
    return (this.#peerFeatures & PEER_RECONFIG) !== 0;
  }

  #requestFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    this.#schedule(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  #lowPending: number[] = [];
  #flush(): void {
    this.#flushPackets();
    if (this.#lowPending.length > 0) {
      const ids = this.#lowPending;
      this.#lowPending = [];
      for (const id of ids) this.emit('bufferedAmountLow', id);
    }
  }

  /** Build and send packets: control chunks, a SACK if owed, FORWARD-TSN, then DATA. */
  #flushPackets(): void {
    const out = this.#out;
    if (!out || this.#state === 'closed') return;
    if (this.#early.length > 0 && this.#state === 'established') {
      const early = this.#early;
      this.#early = [];
      const now = this.#clock.now();
      for (const m of early) out.enqueue(m.streamId, m.ppid, m.data, m.options, now);
    }
    const canData =
      this.#state === 'established' ||
      this.#state === 'shutdown-pending' ||
      this.#state === 'shutdown-received';
    const mtu = this.#mtu;
    let burst = 0;
    for (;;) {
      if (burst >= this.#maxBurst) {
        // Yield: continue after I/O had a chance (the peer's SACKs, the socket draining).
        if (!this.#continuationPending && (this.#ctrl.length > 0 || out.canSendMore)) {
          this.#continuationPending = true;
          this.#continue(() => {
            this.#continuationPending = false;
            this.#flush();
          });
        }
        return;
      }
      const dataReady = canData && out.canSendMore;
      const sack = this.#sackNow || (this.#sackOwed && dataReady);
      if (!(this.#ctrl.length > 0 || sack || dataReady || this.#fwdPending)) return;
      const buf = carvePacket(mtu);
      let at = COMMON_HEADER_SIZE;
      // The SACK first, then other control chunks, then FORWARD-TSN, then DATA (RFC 9260 §6.10).
      if (sack) at = this.#writeSack(buf, at);
      if (this.#ctrl.length > 0 || this.#fwdPending) {
        const w = new ByteWriter(256);
        for (const c of this.#ctrl) writeChunk(w, c);
        this.#ctrl = [];
        if (this.#fwdPending) {
          this.#fwdPending = false;
          writeChunk(w, this.#forwardTsnChunk());
        }
        const ctl = w.finish();
        if (at + ctl.length <= mtu) {
          buf.set(ctl, at);
          at += ctl.length;
        } else {
          // Larger than one packet (many queued control chunks): send them on their own.
          const big = new Uint8Array(COMMON_HEADER_SIZE + ctl.length);
          big.set(ctl, COMMON_HEADER_SIZE);
          writeHeader(big, this.localPort, this.remotePort, this.#peerTag);
          setChecksum(big, this.#zeroTx);
          this.#transmit(big);
        }
      }
      const before = at;
      if (canData && !this.#continuationPending) {
        at = out.fill(buf, at, mtu, this.#clock.now());
        if (at > before) {
          burst++;
          if (!this.#t3.running) this.#t3.start(this.#rto.rto);
          // RFC 7053: ask for an immediate SACK when we cannot send more until one arrives, so the
          // peer's delayed-SACK timer never holds up the window (or the last reply of a burst).
          if (out.stalled) buf[out.lastChunkAt + 1]! |= FLAG_IMMEDIATE;
        }
      }
      if (at === COMMON_HEADER_SIZE) {
        trimPacket(buf, 0);
        return;
      }
      trimPacket(buf, at);
      const pkt = buf.subarray(0, at);
      writeHeader(pkt, this.localPort, this.remotePort, this.#peerTag);
      setChecksum(pkt, this.#zeroTx);
      this.#transmit(pkt);
      if (at === before) return;
    }
  }

  /** Write the SACK owed (RFC 9260 §3.3.4) straight into the packet. */
  #writeSack(buf: Uint8Array, at: number): number {
    this.#sackOwed = false;
    this.#sackNow = false;
    this.#dataPacketsSinceSack = 0;
    this.#sackTimer.stop();
    return writeSack(buf, at, this.#in!);
  }

  #fwdPending = false;
  #queueForwardTsn(): void {
    if (this.#peerFeatures & PEER_FWD_TSN) this.#fwdPending = true;
  }
  #forwardTsnChunk(): Chunk {
    const out = this.#out!;
    const streams = out.forwardTsnStreams();
    if (out.idata) {
      return {
        type: 194,
        newCumTsn: out.advancedPeerAckPoint,
        streams: streams.map((s) => ({ streamId: s.streamId, unordered: s.unordered, mid: s.seq })),
      };
    }
    return {
      type: 192,
      newCumTsn: out.advancedPeerAckPoint,
      streams: streams.map((s) => ({ streamId: s.streamId, ssn: s.seq })),
    };
  }

  #packet(tag: number, chunks: Chunk[], zero: boolean): Uint8Array {
    const w = new ByteWriter(256);
    w.u16(this.localPort).u16(this.remotePort).u32(tag).u32(0);
    for (const c of chunks) writeChunk(w, c);
    const p = w.finish();
    setChecksum(p, zero);
    return p;
  }

  #transmit(p: Uint8Array): void {
    this.stats.packetsSent++;
    this.stats.bytesSent += p.length;
    this.#sendFn(p);
  }

  // ---------------------------------------------------------------- timers

  #onT3(): void {
    const out = this.#out;
    if (!out || this.#state === 'closed') return;
    if (!out.hasOutstanding) return;
    this.stats.t3Expiries++;
    if (++this.#errorCount > this.#maxRetrans) {
      this.#fail(new RtcError('ERR_SCTP_PEER_UNREACHABLE', 'too many retransmissions'));
      return;
    }
    this.#rto.backOff();
    out.onT3Expired(this.#clock.now());
    if (out.needForwardTsn) this.#queueForwardTsn();
    if (out.hasOutstanding) this.#t3.start(this.#rto.rto);
    this.#flush();
  }

  #onHeartbeatTimer(): void {
    if (this.#state === 'closed') return;
    if (this.#hbOutstanding) {
      if (++this.#errorCount > this.#maxRetrans) {
        this.#fail(new RtcError('ERR_SCTP_PEER_UNREACHABLE', 'heartbeats unanswered'));
        return;
      }
    }
    const info = new Uint8Array(12);
    const dv = new DataView(info.buffer);
    dv.setFloat64(0, this.#clock.now());
    dv.setUint32(8, this.#random.u32());
    this.#hbOutstanding = true;
    this.#ctrl.push({ type: 4, info });
    this.#hbTimer.start(this.#rto.rto + this.#hbInterval);
    this.#flush();
  }

  #onHeartbeatAck(info: Uint8Array): void {
    if (info.length >= PROBE_INFO_SIZE) {
      this.#prober.onProbeAck(info);
      return;
    }
    if (info.length !== 12) return;
    const sent = new DataView(info.buffer, info.byteOffset, 12).getFloat64(0);
    const rtt = this.#clock.now() - sent;
    if (rtt >= 0 && rtt < 120_000) this.#rto.measure(rtt);
    this.#hbOutstanding = false;
    this.#errorCount = 0;
  }

  // ---------------------------------------------------------------- stream reset, PLPMTUD

  /** Reset outgoing streams (closing data channels, RFC 6525). Queued messages are sent first. */
  resetStreams(ids: readonly number[]): void {
    this.#reset.request(ids);
    this.#requestFlush();
  }

  #onProbeConfirmed(size: number): void {
    this.#errorCount = 0;
    this.#mtu = size;
    if (this.#out) {
      this.#out.mtu = size;
      // Keep at least the RFC 9260 §7.2.1 initial window in units of the new size.
      this.#out.cwnd = Math.max(this.#out.cwnd, Math.min(4 * size, Math.max(2 * size, 4380)));
    }
    this.#log.debug('plpmtud', { mtu: size });
    this.emit('mtu', size);
  }

  // ---------------------------------------------------------------- shutdown / abort

  /** Graceful close (RFC 9260 §9.2): send what is queued, then SHUTDOWN. */
  shutdown(): void {
    if (this.#state === 'established') {
      this.#setState('shutdown-pending');
      this.#maybeShutdown();
      this.#flush();
    } else if (this.#state === 'cookie-wait' || this.#state === 'cookie-echoed') {
      this.#closed();
    }
  }

  #maybeShutdown(): void {
    const out = this.#out!;
    if (out.hasOutstanding || out.hasQueued || this.#early.length) return;
    if (this.#state === 'shutdown-pending') {
      this.#setState('shutdown-sent');
      this.#shutdownRetries = 0;
      this.#sendShutdown();
    } else if (this.#state === 'shutdown-received') {
      this.#setState('shutdown-ack-sent');
      this.#shutdownRetries = 0;
      this.#sendShutdown();
    }
  }

  #sendShutdown(): void {
    const c: Chunk =
      this.#state === 'shutdown-sent'
        ? { type: 7, cumTsnAck: this.#in!.cumTsn }
        : { type: 8, reflected: false };
    this.#transmit(this.#packet(this.#peerTag, [c], this.#zeroTx));
    this.#t2.start(this.#rto.rto);
  }

  #onT2(): void {
    if (this.#state !== 'shutdown-sent' && this.#state !== 'shutdown-ack-sent') return;
    if (++this.#shutdownRetries > this.#maxRetrans) {
      this.#fail(new RtcError('ERR_SCTP_PEER_UNREACHABLE', 'shutdown unanswered'));
      return;
    }
    this.#rto.backOff();
    this.#sendShutdown();
  }

  #onShutdown(cumTsnAck: number): void {
    const out = this.#out!;
    out.processSack(
      { type: 3, cumTsnAck, aRwnd: out.peerRwnd + out.flightSize, gaps: [], dupTsns: [] },
      this.#clock.now(),
    );
    if (this.#state === 'established' || this.#state === 'shutdown-pending') {
      this.#setState('shutdown-received');
    }
    if (this.#state === 'shutdown-received') this.#maybeShutdown();
    else if (this.#state === 'shutdown-sent') {
      // Both sides shut down at once (RFC 9260 §9.2): answer with SHUTDOWN ACK.
      this.#setState('shutdown-ack-sent');
      this.#sendShutdown();
    }
  }

  /** Abort the association (RFC 9260 §9.1): one ABORT chunk, then closed. */
  abort(reason = 'user abort'): void {
    this.#abort(reason, CAUSE_USER_ABORT);
  }

  #abort(reason: string, cause: number, err?: RtcError): void {
    if (this.#state === 'closed') return;
    if (this.#peerTag !== 0) {
      const info = new TextEncoder().encode(reason);
      this.#transmit(
        this.#packet(
          this.#peerTag,
          [{ type: 6, reflected: false, causes: [{ code: cause, info }] }],
          this.#zeroTx,
        ),
      );
    }
    this.#closed(err ?? new RtcError('ERR_SCTP_ABORTED', `aborted: ${reason}`));
  }

  #fail(err: RtcError): void {
    this.#abort(err.message, CAUSE_USER_ABORT, err);
  }

  #ended = false;
  #closed(err?: RtcError): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#t1.cancel();
    this.#t2.cancel();
    this.#t3.cancel();
    this.#sackTimer.cancel();
    this.#hbTimer.cancel();
    this.#reset.cancel();
    this.#prober.cancel();
    this.#initChunk = null;
    this.#cookieEcho = null;
    this.#out = null;
    this.#in = null;
    this.#ctrl = [];
    this.#early = [];
    this.#state = 'closed';
    this.emit('state', 'closed');
    this.emit('close', err);
  }

  /** Stop all timers and forget state without telling the peer (the lower layer is gone). */
  close(): void {
    this.#closed();
  }
}
