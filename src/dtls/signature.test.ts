import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { test } from 'node:test';
import { generateCertificate } from './certificate.js';
import { ALERT_DECRYPT_ERROR, SIG_ECDSA_SECP256R1_SHA256, SIG_RSA_PSS_RSAE_SHA256 } from './constants.js';
import { DtlsError } from './errors.js';
import { requirePeerSignature, signWith } from './signature.js';

test('requirePeerSignature: a valid signature passes; another scheme, other data or another key fail with decrypt_error', async () => {
  const [a, b] = [await generateCertificate(), await generateCertificate()];
  const data = new TextEncoder().encode('transcript');
  const signed = {
    signatureScheme: SIG_ECDSA_SECP256R1_SHA256,
    signature: signWith(SIG_ECDSA_SECP256R1_SHA256, a.privateKey, data),
  };
  const pub = (c: typeof a) => createPublicKey(c.privateKey);
  requirePeerSignature('CertificateVerify', [SIG_ECDSA_SECP256R1_SHA256], signed, pub(a), data);
  const refused = (fn: () => void): void =>
    assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof DtlsError);
      assert.equal(e.code, 'ERR_DTLS_BAD_SIGNATURE');
      assert.equal(e.alert, ALERT_DECRYPT_ERROR);
      assert.match(e.message, /CertificateVerify does not verify/);
      return true;
    });
  refused(() => requirePeerSignature('CertificateVerify', [SIG_RSA_PSS_RSAE_SHA256], signed, pub(a), data));
  refused(() =>
    requirePeerSignature('CertificateVerify', [SIG_ECDSA_SECP256R1_SHA256], signed, pub(a), data.subarray(1)),
  );
  refused(() =>
    requirePeerSignature('CertificateVerify', [SIG_ECDSA_SECP256R1_SHA256], signed, pub(b), data),
  );
});
