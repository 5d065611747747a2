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
