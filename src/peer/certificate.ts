import {
  type CertificateKeygenAlgorithm,
  type DtlsCertificate,
  type DtlsFingerprint,
  generateCertificate,
} from '../dtls/certificate.js';

/** W3C RTCCertificate: a DTLS certificate and its key, usable across peer connections. */
export class RTCCertificate {
  /** @internal what the DTLS engine uses */
  readonly dtls: DtlsCertificate;
  constructor(dtls: DtlsCertificate) {
    this.dtls = dtls;
  }
  get expires(): number {
    return this.dtls.expires;
  }
  getFingerprints(): DtlsFingerprint[] {
    return this.dtls.getFingerprints();
  }
}

/**
 * RTCPeerConnection.generateCertificate: ECDSA P-256 (`{ name: 'ECDSA', namedCurve: 'P-256' }`) or
 * RSASSA-PKCS1-v1_5. Unsupported algorithms reject with NotSupportedError.
 */
export async function generateRtcCertificate(
  keygenAlgorithm: string | CertificateKeygenAlgorithm = { name: 'ECDSA', namedCurve: 'P-256' },
): Promise<RTCCertificate> {
  const alg: CertificateKeygenAlgorithm | undefined =
    typeof keygenAlgorithm === 'string'
      ? keygenAlgorithm === 'ECDSA'
        ? { name: 'ECDSA', namedCurve: 'P-256' }
        : undefined
      : keygenAlgorithm;
  const ok =
    alg && ((alg.name === 'ECDSA' && alg.namedCurve === 'P-256') || alg.name === 'RSASSA-PKCS1-v1_5');
  if (!ok) throw new DOMException('unsupported certificate algorithm', 'NotSupportedError');
  return new RTCCertificate(await generateCertificate(alg));
}

/** A spare older than this is dropped rather than handed out (it was valid from a day before). */
const SPARE_MAX_AGE_MS = 3_600_000;
/**
 * Spares kept generated ahead: two, because connections come in pairs when both ends run here
 * (tests, benchmarks, relays), and the second of a pair would otherwise wait for its key.
 */
const SPARES = 2;
let spares: { cert: Promise<RTCCertificate>; at: number }[] = [];

/**
 * A fresh default certificate for a new RTCPeerConnection: one generated ahead, if any (each is
 * handed out once, as browsers give every connection its own), and the spares are topped up now, so
 * the following connections do not wait for key generation.
 */
export function takeFreshCertificate(): Promise<RTCCertificate> {
  const now = Date.now();
  spares = spares.filter((s) => now - s.at < SPARE_MAX_AGE_MS);
  const cert = spares.shift()?.cert ?? generateRtcCertificate();
  while (spares.length < SPARES) {
    const next = generateRtcCertificate();
    next.catch(() => {});
    spares.push({ cert: next, at: now });
  }
  return cert;
}
