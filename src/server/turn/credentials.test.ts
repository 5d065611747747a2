import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { test } from 'node:test';
import { ManualClock } from '../../core/clock.js';
import { ClientTable } from './client-table.js';
import {
  CredentialConfigError,
  Credentials,
  longTermKey,
  makeRestCredentials,
  restPassword,
} from './credentials.js';
import { NonceIssuer } from './nonce.js';

test('credentials: REST password is base64 HMAC-SHA1(secret, username), as coturn computes it', () => {
  const expected = createHmac('sha1', 'north').update('1700000600:alice').digest('base64');
  assert.equal(restPassword('north', '1700000600:alice'), expected);
  const c = makeRestCredentials('north', 'alice', 600, 1_700_000_000_000);
  assert.equal(c.username, '1700000600:alice');
  assert.equal(c.password, expected);
  assert.equal(c.expiresAt, 1_700_000_600_000);
  assert.deepEqual([...longTermKey('u', 'r', 'p')], [...createHash('md5').update('u:r:p').digest()]);
});

test('credentials: static users, hex keys, REST with several secrets, expiry, unknown', () => {
  const c = new Credentials({
    users: ['alice:pw', 'bob:0x00112233445566778899aabbccddeeff'],
    secrets: ['old', 'new'],
  });
  const a = c.lookup('alice', 'realm', 0);
  assert.equal(a.kind, 'ok');
  if (a.kind === 'ok') {
    assert.deepEqual([...a.keys[0]!], [...longTermKey('alice', 'realm', 'pw')]);
    assert.equal(a.expiresAt, undefined);
  }
  const b = c.lookup('bob', 'realm', 0);
  assert.ok(b.kind === 'ok' && b.keys[0]![0] === 0x00 && b.keys[0]![15] === 0xff);
  const now = 1_700_000_000_000;
  const r = c.lookup('1700000100:carol', 'realm', now);
  assert.equal(r.kind, 'ok');
  if (r.kind === 'ok') {
    assert.equal(r.keys.length, 2, 'one candidate key per secret');
    assert.equal(r.account, 'carol');
    assert.equal(r.expiresAt, 1_700_000_100_000);
    assert.deepEqual(
      [...r.keys[1]!],
      [...longTermKey('1700000100:carol', 'realm', restPassword('new', '1700000100:carol'))],
    );
  }
  assert.equal(c.lookup('1699999999:carol', 'realm', now).kind, 'expired');
  assert.equal(c.lookup('1700000100', 'realm', now).kind, 'ok', 'timestamp-only usernames');
  assert.equal(c.lookup('nobody', 'realm', now).kind, 'unknown');
  assert.equal(new Credentials({ users: ['x:y'] }).lookup('1700000100:z', 'r', now).kind, 'unknown');
  assert.throws(() => new Credentials({ users: ['nocolon'] }), CredentialConfigError);
  assert.throws(() => new Credentials({ secrets: [''] }), CredentialConfigError);
  assert.equal(new Credentials({}).empty, true);
});

test('nonce: valid for its lifetime, stale after, bound to the client IP, forgeries invalid', () => {
  const clock = new ManualClock();
  const n = new NonceIssuer(clock, 10_000);
  const x = n.issue('192.0.2.1');
  assert.equal(n.check(x, '192.0.2.1'), 'ok');
  assert.equal(n.check(x, '192.0.2.2'), 'invalid');
  assert.equal(n.check(`${x.slice(0, 25)}0`, '192.0.2.1') === 'ok', x.endsWith('0'));
  assert.equal(n.check('garbage', '192.0.2.1'), 'invalid');
  clock.advance(9_999);
  assert.equal(n.check(x, '192.0.2.1'), 'ok');
  clock.advance(1);
  assert.equal(n.check(x, '192.0.2.1'), 'stale');
  assert.equal(new NonceIssuer(clock).check(x, '192.0.2.1'), 'invalid', 'another server instance');
});

test('client table: numeric keys per address id, refcounted ids', () => {
  const t = new ClientTable<string>();
  t.set('192.0.2.1', 1000, 'a');
  t.set('192.0.2.1', 1001, 'b');
  t.set('2001:db8::1', 1000, 'c');
  assert.equal(t.get('192.0.2.1', 1000), 'a');
  assert.equal(t.get('192.0.2.1', 1001), 'b');
  assert.equal(t.get('2001:db8::1', 1000), 'c');
  assert.equal(t.get('192.0.2.2', 1000), undefined);
  assert.equal(t.addressCount, 2);
  assert.equal(t.delete('192.0.2.1', 1000), true);
  assert.equal(t.delete('192.0.2.1', 1000), false);
  assert.equal(t.addressCount, 2);
  t.delete('192.0.2.1', 1001);
  assert.equal(t.addressCount, 1);
  assert.equal(t.size, 1);
});
