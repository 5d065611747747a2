import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { certificateFromPem, certificateToPem, fingerprintOf, generateCertificate } from './certificate.js';
import { certificatePublicKey, subjectPublicKeyInfo } from './certificate-key.js';
import { DtlsError, DtlsFingerprintError } from './errors.js';
import { acceptPeerCertificate } from './peer-certificate.js';

const spkiOf = (der: Uint8Array): Buffer =>
  new X509Certificate(Buffer.from(der)).publicKey.export({ type: 'spki', format: 'der' });

test('certificate public key: the same key as a full X.509 parse, P-256 and RSA', async () => {
  for (const c of [
    await generateCertificate(),
    await generateCertificate(),
    await generateCertificate({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024 }),
  ]) {
    const key = certificatePublicKey(c.der);
    assert.deepEqual(key.export({ type: 'spki', format: 'der' }), spkiOf(c.der));
    assert.deepEqual(Buffer.from(subjectPublicKeyInfo(c.der)), spkiOf(c.der));
  }
});

test('certificate public key: a certificate made elsewhere (PEM round trip, v3 with version field)', async () => {
  const pem = certificateToPem(await generateCertificate());
  const c = certificateFromPem(pem.cert, pem.key);
  assert.deepEqual(certificatePublicKey(c.der).export({ type: 'spki', format: 'der' }), spkiOf(c.der));
});

test('peer certificate: fingerprint checked first, then the key; garbage is bad_certificate', async () => {
  const c = await generateCertificate();
  const other = await generateCertificate();
  const ok = acceptPeerCertificate([c.der], [fingerprintOf(c.der)]);
  assert.deepEqual(ok.publicKey.export({ type: 'spki', format: 'der' }), spkiOf(c.der));
  assert.throws(() => acceptPeerCertificate([c.der], [fingerprintOf(other.der)]), DtlsFingerprintError);
  const garbage = Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01);
  assert.throws(
    () => acceptPeerCertificate([garbage], undefined),
    (e: unknown) => e instanceof DtlsError && e.code === 'ERR_DTLS_BAD_CERTIFICATE',
  );
  // A point off the curve parses as DER but is refused on import.
  const bad = Uint8Array.from(c.der);
  const at = Buffer.from(bad).indexOf(Buffer.from(subjectPublicKeyInfo(c.der))) + 27 + 40;
  bad[at] = bad[at]! ^ 0xff;
  assert.throws(() => acceptPeerCertificate([bad], undefined), DtlsError);
});
