import { createHmac, timingSafeEqual } from 'node:crypto';
import { cryptoRandom } from '../core/random.js';
import {
  ALERT_HANDSHAKE_FAILURE,
  ALERT_ILLEGAL_PARAMETER,
  ALERT_UNEXPECTED_MESSAGE,
  DTLS_1_2,
  DTLS_1_3,
  EXT_SIGNATURE_ALGORITHMS,
  EXT_SUPPORTED_GROUPS,
  EXT_SUPPORTED_VERSIONS,
  EXT_USE_SRTP,
  GROUP_SECP256R1,
  HS_CERTIFICATE,
  HS_CERTIFICATE_REQUEST,
  HS_CERTIFICATE_VERIFY,
  HS_CLIENT_HELLO,
  HS_FINISHED,
  HS_SERVER_HELLO,
} from './constants.js';
import { DtlsError } from './errors.js';
import {
  type Extension,
  findExtension,
  parseU16List,
  parseUseSrtp,
  serializeU16List,
  serializeUseSrtp,
} from './extensions.js';
import type { FlightItem } from './flight.js';
import type { HandshakeHost } from './handshake-context.js';
import { EPOCH_APPLICATION, EPOCH_HANDSHAKE, Handshake13, SIGNATURE_SCHEMES13 } from './handshake13.js';
import { createEcdheKey } from './key-exchange.js';
import { hashLength } from './key-schedule13.js';
import { type ClientHello, parseClientHello, serializeServerHello } from './messages.js';
import {
  EXT_COOKIE,
  EXT_KEY_SHARE,
  HRR_RANDOM,
  HS_ENCRYPTED_EXTENSIONS,
  parseCertificate13,
  parseClientKeyShares,
  parseCookie,
  serializeCertificate13,
  serializeCertificateRequest13,
  serializeCookie,
  serializeExtensionsBlock,
  serializeServerKeyShare,
  serializeU16Value,
  tlsMessage,
} from './messages13.js';
import type { HandshakeMessage } from './reassembler.js';
import { type Suite13, suite13ById } from './record13.js';

type Phase = 'hello' | 'certificate' | 'verify' | 'finished' | 'complete';
const MAC_LENGTH = 16;

/**
 * The DTLS 1.3 server (RFC 9147 §5, RFC 8446 §4). Return routability is checked with a
 * HelloRetryRequest cookie (RFC 9147 §5.1) that carries the ClientHello1 hash, so the server keeps
 * no state until the client echoes it.
 */
export class Server13 extends Handshake13 {
  #phase: Phase = 'hello';
  #requested = false;

  constructor(host: HandshakeHost) {
    super(host, false);
  }

  get complete(): boolean {
    return this.#phase === 'complete';
  }
  get stateless(): boolean {
    return this.#phase === 'hello';
  }

  onMessage(msg: HandshakeMessage): void {
    const t = msg.msgType;
    if (this.#phase === 'complete') {
      this.onPostHandshake(msg);
      return;
    }
    if (this.#phase === 'hello' && t === HS_CLIENT_HELLO) {
      this.#onClientHello(msg);
      return;
    }
    if (this.#phase === 'certificate' && t === HS_CERTIFICATE) {
      // An empty chain is refused there (no_certificate, handshake_failure).
      this.acceptCertificate(parseCertificate13(msg.body).certificates);
      this.record(msg);
      this.#phase = 'verify';
      return;
    }
    if (this.#phase === 'verify' && t === HS_CERTIFICATE_VERIFY) {
      this.checkCertificateVerify(msg);
      this.#phase = 'finished';
      return;
    }
    if (this.#phase === 'finished' && t === HS_FINISHED) {
      this.checkFinished(msg);
      // The client's Finished acknowledges our flight; ACK theirs (RFC 9147 §5.8.4).
      this.host.flights.clear();
      this.host.records.writeEpoch = EPOCH_APPLICATION;
      this.#phase = 'complete';
      // Nothing after Finished hashes the transcript (post-handshake messages use traffic secrets).
      this.transcript = [];
      this.sendAck();
      this.host.complete();
      return;
    }
    throw new DtlsError(
      'ERR_DTLS_UNEXPECTED_MESSAGE',
      ALERT_UNEXPECTED_MESSAGE,
      `unexpected handshake message ${t} in ${this.#phase}`,
    );
  }

  /** A retransmitted client flight after we finished: our ACK was lost, send it again. */
  onPeerRetransmit(): void {
    if (this.#phase === 'complete') this.sendAck();
    else this.host.flights.transmit();
  }

  /** cookie = group(2) suite(2) Hash(ClientHello1) HMAC(...)[0..16]. */
  #makeCookie(group: number, suite: Suite13, ch1Hash: Uint8Array): Uint8Array {
    const head = Buffer.concat([
      Uint8Array.of(group >> 8, group & 0xff, suite.id >> 8, suite.id & 0xff),
      ch1Hash,
    ]);
    const mac = createHmac('sha256', this.settings.cookieSecret)
      .update(this.settings.cookieContext)
      .update(head)
      .digest();
    return Buffer.concat([head, mac.subarray(0, MAC_LENGTH)]);
  }

  #checkCookie(cookie: Uint8Array): { group: number; suite: Suite13; ch1Hash: Uint8Array } | undefined {
    if (cookie.length < 4 + MAC_LENGTH) return undefined;
    const head = cookie.subarray(0, cookie.length - MAC_LENGTH);
    const mac = createHmac('sha256', this.settings.cookieSecret)
      .update(this.settings.cookieContext)
      .update(head)
      .digest();
    if (!timingSafeEqual(mac.subarray(0, MAC_LENGTH), cookie.subarray(cookie.length - MAC_LENGTH)))
      return undefined;
    const suite = suite13ById((head[2]! << 8) | head[3]!);
    if (!suite || head.length !== 4 + hashLength(suite.hash)) return undefined;
    return { group: (head[0]! << 8) | head[1]!, suite, ch1Hash: head.subarray(4) };
  }

  /** HelloRetryRequest body: a ServerHello with the special random (RFC 8446 §4.1.4). */
  #retryBody(suite: Suite13, cookie: Uint8Array, group: number): Uint8Array {
    const exts: Extension[] = [
      { type: EXT_SUPPORTED_VERSIONS, data: serializeU16Value(DTLS_1_3) },
      { type: EXT_COOKIE, data: serializeCookie(cookie) },
    ];
    if (group) exts.push({ type: EXT_KEY_SHARE, data: serializeU16Value(group) });
    return serializeServerHello({
      version: DTLS_1_2,
      random: HRR_RANDOM,
      sessionId: new Uint8Array(0),
      cipherSuite: suite.id,
      compressionMethod: 0,
      extensions: exts,
    });
  }

  #onClientHello(msg: HandshakeMessage): void {
    const ch = parseClientHello(msg.body);
    const s = this.settings;
    if (ch.cookie.length !== 0) {
      throw new DtlsError(
        'ERR_DTLS_BAD_CLIENT_HELLO',
        ALERT_ILLEGAL_PARAMETER,
        'legacy_cookie in a DTLS 1.3 ClientHello',
      );
    }
    const suite = s.suites13.find((x) => ch.cipherSuites.includes(x.id));
    const groupsExt = findExtension(ch.extensions, EXT_SUPPORTED_GROUPS);
    const clientGroups = groupsExt ? parseU16List(groupsExt.data, 'supported_groups') : [GROUP_SECP256R1];
    const ksExt = findExtension(ch.extensions, EXT_KEY_SHARE);
    const shares = ksExt ? parseClientKeyShares(ksExt.data) : [];
    const sigExt = findExtension(ch.extensions, EXT_SIGNATURE_ALGORITHMS);
    const schemes = sigExt ? parseU16List(sigExt.data, 'signature_algorithms') : [];
    const preferred = s.groups.find((g) => clientGroups.includes(g));
    if (!suite || preferred === undefined || !schemes.some((x) => SIGNATURE_SCHEMES13.includes(x))) {
      throw new DtlsError(
        'ERR_DTLS_NO_SHARED_PARAMETERS',
        ALERT_HANDSHAKE_FAILURE,
        'no common 1.3 suite, group or signature scheme',
      );
    }
    const share = s.groups.map((g) => shares.find((x) => x.group === g)).find((x) => x !== undefined);
    const cookieExt = findExtension(ch.extensions, EXT_COOKIE);
    const cookie = cookieExt ? this.#checkCookie(parseCookie(cookieExt.data)) : undefined;
    if (cookieExt && !cookie) {
      throw new DtlsError('ERR_DTLS_BAD_COOKIE', ALERT_ILLEGAL_PARAMETER, 'invalid cookie');
    }
    if (!cookie && (s.helloVerify || !share)) {
      // HelloRetryRequest with our cookie (and the group we want if the client sent no usable share).
      const group = share ? 0 : preferred;
      const ch1Hash = Handshake13.messageHash(suite, tlsMessage(msg.msgType, msg.body)).subarray(4);
      const body = this.#retryBody(suite, this.#makeCookie(group, suite, ch1Hash), group);
      this.host.flights.start(
        [{ kind: 'handshake', msgType: HS_SERVER_HELLO, messageSeq: msg.messageSeq, body, epoch: 0 }],
        false,
      );
      this.host.flights.clear();
      return;
    }
    if (!share)
      throw new DtlsError(
        'ERR_DTLS_BAD_GROUP',
        ALERT_ILLEGAL_PARAMETER,
        'no key share after HelloRetryRequest',
      );
    this.suite = cookie?.suite ?? suite;
    this.sendSeq = msg.messageSeq;
    this.transcript = [];
    if (cookie) {
      // Rebuild the transcript prefix the client has: message_hash(CH1), HelloRetryRequest.
      this.transcript.push(tlsMessage(254, cookie.ch1Hash));
      this.transcript.push(
        tlsMessage(HS_SERVER_HELLO, this.#retryBody(this.suite, parseCookie(cookieExt!.data), cookie.group)),
      );
    }
    this.transcript.push(tlsMessage(msg.msgType, msg.body));
    this.#respond(ch, share, schemes);
  }

  /** ServerHello in the clear, then EncryptedExtensions .. Finished in epoch 2. */
  #respond(ch: ClientHello, share: { group: number; key: Uint8Array }, schemes: readonly number[]): void {
    const s = this.settings;
    const key = createEcdheKey(share.group);
    const ecdhe = key.computeSecret(share.key);
    const items: FlightItem[] = [];
    items.push(
      this.message(
        HS_SERVER_HELLO,
        serializeServerHello({
          version: DTLS_1_2,
          random: cryptoRandom.bytes(32),
          sessionId: new Uint8Array(0),
          cipherSuite: this.suite!.id,
          compressionMethod: 0,
          extensions: [
            { type: EXT_SUPPORTED_VERSIONS, data: serializeU16Value(DTLS_1_3) },
            {
              type: EXT_KEY_SHARE,
              data: serializeServerKeyShare({ group: share.group, key: key.publicKey }),
            },
          ],
        }),
        0,
      ),
    );
    this.installHandshakeKeys(ecdhe);
    const ee: Extension[] = [];
    const srtpExt = findExtension(ch.extensions, EXT_USE_SRTP);
    if (srtpExt && s.srtpProfiles.length > 0) {
      const offered = parseUseSrtp(srtpExt.data).profiles;
      const p = s.srtpProfiles.find((x) => offered.includes(x));
      if (p !== undefined) {
        this.srtpProfile = p;
        ee.push({ type: EXT_USE_SRTP, data: serializeUseSrtp({ profiles: [p], mki: new Uint8Array(0) }) });
      }
    }
    items.push(this.message(HS_ENCRYPTED_EXTENSIONS, serializeExtensionsBlock(ee), EPOCH_HANDSHAKE));
    if (s.requestClientCertificate) {
      this.#requested = true;
      items.push(
        this.message(
          HS_CERTIFICATE_REQUEST,
          serializeCertificateRequest13({
            context: new Uint8Array(0),
            extensions: [{ type: EXT_SIGNATURE_ALGORITHMS, data: serializeU16List(SIGNATURE_SCHEMES13) }],
          }),
          EPOCH_HANDSHAKE,
        ),
      );
    }
    items.push(
      this.message(
        HS_CERTIFICATE,
        serializeCertificate13({ context: new Uint8Array(0), certificates: [s.certificate.der] }),
        EPOCH_HANDSHAKE,
      ),
    );
    items.push(this.certificateVerify(schemes));
    items.push(this.finished());
    this.installApplicationKeys();
    this.#phase = this.#requested ? 'certificate' : 'finished';
    this.host.flights.start(items, true);
  }
}
