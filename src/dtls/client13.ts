import {
  ALERT_ILLEGAL_PARAMETER,
  ALERT_UNEXPECTED_MESSAGE,
  DTLS_1_3,
  EXT_SIGNATURE_ALGORITHMS,
  EXT_SUPPORTED_VERSIONS,
  HS_CERTIFICATE,
  HS_CERTIFICATE_REQUEST,
  HS_CERTIFICATE_VERIFY,
  HS_CLIENT_HELLO,
  HS_FINISHED,
  HS_SERVER_HELLO,
} from './constants.js';
import { DtlsError, DtlsStateError } from './errors.js';
import { findExtension, parseU16List, serverSrtpChoice } from './extensions.js';
import type { FlightItem } from './flight.js';
import type { HandshakeHost } from './handshake-context.js';
import { EPOCH_APPLICATION, EPOCH_HANDSHAKE, Handshake13 } from './handshake13.js';
import { createEcdheKey, type EcdheKey } from './key-exchange.js';
import { parseServerHello } from './messages.js';
import {
  EXT_COOKIE,
  EXT_KEY_SHARE,
  HRR_RANDOM,
  HS_ENCRYPTED_EXTENSIONS,
  parseCertificate13,
  parseCertificateRequest13,
  parseCookie,
  parseEncryptedExtensions,
  parseServerKeyShare,
  parseU16Value,
  serializeCertificate13,
  tlsMessage,
} from './messages13.js';
import type { HandshakeMessage } from './reassembler.js';
import { suite13ById } from './record13.js';

/** What the client's hello machinery offers the 1.3 machine. */
export interface ClientHelloState {
  readonly clientRandom: Uint8Array;
  /** Key shares sent in the ClientHello, by group. */
  shares: Map<number, EcdheKey>;
  /** Body of the last ClientHello sent. */
  readonly lastHello: Uint8Array;
  readonly sendSeq: number;
  /** Build a new ClientHello body with a cookie and the given shares (after HelloRetryRequest). */
  rebuild(cookie: Uint8Array, shares: Map<number, EcdheKey>): Uint8Array;
}

type Phase =
  | 'server-hello'
  | 'encrypted-extensions'
  | 'request-or-certificate'
  | 'certificate'
  | 'verify'
  | 'finished'
  | 'complete';

/** The DTLS 1.3 client (RFC 9147 §5, RFC 8446 §4), taking over once the server picks 1.3. */
export class Client13 extends Handshake13 {
  #phase: Phase = 'server-hello';
  readonly #hello: ClientHelloState;
  #retried = false;
  #request: { context: Uint8Array; schemes: number[] } | undefined;
  #confirmed = false;

  constructor(host: HandshakeHost, hello: ClientHelloState) {
    super(host, true);
    this.#hello = hello;
    this.sendSeq = hello.sendSeq;
    this.transcript = [tlsMessage(HS_CLIENT_HELLO, hello.lastHello)];
  }

  get complete(): boolean {
    return this.#phase === 'complete';
  }

  override updateKeys(requestPeer: boolean): void {
    // The final flight shares the retransmission machinery: wait until the server acknowledged it.
    if (!this.#confirmed) throw new DtlsStateError('KeyUpdate before the handshake was acknowledged');
    super.updateKeys(requestPeer);
  }

  #unexpected(t: number): never {
    throw new DtlsError(
      'ERR_DTLS_UNEXPECTED_MESSAGE',
      ALERT_UNEXPECTED_MESSAGE,
      `unexpected handshake message ${t} in ${this.#phase}`,
    );
  }

  onMessage(msg: HandshakeMessage): void {
    const t = msg.msgType;
    switch (this.#phase) {
      case 'server-hello':
        if (t !== HS_SERVER_HELLO) this.#unexpected(t);
        this.#onServerHello(msg);
        return;
      case 'encrypted-extensions': {
        if (t !== HS_ENCRYPTED_EXTENSIONS) this.#unexpected(t);
        const exts = parseEncryptedExtensions(msg.body);
        const chosen = serverSrtpChoice(exts, this.settings.srtpProfiles);
        if (chosen !== undefined) this.srtpProfile = chosen;
        this.record(msg);
        this.#phase = 'request-or-certificate';
        return;
      }
      case 'request-or-certificate':
        if (t === HS_CERTIFICATE_REQUEST) {
          const cr = parseCertificateRequest13(msg.body);
          const sig = findExtension(cr.extensions, EXT_SIGNATURE_ALGORITHMS);
          if (!sig)
            throw new DtlsError(
              'ERR_DTLS_BAD_REQUEST',
              ALERT_ILLEGAL_PARAMETER,
              'CertificateRequest without signature_algorithms',
            );
          this.#request = {
            context: Uint8Array.from(cr.context),
            schemes: parseU16List(sig.data, 'signature_algorithms'),
          };
          this.record(msg);
          this.#phase = 'certificate';
          return;
        }
        this.#onCertificate(msg);
        return;
      case 'certificate':
        this.#onCertificate(msg);
        return;
      case 'verify':
        if (t !== HS_CERTIFICATE_VERIFY) this.#unexpected(t);
        this.checkCertificateVerify(msg);
        this.#phase = 'finished';
        return;
      case 'finished':
        if (t !== HS_FINISHED) this.#unexpected(t);
        this.#onFinished(msg);
        return;
      case 'complete':
        this.onPostHandshake(msg);
    }
  }

  #onServerHello(msg: HandshakeMessage): void {
    const sh = parseServerHello(msg.body);
    const sv = findExtension(sh.extensions, EXT_SUPPORTED_VERSIONS);
    if (!sv || parseU16Value(sv.data, 'supported_versions') !== DTLS_1_3) {
      throw new DtlsError(
        'ERR_DTLS_VERSION',
        ALERT_ILLEGAL_PARAMETER,
        'ServerHello after 1.3 negotiation is not 1.3',
      );
    }
    const suite = suite13ById(sh.cipherSuite);
    if (!suite || sh.compressionMethod !== 0 || (this.suite && this.suite !== suite)) {
      throw new DtlsError(
        'ERR_DTLS_BAD_SERVER_HELLO',
        ALERT_ILLEGAL_PARAMETER,
        'server chose a suite we did not offer',
      );
    }
    this.suite = suite;
    const isRetry = Buffer.compare(Buffer.from(sh.random), Buffer.from(HRR_RANDOM)) === 0;
    if (isRetry) {
      this.#onRetry(msg, sh.extensions);
      return;
    }
    const ks = findExtension(sh.extensions, EXT_KEY_SHARE);
    if (!ks)
      throw new DtlsError(
        'ERR_DTLS_BAD_SERVER_HELLO',
        ALERT_ILLEGAL_PARAMETER,
        'ServerHello without key_share',
      );
    const share = parseServerKeyShare(ks.data);
    const mine = this.#hello.shares.get(share.group);
    if (!mine)
      throw new DtlsError(
        'ERR_DTLS_BAD_GROUP',
        ALERT_ILLEGAL_PARAMETER,
        `server share for group ${share.group} we did not send`,
      );
    const ecdhe = mine.computeSecret(share.key);
    this.record(msg);
    this.installHandshakeKeys(ecdhe);
    this.#phase = 'encrypted-extensions';
  }

  /** HelloRetryRequest: answer with a new ClientHello carrying the cookie and/or a new share. */
  #onRetry(msg: HandshakeMessage, exts: readonly { type: number; data: Uint8Array }[]): void {
    if (this.#retried) {
      throw new DtlsError(
        'ERR_DTLS_UNEXPECTED_MESSAGE',
        ALERT_UNEXPECTED_MESSAGE,
        'second HelloRetryRequest',
      );
    }
    this.#retried = true;
    const cookieExt = findExtension(exts, EXT_COOKIE);
    const cookie = cookieExt ? Uint8Array.from(parseCookie(cookieExt.data)) : new Uint8Array(0);
    const ks = findExtension(exts, EXT_KEY_SHARE);
    let shares = this.#hello.shares;
    if (ks) {
      const group = parseU16Value(ks.data, 'key_share.selected_group');
      if (!this.settings.groups.includes(group) || shares.has(group)) {
        throw new DtlsError(
          'ERR_DTLS_BAD_GROUP',
          ALERT_ILLEGAL_PARAMETER,
          `HelloRetryRequest for group ${group}`,
        );
      }
      shares = new Map([[group, createEcdheKey(group)]]);
    }
    if (!ks && !cookieExt) {
      throw new DtlsError(
        'ERR_DTLS_BAD_SERVER_HELLO',
        ALERT_ILLEGAL_PARAMETER,
        'HelloRetryRequest that changes nothing',
      );
    }
    this.#hello.shares = shares;
    this.transcript = [
      Handshake13.messageHash(this.suite!, this.transcript[0]!),
      tlsMessage(msg.msgType, msg.body),
    ];
    const body = this.#hello.rebuild(cookie, shares);
    this.host.flights.start([this.message(HS_CLIENT_HELLO, body, 0)], true);
  }

  #onCertificate(msg: HandshakeMessage): void {
    if (msg.msgType !== HS_CERTIFICATE) this.#unexpected(msg.msgType);
    const c = parseCertificate13(msg.body);
    this.acceptCertificate(c.certificates);
    this.record(msg);
    this.#phase = 'verify';
  }

  /** Server Finished: application keys, then our flight: [Certificate, CertificateVerify], Finished. */
  #onFinished(msg: HandshakeMessage): void {
    this.checkFinished(msg);
    this.installApplicationKeys();
    const items: FlightItem[] = [];
    if (this.#request) {
      const own = this.settings.certificate;
      items.push(
        this.message(
          HS_CERTIFICATE,
          serializeCertificate13({ context: this.#request.context, certificates: [own.der] }),
          EPOCH_HANDSHAKE,
        ),
      );
      items.push(this.certificateVerify(this.#request.schemes));
    }
    items.push(this.finished());
    this.host.records.writeEpoch = EPOCH_APPLICATION;
    this.#phase = 'complete';
    // Nothing after Finished hashes the transcript (post-handshake messages use traffic secrets).
    this.transcript = [];
    // The final flight is retransmitted until the server acknowledges it (RFC 9147 §5.8.4).
    this.host.flights.start(items, true);
    this.host.complete();
  }

  /** An ACK, or any application-epoch record from the server, confirms our final flight. */
  override onAck(data?: Uint8Array): void {
    this.#confirm();
    super.onAck(data);
  }

  /** A post-handshake message from the server also proves it has our Finished. */
  override onPostHandshake(msg: HandshakeMessage): void {
    this.#confirm();
    super.onPostHandshake(msg);
  }

  #confirm(): void {
    if (this.#phase === 'complete' && !this.#confirmed) {
      this.#confirmed = true;
      this.host.flights.stopTimer();
    }
  }
}
