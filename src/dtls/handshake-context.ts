import { createHash, type KeyObject } from 'node:crypto';
import type { Logger } from '../core/log.js';
import { cryptoRandom } from '../core/random.js';
import type { DtlsCertificate, DtlsFingerprint } from './certificate.js';
import type { CipherSuite } from './cipher-suites.js';
import { ALERT_DECRYPT_ERROR, HS_FINISHED } from './constants.js';
import { DtlsError } from './errors.js';
import type { FlightItem, FlightSender } from './flight.js';
import { fullMessage } from './handshake-fragment.js';
import { acceptPeerCertificate } from './peer-certificate.js';
import { exportKeyingMaterial, keyBlock, masterSecret, verifyData } from './prf.js';
import type { HandshakeMessage } from './reassembler.js';
import type { RecordLayer } from './record-layer.js';
import { deriveEpochKeys, keyBlockLength } from './record-protection.js';
import type { Suite13 } from './record13.js';

/** Settings the handshake needs, resolved from the endpoint options. */
export interface HandshakeSettings {
  readonly certificate: DtlsCertificate;
  /** Expected peer fingerprints; undefined accepts any certificate. */
  remoteFingerprints: readonly DtlsFingerprint[] | undefined;
  readonly cipherSuites: readonly CipherSuite[];
  /** DTLS 1.3 suites in preference order. */
  readonly suites13: readonly Suite13[];
  readonly groups: readonly number[];
  readonly srtpProfiles: readonly number[];
  readonly requireExtendedMasterSecret: boolean;
  /** Server: ask for the client's certificate (WebRTC: always). */
  readonly requestClientCertificate: boolean;
  /** Server: answer a ClientHello without a valid cookie with HelloVerifyRequest. */
  readonly helloVerify: boolean;
  /** Versions we may negotiate, e.g. ['1.3', '1.2']. */
  readonly versions: readonly ('1.2' | '1.3')[];
  readonly cookieSecret: Uint8Array;
  readonly cookieContext: Uint8Array;
  readonly log: Logger;
}

/** What the endpoint needs from a handshake machine (DTLS 1.2 or 1.3). */
export interface Handshake {
  readonly version: '1.2' | '1.3';
  readonly complete: boolean;
  readonly suiteName: string | undefined;
  readonly srtpProfile: number | undefined;
  readonly extendedMasterSecret: boolean;
  readonly remoteCertificate: Uint8Array | undefined;
  /** Server before it accepted a ClientHello: any message_seq may start the handshake. */
  readonly stateless?: boolean;
  onMessage(msg: HandshakeMessage): void;
  /** Keying material exporter (RFC 5705 / RFC 8446 §7.5); undefined before keys exist. */
  exporter(label: string, length: number, context?: Uint8Array): Uint8Array | undefined;
  /** The peer retransmitted a flight we already processed; default: resend our last flight. */
  onPeerRetransmit?(): void;
  /** An ACK record arrived (DTLS 1.3). */
  onAck?(data?: Uint8Array): void;
  /** DTLS 1.3: send a KeyUpdate (RFC 9147 §8). */
  updateKeys?(requestPeer: boolean): void;
  /** Send an ACK for the handshake records received (DTLS 1.3). */
  acknowledge?(): void;
  /** A handshake record was received (DTLS 1.3 tracks record numbers to acknowledge). */
  noteRecord?(epoch: number, seq: number): void;
}

/** What the endpoint provides to the handshake machines. */
export interface HandshakeHost {
  readonly settings: HandshakeSettings;
  readonly records: RecordLayer;
  readonly flights: FlightSender;
  /** The handshake finished: the connection is up. */
  complete(): void;
  /** Replace the running handshake (version negotiated: 1.2 machine hands over to 1.3). */
  upgrade(next: Handshake): void;
  /** Send one record outside a flight (ACKs). */
  sendRecord(type: number, epoch: number, data: Uint8Array): void;
}

/** The negotiated result, shared by both roles. */
export class HandshakeContext implements Omit<Handshake, 'onMessage' | 'complete'> {
  readonly version = '1.2' as const;
  readonly host: HandshakeHost;
  readonly isClient: boolean;
  /** Full handshake messages (with DTLS headers) in transcript order (RFC 6347 §4.2.6). */
  transcript: Uint8Array[] = [];
  clientRandom: Uint8Array = new Uint8Array(32);
  serverRandom: Uint8Array = new Uint8Array(32);
  suite: CipherSuite | undefined;
  extendedMasterSecret = false;
  srtpProfile: number | undefined;
  master: Uint8Array | undefined;
  remoteCertificate: Uint8Array | undefined;
  remotePublicKey: KeyObject | undefined;
  /** message_seq for our next handshake message. */
  sendSeq = 0;

  constructor(host: HandshakeHost, isClient: boolean) {
    this.host = host;
    this.isClient = isClient;
  }

  get suiteName(): string | undefined {
    return this.suite?.name;
  }

  exporter(label: string, length: number, context?: Uint8Array): Uint8Array | undefined {
    if (!this.master || !this.suite) return undefined;
    return exportKeyingMaterial(
      this.suite.prfHash,
      this.master,
      this.clientRandom,
      this.serverRandom,
      label,
      length,
      context,
    );
  }

  get settings(): HandshakeSettings {
    return this.host.settings;
  }

  /**
   * A random for a hello: 32 bytes from node:crypto's CSPRNG (through core/random's pool, one call
   * per 4 KiB) (the gmt_unix_time field is not used, RFC 8446 §4.1.2).
   */
  static freshRandom(): Uint8Array {
    return cryptoRandom.bytes(32);
  }

  record(msg: HandshakeMessage): void {
    this.transcript.push(fullMessage(msg.msgType, msg.messageSeq, msg.body));
  }

  /** Queue an outgoing message: assigns message_seq and adds it to the transcript. */
  message(msgType: number, body: Uint8Array, epoch = 0): FlightItem {
    const messageSeq = this.sendSeq++;
    this.transcript.push(fullMessage(msgType, messageSeq, body));
    return { kind: 'handshake', msgType, messageSeq, body, epoch };
  }

  transcriptBytes(): Uint8Array {
    return Buffer.concat(this.transcript);
  }

  transcriptHash(): Uint8Array {
    const h = createHash(this.suite!.prfHash);
    for (const m of this.transcript) h.update(m);
    return h.digest();
  }

  /** Check the peer's certificate chain: parse it, match a fingerprint, keep its public key. */
  acceptCertificate(chain: readonly Uint8Array[]): void {
    const c = acceptPeerCertificate(chain, this.settings.remoteFingerprints);
    this.remoteCertificate = c.der;
    this.remotePublicKey = c.publicKey;
  }

  /**
   * From the pre-master secret: master secret (extended when negotiated; the session hash covers
   * the transcript up to ClientKeyExchange, RFC 7627 §3) and epoch 1 keys for both directions.
   */
  deriveKeys(preMaster: Uint8Array): void {
    const s = this.suite!;
    const sessionHash = this.extendedMasterSecret ? this.transcriptHash() : undefined;
    this.master = masterSecret(s.prfHash, preMaster, this.clientRandom, this.serverRandom, sessionHash);
    const block = keyBlock(s.prfHash, this.master, this.clientRandom, this.serverRandom, keyBlockLength(s));
    const keys = deriveEpochKeys(s, block);
    const rl = this.host.records;
    rl.installWrite(1, this.isClient ? keys.clientWrite : keys.serverWrite);
    rl.installRead(1, this.isClient ? keys.serverWrite : keys.clientWrite);
  }

  /** Our Finished message over the current transcript (RFC 5246 §7.4.9). */
  finished(): FlightItem {
    const v = verifyData(this.suite!.prfHash, this.master!, this.isClient, this.transcriptBytes());
    return this.message(HS_FINISHED, v, 1);
  }

  /** Check the peer's Finished against the transcript before it. */
  checkFinished(received: Uint8Array): void {
    const expected = verifyData(this.suite!.prfHash, this.master!, !this.isClient, this.transcriptBytes());
    if (Buffer.compare(Buffer.from(expected), Buffer.from(received)) !== 0) {
      throw new DtlsError('ERR_DTLS_BAD_FINISHED', ALERT_DECRYPT_ERROR, 'Finished verify_data mismatch');
    }
  }
}
