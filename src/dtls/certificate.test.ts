import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import {
  certificateFromPem,
  certificateToPem,
  fingerprintOf,
  formatFingerprint,
  generateCertificate,
  matchesFingerprint,
  parseFingerprint,
} from './certificate.js';

test('generateCertificate: ECDSA P-256 self-signed, expiry, SDP-style SHA-256 fingerprint', async () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const c = await generateCertificate(
    { name: 'ECDSA', namedCurve: 'P-256' },
    { now, validityMs: 86_400_000, commonName: 'x' },
  );
  const x = new X509Certificate(Buffer.from(c.der));
  assert.equal(x.subject, 'CN=x');
  assert.ok(x.verify(x.publicKey), 'self-signed');
  assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.equal(c.expires, now + 86_400_000);
  const [f] = c.getFingerprints();
  assert.equal(f?.algorithm, 'sha-256');
  assert.match(f!.value, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  assert.equal(
    f!.value.replaceAll(':', '').toLowerCase(),
    x.fingerprint256.replaceAll(':', '').toLowerCase(),
  );
  assert.ok(x.checkPrivateKey(c.privateKey));
});

test('generateCertificate: RSA 2048', async () => {
  const c = await generateCertificate({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048 });
  const x = new X509Certificate(Buffer.from(c.der));
  assert.equal(x.publicKey.asymmetricKeyType, 'rsa');
  assert.equal(x.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  assert.ok(x.checkPrivateKey(c.privateKey));
});

test('supplied certificates: PEM round trip keeps the fingerprint; a foreign key is refused', async () => {
  const [a, b] = await Promise.all([generateCertificate(), generateCertificate()]);
  const pem = certificateToPem(a);
  const again = certificateFromPem(pem.cert, pem.key);
  assert.deepEqual(again.getFingerprints(), a.getFingerprints());
  assert.throws(() => certificateFromPem(pem.cert, certificateToPem(b).key), TypeError);
});

test('fingerprint text: parse, format, case-insensitive match, other hashes', async () => {
  const c = await generateCertificate();
  const f = fingerprintOf(c.der);
  const text = formatFingerprint(f);
  assert.match(text, /^sha-256 [0-9A-F:]+$/);
  assert.deepEqual(parseFingerprint(text.toLowerCase().replace('sha-256', 'SHA-256')), f);
  assert.ok(matchesFingerprint(c.der, { algorithm: 'SHA-256', value: f.value.toLowerCase() }));
  assert.ok(matchesFingerprint(c.der, fingerprintOf(c.der, 'sha-1')));
  assert.ok(!matchesFingerprint(c.der, { algorithm: 'md5', value: f.value }));
  assert.throws(() => parseFingerprint('sha-256 nothex'), TypeError);
});
