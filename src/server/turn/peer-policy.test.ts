import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerPolicy, PeerPolicyError } from './peer-policy.js';

test('peer policy: defaults refuse every non-public destination', () => {
  const p = new PeerPolicy();
  for (const ip of [
    '127.0.0.1',
    '127.9.9.9',
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '169.254.1.1',
    '100.64.0.1',
    '100.127.255.255',
    '224.0.0.1',
    '239.1.1.1',
    '255.255.255.255',
    '0.0.0.0',
    '::',
    '::1',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:10.1.2.3',
    '::ffff:a9fe:a9fe',
    'not-an-ip',
  ]) {
    assert.equal(p.allows(ip), false, ip);
  }
  for (const ip of [
    '8.8.8.8',
    '203.0.113.5',
    '100.128.0.1',
    '172.32.0.1',
    '2001:4860::8888',
    '::ffff:8.8.8.8',
  ]) {
    assert.equal(p.allows(ip), true, ip);
  }
});

test('peer policy: allow-loopback, coturn ranges and CIDR; allowed wins over denied', () => {
  const loop = new PeerPolicy({ allowLoopback: true });
  assert.equal(loop.allows('127.0.0.1'), true);
  assert.equal(loop.allows('::1'), true);
  assert.equal(loop.allows('::ffff:127.0.0.1'), true);
  assert.equal(loop.allows('10.0.0.1'), false);
  const p = new PeerPolicy({
    allowed: ['10.1.0.0-10.1.0.255', '192.168.5.5'],
    denied: ['8.8.8.0/24', '8.8.4.4', '2001:db8::/32'],
  });
  assert.equal(p.allows('10.1.0.77'), true);
  assert.equal(p.allows('10.1.1.1'), false);
  assert.equal(p.allows('192.168.5.5'), true);
  assert.equal(p.allows('8.8.8.8'), false);
  assert.equal(p.allows('8.8.4.4'), false);
  assert.equal(p.allows('8.8.4.5'), true);
  assert.equal(p.allows('2001:db8::1'), false);
  assert.equal(new PeerPolicy({ allowed: ['8.8.8.8'], denied: ['8.8.8.0/24'] }).allows('8.8.8.8'), true);
  assert.equal(new PeerPolicy({ allowLoopback: true, denied: ['127.0.0.2'] }).allows('127.0.0.2'), false);
  for (const bad of ['1.2.3', '1.2.3.4-::1', '10.0.0.0/33', 'x-y', '']) {
    assert.throws(() => new PeerPolicy({ denied: [bad] }), PeerPolicyError, bad);
  }
});
