import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import 'reflect-metadata';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { bitString, oid, sequence, tlv, unsignedInteger, utf8String, x509Time } from './der.js';
import { createSelfSigned } from './self-signed.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('der: OIDs, integers, lengths, strings, times', () => {
  assert.equal(hex(oid('1.2.840.10045.2.1')), '06072a8648ce3d0201');
  assert.equal(hex(oid('2.5.4.3')), '0603550403');
  assert.equal(hex(oid('1.2.840.113549.1.1.11')), '06092a864886f70d01010b');
  assert.equal(hex(unsignedInteger(Uint8Array.of(0x7f))), '02017f');
  assert.equal(hex(unsignedInteger(Uint8Array.of(0x80))), '02020080');
  assert.equal(hex(unsignedInteger(Uint8Array.of(0, 0, 1))), '020101');
  assert.equal(hex(unsignedInteger(Uint8Array.of(0))), '020100');
  assert.equal(hex(tlv(0x04, new Uint8Array(127))).slice(0, 4), '047f');
  assert.equal(hex(tlv(0x04, new Uint8Array(128))).slice(0, 6), '048180');
  assert.equal(hex(tlv(0x04, new Uint8Array(300))).slice(0, 8), '0482012c');
  assert.equal(hex(utf8String('é')), '0c02c3a9');
  assert.equal(hex(bitString(Uint8Array.of(0xff))), '030200ff');
  assert.equal(hex(sequence()), '3000');
  assert.equal(
    Buffer.from(x509Time(new Date('2049-12-31T23:59:59Z'))).toString('latin1'),
    '\x17\x0d491231235959Z',
  );
  assert.equal(
    Buffer.from(x509Time(new Date('2050-01-01T00:00:00.900Z'))).toString('latin1'),
    '\x18\x0f20500101000000Z',
  );
});

test('self-signed certificates: parsed by OpenSSL and by an independent ASN.1 library, byte for byte', async () => {
  for (const key of [
    { type: 'ec' as const },
    { type: 'rsa' as const, modulusLength: 2048, publicExponent: 65537 },
  ]) {
    const notBefore = new Date('2026-01-01T00:00:00Z');
    const notAfter = new Date('2051-06-01T12:30:45Z');
    const { der, privateKey } = await createSelfSigned({
      key,
      commonName: 'rtcstack-test',
      notBefore,
      notAfter,
    });
    const x = new X509Certificate(Buffer.from(der));
    assert.equal(x.subject, 'CN=rtcstack-test');
    assert.equal(x.issuer, 'CN=rtcstack-test');
    assert.equal(Date.parse(x.validFrom), notBefore.getTime());
    assert.equal(Date.parse(x.validTo), notAfter.getTime());
    assert.ok(x.verify(x.publicKey), 'self-signed');
    assert.ok(x.checkPrivateKey(privateKey));
    assert.equal(x.publicKey.asymmetricKeyType, key.type);
    // @peculiar/asn1-x509 reads the structure and writes it back identically (DER is canonical).
    const parsed = AsnConvert.parse(der, Certificate);
    assert.equal(parsed.tbsCertificate.version, 2);
    assert.equal(hex(new Uint8Array(AsnConvert.serialize(parsed))), hex(der));
  }
});
