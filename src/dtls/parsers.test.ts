import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ParseError } from '../core/errors.js';
import { SeededRandom } from '../core/random.js';
import { generateCertificate } from './certificate.js';
import { subjectPublicKeyInfo } from './certificate-key.js';
import { CONTENT_HANDSHAKE, DTLS_1_2, EXT_USE_SRTP } from './constants.js';
import { DtlsError } from './errors.js';
import {
  parseClientSupportedVersions,
  parseRenegotiationInfo,
  parseU8List,
  parseU16List,
  parseUseSrtp,
  serializeU16List,
  serializeUseSrtp,
  serverSrtpChoice,
} from './extensions.js';
import {
  fragmentMessage,
  parseHandshakeFragments,
  serializeHandshakeFragment,
} from './handshake-fragment.js';
import {
  parseAlert,
  parseCertificate,
  parseCertificateRequest,
  parseClientHello,
  parseClientKeyExchange,
  parseDigitallySigned,
  parseFinished,
  parseHelloVerifyRequest,
  parseServerHello,
  parseServerHelloDone,
  parseServerKeyExchange,
  serializeAlert,
  serializeCertificate,
  serializeCertificateRequest,
  serializeClientHello,
  serializeClientKeyExchange,
  serializeDigitallySigned,
  serializeHelloVerifyRequest,
  serializeServerHello,
  serializeServerKeyExchange,
} from './messages.js';
import { HandshakeReassembler } from './reassembler.js';
import { parseRecords, serializeRecord } from './record.js';
import { ReplayWindow } from './replay-window.js';

const rnd = (seed: number, n: number): Uint8Array => new SeededRandom(seed).bytes(n);

const clientHello = serializeClientHello({
  version: DTLS_1_2,
  random: rnd(1, 32),
  sessionId: new Uint8Array(0),
  cookie: rnd(2, 20),
  cipherSuites: [0xc02b, 0xc02f],
  compressionMethods: [0],
  extensions: [
    { type: 10, data: serializeU16List([29, 23]) },
    { type: EXT_USE_SRTP, data: serializeUseSrtp({ profiles: [1, 7], mki: new Uint8Array(0) }) },
  ],
});
const serverHello = serializeServerHello({
  version: DTLS_1_2,
  random: rnd(3, 32),
  sessionId: rnd(4, 32),
  cipherSuite: 0xc02b,
  compressionMethod: 0,
  extensions: [{ type: 23, data: new Uint8Array(0) }],
});

/** Every parser with a valid sample to mutate. */
const PARSERS: Array<[string, (b: Uint8Array) => unknown, Uint8Array]> = [
  [
    'records',
    parseRecords,
    serializeRecord({ type: CONTENT_HANDSHAKE, version: DTLS_1_2, epoch: 1, seq: 7, fragment: rnd(5, 40) }),
  ],
  [
    'handshake fragments',
    parseHandshakeFragments,
    serializeHandshakeFragment({ msgType: 1, length: 10, messageSeq: 2, fragmentOffset: 3, body: rnd(6, 5) }),
  ],
  ['ClientHello', parseClientHello, clientHello],
  ['ServerHello', parseServerHello, serverHello],
  [
    'HelloVerifyRequest',
    parseHelloVerifyRequest,
    serializeHelloVerifyRequest({ version: 0xfeff, cookie: rnd(7, 20) }),
  ],
  ['Certificate', parseCertificate, serializeCertificate({ certificates: [rnd(8, 50), rnd(9, 30)] })],
  [
    'ServerKeyExchange',
    parseServerKeyExchange,
    serializeServerKeyExchange({
      namedGroup: 29,
      publicKey: rnd(10, 32),
      signatureScheme: 0x0403,
      signature: rnd(11, 70),
    }),
  ],
  [
    'CertificateRequest',
    parseCertificateRequest,
    serializeCertificateRequest({
      certificateTypes: [64, 1],
      signatureSchemes: [0x0403, 0x0401],
      authorities: [rnd(12, 9)],
    }),
  ],
  ['ClientKeyExchange', parseClientKeyExchange, serializeClientKeyExchange(rnd(13, 65))],
  [
    'CertificateVerify',
    parseDigitallySigned,
    serializeDigitallySigned({ signatureScheme: 0x0804, signature: rnd(14, 256) }),
  ],
  ['ServerHelloDone', parseServerHelloDone, new Uint8Array(0)],
  ['Finished', parseFinished, rnd(15, 12)],
  ['Alert', parseAlert, serializeAlert({ level: 2, description: 40 })],
  ['u16 list', (b) => parseU16List(b, 'x'), serializeU16List([1, 2, 3])],
  ['u8 list', (b) => parseU8List(b, 'x'), Uint8Array.of(2, 0, 1)],
  ['use_srtp', parseUseSrtp, serializeUseSrtp({ profiles: [1, 2], mki: Uint8Array.of(9) })],
  ['renegotiation_info', parseRenegotiationInfo, Uint8Array.of(0)],
  ['supported_versions', parseClientSupportedVersions, Uint8Array.of(4, 0xfe, 0xfc, 0xfe, 0xfd)],
  ['certificate SubjectPublicKeyInfo', subjectPublicKeyInfo, (await generateCertificate()).der],
];

test('every parser: random and mutated bytes give a value or ParseError, never another exception', () => {
  const r = new SeededRandom(0xd7150);
  for (const [name, parse, sample] of PARSERS) {
    assert.doesNotThrow(() => parse(sample), `${name} sample parses`);
    for (let i = 0; i < 2000; i++) {
      let input: Uint8Array;
      if (i % 3 === 0) input = r.bytes(r.int(80));
      else {
        input = Uint8Array.from(sample);
        const edits = 1 + r.int(4);
        for (let e = 0; e < edits && input.length > 0; e++) input[r.int(input.length)] = r.u32() & 0xff;
        if (i % 3 === 2) input = input.subarray(0, r.int(input.length + 1));
      }
      try {
        parse(input);
      } catch (err) {
        assert.ok(err instanceof ParseError, `${name}: ${(err as Error).stack}`);
      }
    }
  }
});

test('round trips', () => {
  const ch = parseClientHello(clientHello);
  assert.deepEqual(serializeClientHello(ch), clientHello);
  assert.deepEqual(ch.cipherSuites, [0xc02b, 0xc02f]);
  assert.deepEqual(parseUseSrtp(ch.extensions[1]!.data).profiles, [1, 7]);
  assert.deepEqual(serializeServerHello(parseServerHello(serverHello)), serverHello);
  const ske = { namedGroup: 23, publicKey: rnd(20, 65), signatureScheme: 0x0401, signature: rnd(21, 256) };
  assert.deepEqual(parseServerKeyExchange(serializeServerKeyExchange(ske)), ske);
  const rec = { type: 23, version: DTLS_1_2, epoch: 3, seq: 2 ** 47 + 5, fragment: rnd(22, 100) };
  const recs = parseRecords(
    new Uint8Array([...serializeRecord(rec), ...serializeRecord({ ...rec, seq: 1 })]),
  );
  assert.equal(recs.length, 2);
  assert.deepEqual(recs[0], rec);
  assert.equal(recs[1]!.seq, 1);
});

test('records: bad version and truncation are ParseErrors', () => {
  const good = serializeRecord({ type: 22, version: DTLS_1_2, epoch: 0, seq: 0, fragment: rnd(1, 10) });
  assert.throws(() => parseRecords(good.subarray(0, 20)), ParseError);
  const bad = Uint8Array.from(good);
  bad[1] = 3; // TLS, not DTLS
  assert.throws(() => parseRecords(bad), ParseError);
});

test('replay window: new, duplicate, old and far-ahead sequence numbers', () => {
  const w = new ReplayWindow();
  assert.ok(w.check(0));
  w.accept(0);
  assert.ok(!w.check(0));
  w.accept(5);
  assert.ok(w.check(3));
  w.accept(3);
  assert.ok(!w.check(3));
  w.accept(100);
  assert.ok(!w.check(36), '64 behind the top is outside the window');
  assert.ok(w.check(37));
  assert.ok(!w.check(5));
  w.accept(40);
  assert.ok(!w.check(40));
  assert.ok(w.check(99));
  w.accept(100 + 33);
  assert.ok(!w.check(100), 'bit moved across the 32-bit halves');
  assert.ok(w.check(101));
  w.accept(2 ** 40);
  assert.ok(!w.check(133));
  assert.ok(w.check(2 ** 40 + 1));
});

test('reassembler: out-of-order, overlapping and duplicate fragments; old messages reported', () => {
  const body = rnd(30, 1000);
  const frags = fragmentMessage(11, 0, body, 300);
  const r = new HandshakeReassembler();
  assert.equal(r.add({ ...frags[3]! }), 'ok');
  assert.equal(r.add(frags[1]!), 'ok');
  assert.equal(r.pop(), undefined);
  // An overlapping fragment spanning parts of 0 and 1.
  assert.equal(
    r.add({ msgType: 11, length: 1000, messageSeq: 0, fragmentOffset: 250, body: body.subarray(250, 400) }),
    'ok',
  );
  assert.equal(r.add(frags[0]!), 'ok');
  assert.equal(r.add(frags[0]!), 'ok');
  assert.equal(r.pop(), undefined);
  r.add(frags[2]!);
  const m = r.pop();
  assert.ok(m);
  assert.deepEqual(m.body, body);
  assert.equal(r.add(frags[1]!), 'old');
  assert.equal(r.add({ msgType: 12, length: 5, messageSeq: 1, fragmentOffset: 0, body: rnd(1, 2) }), 'ok');
  assert.equal(r.add({ msgType: 13, length: 5, messageSeq: 1, fragmentOffset: 2, body: rnd(1, 2) }), 'bad');
  assert.equal(r.add({ msgType: 12, length: 6, messageSeq: 1, fragmentOffset: 2, body: rnd(1, 2) }), 'bad');
});

test('handshake fragments: several in one record; fragment past the end is rejected', () => {
  const a = serializeHandshakeFragment({
    msgType: 2,
    length: 4,
    messageSeq: 1,
    fragmentOffset: 0,
    body: rnd(1, 4),
  });
  const b = serializeHandshakeFragment({
    msgType: 14,
    length: 0,
    messageSeq: 2,
    fragmentOffset: 0,
    body: new Uint8Array(0),
  });
  const fr = parseHandshakeFragments(new Uint8Array([...a, ...b]));
  assert.equal(fr.length, 2);
  assert.equal(fr[1]!.msgType, 14);
  const bad = Uint8Array.from(a);
  bad[8] = 2; // offset 2 + length 4 > 4
  assert.throws(() => parseHandshakeFragments(bad), ParseError);
});

test("use_srtp answer: the server's one profile, if we offered it (RFC 5764 4.1.1)", () => {
  const answer = (...profiles: number[]) => [
    { type: EXT_USE_SRTP, data: serializeUseSrtp({ profiles, mki: new Uint8Array(0) }) },
  ];
  assert.equal(serverSrtpChoice(answer(0x0007), [0x0001, 0x0007]), 0x0007);
  assert.equal(serverSrtpChoice([], [0x0001]), undefined);
  assert.throws(() => serverSrtpChoice(answer(0x0002), [0x0001, 0x0007]), DtlsError);
  assert.throws(() => serverSrtpChoice(answer(0x0001, 0x0007), [0x0001, 0x0007]), DtlsError);
});
