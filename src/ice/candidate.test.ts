import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ParseError } from '../core/errors.js';
import { SeededRandom } from '../core/random.js';
import { computeFoundation, computePriority, hostLocalPreference } from './candidate.js';
import { parseCandidate, serializeCandidate } from './candidate-attribute.js';
import { pairPriority } from './pair.js';

test('priority follows RFC 8445 §5.1.2.1', () => {
  assert.equal(computePriority('host', 65535, 1), 126 * 2 ** 24 + 65535 * 256 + 255);
  assert.equal(computePriority('relay', 0, 1), 255);
  assert.ok(computePriority('host', 1) > computePriority('prflx', 65535));
  assert.ok(computePriority('prflx', 1) > computePriority('srflx', 65535));
  assert.ok(computePriority('srflx', 1) > computePriority('relay', 65535));
  // TCP below UDP of the same type; active above passive.
  assert.ok(computePriority('host', 100, 1, 'udp') > computePriority('host', 100, 1, 'tcp', 'active'));
  assert.ok(
    computePriority('host', 100, 1, 'tcp', 'active') > computePriority('host', 100, 1, 'tcp', 'passive'),
  );
  assert.ok(hostLocalPreference('::1', 0) > hostLocalPreference('10.0.0.1', 0));
  assert.ok(hostLocalPreference('10.0.0.1', 0) > hostLocalPreference('10.0.0.2', 1));
});

test('foundation: equal for same type/base/server/transport, different otherwise', () => {
  const a = computeFoundation('srflx', '10.0.0.1', 'udp', 'stun:1.2.3.4:3478');
  assert.equal(a, computeFoundation('srflx', '10.0.0.1', 'udp', 'stun:1.2.3.4:3478'));
  assert.notEqual(a, computeFoundation('srflx', '10.0.0.2', 'udp', 'stun:1.2.3.4:3478'));
  assert.notEqual(a, computeFoundation('host', '10.0.0.1', 'udp'));
  assert.match(a, /^[0-9]{1,10}$/);
});

test('pair priority: RFC 8445 §6.1.2.3, symmetric between the two agents', () => {
  const g = computePriority('host', 65535);
  const d = computePriority('srflx', 100);
  const p = pairPriority(g, d);
  assert.equal(p, (BigInt(Math.min(g, d)) << 32n) + 2n * BigInt(Math.max(g, d)) + 1n);
  assert.equal(pairPriority(d, g), p - 1n);
  assert.equal(pairPriority(5, 5), (5n << 32n) + 10n);
});

test('candidate attribute: Chromium lines round-trip', () => {
  const lines = [
    'candidate:842163049 1 udp 1677729535 203.0.113.7 61665 typ srflx raddr 10.0.0.5 rport 61665 generation 0 ufrag EsAw network-id 1 network-cost 10',
    'candidate:1 1 UDP 2122252543 3c2b9c52-5a5b-4c2e-9f4c-3f9b6f3e1a2d.local 54400 typ host generation 0',
    'candidate:3 1 tcp 1518280447 192.168.1.2 9 typ host tcptype active generation 0',
    'candidate:4 1 udp 41885439 198.51.100.1 50000 typ relay raddr 203.0.113.7 rport 61665',
    'candidate:5 1 udp 1 2001:db8::1 5000 typ host',
  ];
  for (const line of lines) {
    const c = parseCandidate(line);
    const again = parseCandidate(serializeCandidate(c));
    assert.deepEqual(again, c);
  }
  const c = parseCandidate(`a=${lines[0]}`);
  assert.equal(c.type, 'srflx');
  assert.equal(c.priority, 1677729535);
  assert.equal(c.relatedAddress, '10.0.0.5');
  assert.equal(c.relatedPort, 61665);
  assert.deepEqual(c.extensions?.[1], ['ufrag', 'EsAw']);
  assert.equal(parseCandidate(lines[1]!).protocol, 'udp');
  assert.equal(parseCandidate(lines[2]!).tcpType, 'active');
});

test('candidate attribute: bad input is a ParseError', () => {
  for (const bad of [
    '',
    'candidate:',
    'candidate:1 1 udp',
    'candidate:1 0 udp 1 1.2.3.4 5 typ host',
    'candidate:1 1 sctp 1 1.2.3.4 5 typ host',
    'candidate:1 1 udp 99999999999 1.2.3.4 5 typ host',
    'candidate:1 1 udp 1 1.2.3.4 70000 typ host',
    'candidate:1 1 udp 1 1.2.3.4 5 type host',
    'candidate:1 1 udp 1 1.2.3.4 5 typ foo',
    'candidate:1 1 udp 1 1.2.3.4 5 typ host raddr',
    'candidate:1 1 udp 1 1.2.3.4 5 typ host tcptype x',
    'candidate:_ 1 udp 1 1.2.3.4 5 typ host',
  ]) {
    assert.throws(() => parseCandidate(bad), ParseError, bad);
  }
});

test('candidate attribute fuzz: value or ParseError', () => {
  const rnd = new SeededRandom(5);
  const base =
    'candidate:842163049 1 udp 1677729535 203.0.113.7 61665 typ srflx raddr 10.0.0.5 rport 61665 generation 0';
  const alphabet = ' 0123456789abcdefghijklmnopqrstuvwxyz:.-_/+\t';
  for (let i = 0; i < 3000; i++) {
    let s: string;
    if (i % 3 === 0) {
      s = Array.from({ length: rnd.int(60) }, () => alphabet[rnd.int(alphabet.length)]).join('');
    } else {
      const chars = base.split('');
      for (let k = 0; k < 1 + rnd.int(4); k++) {
        const at = rnd.int(chars.length);
        const op = rnd.int(3);
        if (op === 0) chars[at] = alphabet[rnd.int(alphabet.length)]!;
        else if (op === 1) chars.splice(at, 1);
        else chars.splice(at, 0, alphabet[rnd.int(alphabet.length)]!);
      }
      s = chars.join('');
    }
    try {
      const c = parseCandidate(s);
      assert.deepEqual(parseCandidate(serializeCandidate(c)), c);
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
    }
  }
});
