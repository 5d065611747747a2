/**
 * The transport under one RTCPeerConnection with max-bundle: one ICE agent, one DTLS endpoint over
 * it, and (when a data section is negotiated) one SCTP association over DTLS carrying the data
 * channels. Datagrams from ICE are demultiplexed by their first byte (RFC 7983).
 */
import type { Clock } from '../core/clock.js';
import { classifyDatagram } from '../core/demux.js';
import { StateError } from '../core/errors.js';
import { Emitter } from '../core/events.js';
import type { Logger } from '../core/log.js';
import type { Random } from '../core/random.js';
import { DataChannelManager } from '../datachannel/manager.js';
import type { DtlsCertificate } from '../dtls/certificate.js';
import { DtlsEndpoint, type DtlsRole, type DtlsState, type DtlsVersion } from '../dtls/endpoint.js';
import { IceAgent } from '../ice/agent.js';
import type { IceAgentOptions, IceTransportState } from '../ice/types.js';
import { SctpAssociation, type SctpState } from '../sctp/association.js';

export interface TransportStackOptions {
  readonly clock: Clock;
  readonly random?: Random;
  readonly log: Logger;
  readonly dtlsVersions?: readonly DtlsVersion[];
  /** Largest DTLS datagram. Default 1200. */
  readonly mtu?: number;
  /** Our SCTP max-message-size (what we accept). */
  readonly maxMessageSize: number;
}

export interface TransportStackEvents {
  [key: string]: unknown[];
  icestate: [IceTransportState];
  dtlsstate: [DtlsState];
  sctpstate: [SctpState];
  /** RTP/RTCP datagrams, for the media layer (kept here until it lands). */
  media: [Uint8Array];
}

/** Datagrams that arrive before DTLS exists (the peer's ClientHello can beat our own ICE state). */
const MAX_EARLY_DATAGRAMS = 16;
/** DtlsEndpoint's default largest datagram. */
const DTLS_MTU = 1200;
/** One DTLS record's plaintext (RFC 9147 §4, RFC 6347 §4.1.1): the largest SCTP packet over DTLS. */
const LOOPBACK_SCTP_MTU = 16384;
/** Largest UDP payload (65535 - 8 - 20): loopback carries it unfragmented. */
const LOOPBACK_DATAGRAM = 65507;
const isLoopback = (a: string): boolean => a.startsWith('127.') || a === '::1';

export class TransportStack extends Emitter<TransportStackEvents> {
  #agent: IceAgent | undefined;
  readonly channels: DataChannelManager;
  readonly sctp: SctpAssociation;
  #dtls: DtlsEndpoint | undefined;
  #early: Uint8Array[] = [];
  /** DTLS datagrams sent before ICE selected a pair, sent once it does. */
  #unsent: Uint8Array[] = [];
  #wantSctp = false;
  #sctpStarted = false;
  #closed = false;
  readonly #o: TransportStackOptions;
  /** Datagrams dropped at the demultiplexer (unknown kind, or before DTLS with a full queue). */
  droppedDatagrams = 0;

  constructor(o: TransportStackOptions) {
    super();
    this.#o = o;
    this.sctp = new SctpAssociation({
      clock: o.clock,
      random: o.random,
      send: (packet) => this.#dtls?.state === 'connected' && this.#dtls.send(packet),
      maxMessageSize: o.maxMessageSize,
      logger: o.log.child('sctp'),
    });
    this.sctp.on('state', (s) => this.emit('sctpstate', s));
    // DTLS records sent together share datagrams up to the path MTU (a final flight and the SCTP INIT,
    // an ACK and the INIT-ACK). SCTP packets grow past 1200 bytes only on loopback towards a peer that
    // announced it takes them (see maxMtu below): there datagrams may grow to a whole UDP payload.
    this.sctp.on('mtu', (m) => {
      if (this.#dtls) this.#dtls.maxDatagram = m > DTLS_MTU ? LOOPBACK_DATAGRAM : this.#dtlsMtu;
    });
    this.channels = new DataChannelManager(this.sctp, {});
  }

  /** Largest DTLS datagram on any path. */
  get #dtlsMtu(): number {
    return this.#o.mtu ?? DTLS_MTU;
  }

  get dtls(): DtlsEndpoint | undefined {
    return this.#dtls;
  }

  /** The ICE agent; exists from the first description on (its role is decided then). */
  get agent(): IceAgent {
    if (!this.#agent) throw new StateError('ERR_PEER_NO_ICE', 'ICE has not started');
    return this.#agent;
  }

  get hasAgent(): boolean {
    return this.#agent !== undefined;
  }

  /** Create the ICE agent (once). */
  startIce(options: IceAgentOptions): IceAgent {
    if (this.#agent) return this.#agent;
    const agent = new IceAgent(options);
    this.#agent = agent;
    agent.on('statechange', (s) => {
      this.emit('icestate', s);
      if ((s === 'connected' || s === 'completed') && this.#dtls?.state === 'new') this.#dtls.start();
    });
    agent.on('data', (d) => this.#onDatagram(d));
    // RFC 8899: SCTP probes packet sizes up to what the local interface carries unfragmented. Loopback
    // carries a whole DTLS record (the packets never leave the host); other paths keep 1200 bytes. The
    // association probes only towards a peer that announced it takes large packets.
    agent.on('selectedpairchange', (p) => {
      this.sctp.maxMtu = isLoopback(p.local.baseAddress) ? LOOPBACK_SCTP_MTU : 0;
      const held = this.#unsent;
      this.#unsent = [];
      for (const d of held) agent.send(d);
    });
    return agent;
  }

  /**
   * Start DTLS once the role is known (from the a=setup exchange). The server waits for the
   * ClientHello; the client starts when ICE has a working pair.
   */
  startDtls(role: DtlsRole, remoteFingerprints: readonly string[], certificate: DtlsCertificate): void {
    if (this.#dtls || this.#closed) return;
    const agent = this.agent;
    this.channels.setDtlsRole(role === 'client');
    const dtls = new DtlsEndpoint({
      role,
      certificate,
      remoteFingerprints,
      clock: this.#o.clock,
      log: this.#o.log.child('dtls'),
      versions: this.#o.dtlsVersions ?? ['1.3', '1.2'],
      // No cookie round trip (HelloVerifyRequest / HelloRetryRequest): ICE already proved the
      // peer's address with authenticated checks (RFC 8445 §7.2.2), as in libwebrtc.
      helloVerify: false,
      ...(this.#o.random && { random: this.#o.random }),
      ...(this.#o.mtu && { mtu: this.#o.mtu }),
      send: (d) => {
        // A ClientHello can arrive on a path the peer proved before our own check of it returned:
        // hold the answer until a pair is selected (an event, not the 1-s DTLS retransmission).
        if (agent.selectedPair) agent.send(d);
        else if (this.#unsent.length < MAX_EARLY_DATAGRAMS) this.#unsent.push(Uint8Array.from(d));
      },
    });
    this.#dtls = dtls;
    dtls.maxDatagram = this.#dtlsMtu;
    dtls.on('state', (s) => {
      this.emit('dtlsstate', s);
      if (s === 'connected') this.#maybeStartSctp();
      if (s === 'closed' || s === 'failed') this.sctp.abort('DTLS transport closed');
    });
    dtls.on('data', (d) => this.sctp.handle(d));
    const ice = agent.state;
    if (role === 'server' || ice === 'connected' || ice === 'completed') dtls.start();
    const early = this.#early;
    this.#early = [];
    for (const d of early) dtls.handle(d);
  }

  /** A data section was negotiated: run SCTP once DTLS is up. */
  enableSctp(remotePort: number | undefined, remoteMaxMessageSize: number | undefined): void {
    this.#wantSctp = true;
    if (remotePort !== undefined) this.sctp.remotePort = remotePort;
    this.channels.remoteMaxMessageSize = remoteMaxMessageSize ?? 65536;
    this.#maybeStartSctp();
  }

  #maybeStartSctp(): void {
    if (!this.#wantSctp || this.#sctpStarted || this.#dtls?.state !== 'connected') return;
    this.#sctpStarted = true;
    if (this.#dtls.role === 'client') {
      this.sctp.start();
      return;
    }
    // DTLS server: the client's INIT follows its Finished, so it is usually already queued. Let it
    // arrive first (the association answers it) and send our own INIT only if it did not: no INIT
    // collision (RFC 9260 §5.2.1), half the handshake packets, same number of round trips.
    setImmediate(() => {
      if (!this.#closed && this.sctp.stats.packetsReceived === 0) this.sctp.start();
    });
  }

  #onDatagram(d: Uint8Array): void {
    switch (classifyDatagram(d)) {
      case 'dtls':
        if (this.#dtls) this.#dtls.handle(d);
        else if (this.#early.length < MAX_EARLY_DATAGRAMS) this.#early.push(Uint8Array.from(d));
        else this.droppedDatagrams++;
        return;
      case 'rtp':
      case 'rtcp':
        this.emit('media', d);
        return;
      default:
        this.droppedDatagrams++;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.channels.closeAll();
    if (this.sctp.state !== 'closed') this.sctp.abort('peer connection closed');
    this.sctp.close();
    this.#dtls?.close();
    this.#agent?.close();
    this.removeAllListeners();
  }
}
