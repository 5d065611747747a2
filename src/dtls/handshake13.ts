import { createHash, type KeyObject } from 'node:crypto';
import {
  ALERT_DECODE_ERROR,
  ALERT_DECRYPT_ERROR,
  ALERT_HANDSHAKE_FAILURE,
  ALERT_UNEXPECTED_MESSAGE,
  CONTENT_ACK,
  HS_CERTIFICATE_VERIFY,
  HS_FINISHED,
  SIG_ECDSA_SECP256R1_SHA256,
  SIG_ECDSA_SECP384R1_SHA384,
  SIG_RSA_PSS_RSAE_SHA256,
  SIG_RSA_PSS_RSAE_SHA384,
} from './constants.js';
import { DtlsError } from './errors.js';
import type { FlightItem } from './flight.js';
import type { Handshake, HandshakeHost, HandshakeSettings } from './handshake-context.js';
import { exporter13, type Hash13, hashLength, hkdfExpandLabel, KeySchedule13 } from './key-schedule13.js';
import { parseDigitallySigned, serializeDigitallySigned } from './messages.js';
import { HS_MESSAGE_HASH, parseAck, type RecordNumber, serializeAck, tlsMessage } from './messages13.js';
import { acceptPeerCertificate } from './peer-certificate.js';
import type { HandshakeMessage } from './reassembler.js';
import { Protection13, type Suite13 } from './record13.js';
import { chooseScheme, requirePeerSignature, signWith } from './signature.js';

/** Signature schemes allowed for CertificateVerify in (D)TLS 1.3: no PKCS#1 v1.5 (RFC 8446 §4.2.3). */
export const SIGNATURE_SCHEMES13: readonly number[] = [
  SIG_ECDSA_SECP256R1_SHA256,
  SIG_RSA_PSS_RSAE_SHA256,
  SIG_ECDSA_SECP384R1_SHA384,
  SIG_RSA_PSS_RSAE_SHA384,
];

/** Post-handshake message types (RFC 8446 §4). */
export const HS_NEW_SESSION_TICKET = 4;
export const HS_KEY_UPDATE = 24;

/** application_traffic_secret_N+1 (RFC 8446 §7.2). */
export function nextTrafficSecret(hash: Hash13, secret: Uint8Array): Uint8Array {
  return hkdfExpandLabel(hash, secret, 'traffic upd', new Uint8Array(0), hashLength(hash));
}

/** Epochs of DTLS 1.3 (RFC 9147 §6.1): 0 plaintext, 2 handshake, 3 application data. */
export const EPOCH_HANDSHAKE = 2;
export const EPOCH_APPLICATION = 3;

/** What precedes the transcript hash in a CertificateVerify signature (RFC 8446 §4.4.3), by signer. */
const signedPrefix = (who: 'server' | 'client'): Buffer =>
  Buffer.concat([
    new Uint8Array(64).fill(0x20),
    new TextEncoder().encode(`TLS 1.3, ${who} CertificateVerify`),
    Uint8Array.of(0),
  ]);
const SIGNED_PREFIX = { server: signedPrefix('server'), client: signedPrefix('client') };

/** State shared by the DTLS 1.3 client and server (RFC 9147 on RFC 8446). */
export abstract class Handshake13 implements Handshake {
  readonly version = '1.3' as const;
  readonly host: HandshakeHost;
  readonly isClient: boolean;
  readonly extendedMasterSecret = false;
  suite: Suite13 | undefined;
  schedule: KeySchedule13 | undefined;
  srtpProfile: number | undefined;
  remoteCertificate: Uint8Array | undefined;
  remotePublicKey: KeyObject | undefined;
  /** TLS-form messages (RFC 9147 §5.2: without DTLS fields) in transcript order. */
  transcript: Uint8Array[] = [];
  sendSeq = 0;
  clientSecret: Uint8Array | undefined;
  serverSecret: Uint8Array | undefined;
  exporterMaster: Uint8Array | undefined;
  /** Handshake records received in epoch 2, to acknowledge. */
  readonly received: RecordNumber[] = [];

  constructor(host: HandshakeHost, isClient: boolean) {
    this.host = host;
    this.isClient = isClient;
  }

  abstract get complete(): boolean;
  abstract onMessage(msg: HandshakeMessage): void;

  get settings(): HandshakeSettings {
    return this.host.settings;
  }
  get suiteName(): string | undefined {
    return this.suite?.name;
  }

  hash(): Uint8Array {
    const h = createHash(this.suite!.hash);
    for (const m of this.transcript) h.update(m);
    return new Uint8Array(h.digest());
  }

  record(msg: HandshakeMessage): void {
    this.transcript.push(tlsMessage(msg.msgType, msg.body));
  }

  /** The synthetic message_hash message that stands for ClientHello1 after HRR (RFC 8446 §4.4.1). */
  static messageHash(suite: Suite13, clientHello1: Uint8Array): Uint8Array {
    return tlsMessage(HS_MESSAGE_HASH, new Uint8Array(createHash(suite.hash).update(clientHello1).digest()));
  }

  message(msgType: number, body: Uint8Array, epoch: number): FlightItem {
    this.transcript.push(tlsMessage(msgType, body));
    return { kind: 'handshake', msgType, messageSeq: this.sendSeq++, body, epoch };
  }

  /** Keys for epoch 2 from the ECDHE secret, over CH..SH. */
  installHandshakeKeys(ecdhe: Uint8Array): void {
    this.schedule = new KeySchedule13(this.suite!.hash);
    const s = this.schedule.handshake(ecdhe, this.hash());
    this.clientSecret = s.client;
    this.serverSecret = s.server;
    const rl = this.host.records;
    rl.installWrite(
      EPOCH_HANDSHAKE,
      new Protection13(this.suite!, this.isClient ? s.client : s.server, EPOCH_HANDSHAKE),
    );
    rl.installRead(
      EPOCH_HANDSHAKE,
      new Protection13(this.suite!, this.isClient ? s.server : s.client, EPOCH_HANDSHAKE),
    );
  }

  /** Keys for epoch 3 and the exporter secret, over CH..server Finished. */
  installApplicationKeys(): void {
    const a = this.schedule!.application(this.hash());
    this.exporterMaster = a.exporter;
    this.#writeSecret = this.isClient ? a.client : a.server;
    this.#readSecret = this.isClient ? a.server : a.client;
    const rl = this.host.records;
    rl.installWrite(
      EPOCH_APPLICATION,
      new Protection13(this.suite!, this.isClient ? a.client : a.server, EPOCH_APPLICATION),
    );
    rl.installRead(
      EPOCH_APPLICATION,
      new Protection13(this.suite!, this.isClient ? a.server : a.client, EPOCH_APPLICATION),
    );
  }

  /** Match the peer's certificate against the expected fingerprints and keep its key. */
  acceptCertificate(chain: readonly Uint8Array[]): void {
    const c = acceptPeerCertificate(chain, this.settings.remoteFingerprints);
    this.remoteCertificate = c.der;
    this.remotePublicKey = c.publicKey;
  }

  #signedContent(fromServer: boolean): Uint8Array {
    return Buffer.concat([SIGNED_PREFIX[fromServer ? 'server' : 'client'], this.hash()]);
  }

  /** Our CertificateVerify over the transcript so far (RFC 8446 §4.4.3). */
  certificateVerify(offered: readonly number[]): FlightItem {
    const key = this.settings.certificate.privateKey;
    const scheme = chooseScheme(
      key,
      offered.filter((s) => SIGNATURE_SCHEMES13.includes(s)),
    );
    if (scheme === undefined) {
      throw new DtlsError(
        'ERR_DTLS_NO_SHARED_PARAMETERS',
        ALERT_HANDSHAKE_FAILURE,
        'no signature scheme for our key',
      );
    }
    const signature = signWith(scheme, key, this.#signedContent(!this.isClient));
    return this.message(
      HS_CERTIFICATE_VERIFY,
      serializeDigitallySigned({ signatureScheme: scheme, signature }),
      EPOCH_HANDSHAKE,
    );
  }

  checkCertificateVerify(msg: HandshakeMessage): void {
    const cv = parseDigitallySigned(msg.body);
    requirePeerSignature(
      'CertificateVerify',
      SIGNATURE_SCHEMES13,
      cv,
      this.remotePublicKey!,
      this.#signedContent(this.isClient),
    );
    this.record(msg);
  }

  finished(): FlightItem {
    const base = this.isClient ? this.clientSecret! : this.serverSecret!;
    return this.message(HS_FINISHED, this.schedule!.finished(base, this.hash()), EPOCH_HANDSHAKE);
  }

  checkFinished(msg: HandshakeMessage): void {
    const base = this.isClient ? this.serverSecret! : this.clientSecret!;
    const expected = this.schedule!.finished(base, this.hash());
    if (Buffer.compare(Buffer.from(expected), Buffer.from(msg.body)) !== 0) {
      throw new DtlsError('ERR_DTLS_BAD_FINISHED', ALERT_DECRYPT_ERROR, 'Finished verify_data mismatch');
    }
    this.record(msg);
  }

  exporter(label: string, length: number, context?: Uint8Array): Uint8Array | undefined {
    if (!this.exporterMaster || !this.suite) return undefined;
    return exporter13(this.suite.hash, this.exporterMaster, label, context, length);
  }

  noteRecord(epoch: number, seq: number): void {
    if (epoch < EPOCH_HANDSHAKE) return;
    if (!this.received.some((r) => r.epoch === epoch && r.seq === seq)) this.received.push({ epoch, seq });
    if (this.received.length > 64) this.received.shift();
  }

  acknowledge(): void {
    this.sendAck();
  }

  /** Send an ACK of the epoch-2 handshake records received so far (RFC 9147 §7). */
  sendAck(): void {
    const epoch = this.host.records.hasWrite(EPOCH_APPLICATION) ? EPOCH_APPLICATION : EPOCH_HANDSHAKE;
    this.host.sendRecord(CONTENT_ACK, epoch, serializeAck(this.received));
  }

  /** An ACK arrived (or, with no data, an application record that implies one). */
  onAck(data?: Uint8Array): void {
    if (!data) return;
    const acked = parseAck(data);
    const u = this.#update;
    if (u && acked.some((r) => r.epoch === this.#writeEpoch && r.seq >= u.firstSeq)) {
      // Our KeyUpdate is acknowledged: only now switch to the next write epoch (RFC 9147 §8).
      this.#update = undefined;
      this.host.flights.clear();
      this.#writeSecret = nextTrafficSecret(this.suite!.hash, this.#writeSecret!);
      this.#writeEpoch++;
      this.host.records.installWrite(
        this.#writeEpoch,
        new Protection13(this.suite!, this.#writeSecret, this.#writeEpoch),
      );
      this.host.records.writeEpoch = this.#writeEpoch;
    }
  }

  #readSecret: Uint8Array | undefined;
  #writeSecret: Uint8Array | undefined;
  #readEpoch = EPOCH_APPLICATION;
  #writeEpoch = EPOCH_APPLICATION;
  #update: { firstSeq: number } | undefined;

  /** Current epochs of application data (they grow with each KeyUpdate). */
  get epochs(): { read: number; write: number } {
    return { read: this.#readEpoch, write: this.#writeEpoch };
  }

  /**
   * Post-handshake messages (RFC 9147 §8, RFC 8446 §4.6): KeyUpdate moves the peer's traffic to
   * the next epoch (and, when asked, we update ours); NewSessionTicket is ignored (no resumption).
   */
  onPostHandshake(msg: HandshakeMessage): void {
    if (msg.msgType === HS_NEW_SESSION_TICKET) return;
    if (msg.msgType !== HS_KEY_UPDATE) {
      throw new DtlsError(
        'ERR_DTLS_UNEXPECTED_MESSAGE',
        ALERT_UNEXPECTED_MESSAGE,
        `unexpected post-handshake message ${msg.msgType}`,
      );
    }
    if (msg.body.length !== 1 || msg.body[0]! > 1) {
      throw new DtlsError('ERR_DTLS_DECODE', ALERT_DECODE_ERROR, 'malformed KeyUpdate');
    }
    this.#readSecret = nextTrafficSecret(this.suite!.hash, this.#readSecret!);
    this.#readEpoch++;
    this.host.records.installRead(
      this.#readEpoch,
      new Protection13(this.suite!, this.#readSecret, this.#readEpoch),
    );
    if (msg.body[0] === 1 && !this.#update) this.updateKeys(false);
  }

  /** Send a KeyUpdate; our write epoch advances once the peer acknowledges it. */
  updateKeys(requestPeer: boolean): void {
    if (this.#update) return;
    this.#update = { firstSeq: this.host.records.nextSeq(this.#writeEpoch) };
    const item: FlightItem = {
      kind: 'handshake',
      msgType: HS_KEY_UPDATE,
      messageSeq: this.sendSeq++,
      body: Uint8Array.of(requestPeer ? 1 : 0),
      epoch: this.#writeEpoch,
    };
    this.host.flights.start([item], true);
  }
}
