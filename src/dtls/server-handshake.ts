import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  ALERT_HANDSHAKE_FAILURE,
  ALERT_ILLEGAL_PARAMETER,
  ALERT_PROTOCOL_VERSION,
  ALERT_UNEXPECTED_MESSAGE,
  CERT_TYPE_ECDSA_SIGN,
  CERT_TYPE_RSA_SIGN,
  DTLS_1_0,
  DTLS_1_2,
  DTLS_1_3,
  EXT_EC_POINT_FORMATS,
  EXT_EXTENDED_MASTER_SECRET,
  EXT_RENEGOTIATION_INFO,
  EXT_SIGNATURE_ALGORITHMS,
  EXT_SUPPORTED_GROUPS,
  EXT_SUPPORTED_VERSIONS,
  EXT_USE_SRTP,
  GROUP_SECP256R1,
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
  parseClientSupportedVersions,
  parseRenegotiationInfo,
  parseU8List,
  parseU16List,
  parseUseSrtp,
  serializeU8List,
  serializeUseSrtp,
} from './extensions.js';
import type { FlightItem } from './flight.js';
import { HandshakeContext, type HandshakeHost } from './handshake-context.js';
import { fullMessage } from './handshake-fragment.js';
import { createEcdheKey, type EcdheKey } from './key-exchange.js';
import {
  type ClientHello,
  parseCertificate,
  parseClientHello,
  parseClientKeyExchange,
  parseDigitallySigned,
  parseFinished,
  serializeCertificate,
  serializeCertificateRequest,
  serializeClientHello,
  serializeEcdhParams,
  serializeHelloVerifyRequest,
  serializeServerHello,
  serializeServerKeyExchange,
} from './messages.js';
import type { HandshakeMessage } from './reassembler.js';
import { Server13 } from './server13.js';
import { chooseScheme, requirePeerSignature, SIGNATURE_SCHEMES, signWith } from './signature.js';

type Phase = 'hello' | 'certificate' | 'key-exchange' | 'verify' | 'finished' | 'complete';

/** TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746 §3.3). */
const EMPTY_RENEGOTIATION_INFO_SCSV = 0x00ff;
const COOKIE_LENGTH = 20;

/** The server side of the DTLS 1.2 full handshake (flights 2, 4 and 6 of RFC 6347 §4.2.4). */
export class ServerHandshake extends HandshakeContext {
  #phase: Phase = 'hello';
  #ecdhe: EcdheKey | undefined;
  #clientCertificateRequested = false;

  constructor(host: HandshakeHost) {
    super(host, false);
  }

  get complete(): boolean {
    return this.#phase === 'complete';
  }

  /** Before a ClientHello is accepted, any message_seq is fine (the server keeps no state yet). */
  get stateless(): boolean {
    return this.#phase === 'hello';
  }

  onMessage(msg: HandshakeMessage): void {
    const t = msg.msgType;
    switch (this.#phase) {
      case 'hello':
        if (t === HS_CLIENT_HELLO) {
          this.#onClientHello(msg);
          return;
        }
        break;
      case 'certificate':
        if (t === HS_CERTIFICATE) {
          // An empty chain is refused there (no_certificate, handshake_failure).
          this.acceptCertificate(parseCertificate(msg.body).certificates);
          this.record(msg);
          this.#phase = 'key-exchange';
          return;
        }
        break;
      case 'key-exchange':
        if (t === HS_CLIENT_KEY_EXCHANGE) {
          const pre = this.#ecdhe!.computeSecret(parseClientKeyExchange(msg.body));
          this.record(msg);
          this.deriveKeys(pre);
          this.#phase = this.#clientCertificateRequested ? 'verify' : 'finished';
          return;
        }
        break;
      case 'verify':
        if (t === HS_CERTIFICATE_VERIFY) {
          const cv = parseDigitallySigned(msg.body);
          requirePeerSignature(
            'CertificateVerify',
            SIGNATURE_SCHEMES,
            cv,
            this.remotePublicKey!,
            this.transcriptBytes(),
          );
          this.record(msg);
          this.#phase = 'finished';
          return;
        }
        break;
      case 'finished':
        if (t === HS_FINISHED) {
          this.checkFinished(parseFinished(msg.body));
          this.record(msg);
          // Flight 6: ChangeCipherSpec, Finished. Final flight: no timer (RFC 6347 §4.2.4).
          const items: FlightItem[] = [{ kind: 'ccs', epoch: 0 }, this.finished()];
          this.host.records.writeEpoch = 1;
          this.#phase = 'complete';
          this.host.flights.start(items, false);
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

  /** Stateless cookie: HMAC over the ClientHello without its cookie (RFC 6347 §4.2.1). */
  #cookieFor(ch: ClientHello): Uint8Array {
    const s = this.settings;
    const h = createHmac('sha256', s.cookieSecret).update(s.cookieContext);
    h.update(serializeClientHello({ ...ch, cookie: new Uint8Array(0) }));
    return new Uint8Array(h.digest().subarray(0, COOKIE_LENGTH));
  }

  #onClientHello(msg: HandshakeMessage): void {
    const ch = parseClientHello(msg.body);
    const s = this.settings;
    const sv = findExtension(ch.extensions, EXT_SUPPORTED_VERSIONS);
    if (sv && s.versions.includes('1.3') && parseClientSupportedVersions(sv.data).includes(DTLS_1_3)) {
      // The client offers DTLS 1.3 and so do we: the 1.3 machine takes over (RFC 9147 §5.3).
      const next = new Server13(this.host);
      this.host.upgrade(next);
      next.onMessage(msg);
      return;
    }
    if (!s.versions.includes('1.2')) {
      throw new DtlsError('ERR_DTLS_VERSION', ALERT_PROTOCOL_VERSION, 'client does not offer DTLS 1.3');
    }
    if (s.helloVerify) {
      const expected = this.#cookieFor(ch);
      if (ch.cookie.length !== COOKIE_LENGTH || !timingSafeEqual(expected, ch.cookie)) {
        // Flight 2: HelloVerifyRequest, same message_seq as the ClientHello; no state kept, no timer.
        const body = serializeHelloVerifyRequest({ version: DTLS_1_0, cookie: expected });
        this.host.flights.start(
          [
            {
              kind: 'handshake',
              msgType: HS_HELLO_VERIFY_REQUEST,
              messageSeq: msg.messageSeq,
              body,
              epoch: 0,
            },
          ],
          false,
        );
        this.host.flights.clear();
        return;
      }
    }
    // DTLS versions count down: a larger number is an older version.
    if (ch.version > DTLS_1_2) {
      throw new DtlsError(
        'ERR_DTLS_VERSION',
        ALERT_PROTOCOL_VERSION,
        `client offers only 0x${ch.version.toString(16)}`,
      );
    }
    if (!ch.compressionMethods.includes(0)) {
      throw new DtlsError('ERR_DTLS_BAD_CLIENT_HELLO', ALERT_ILLEGAL_PARAMETER, 'no null compression');
    }
    this.clientRandom = Uint8Array.from(ch.random);
    this.serverRandom = HandshakeContext.freshRandom();
    this.sendSeq = msg.messageSeq;
    this.transcript = [fullMessage(msg.msgType, msg.messageSeq, msg.body)];

    const own = s.certificate.privateKey;
    const auth = own.asymmetricKeyType === 'rsa' ? 'rsa' : 'ecdsa';
    const suite = s.cipherSuites.find((c) => c.auth === auth && ch.cipherSuites.includes(c.id));
    const groupsExt = findExtension(ch.extensions, EXT_SUPPORTED_GROUPS);
    const clientGroups = groupsExt ? parseU16List(groupsExt.data, 'supported_groups') : [GROUP_SECP256R1];
    const group = s.groups.find((g) => clientGroups.includes(g));
    const sigExt = findExtension(ch.extensions, EXT_SIGNATURE_ALGORITHMS);
    const scheme = sigExt ? chooseScheme(own, parseU16List(sigExt.data, 'signature_algorithms')) : undefined;
    if (!suite || group === undefined || scheme === undefined) {
      throw new DtlsError(
        'ERR_DTLS_NO_SHARED_PARAMETERS',
        ALERT_HANDSHAKE_FAILURE,
        'no common cipher suite, group or signature scheme',
      );
    }
    this.suite = suite;
    const epf = findExtension(ch.extensions, EXT_EC_POINT_FORMATS);
    if (epf && !parseU8List(epf.data, 'ec_point_formats').includes(POINT_FORMAT_UNCOMPRESSED)) {
      throw new DtlsError(
        'ERR_DTLS_POINT_FORMAT',
        ALERT_ILLEGAL_PARAMETER,
        'client does not accept uncompressed points',
      );
    }
    this.extendedMasterSecret = findExtension(ch.extensions, EXT_EXTENDED_MASTER_SECRET) !== undefined;
    if (!this.extendedMasterSecret && s.requireExtendedMasterSecret) {
      throw new DtlsError(
        'ERR_DTLS_NO_EMS',
        ALERT_HANDSHAKE_FAILURE,
        'client does not offer extended master secret',
      );
    }
    const ri = findExtension(ch.extensions, EXT_RENEGOTIATION_INFO);
    if (ri && parseRenegotiationInfo(ri.data).length !== 0) {
      throw new DtlsError('ERR_DTLS_RENEGOTIATION', ALERT_HANDSHAKE_FAILURE, 'non-empty renegotiation_info');
    }
    const exts: Extension[] = [];
    if (ri || ch.cipherSuites.includes(EMPTY_RENEGOTIATION_INFO_SCSV)) {
      exts.push({ type: EXT_RENEGOTIATION_INFO, data: Uint8Array.of(0) });
    }
    if (this.extendedMasterSecret) exts.push({ type: EXT_EXTENDED_MASTER_SECRET, data: new Uint8Array(0) });
    if (epf) exts.push({ type: EXT_EC_POINT_FORMATS, data: serializeU8List([POINT_FORMAT_UNCOMPRESSED]) });
    const srtpExt = findExtension(ch.extensions, EXT_USE_SRTP);
    if (srtpExt && s.srtpProfiles.length > 0) {
      const offered = parseUseSrtp(srtpExt.data).profiles;
      const p = s.srtpProfiles.find((x) => offered.includes(x));
      if (p !== undefined) {
        this.srtpProfile = p;
        exts.push({ type: EXT_USE_SRTP, data: serializeUseSrtp({ profiles: [p], mki: new Uint8Array(0) }) });
      }
    }

    // Flight 4: ServerHello, Certificate, ServerKeyExchange, [CertificateRequest], ServerHelloDone.
    const items: FlightItem[] = [];
    items.push(
      this.message(
        HS_SERVER_HELLO,
        serializeServerHello({
          version: DTLS_1_2,
          random: this.serverRandom,
          sessionId: new Uint8Array(0),
          cipherSuite: suite.id,
          compressionMethod: 0,
          extensions: exts,
        }),
      ),
    );
    items.push(this.message(HS_CERTIFICATE, serializeCertificate({ certificates: [s.certificate.der] })));
    this.#ecdhe = createEcdheKey(group);
    const params = serializeEcdhParams(group, this.#ecdhe.publicKey);
    const signature = signWith(scheme, own, Buffer.concat([this.clientRandom, this.serverRandom, params]));
    items.push(
      this.message(
        HS_SERVER_KEY_EXCHANGE,
        serializeServerKeyExchange({
          namedGroup: group,
          publicKey: this.#ecdhe.publicKey,
          signatureScheme: scheme,
          signature,
        }),
      ),
    );
    if (s.requestClientCertificate) {
      this.#clientCertificateRequested = true;
      items.push(
        this.message(
          HS_CERTIFICATE_REQUEST,
          serializeCertificateRequest({
            certificateTypes: [CERT_TYPE_ECDSA_SIGN, CERT_TYPE_RSA_SIGN],
            signatureSchemes: SIGNATURE_SCHEMES,
            authorities: [],
          }),
        ),
      );
    }
    items.push(this.message(HS_SERVER_HELLO_DONE, new Uint8Array(0)));
    this.#phase = this.#clientCertificateRequested ? 'certificate' : 'key-exchange';
    this.host.flights.start(items, true);
  }
}
