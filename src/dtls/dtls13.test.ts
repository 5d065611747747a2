import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ManualClock } from '../core/clock.js';
import { ParseError } from '../core/errors.js';
import { SeededRandom } from '../core/random.js';
import { type DtlsCertificate, generateCertificate } from './certificate.js';
import { GROUP_SECP256R1, GROUP_X25519 } from './constants.js';
import { DtlsEndpoint, type DtlsEndpointOptions } from './endpoint.js';
import { DtlsAlertError, DtlsFingerprintError } from './errors.js';
import { digest, hkdfExpandLabel, hkdfExtract } from './key-schedule13.js';
import {
  parseAck,
  parseCertificate13,
  parseCertificateRequest13,
  parseClientKeyShares,
  parseCookie,
  parseEncryptedExtensions,
  parseServerKeyShare,
  serializeAck,
  serializeCertificate13,
  serializeCertificateRequest13,
  serializeClientKeyShares,
  serializeCookie,
  serializeExtensionsBlock,
  serializeServerKeyShare,
} from './messages13.js';
import { parseUnified, reconstructSequence, SUITES13 } from './record13.js';
import { LossyPipe, type PipeOptions } from './test-pipe.js';

let ec: DtlsCertificate;
let ec2: DtlsCertificate;
let rsa: DtlsCertificate;
before(async () => {
  [ec, ec2, rsa] = await Promise.all([
    generateCertificate(),
    generateCertificate(),
    generateCertificate({ name: 'RSASSA-PKCS1-v1_5' }),
  ]);
});

type Extra = Partial<Omit<DtlsEndpointOptions, 'role' | 'send' | 'clock'>>;
const BOTH = ['1.3', '1.2'] as const;

function pair(
  pipeOpts: Partial<PipeOptions> & { seed?: number } = {},
  client: Extra = {},
  server: Extra = {},
) {
  const clock = new ManualClock();
  const pipe = new LossyPipe({ clock, random: new SeededRandom(pipeOpts.seed ?? 7), ...pipeOpts });
  const cc = client.certificate ?? ec;
  const sc = server.certificate ?? ec2;
  const c = new DtlsEndpoint({
    role: 'client',
    clock,
    send: pipe.a,
    certificate: cc,
    remoteFingerprints: sc.getFingerprints(),
    versions: BOTH,
    ...client,
  });
  const s = new DtlsEndpoint({
    role: 'server',
    clock,
    send: pipe.b,
    certificate: sc,
    remoteFingerprints: cc.getFingerprints(),
    versions: BOTH,
    ...server,
  });
  pipe.toA = (d) => c.handle(d);
  pipe.toB = (d) => s.handle(d);
  return { clock, pipe, c, s };
}

async function connect(p: ReturnType<typeof pair>, maxMs = 120_000): Promise<boolean> {
  p.s.start();
  p.c.start();
  return p.clock.runUntil(() => p.c.state === 'connected' && p.s.state === 'connected', maxMs);
}

function finish(p: ReturnType<typeof pair>): void {
  p.c.close();
  p.s.close();
  p.clock.advance(1000);
  assert.equal(p.clock.activeTimers, 0, 'no timer left');
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

async function exchange(p: ReturnType<typeof pair>): Promise<void> {
  const got: string[] = [];
  p.s.on('data', (d) => got.push(`s:${Buffer.from(d).toString()}`));
  p.c.on('data', (d) => got.push(`c:${Buffer.from(d).toString()}`));
  p.c.send(text('ping'));
  p.s.send(text('pong'));
  p.clock.advance(50);
  assert.deepEqual(got.sort(), ['c:pong', 's:ping']);
}

test('HKDF-Expand-Label matches RFC 8448 (with the TLS 1.3 prefix)', () => {
  const zeros = new Uint8Array(32);
  const early = hkdfExtract('sha256', zeros, zeros);
  assert.equal(
    Buffer.from(early).toString('hex'),
    '33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a',
  );
  const derived = hkdfExpandLabel(
    'sha256',
    early,
    'derived',
    digest('sha256', new Uint8Array(0)),
    32,
    'tls13 ',
  );
  assert.equal(
    Buffer.from(derived).toString('hex'),
    '6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba',
  );
  assert.notDeepEqual(
    hkdfExpandLabel('sha256', early, 'derived', digest('sha256', new Uint8Array(0)), 32),
    derived,
  );
});

for (const suite of SUITES13) {
  for (const cert of ['ecdsa', 'rsa'] as const) {
    test(`DTLS 1.3 handshake with ${suite.name}, ${cert} certificate, HelloRetryRequest cookie`, async () => {
      const p = pair(
        {},
        { certificate: cert === 'rsa' ? rsa : ec, cipherSuites: [suite.id] },
        { certificate: cert === 'rsa' ? rsa : ec2 },
      );
      assert.ok(await connect(p));
      assert.equal(p.c.cipherSuite, suite.name);
      assert.equal(p.c.negotiatedVersion, '1.3');
      assert.equal(p.s.negotiatedVersion, '1.3');
      assert.equal(p.c.cipherSuite, p.s.cipherSuite);
      await exchange(p);
      assert.deepEqual(
        p.c.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 60),
        p.s.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 60),
      );
      const a = p.c.getSrtpKeyingMaterial()!;
      const b = p.s.getSrtpKeyingMaterial()!;
      assert.deepEqual(a.localKey, b.remoteKey);
      assert.deepEqual(a.localSalt, b.remoteSalt);
      finish(p);
    });
  }
}

test('HelloRetryRequest for a key share: server wants P-256, client sent X25519', async () => {
  for (const helloVerify of [false, true]) {
    const p = pair(
      {},
      { groups: [GROUP_X25519, GROUP_SECP256R1] },
      { groups: [GROUP_SECP256R1], helloVerify },
    );
    let hellos = 0;
    const orig = p.pipe.toB;
    p.pipe.toB = (d) => {
      if (d[0] === 22 && d[13] === 1) hellos++;
      orig?.(d);
    };
    assert.ok(await connect(p));
    assert.equal(p.c.negotiatedVersion, '1.3');
    assert.equal(hellos, 2, 'ClientHello, HelloRetryRequest, ClientHello again');
    await exchange(p);
    finish(p);
  }
});

test('no HelloRetryRequest when the cookie is off and the key share fits', async () => {
  const p = pair({}, {}, { helloVerify: false });
  let hellos = 0;
  const orig = p.pipe.toB;
  p.pipe.toB = (d) => {
    if (d[0] === 22 && d[13] === 1) hellos++;
    orig?.(d);
  };
  assert.ok(await connect(p));
  assert.equal(p.c.negotiatedVersion, '1.3');
  assert.equal(hellos, 1);
  finish(p);
});

test('version negotiation: 1.2 fallback either way; 1.3-only against 1.2-only fails', async () => {
  for (const [cv, sv, want] of [
    [['1.3', '1.2'], ['1.2'], '1.2'],
    [['1.2'], ['1.3', '1.2'], '1.2'],
    [['1.3'], ['1.3'], '1.3'],
  ] as const) {
    const p = pair({}, { versions: cv }, { versions: sv });
    assert.ok(await connect(p), `${cv} vs ${sv}`);
    assert.equal(p.c.negotiatedVersion, want);
    assert.equal(p.s.negotiatedVersion, want);
    await exchange(p);
    finish(p);
  }
  const p = pair({}, { versions: ['1.3'] }, { versions: ['1.2'] });
  p.s.start();
  p.c.start();
  await p.clock.runUntil(() => p.c.state === 'failed' || p.s.state === 'failed', 60_000);
  assert.ok(p.c.state === 'failed' || p.s.state === 'failed');
  finish(p);
});

test('DTLS 1.3 under 20% loss, reordering and duplication (30 seeds): completes, data flows, the final flight is acknowledged', async () => {
  let worst = 0;
  for (let seed = 1; seed <= 30; seed++) {
    const p = pair(
      { seed, loss: 0.2, reorder: 0.2, duplicate: 0.2, delay: 20 },
      { initialRetransmitMs: 200, mtu: 600, certificate: rsa },
      { initialRetransmitMs: 200, mtu: 600 },
    );
    assert.ok(await connect(p, 600_000), `seed ${seed}: c=${p.c.state} s=${p.s.state}`);
    assert.equal(p.c.negotiatedVersion, '1.3');
    const rtx = p.c.stats.retransmits + p.s.stats.retransmits;
    worst = Math.max(worst, rtx);
    assert.ok(rtx <= 12, `seed ${seed}: ${rtx} retransmissions`);
    let got = 0;
    p.s.on('data', () => got++);
    p.c.on('data', () => got++);
    for (let i = 0; i < 20; i++) {
      p.c.send(text(`m${i}`));
      p.s.send(text(`n${i}`));
    }
    await p.clock.runUntil(() => false, 30_000);
    assert.ok(got >= 10, `seed ${seed}: ${got} delivered`);
    // After some quiet time the client stopped retransmitting its final flight.
    const before = p.c.stats.retransmits;
    await p.clock.runUntil(() => false, 120_000);
    assert.equal(p.c.stats.retransmits, before, `seed ${seed}: client still retransmitting`);
    finish(p);
  }
  assert.ok(worst > 0);
});

test('DTLS 1.3 with MTU 576: fragmented encrypted flight fits the path', async () => {
  const p = pair({ mtu: 576 }, { mtu: 576, certificate: rsa }, { mtu: 576, certificate: rsa });
  assert.ok(await connect(p));
  assert.equal(p.pipe.oversize, 0);
  assert.ok(p.pipe.largest <= 576);
  finish(p);
});

test('DTLS 1.3 fingerprint mismatch fails both sides', async () => {
  const p = pair({}, { remoteFingerprints: rsa.getFingerprints() });
  p.s.start();
  p.c.start();
  await p.clock.runUntil(() => p.c.state === 'failed' && p.s.state === 'failed', 10_000);
  assert.ok(p.c.error instanceof DtlsFingerprintError);
  assert.ok(p.s.error instanceof DtlsAlertError);
  finish(p);
});

test('DTLS 1.3: garbage (including unified-header lookalikes) is dropped; the connection keeps working', async () => {
  const p = pair();
  assert.ok(await connect(p));
  const r = new SeededRandom(5);
  for (let i = 0; i < 3000; i++) {
    const d = r.bytes(1 + r.int(120));
    if (i % 2 === 0) d[0] = 0x20 | (d[0]! & 0x1f);
    p.c.handle(d);
    p.s.handle(d);
  }
  assert.equal(p.c.state, 'connected');
  assert.equal(p.s.state, 'connected');
  await exchange(p);
  finish(p);
});

test('sequence number reconstruction picks the closest candidate', () => {
  assert.equal(reconstructSequence(0, 5, 16), 5);
  assert.equal(reconstructSequence(0x1fffe, 0x0001, 16), 0x20001);
  assert.equal(reconstructSequence(0x20005, 0xfffe, 16), 0x1fffe);
  assert.equal(reconstructSequence(300, 10, 8), 266);
});

test('DTLS 1.3 parsers: fuzzed input gives a value or ParseError; round trips', () => {
  const samples: Array<[string, (b: Uint8Array) => unknown, Uint8Array]> = [
    [
      'client key shares',
      parseClientKeyShares,
      serializeClientKeyShares([{ group: 29, key: new Uint8Array(32).fill(1) }]),
    ],
    [
      'server key share',
      parseServerKeyShare,
      serializeServerKeyShare({ group: 23, key: new Uint8Array(65).fill(4) }),
    ],
    ['cookie', parseCookie, serializeCookie(new Uint8Array(40).fill(9))],
    [
      'encrypted extensions',
      parseEncryptedExtensions,
      serializeExtensionsBlock([{ type: 14, data: Uint8Array.of(0, 2, 0, 1, 0) }]),
    ],
    [
      'certificate request',
      parseCertificateRequest13,
      serializeCertificateRequest13({
        context: new Uint8Array(0),
        extensions: [{ type: 13, data: Uint8Array.of(0, 2, 4, 3) }],
      }),
    ],
    [
      'certificate',
      parseCertificate13,
      serializeCertificate13({ context: Uint8Array.of(1), certificates: [new Uint8Array(50).fill(3)] }),
    ],
    [
      'ack',
      parseAck,
      serializeAck([
        { epoch: 2, seq: 5 },
        { epoch: 3, seq: 2 ** 40 },
      ]),
    ],
    ['unified record', (b) => parseUnified(b, 0), Uint8Array.of(0x2e, 0, 1, 0, 17, ...new Uint8Array(17))],
  ];
  const r = new SeededRandom(13);
  for (const [name, parse, sample] of samples) {
    assert.doesNotThrow(() => parse(sample), name);
    for (let i = 0; i < 2000; i++) {
      let input: Uint8Array;
      if (i % 3 === 0) input = r.bytes(r.int(80));
      else {
        input = Uint8Array.from(sample);
        for (let e = 0; e < 1 + r.int(3) && input.length > 0; e++)
          input[r.int(input.length)] = r.u32() & 0xff;
        if (i % 3 === 2) input = input.subarray(0, r.int(input.length + 1));
      }
      try {
        parse(input);
      } catch (err) {
        assert.ok(err instanceof ParseError, `${name}: ${(err as Error).stack}`);
      }
    }
  }
  assert.deepEqual(parseAck(serializeAck([{ epoch: 3, seq: 77 }])), [{ epoch: 3, seq: 77 }]);
  assert.deepEqual(
    parseCertificate13(
      serializeCertificate13({ context: new Uint8Array(0), certificates: [Uint8Array.of(1, 2)] }),
    ).certificates,
    [Uint8Array.of(1, 2)],
  );
});

test('KeyUpdate: both sides move to epoch 4 (requested update), data keeps flowing, also under loss', async () => {
  for (const loss of [0, 0.2]) {
    const p = pair({ seed: 11, loss, delay: 10 }, { initialRetransmitMs: 200 }, { initialRetransmitMs: 200 });
    assert.ok(await connect(p, 600_000));
    await p.clock.runUntil(() => false, 5_000); // let the final flight's ACK arrive
    const epochBits = { c: -1, s: -1 };
    const toB = p.pipe.toB;
    const toA = p.pipe.toA;
    p.pipe.toB = (d) => {
      if ((d[0]! & 0xe0) === 0x20) epochBits.c = d[0]! & 3;
      toB?.(d);
    };
    p.pipe.toA = (d) => {
      if ((d[0]! & 0xe0) === 0x20) epochBits.s = d[0]! & 3;
      toA?.(d);
    };
    p.c.updateKeys(true);
    await p.clock.runUntil(() => false, 60_000);
    let got = 0;
    p.s.on('data', () => got++);
    p.c.on('data', () => got++);
    for (let i = 0; i < 10; i++) {
      p.c.send(text(`after ${i}`));
      p.s.send(text(`back ${i}`));
    }
    await p.clock.runUntil(() => false, 1_000);
    assert.equal(epochBits.c, 0, `loss ${loss}: client writes epoch 4`);
    assert.equal(epochBits.s, 0, `loss ${loss}: server writes epoch 4`);
    assert.ok(loss > 0 ? got >= 8 : got === 20, `loss ${loss}: ${got} delivered`);
    assert.equal(p.c.state, 'connected');
    assert.equal(p.s.state, 'connected');
    finish(p);
  }
});

test('updateKeys is refused on a DTLS 1.2 connection', async () => {
  const p = pair({}, { versions: ['1.2'] });
  assert.ok(await connect(p));
  assert.throws(() => p.c.updateKeys(), { code: 'ERR_DTLS_STATE' });
  finish(p);
});

/** What each record of a datagram is: a DTLSPlaintext record or a DTLS 1.3 unified-header one. */
function recordKinds(d: Uint8Array): string[] {
  const kinds: string[] = [];
  let at = 0;
  while (at < d.length) {
    const u = parseUnified(d, at);
    if ((d[at]! & 0xe0) === 0x20 && u) {
      kinds.push('unified');
      at = u.next;
    } else {
      kinds.push('plain');
      at += 13 + ((d[at + 11]! << 8) | d[at + 12]!);
    }
  }
  return kinds;
}

/** Tap both directions of a pair's pipe (datagrams still delivered). */
function tapBoth(p: ReturnType<typeof pair>): { toClient: Uint8Array[]; toServer: Uint8Array[] } {
  const wire = { toClient: [] as Uint8Array[], toServer: [] as Uint8Array[] };
  const a = p.pipe.toA;
  const b = p.pipe.toB;
  p.pipe.toA = (d) => {
    wire.toClient.push(d);
    a?.(d);
  };
  p.pipe.toB = (d) => {
    wire.toServer.push(d);
    b?.(d);
  };
  return wire;
}

test('DTLS 1.3: the encrypted handshake messages of a flight share one record', async () => {
  const p = pair({}, { versions: ['1.3'] }, { versions: ['1.3'], helloVerify: false });
  const wire = tapBoth(p);
  assert.ok(await connect(p));
  // ServerHello in plaintext, then EncryptedExtensions .. Finished sealed once.
  assert.deepEqual(recordKinds(wire.toClient[0]!), ['plain', 'unified']);
  // The client's Certificate, CertificateVerify and Finished: one record.
  assert.deepEqual(recordKinds(wire.toServer[1]!), ['unified']);
  await exchange(p);
  finish(p);
});

test('DTLS 1.3 maxDatagram: the final flight and the first data share a datagram, an ACK and the answer too', async () => {
  const p = pair({}, { versions: ['1.3'] }, { versions: ['1.3'], helloVerify: false });
  p.c.maxDatagram = 1200;
  p.s.maxDatagram = 1200;
  const wire = tapBoth(p);
  const got: string[] = [];
  // Data sent as the client connects (after its Finished), answered as it arrives.
  p.c.on('state', (s) => {
    if (s === 'connected') p.c.send(text('first'));
  });
  p.s.on('data', (d) => {
    got.push(`s:${Buffer.from(d).toString()}`);
    p.s.send(text('answer'));
  });
  p.c.on('data', (d) => got.push(`c:${Buffer.from(d).toString()}`));
  assert.ok(await connect(p));
  await p.clock.runUntil(() => got.length === 2, 1000);
  assert.deepEqual(got, ['s:first', 'c:answer']);
  assert.equal(wire.toServer.length, 2, 'ClientHello, then the final flight with the data');
  assert.deepEqual(recordKinds(wire.toServer[1]!), ['unified', 'unified']);
  assert.equal(wire.toClient.length, 2, 'the server flight, then its ACK with the answer');
  assert.deepEqual(recordKinds(wire.toClient[1]!), ['unified', 'unified']);
  // close_notify still leaves on close (the batch is flushed, not dropped).
  p.c.close();
  p.clock.advance(50);
  assert.equal(p.s.state, 'closed');
  finish(p);
});
