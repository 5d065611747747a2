import { type Clock, systemClock } from '../core/clock.js';
import { ParseError, RtcError } from '../core/errors.js';
import { Emitter } from '../core/events.js';
import type { DtlsFingerprint } from './certificate.js';
import { ClientHandshake } from './client-handshake.js';
import {
  ALERT_CLOSE_NOTIFY,
  ALERT_DECODE_ERROR,
  ALERT_FATAL,
  ALERT_INTERNAL_ERROR,
  ALERT_NO_RENEGOTIATION,
  ALERT_WARNING,
  CONTENT_ACK,
  CONTENT_ALERT,
  CONTENT_APPLICATION_DATA,
  CONTENT_CHANGE_CIPHER_SPEC,
  CONTENT_HANDSHAKE,
  HS_CLIENT_HELLO,
  HS_HELLO_REQUEST,
  MAX_PLAINTEXT,
} from './constants.js';
import {
  type DtlsEndpointEvents,
  type DtlsEndpointOptions,
  type DtlsRole,
  type DtlsState,
  type DtlsStats,
  type DtlsVersion,
  resolveSettings,
  toFingerprint,
} from './endpoint-options.js';
import { DtlsAlertError, DtlsError, DtlsStateError, DtlsTimeoutError } from './errors.js';
import { FlightSender } from './flight.js';
import type { Handshake, HandshakeHost, HandshakeSettings } from './handshake-context.js';
import { parseHandshakeFragments } from './handshake-fragment.js';
import { type Alert, parseAlert, serializeAlert } from './messages.js';
import { HandshakeReassembler } from './reassembler.js';
import { type InboundRecord, type OpenedRecord, RecordLayer } from './record-layer.js';
import { ServerHandshake } from './server-handshake.js';
import {
  SRTP_EXPORTER_LABEL,
  type SrtpKeyingMaterial,
  type SrtpProfileName,
  splitSrtpKeyingMaterial,
  srtpMaterialLength,
  srtpProfileById,
} from './srtp-profiles.js';

export type { DtlsEndpointEvents, DtlsEndpointOptions, DtlsRole, DtlsState, DtlsStats, DtlsVersion };

/**
 * A DTLS endpoint as a sans-IO state machine: datagrams in with `handle()`, datagrams out through
 * the injected `send`, time from the injected `Clock`. DTLS 1.2 (RFC 6347) and 1.3 (RFC 9147)
 * client and server with mutual certificate authentication by fingerprint and use_srtp (RFC 5764).
 *
 * ```ts
 * const ep = new DtlsEndpoint({ role: 'client', certificate, send: (d) => sock.send(d, peer),
 *   remoteFingerprints: ['sha-256 AB:CD:...'], versions: ['1.3', '1.2'] });
 * ep.on('connected', () => ep.send(bytes));
 * ep.start();              // then feed every datagram from the peer: ep.handle(datagram)
 * ```
 */
export class DtlsEndpoint extends Emitter<DtlsEndpointEvents> {
  readonly role: DtlsRole;
  #state: DtlsState = 'new';
  readonly #clock: Clock;
  readonly #send: (d: Uint8Array) => void;
  readonly #emitDatagram: (d: Uint8Array) => void;
  /**
   * Largest datagram that several records may share (RFC 6347 §4.1.1 and RFC 9147 §4.1 allow
   * several records per datagram); 0 (default) sends one record (or one flight datagram) per
   * datagram. Everything sent in one synchronous run (a flight, an ACK, application records) is
   * batched and leaves together on a microtask: one system call instead of one per record, and a
   * client's final flight shares its datagram with the first application data. Set it to the path
   * MTU, or above only on a path known to carry such datagrams (loopback).
   */
  maxDatagram = 0;
  #batch: Uint8Array[] = [];
  #batchBytes = 0;
  #batchQueued = false;
  readonly #records = new RecordLayer();
  readonly #flights: FlightSender;
  readonly #reasm = new HandshakeReassembler();
  readonly #settings: HandshakeSettings;
  #hs: Handshake;
  readonly #dupThreshold: number;
  #ignoredHandshake = 0;
  /** When the last renegotiation attempt was refused (one alert per attempt). */
  #refusedAt = Number.NEGATIVE_INFINITY;
  #error: Error | undefined;

  constructor(options: DtlsEndpointOptions) {
    super();
    const o = options;
    this.role = o.role;
    this.#clock = o.clock ?? systemClock;
    this.#emitDatagram = o.send;
    // Handshake datagrams, alerts and ACKs go after the records already batched; with batching on
    // they join the batch (a datagram that is full already leaves alone).
    this.#send = (d) => {
      if (this.maxDatagram > 0) {
        this.#enqueue(d);
        return;
      }
      if (this.#batch.length > 0) this.#flushBatch();
      o.send(d);
    };
    const mtu = o.mtu ?? 1200;
    if (mtu < 128) throw new RangeError(`mtu ${mtu} is too small`);
    const initialRto = o.initialRetransmitMs ?? 1000;
    this.#dupThreshold = Math.min(100, initialRto / 2);
    this.#settings = resolveSettings(o);
    this.#flights = new FlightSender({
      clock: this.#clock,
      records: this.#records,
      send: (d) => this.#send(d),
      mtu,
      initialRto,
      maxRto: o.maxRetransmitMs ?? 60_000,
      maxRetransmits: o.maxRetransmits ?? 10,
      onGiveUp: () => {
        // A DTLS 1.3 client retransmits its last flight after connecting until it is acknowledged;
        // running out of retries then is not a failure of the connection.
        if (this.#state === 'connected') this.#flights.stopTimer();
        else this.#fail(new DtlsTimeoutError('no answer from the peer after all retransmissions'), false);
      },
    });
    const host: HandshakeHost = {
      settings: this.#settings,
      records: this.#records,
      flights: this.#flights,
      complete: () => this.#setState('connected'),
      upgrade: (next) => {
        this.#hs = next;
      },
      sendRecord: (type, epoch, data) => this.#send(this.#records.seal(type, epoch, data)),
    };
    this.#hs = o.role === 'client' ? new ClientHandshake(host) : new ServerHandshake(host);
  }

  get state(): DtlsState {
    return this.#state;
  }
  /** The error that failed the endpoint, if any. */
  get error(): Error | undefined {
    return this.#error;
  }
  /** '1.2' once connected. */
  get negotiatedVersion(): DtlsVersion | undefined {
    return this.#hs.complete ? this.#hs.version : undefined;
  }
  /** IANA name of the negotiated cipher suite. */
  get cipherSuite(): string | undefined {
    return this.#hs.suiteName;
  }
  /** The negotiated SRTP profile (undefined if none was agreed). */
  get srtpProfile(): SrtpProfileName | undefined {
    const id = this.#hs.srtpProfile;
    return id === undefined ? undefined : srtpProfileById(id)?.name;
  }
  /** Whether RFC 7627 extended master secret is in use. */
  get extendedMasterSecret(): boolean {
    return this.#hs.extendedMasterSecret;
  }
  /** The peer's certificate (DER) once received and accepted. */
  get remoteCertificate(): Uint8Array | undefined {
    return this.#hs.remoteCertificate;
  }
  get stats(): DtlsStats {
    return {
      ...this.#records.stats,
      retransmits: this.#flights.totalRetransmits,
      ignoredHandshake: this.#ignoredHandshake,
    };
  }

  /** Set or replace the expected peer fingerprints (before the peer's certificate arrives). */
  setRemoteFingerprints(fingerprints: readonly (DtlsFingerprint | string)[]): void {
    this.#settings.remoteFingerprints = fingerprints.map(toFingerprint);
  }

  /** Begin: the client sends its ClientHello, the server waits for one. */
  start(): void {
    if (this.#state !== 'new') throw new DtlsStateError(`start() in state ${this.#state}`);
    this.#setState('connecting');
    if (this.#hs instanceof ClientHandshake) this.#guard(() => (this.#hs as ClientHandshake).start());
  }

  /**
   * Feed one received datagram. Bad input is counted and dropped; it never throws. Datagrams before
   * start() and after close are ignored (a server must be started before its ClientHello arrives).
   */
  handle(datagram: Uint8Array): void {
    if (this.#state === 'closed' || this.#state === 'failed' || this.#state === 'new') return;
    let sawOld = false;
    let records = this.#records.parse(datagram);
    while (records.length > 0) {
      for (const rec of records) {
        if (this.#done) return;
        if (this.#onRecord(rec)) sawOld = true;
      }
      records = this.#records.takeReady();
    }
    // A peer retransmitting its previous flight has not heard ours: resend it (RFC 6347 §4.2.4).
    if (sawOld && this.#clock.now() - this.#flights.lastSentAt >= this.#dupThreshold) {
      if (this.#hs.onPeerRetransmit) {
        this.#flights.lastSentAt = this.#clock.now();
        this.#hs.onPeerRetransmit();
      } else if (this.#flights.hasFlight) this.#flights.transmit();
    }
  }

  /** Send application data (one record; at most 16384 bytes). */
  send(data: Uint8Array): void {
    if (this.#state !== 'connected') throw new DtlsStateError(`send() in state ${this.#state}`);
    if (data.length > MAX_PLAINTEXT)
      throw new RtcError('ERR_DTLS_TOO_BIG', `${data.length} bytes exceed one record`);
    this.#send(this.#records.seal(CONTENT_APPLICATION_DATA, this.#records.writeEpoch, data));
  }

  /** Add records (or a whole datagram of them) to the batch, which leaves on a microtask. */
  #enqueue(rec: Uint8Array): void {
    if (this.#batchBytes + rec.length > this.maxDatagram) this.#flushBatch();
    this.#batch.push(rec);
    this.#batchBytes += rec.length;
    if (!this.#batchQueued) {
      this.#batchQueued = true;
      queueMicrotask(() => {
        this.#batchQueued = false;
        if (!this.#done) this.#flushBatch();
      });
    }
  }

  #flushBatch(): void {
    const b = this.#batch;
    if (b.length === 0) return;
    this.#batch = [];
    const n = this.#batchBytes;
    this.#batchBytes = 0;
    if (b.length === 1) {
      this.#emitDatagram(b[0]!);
      return;
    }
    const d = new Uint8Array(n);
    let at = 0;
    for (const r of b) {
      d.set(r, at);
      at += r.length;
    }
    this.#emitDatagram(d);
  }

  /**
   * DTLS 1.3 only: move our sending keys to the next epoch with a KeyUpdate (RFC 9147 §8);
   * `requestPeer` asks the peer to update its keys too.
   */
  updateKeys(requestPeer = true): void {
    if (this.#state !== 'connected' || !this.#hs.updateKeys) {
      throw new DtlsStateError('updateKeys() needs a connected DTLS 1.3 endpoint');
    }
    this.#hs.updateKeys(requestPeer);
  }

  /** Close: sends close_notify when connected; stops all timers. */
  close(): void {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    if (this.#state === 'connected') this.#sendAlert(ALERT_WARNING, ALERT_CLOSE_NOTIFY);
    this.#flushBatch();
    this.#shutdown();
    this.#setState('closed');
    this.emit('close');
  }

  /** Keying material exporter (RFC 5705); only once connected. */
  exportKeyingMaterial(label: string, length: number, context?: Uint8Array): Uint8Array {
    const out = this.#state === 'connected' ? this.#hs.exporter(label, length, context) : undefined;
    if (!out) throw new DtlsStateError(`exportKeyingMaterial() in state ${this.#state}`);
    return out;
  }

  /** SRTP keys and salts for both directions (RFC 5764 §4.2); undefined when no profile was agreed. */
  getSrtpKeyingMaterial(): SrtpKeyingMaterial | undefined {
    const p = this.#hs.srtpProfile;
    if (p === undefined) return undefined;
    const m = this.exportKeyingMaterial(SRTP_EXPORTER_LABEL, srtpMaterialLength(p));
    return splitSrtpKeyingMaterial(p, m, this.role === 'client');
  }

  get #done(): boolean {
    return this.#state === 'closed' || this.#state === 'failed';
  }

  /** Process one record; returns true when it carried a retransmitted (old) handshake fragment. */
  #onRecord(rec: InboundRecord): boolean {
    if (rec.epoch === 0 && rec.type === CONTENT_APPLICATION_DATA && !rec.unified) {
      this.#records.stats.badRecords++;
      return false;
    }
    const r: OpenedRecord | undefined = this.#records.open(rec);
    if (r === undefined) return false;
    const hs = this.#hs;
    switch (r.type) {
      case CONTENT_HANDSHAKE:
        hs.noteRecord?.(r.epoch, r.seq);
        return this.#onHandshake(r.data, r.epoch);
      case CONTENT_CHANGE_CIPHER_SPEC:
        return false;
      case CONTENT_ALERT:
        this.#onAlert(r.data);
        return false;
      case CONTENT_ACK:
        if (r.epoch > 0) this.#guard(() => hs.onAck?.(r.data));
        return false;
      case CONTENT_APPLICATION_DATA:
        // DTLS 1.3 application data lives in epoch 3 and later (RFC 9147 §6.1).
        if (hs.version === '1.3' && r.epoch < 3) return false;
        if (this.#state === 'connected') {
          hs.onAck?.();
          this.emit('data', r.data);
        }
        return false;
      default:
        return false;
    }
  }

  #onHandshake(pt: Uint8Array, epoch: number): boolean {
    let frags: ReturnType<typeof parseHandshakeFragments>;
    try {
      frags = parseHandshakeFragments(pt);
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      this.#records.stats.malformed++;
      return false;
    }
    let old = false;
    let postHandshake = false;
    for (const f of frags) {
      if (this.#hs.complete) {
        const renegotiation = f.msgType === HS_CLIENT_HELLO || f.msgType === HS_HELLO_REQUEST;
        if (this.#hs.version === '1.2' && renegotiation && epoch > 0) {
          // A new handshake under the current keys (its message_seq restarts at 0): refuse it
          // with a no_renegotiation warning (RFC 5746 §4.2, §4.4), once per attempt.
          this.#ignoredHandshake++;
          const now = this.#clock.now();
          if (f.fragmentOffset === 0 && now - this.#refusedAt >= this.#dupThreshold) {
            this.#refusedAt = now;
            this.#sendAlert(ALERT_WARNING, ALERT_NO_RENEGOTIATION);
          }
        } else if (this.#hs.version === '1.3' && epoch >= 3) {
          // Post-handshake messages (KeyUpdate, NewSessionTicket): processed in order and
          // acknowledged, retransmissions acknowledged again.
          postHandshake = true;
          if (f.messageSeq >= this.#reasm.next) {
            this.#guard(() => {
              this.#reasm.add(f);
              for (let m = this.#reasm.pop(); m; m = this.#reasm.pop()) this.#hs.onMessage(m);
            });
          }
        } else if (f.messageSeq < this.#reasm.next) old = true;
        else this.#ignoredHandshake++;
        continue;
      }
      const hs = this.#hs;
      if (hs.stateless && f.msgType === HS_CLIENT_HELLO && epoch === 0) {
        if (f.messageSeq !== this.#reasm.next) {
          this.#reasm.clear();
          this.#reasm.next = f.messageSeq;
        }
      }
      const ok = this.#guard(() => {
        const added = this.#reasm.add(f);
        if (added === 'old') old = true;
        else if (added === 'bad') this.#records.stats.malformed++;
        for (let m = this.#reasm.pop(); m; m = this.#reasm.pop()) {
          this.#hs.onMessage(m);
          if (this.#state !== 'connecting') break;
          if (this.#hs.stateless) {
            // HelloVerifyRequest sent: wait for the ClientHello with the cookie.
            this.#reasm.clear();
            this.#reasm.next = m.messageSeq + 1;
          }
        }
      });
      if (!ok) return false;
    }
    if (this.#hs.complete && this.#hs.version === '1.2') this.#reasm.clear();
    if (postHandshake && !this.#done) this.#hs.acknowledge?.();
    return old;
  }

  #onAlert(pt: Uint8Array): void {
    let a: Alert;
    try {
      a = parseAlert(pt);
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      this.#records.stats.malformed++;
      return;
    }
    this.emit('alert', a);
    if (a.description === ALERT_CLOSE_NOTIFY) {
      if (this.#state === 'connected') this.#sendAlert(ALERT_WARNING, ALERT_CLOSE_NOTIFY);
      this.#shutdown();
      this.#setState('closed');
      this.emit('close');
      return;
    }
    if (a.level === ALERT_FATAL) this.#fail(new DtlsAlertError(a.level, a.description), false);
  }

  /** Run handshake code; a failure sends the matching fatal alert and fails the endpoint. */
  #guard(fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (err) {
      if (err instanceof DtlsError) this.#fail(err, true, err.alert);
      else if (err instanceof ParseError) {
        this.#fail(
          new DtlsError('ERR_DTLS_DECODE', ALERT_DECODE_ERROR, err.message, { cause: err }),
          true,
          ALERT_DECODE_ERROR,
        );
      } else this.#fail(err instanceof Error ? err : new Error(String(err)), true, ALERT_INTERNAL_ERROR);
      return false;
    }
  }

  #sendAlert(level: number, description: number): void {
    try {
      this.#send(
        this.#records.seal(CONTENT_ALERT, this.#records.writeEpoch, serializeAlert({ level, description })),
      );
    } catch {
      /* the alert is best effort */
    }
  }

  #fail(err: Error, sendAlert: boolean, alert = ALERT_INTERNAL_ERROR): void {
    if (this.#state === 'failed' || this.#state === 'closed') return;
    if (sendAlert) {
      this.#sendAlert(ALERT_FATAL, alert);
      this.#flushBatch();
    }
    this.#error = err;
    this.#settings.log.warn('dtls failed', { code: (err as RtcError).code, message: err.message });
    this.#shutdown();
    this.#setState('failed');
    this.emit('error', err);
  }

  #shutdown(): void {
    this.#flights.clear();
    this.#reasm.clear();
    this.#batch = [];
    this.#batchBytes = 0;
  }

  #setState(s: DtlsState): void {
    if (this.#state === s) return;
    this.#state = s;
    this.#settings.log.debug('dtls state', { role: this.role, state: s });
    this.emit('state', s);
    if (s === 'connected') this.emit('connected');
  }
}
