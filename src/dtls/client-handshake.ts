import type { CipherSuite } from './cipher-suites.js';
import { cipherSuiteById } from './cipher-suites.js';
import { Client13 } from './client13.js';
import {
  ALERT_HANDSHAKE_FAILURE,
  ALERT_ILLEGAL_PARAMETER,
  ALERT_PROTOCOL_VERSION,
  ALERT_UNEXPECTED_MESSAGE,
  ALERT_UNSUPPORTED_EXTENSION,
  DTLS_1_2,
  DTLS_1_3,
  EXT_EC_POINT_FORMATS,
  EXT_EXTENDED_MASTER_SECRET,
  EXT_RENEGOTIATION_INFO,
  EXT_SIGNATURE_ALGORITHMS,
  EXT_SUPPORTED_GROUPS,
  EXT_SUPPORTED_VERSIONS,
  EXT_USE_SRTP,
  HS_CERTIFICATE,
  HS_CERTIFICATE_REQUEST,
  HS_CERTIFICATE_VERIFY,
  HS_CLIENT_HELLO,
  HS_CLIENT_KEY_EXCHANGE,
  HS_FINISHED,
  HS_HELLO_VERIFY_REQUEST,
  HS_SERVER_HELLO,
  HS_SERVER_HELLO_DONE,
  HS_SERVER_KEY_EXCHANGE,
  POINT_FORMAT_UNCOMPRESSED,
} from './constants.js';
import { DtlsError } from './errors.js';
import {
  type Extension,
  findExtension,
  parseRenegotiationInfo,
  parseU8List,
  serializeClientSupportedVersions,
  serializeU8List,
  serializeU16List,
  serializeUseSrtp,
  serverSrtpChoice,
} from './extensions.js';
import type { FlightItem } from './flight.js';
import { HandshakeContext, type HandshakeHost } from './handshake-context.js';
import { createEcdheKey, type EcdheKey } from './key-exchange.js';
import {
  type CertificateRequest,
  parseCertificate,
  parseCertificateRequest,
  parseFinished,
  parseHelloVerifyRequest,
  parseServerHello,
  parseServerHelloDone,
  parseServerKeyExchange,
  serializeCertificate,
  serializeClientHello,
  serializeClientKeyExchange,
  serializeDigitallySigned,
  serializeEcdhParams,
} from './messages.js';
import {
  EXT_COOKIE,
  EXT_KEY_SHARE,
  parseU16Value,
  serializeClientKeyShares,
  serializeCookie,
} from './messages13.js';
import type { HandshakeMessage } from './reassembler.js';
import { chooseScheme, requirePeerSignature, SIGNATURE_SCHEMES, signWith } from './signature.js';

type Phase =
  | 'hello'
  | 'certificate'
  | 'key-exchange'
  | 'request-or-done'
  | 'done-after-request'
  | 'finished'
  | 'complete';

/** The client side of the DTLS 1.2 full handshake (RFC 6347 §4.2.4 flights 1, 3 and 5). */
export class ClientHandshake extends HandshakeContext {
  #phase: Phase = 'hello';
  #cookie: Uint8Array = new Uint8Array(0);
  #offered: readonly Extension[] = [];
  #preMaster: Uint8Array | undefined;
  #request: CertificateRequest | undefined;
  /** DTLS 1.3 key shares offered in the ClientHello (empty when 1.3 is not offered). */
  #shares = new Map<number, EcdheKey>();
  #lastHello: Uint8Array = new Uint8Array(0);

  constructor(host: HandshakeHost) {
    super(host, true);
    this.clientRandom = HandshakeContext.freshRandom();
    if (this.settings.versions.includes('1.3')) {
      const g = this.settings.groups[0]!;
      this.#shares.set(g, createEcdheKey(g));
    }
  }

  get #offers12(): boolean {
    return this.settings.versions.includes('1.2');
  }
  get #offers13(): boolean {
    return this.settings.versions.includes('1.3');
  }

  get complete(): boolean {
    return this.#phase === 'complete';
  }

  /** Flight 1: the first ClientHello. */
  start(): void {
    this.#sendHello();
  }

  #sendHello(): void {
    const body = this.#buildHello(this.#cookie, new Uint8Array(0), this.#shares);
    this.host.flights.start([this.message(HS_CLIENT_HELLO, body)], true);
  }

  /**
   * ClientHello body: DTLS 1.2 fields and extensions, plus supported_versions and key_share when
   * 1.3 is offered (RFC 9147 §5.3: legacy_version stays DTLS 1.2).
   */
  #buildHello(cookie12: Uint8Array, cookie13: Uint8Array, shares: Map<number, EcdheKey>): Uint8Array {
    const s = this.settings;
    const exts: Extension[] = [
      { type: EXT_SUPPORTED_GROUPS, data: serializeU16List(s.groups) },
      { type: EXT_EC_POINT_FORMATS, data: serializeU8List([POINT_FORMAT_UNCOMPRESSED]) },
      { type: EXT_SIGNATURE_ALGORITHMS, data: serializeU16List(SIGNATURE_SCHEMES) },
      { type: EXT_EXTENDED_MASTER_SECRET, data: new Uint8Array(0) },
      { type: EXT_RENEGOTIATION_INFO, data: Uint8Array.of(0) },
    ];
    if (s.srtpProfiles.length > 0) {
      exts.push({
        type: EXT_USE_SRTP,
        data: serializeUseSrtp({ profiles: s.srtpProfiles, mki: new Uint8Array(0) }),
      });
    }
    if (this.#offers13) {
      const versions = this.#offers12 ? [DTLS_1_3, DTLS_1_2] : [DTLS_1_3];
      exts.push({ type: EXT_SUPPORTED_VERSIONS, data: serializeClientSupportedVersions(versions) });
      exts.push({
        type: EXT_KEY_SHARE,
        data: serializeClientKeyShares([...shares].map(([group, k]) => ({ group, key: k.publicKey }))),
      });
      if (cookie13.length > 0) exts.push({ type: EXT_COOKIE, data: serializeCookie(cookie13) });
    }
    this.#offered = exts;
    const suites = [
      ...(this.#offers13 ? s.suites13.map((x) => x.id) : []),
      ...(this.#offers12 ? s.cipherSuites.map((c) => c.id) : []),
    ];
    const body = serializeClientHello({
      version: DTLS_1_2,
      random: this.clientRandom,
      sessionId: new Uint8Array(0),
      cookie: cookie12,
      cipherSuites: suites,
      compressionMethods: [0],
      extensions: exts,
    });
    this.#lastHello = body;
    return body;
  }

  /** The server picked DTLS 1.3: hand over to the 1.3 machine with what the hello offered. */
  #upgrade(msg: HandshakeMessage): void {
    const next = new Client13(this.host, {
      clientRandom: this.clientRandom,
      shares: this.#shares,
      lastHello: this.#lastHello,
      sendSeq: this.sendSeq,
      rebuild: (cookie, shares) => this.#buildHello(new Uint8Array(0), cookie, shares),
    });
    this.host.upgrade(next);
    next.onMessage(msg);
  }

  onMessage(msg: HandshakeMessage): void {
    const t = msg.msgType;
    switch (this.#phase) {
      case 'hello':
        if (t === HS_HELLO_VERIFY_REQUEST) {
          this.#onHelloVerify(msg);
          return;
        }
        if (t === HS_SERVER_HELLO) {
          this.#onServerHello(msg);
          return;
        }
        break;
      case 'certificate':
        if (t === HS_CERTIFICATE) {
          this.record(msg);
          this.acceptCertificate(parseCertificate(msg.body).certificates);
          this.#checkKeyType(this.suite!);
          this.#phase = 'key-exchange';
          return;
        }
        break;
      case 'key-exchange':
        if (t === HS_SERVER_KEY_EXCHANGE) {
          this.#onServerKeyExchange(msg);
          return;
        }
        break;
      case 'request-or-done':
        if (t === HS_CERTIFICATE_REQUEST) {
          this.record(msg);
          this.#request = parseCertificateRequest(msg.body);
          this.#phase = 'done-after-request';
          return;
        }
        if (t === HS_SERVER_HELLO_DONE) {
          this.#onServerHelloDone(msg);
          return;
        }
        break;
      case 'done-after-request':
        if (t === HS_SERVER_HELLO_DONE) {
          this.#onServerHelloDone(msg);
          return;
        }
        break;
      case 'finished':
        if (t === HS_FINISHED) {
          this.checkFinished(parseFinished(msg.body));
          this.record(msg);
          this.#phase = 'complete';
          this.host.flights.stopTimer();
          this.host.complete();
          return;
        }
        break;
      case 'complete':
        break;
    }
    throw new DtlsError(
      'ERR_DTLS_UNEXPECTED_MESSAGE',
      ALERT_UNEXPECTED_MESSAGE,
      `unexpected handshake message ${t} in ${this.#phase}`,
    );
  }

  /** Flight 3: ClientHello again, with the server's cookie; neither hello counts in the transcript (RFC 6347 §4.2.1). */
  #onHelloVerify(msg: HandshakeMessage): void {
    const hvr = parseHelloVerifyRequest(msg.body);
    if (hvr.cookie.length === 0) {
      throw new DtlsError(
        'ERR_DTLS_BAD_COOKIE',
        ALERT_ILLEGAL_PARAMETER,
        'empty cookie in HelloVerifyRequest',
      );
    }
    this.#cookie = Uint8Array.from(hvr.cookie);
    this.transcript = [];
    this.#sendHello();
  }

  #onServerHello(msg: HandshakeMessage): void {
    const sh = parseServerHello(msg.body);
    const sv = findExtension(sh.extensions, EXT_SUPPORTED_VERSIONS);
    if (sv) {
      if (!this.#offers13 || parseU16Value(sv.data, 'supported_versions') !== DTLS_1_3) {
        throw new DtlsError(
          'ERR_DTLS_VERSION',
          ALERT_PROTOCOL_VERSION,
          'server selected a version we did not offer',
        );
      }
      this.#upgrade(msg);
      return;
    }
    if (sh.version !== DTLS_1_2 || !this.#offers12) {
      throw new DtlsError(
        'ERR_DTLS_VERSION',
        ALERT_PROTOCOL_VERSION,
        `server chose version 0x${sh.version.toString(16)}`,
      );
    }
    const suite = this.settings.cipherSuites.find((c) => c.id === sh.cipherSuite)
      ? cipherSuiteById(sh.cipherSuite)
      : undefined;
    if (!suite || sh.compressionMethod !== 0) {
      throw new DtlsError(
        'ERR_DTLS_BAD_SERVER_HELLO',
        ALERT_ILLEGAL_PARAMETER,
        'server chose a suite or compression we did not offer',
      );
    }
    for (const e of sh.extensions) {
      if (!this.#offered.some((o) => o.type === e.type)) {
        throw new DtlsError(
          'ERR_DTLS_BAD_SERVER_HELLO',
          ALERT_UNSUPPORTED_EXTENSION,
          `server sent unoffered extension ${e.type}`,
        );
      }
    }
    this.suite = suite;
    this.serverRandom = Uint8Array.from(sh.random);
    this.extendedMasterSecret = findExtension(sh.extensions, EXT_EXTENDED_MASTER_SECRET) !== undefined;
    if (!this.extendedMasterSecret && this.settings.requireExtendedMasterSecret) {
      throw new DtlsError(
        'ERR_DTLS_NO_EMS',
        ALERT_HANDSHAKE_FAILURE,
        'server does not support extended master secret',
      );
    }
    const ri = findExtension(sh.extensions, EXT_RENEGOTIATION_INFO);
    if (ri && parseRenegotiationInfo(ri.data).length !== 0) {
      throw new DtlsError('ERR_DTLS_RENEGOTIATION', ALERT_HANDSHAKE_FAILURE, 'non-empty renegotiation_info');
    }
    const epf = findExtension(sh.extensions, EXT_EC_POINT_FORMATS);
    if (epf && !parseU8List(epf.data, 'ec_point_formats').includes(POINT_FORMAT_UNCOMPRESSED)) {
      throw new DtlsError(
        'ERR_DTLS_POINT_FORMAT',
        ALERT_ILLEGAL_PARAMETER,
        'server does not accept uncompressed points',
      );
    }
    const chosen = serverSrtpChoice(sh.extensions, this.settings.srtpProfiles);
    if (chosen !== undefined) this.srtpProfile = chosen;
    this.record(msg);
    this.#phase = 'certificate';
  }

  #checkKeyType(suite: CipherSuite): void {
    const type = this.remotePublicKey?.asymmetricKeyType;
    if ((suite.auth === 'rsa') !== (type === 'rsa')) {
      throw new DtlsError(
        'ERR_DTLS_BAD_CERTIFICATE',
        ALERT_HANDSHAKE_FAILURE,
        `certificate key ${type} does not fit ${suite.name}`,
      );
    }
  }

  #onServerKeyExchange(msg: HandshakeMessage): void {
    const ske = parseServerKeyExchange(msg.body);
    if (!this.settings.groups.includes(ske.namedGroup)) {
      throw new DtlsError(
        'ERR_DTLS_BAD_GROUP',
        ALERT_ILLEGAL_PARAMETER,
        `server chose group ${ske.namedGroup}`,
      );
    }
    const signed = Buffer.concat([
      this.clientRandom,
      this.serverRandom,
      serializeEcdhParams(ske.namedGroup, ske.publicKey),
    ]);
    requirePeerSignature(
      'ServerKeyExchange signature',
      SIGNATURE_SCHEMES,
      ske,
      this.remotePublicKey!,
      signed,
    );
    const key = createEcdheKey(ske.namedGroup);
    this.#preMaster = key.computeSecret(ske.publicKey);
    this.#ecdhePublic = key.publicKey;
    this.record(msg);
    this.#phase = 'request-or-done';
  }

  #ecdhePublic: Uint8Array | undefined;

  /** Flight 5: [Certificate], ClientKeyExchange, [CertificateVerify], ChangeCipherSpec, Finished. */
  #onServerHelloDone(msg: HandshakeMessage): void {
    parseServerHelloDone(msg.body);
    this.record(msg);
    const items: FlightItem[] = [];
    const own = this.settings.certificate;
    let scheme: number | undefined;
    if (this.#request) {
      scheme = chooseScheme(own.privateKey, this.#request.signatureSchemes);
      items.push(
        this.message(
          HS_CERTIFICATE,
          serializeCertificate({ certificates: scheme === undefined ? [] : [own.der] }),
        ),
      );
    }
    items.push(this.message(HS_CLIENT_KEY_EXCHANGE, serializeClientKeyExchange(this.#ecdhePublic!)));
    this.deriveKeys(this.#preMaster!);
    this.#preMaster = undefined;
    if (scheme !== undefined) {
      const sig = signWith(scheme, own.privateKey, this.transcriptBytes());
      items.push(
        this.message(
          HS_CERTIFICATE_VERIFY,
          serializeDigitallySigned({ signatureScheme: scheme, signature: sig }),
        ),
      );
    }
    items.push({ kind: 'ccs', epoch: 0 });
    items.push(this.finished());
    this.host.records.writeEpoch = 1;
    this.#phase = 'finished';
    this.host.flights.start(items, true);
  }
}
