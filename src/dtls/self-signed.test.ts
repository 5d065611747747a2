import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { needs, PREREQS } from '../../test/helpers/prereq.js';
import { generateSelfSigned } from './self-signed.js';

test('self-signed ECDSA: node:crypto parses it, the signature verifies, the key matches', async () => {
  const notBefore = Date.parse('2026-01-01T00:00:00Z');
  const notAfter = Date.parse('2026-01-31T12:34:56Z');
  const c = await generateSelfSigned({ algorithm: 'ecdsa-p256', notBefore, notAfter, commonName: 'peer' });
  const x = new X509Certificate(Buffer.from(c.der));
  assert.equal(x.subject, 'CN=peer');
  assert.equal(x.issuer, 'CN=peer');
  assert.equal(Date.parse(x.validFrom), notBefore);
  assert.equal(Date.parse(x.validTo), notAfter);
  assert.equal(x.serialNumber.toLowerCase(), c.serial);
  assert.ok(x.verify(x.publicKey));
  assert.ok(x.checkPrivateKey(c.privateKey));
  assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
});

test('self-signed: serial numbers are positive, distinct, without a leading zero octet', async () => {
  const serials = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const c = await generateSelfSigned({ algorithm: 'ecdsa-p256', notBefore: 0, notAfter: 86_400_000 });
    assert.equal(c.serial.length, 16);
    assert.ok(
      Number.parseInt(c.serial.slice(0, 2), 16) >= 1 && Number.parseInt(c.serial.slice(0, 2), 16) < 0x80,
    );
    serials.add(c.serial);
  }
  assert.equal(serials.size, 20);
});

test('self-signed: GeneralizedTime from 2050 on, long names take multi-byte DER lengths', async () => {
  const notBefore = Date.parse('2049-12-31T23:59:59Z');
  const notAfter = Date.parse('2050-01-01T00:00:01Z');
  const long = 'n'.repeat(300);
  const c = await generateSelfSigned({ algorithm: 'ecdsa-p256', notBefore, notAfter, commonName: long });
  const x = new X509Certificate(Buffer.from(c.der));
  assert.equal(Date.parse(x.validFrom), notBefore);
  assert.equal(Date.parse(x.validTo), notAfter);
  assert.equal(x.subject, `CN=${long}`);
  assert.ok(x.verify(x.publicKey));
  // The validity SEQUENCE holds a UTCTime (0x17, 13 bytes) then a GeneralizedTime (0x18, 15 bytes).
  const der = Buffer.from(c.der);
  const at = der.indexOf(Buffer.from('491231235959Z'));
  assert.ok(at > 2 && der[at - 2] === 0x17 && der[at - 1] === 13);
  const gat = der.indexOf(Buffer.from('20500101000001Z'));
  assert.ok(gat > 2 && der[gat - 2] === 0x18 && der[gat - 1] === 15);
});

test('self-signed RSA with a chosen modulus and exponent', async () => {
  const c = await generateSelfSigned({
    algorithm: 'rsa',
    modulusLength: 1024,
    publicExponent: 3,
    notBefore: 0,
    notAfter: 86_400_000,
  });
  const x = new X509Certificate(Buffer.from(c.der));
  assert.equal(x.publicKey.asymmetricKeyDetails?.modulusLength, 1024);
  assert.equal(x.publicKey.asymmetricKeyDetails?.publicExponent, 3n);
  assert.ok(x.verify(x.publicKey));
  assert.ok(x.checkPrivateKey(c.privateKey));
});

test('self-signed: OpenSSL reads it and verifies the self-signature', needs(PREREQS.openssl), async () => {
  const c = await generateSelfSigned({
    algorithm: 'ecdsa-p256',
    notBefore: Date.now() - 60_000,
    notAfter: Date.now() + 86_400_000,
    commonName: 'openssl-check',
  });
  const dir = mkdtempSync(join(tmpdir(), 'rtcs-cert-'));
  try {
    const file = join(dir, 'c.der');
    writeFileSync(file, c.der);
    const pem = spawnSync('openssl', ['x509', '-inform', 'der', '-in', file, '-out', join(dir, 'c.pem')]);
    assert.equal(pem.status, 0, String(pem.stderr));
    const v = spawnSync('openssl', ['verify', '-CAfile', join(dir, 'c.pem'), join(dir, 'c.pem')]);
    assert.equal(v.status, 0, `${v.stdout} ${v.stderr}`);
    assert.match(String(v.stdout), /OK/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
