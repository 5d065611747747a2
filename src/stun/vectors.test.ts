/** RFC 5769 test vectors (and the RFC 8489 appendix B SHA-256 vector). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromHex, toHex } from '../core/bytes.js';
import { ParseError } from '../core/errors.js';
import { attr, read } from './attributes.js';
import { ATTR, METHOD, PASSWORD_ALGORITHM } from './constants.js';
import {
  longTermKey,
  saslprep,
  shortTermKey,
  userHash,
  verifyIntegrity,
  verifyIntegritySha256,
} from './integrity.js';
import { createMessage, parseStunMessage } from './message.js';
import { serializeStunMessage } from './serialize.js';

// RFC 5769 §2.1
const REQUEST = fromHex(`
  000100582112a442b7e7a701bc34d686fa87dfae
  802200105354554e207465737420636c69656e74
  002400046e0001ff
  80290008932ff9b151263b36
  000600096576746a3a683676592020200
  0080014 9aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2
  80280004e57a3bcf`);
// RFC 5769 §2.2
const RESPONSE_V4 = fromHex(`
  0101003c2112a442b7e7a701bc34d686fa87dfae
  8022000b7465737420766563746f7220
  002000080001a147e112a643
  000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7
  80280004c07d4c96`);
// RFC 5769 §2.3
const RESPONSE_V6 = fromHex(`
  010100482112a442b7e7a701bc34d686fa87dfae
  8022000b7465737420766563746f7220
  002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9
  00080014a382954e4be67bf11784c97c8292c275bfe3ed41
  80280004c8fb0b4c`);
// RFC 5769 §2.4
const REQUEST_LONG_TERM = fromHex(`
  000100602112a44278ad3433c6ad72c029da412e
  00060012e3839ee38388e383aae38383e382afe382b90000
  0015001c662f2f3439396b393534643
  64f4c33346f4c394653547679363473 41
  0014000b6578616d706c652e6f726700
  00080014f67024656dd64a3e02b8e0712e85c9a28ca89666`);
// RFC 8489 appendix B.1
const REQUEST_SHA256 = fromHex(`
  000100902112a44278ad3433c6ad72c029da412e
  001e00204a3cf38fef6992bda952c6780417da0f248194155 69e60b205c46e41407f1704
  001500296f624d61744a6f73324141414366 2f2f3439396b393534643 64f4c33346f4c394653547679363473 41000000
  0014000b6578616d706c652e6f726700
  001d000400020000
  001c0020b5c7bf005b6c52a21c51c5e892f8192413629 6cb927c43149309278cc6518e65`);

const SHORT_TERM_PASSWORD = 'VOkJxbRl1RmTxUk/WvJxBt';
const LT_USERNAME = '\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9';
const LT_PASSWORD = 'The\u00ADM\u00AAtr\u2168';

test('RFC 5769 §2.1 sample request: attributes, integrity, fingerprint', () => {
  assert.equal(REQUEST.length, 108);
  const m = parseStunMessage(REQUEST);
  assert.equal(m.method, METHOD.BINDING);
  assert.equal(m.cls, 'request');
  assert.equal(toHex(m.transactionId), 'b7e7a701bc34d686fa87dfae');
  assert.equal(read.software(m), 'STUN test client');
  assert.equal(read.priority(m), 0x6e0001ff);
  assert.equal(read.iceControlled(m), 0x932ff9b151263b36n);
  assert.equal(read.username(m), 'evtj:h6vY');
  assert.ok(m.fingerprintOffset > 0);
  assert.ok(verifyIntegrity(m, shortTermKey(SHORT_TERM_PASSWORD)));
  assert.ok(!verifyIntegrity(m, shortTermKey('wrong')));
});

test('RFC 5769 §2.2 IPv4 response: XOR-MAPPED-ADDRESS 192.0.2.1:32853', () => {
  const m = parseStunMessage(RESPONSE_V4);
  assert.equal(m.cls, 'success');
  assert.equal(read.software(m), 'test vector');
  assert.deepEqual(read.xorMappedAddress(m), { address: '192.0.2.1', port: 32853 });
  assert.ok(verifyIntegrity(m, shortTermKey(SHORT_TERM_PASSWORD)));
});

test('RFC 5769 §2.3 IPv6 response: XOR-MAPPED-ADDRESS 2001:db8:1234:5678:11:2233:4455:6677', () => {
  const m = parseStunMessage(RESPONSE_V6);
  assert.deepEqual(read.xorMappedAddress(m), {
    address: '2001:db8:1234:5678:11:2233:4455:6677',
    port: 32853,
  });
  assert.ok(verifyIntegrity(m, shortTermKey(SHORT_TERM_PASSWORD)));
});

test('RFC 5769 §2.4 long-term credentials with SASLprep', () => {
  assert.equal(saslprep(LT_PASSWORD), 'TheMatrIX');
  const m = parseStunMessage(REQUEST_LONG_TERM);
  assert.equal(read.username(m), LT_USERNAME);
  assert.equal(read.nonce(m), 'f//499k954d6OL34oL9FSTvy64sA');
  assert.equal(read.realm(m), 'example.org');
  const key = longTermKey(LT_USERNAME, 'example.org', LT_PASSWORD);
  assert.ok(verifyIntegrity(m, key));
  // Rebuilding the message with our serializer gives exactly the vector's bytes.
  const again = serializeStunMessage(
    createMessage(METHOD.BINDING, 'request', m.transactionId, [
      attr.username(LT_USERNAME),
      attr.nonce('f//499k954d6OL34oL9FSTvy64sA'),
      attr.realm('example.org'),
    ]),
    { integrity: key },
  );
  assert.equal(toHex(again), toHex(REQUEST_LONG_TERM));
});

test('RFC 8489 appendix B.1: USERHASH, PASSWORD-ALGORITHM, MESSAGE-INTEGRITY-SHA256', () => {
  const m = parseStunMessage(REQUEST_SHA256);
  assert.deepEqual(read.userhash(m), userHash(LT_USERNAME, 'example.org'));
  assert.equal(read.passwordAlgorithm(m)?.algorithm, PASSWORD_ALGORITHM.SHA256);
  const key = longTermKey(LT_USERNAME, 'example.org', LT_PASSWORD, 'sha256');
  assert.ok(verifyIntegritySha256(m, key));
  assert.ok(!verifyIntegritySha256(m, longTermKey(LT_USERNAME, 'example.org', 'x', 'sha256')));
  const again = serializeStunMessage(
    createMessage(METHOD.BINDING, 'request', m.transactionId, [
      attr.userhash(userHash(LT_USERNAME, 'example.org')),
      attr.nonce('obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA'),
      attr.realm('example.org'),
      attr.passwordAlgorithm({ algorithm: PASSWORD_ALGORITHM.SHA256, parameters: new Uint8Array(0) }),
    ]),
    { integritySha256: key },
  );
  assert.equal(toHex(again), toHex(REQUEST_SHA256));
});

test('a flipped bit anywhere before FINGERPRINT is rejected', () => {
  for (let i = 20; i < REQUEST.length - 8; i++) {
    const bad = REQUEST.slice();
    bad[i]! ^= 0x01;
    // With the CRC check on, every flip is a ParseError (a bad CRC, or a broken structure).
    assert.throws(() => parseStunMessage(bad), ParseError);
    // With it off, either the structure is broken or MESSAGE-INTEGRITY no longer matches.
    let m: ReturnType<typeof parseStunMessage> | undefined;
    try {
      m = parseStunMessage(bad, { checkFingerprint: false });
    } catch (e) {
      assert.ok(e instanceof ParseError);
    }
    if (m) assert.equal(verifyIntegrity(m, shortTermKey(SHORT_TERM_PASSWORD)), false, `flip at ${i}`);
  }
});

test('attributes after MESSAGE-INTEGRITY are ignored, except FINGERPRINT', () => {
  const key = shortTermKey('pw');
  const tid = new Uint8Array(12).fill(7);
  const base = serializeStunMessage(createMessage(METHOD.BINDING, 'request', tid, [attr.username('a:b')]), {
    integrity: key,
  });
  // Append a SOFTWARE attribute after MESSAGE-INTEGRITY and fix the length.
  const extra = serializeStunMessage(createMessage(METHOD.BINDING, 'request', tid, [attr.software('late')]));
  const tail = extra.subarray(20);
  const msg = new Uint8Array(base.length + tail.length);
  msg.set(base);
  msg.set(tail, base.length);
  msg[3] = msg.length - 20;
  const m = parseStunMessage(msg);
  assert.equal(read.software(m), undefined);
  assert.ok(verifyIntegrity(m, key));
  assert.equal(m.attributes.filter((a) => a.type === ATTR.MESSAGE_INTEGRITY).length, 1);
});
