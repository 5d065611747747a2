import assert from 'node:assert/strict';
import { createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { GROUP_SECP256R1, GROUP_X25519 } from './constants.js';
import { DtlsError } from './errors.js';
import { createEcdheKey, readyEcdheSpares } from './key-exchange.js';

test('ECDHE X25519 and P-256: both sides derive the same secret; malformed values are DtlsErrors', () => {
  for (const group of [GROUP_X25519, GROUP_SECP256R1]) {
    const a = createEcdheKey(group);
    const b = createEcdheKey(group);
    assert.equal(a.publicKey.length, group === GROUP_X25519 ? 32 : 65);
    const s1 = a.computeSecret(b.publicKey);
    assert.equal(s1.length, 32);
    assert.deepEqual(s1, b.computeSecret(a.publicKey));
    assert.notDeepEqual(s1, a.computeSecret(createEcdheKey(group).publicKey));
    assert.throws(() => a.computeSecret(new Uint8Array(31)), DtlsError);
  }
  // A point not on the curve.
  const p = createEcdheKey(GROUP_SECP256R1);
  const bad = new Uint8Array(65).fill(1);
  bad[0] = 4;
  assert.throws(() => p.computeSecret(bad), DtlsError);
});

test('ECDHE X25519: the wire value is the raw RFC 7748 key a foreign implementation agrees with', () => {
  const ours = createEcdheKey(GROUP_X25519);
  const theirs = generateKeyPairSync('x25519');
  // Through SPKI DER (RFC 8410 §4: a fixed 12-byte prefix, then the raw 32-byte key).
  const theirRaw = theirs.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const ourPub = createPublicKey({
    key: Buffer.concat([Buffer.from('302a300506032b656e032100', 'hex'), ours.publicKey]),
    format: 'der',
    type: 'spki',
  });
  assert.deepEqual(
    ours.computeSecret(theirRaw),
    new Uint8Array(diffieHellman({ privateKey: theirs.privateKey, publicKey: ourPub })),
  );
});

test('ECDHE X25519 keys generated ahead: each handed out once, fresh after the spares run out', async () => {
  createEcdheKey(GROUP_X25519); // starts generating spares in the thread pool
  for (let i = 0; i < 100_000 && readyEcdheSpares() < 2; i++) await new Promise((r) => setImmediate(r));
  assert.equal(readyEcdheSpares(), 2, 'two spares generated ahead');
  const keys = Array.from({ length: 5 }, () => createEcdheKey(GROUP_X25519));
  assert.ok(readyEcdheSpares() < 2, 'the spares were taken');
  const hex = keys.map((k) => Buffer.from(k.publicKey).toString('hex'));
  assert.equal(new Set(hex).size, keys.length, 'no key pair twice');
  for (let i = 1; i < keys.length; i++) {
    assert.deepEqual(keys[0]!.computeSecret(keys[i]!.publicKey), keys[i]!.computeSecret(keys[0]!.publicKey));
  }
});
