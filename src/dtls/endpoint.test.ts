import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ManualClock } from '../core/clock.js';
import { SeededRandom } from '../core/random.js';
import { type DtlsCertificate, generateCertificate } from './certificate.js';
import { CIPHER_SUITES } from './cipher-suites.js';
import { DtlsEndpoint, type DtlsEndpointOptions } from './endpoint.js';
import { DtlsAlertError, DtlsFingerprintError, DtlsTimeoutError } from './errors.js';
import { SRTP_PROFILES } from './srtp-profiles.js';
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

function pair(
  pipeOpts: Partial<PipeOptions> & { seed?: number } = {},
  client: Extra = {},
  server: Extra = {},
): { clock: ManualClock; pipe: LossyPipe; c: DtlsEndpoint; s: DtlsEndpoint } {
  const clock = new ManualClock();
  const pipe = new LossyPipe({ clock, random: new SeededRandom(pipeOpts.seed ?? 1), ...pipeOpts });
  const cc = client.certificate ?? ec;
  const sc = server.certificate ?? ec2;
  const c = new DtlsEndpoint({
    role: 'client',
    clock,
    send: pipe.a,
    certificate: cc,
    remoteFingerprints: sc.getFingerprints(),
    ...client,
  });
  const s = new DtlsEndpoint({
    role: 'server',
    clock,
    send: pipe.b,
    certificate: sc,
    remoteFingerprints: cc.getFingerprints(),
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

/** Record every datagram the client sends to the server (still delivered). */
function tapToServer(p: ReturnType<typeof pair>): Uint8Array[] {
  const wire: Uint8Array[] = [];
  const orig = p.pipe.toB;
  p.pipe.toB = (d) => {
    wire.push(d);
    orig?.(d);
  };
  return wire;
}

for (const suite of CIPHER_SUITES) {
  test(`handshake and data both ways with ${suite.name}`, async () => {
    const cert = suite.auth === 'rsa' ? rsa : ec2;
    const p = pair({}, { cipherSuites: [suite.id] }, { certificate: cert });
    assert.ok(await connect(p));
    assert.equal(p.c.cipherSuite, suite.name);
    assert.equal(p.s.cipherSuite, suite.name);
    assert.equal(p.c.negotiatedVersion, '1.2');
    assert.ok(p.c.extendedMasterSecret && p.s.extendedMasterSecret);
    const got: string[] = [];
    p.s.on('data', (d) => got.push(`s:${Buffer.from(d).toString()}`));
    p.c.on('data', (d) => got.push(`c:${Buffer.from(d).toString()}`));
    p.c.send(text('ping'));
    p.s.send(text('pong'));
    p.s.send(new Uint8Array(16384));
    p.clock.advance(50);
    assert.deepEqual(got.slice(0, 2).sort(), ['c:pong', 's:ping']);
    assert.equal(got.length, 3);
    assert.deepEqual(p.c.remoteCertificate, cert.der);
    assert.deepEqual(p.s.remoteCertificate, ec.der);
    assert.deepEqual(
      p.c.exportKeyingMaterial('EXPERIMENTAL-x', 40),
      p.s.exportKeyingMaterial('EXPERIMENTAL-x', 40),
    );
    finish(p);
  });
}

for (const profile of SRTP_PROFILES) {
  test(`use_srtp negotiates ${profile.name} and both sides export the same keys`, async () => {
    const p = pair(
      {},
      { srtpProfiles: ['SRTP_AES128_CM_HMAC_SHA1_32', profile.name] },
      { srtpProfiles: [profile.name] },
    );
    assert.ok(await connect(p));
    assert.equal(p.c.srtpProfile, profile.name);
    assert.equal(p.s.srtpProfile, profile.name);
    const a = p.c.getSrtpKeyingMaterial()!;
    const b = p.s.getSrtpKeyingMaterial()!;
    assert.equal(a.clientKey.length, profile.keyLength);
    assert.equal(a.clientSalt.length, profile.saltLength);
    assert.deepEqual(a.localKey, b.remoteKey);
    assert.deepEqual(a.remoteSalt, b.localSalt);
    assert.notDeepEqual(a.clientKey, a.serverKey);
    finish(p);
  });
}

test('no common SRTP profile: the handshake completes without one', async () => {
  const p = pair(
    {},
    { srtpProfiles: ['SRTP_AEAD_AES_256_GCM'] },
    { srtpProfiles: ['SRTP_AES128_CM_HMAC_SHA1_80'] },
  );
  assert.ok(await connect(p));
  assert.equal(p.c.srtpProfile, undefined);
  assert.equal(p.c.getSrtpKeyingMaterial(), undefined);
  finish(p);
});

test('20% loss, reordering and duplication: handshake completes within bounded retransmissions (40 seeds)', async () => {
  let worst = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const p = pair(
      { seed, loss: 0.2, reorder: 0.2, duplicate: 0.2, delay: 20 },
      { certificate: rsa, initialRetransmitMs: 200 },
      { initialRetransmitMs: 200, mtu: 600 },
    );
    assert.ok(await connect(p, 600_000), `seed ${seed}: c=${p.c.state} s=${p.s.state}`);
    const rtx = p.c.stats.retransmits + p.s.stats.retransmits;
    worst = Math.max(worst, rtx);
    assert.ok(rtx <= 12, `seed ${seed}: ${rtx} retransmissions`);
    // Data still flows over the same lossy link (some records may be lost: at least one arrives).
    let got = 0;
    p.s.on('data', () => got++);
    for (let i = 0; i < 20; i++) p.c.send(text(`m${i}`));
    p.clock.advance(500);
    assert.ok(got >= 5 && got <= 20, `seed ${seed}: ${got} delivered`);
    finish(p);
  }
  assert.ok(worst > 0, 'the loss actually forced retransmissions');
});

test('MTU 576 forces fragmentation: every datagram fits and the handshake completes', async () => {
  const p = pair({ mtu: 576 }, { mtu: 576, certificate: rsa }, { mtu: 576, certificate: rsa });
  assert.ok(await connect(p));
  assert.equal(p.pipe.oversize, 0);
  assert.ok(p.pipe.largest <= 576);
  assert.ok(p.pipe.largest > 400, 'datagrams were packed close to the MTU');
  finish(p);
});

test('a larger MTU than the path drops datagrams: the handshake fails by timeout, not a crash', async () => {
  const p = pair(
    { mtu: 576 },
    { mtu: 1400, certificate: rsa, maxRetransmits: 3 },
    { mtu: 1400, certificate: rsa, maxRetransmits: 3 },
  );
  assert.ok(!(await connect(p, 60_000)));
  await p.clock.runUntil(() => p.c.state === 'failed', 120_000);
  assert.equal(p.c.state, 'failed');
  assert.ok(p.c.error instanceof DtlsTimeoutError);
  finish(p);
});

test('fingerprint mismatch on the client: typed error, fatal alert to the server', async () => {
  const p = pair(
    {},
    {
      remoteFingerprints: [
        'sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF',
      ],
    },
  );
  const errors: Error[] = [];
  p.c.on('error', (e) => errors.push(e));
  p.s.on('error', (e) => errors.push(e));
  p.s.start();
  p.c.start();
  await p.clock.runUntil(() => p.c.state === 'failed' && p.s.state === 'failed', 10_000);
  assert.ok(p.c.error instanceof DtlsFingerprintError);
  assert.equal((p.c.error as DtlsFingerprintError).code, 'ERR_DTLS_FINGERPRINT_MISMATCH');
  assert.ok(p.s.error instanceof DtlsAlertError);
  assert.equal((p.s.error as DtlsAlertError).description, 42);
  assert.equal(errors.length, 2);
  finish(p);
});

test('fingerprint mismatch on the server (client certificate not the signaled one)', async () => {
  const p = pair({}, {}, { remoteFingerprints: rsa.getFingerprints() });
  p.s.start();
  p.c.start();
  await p.clock.runUntil(() => p.c.state === 'failed' && p.s.state === 'failed', 10_000);
  assert.ok(p.s.error instanceof DtlsFingerprintError);
  assert.ok(p.c.error instanceof DtlsAlertError);
  finish(p);
});

test('fingerprints can be given after start, before the certificate arrives', async () => {
  const p = pair({}, { remoteFingerprints: undefined });
  p.c.setRemoteFingerprints(ec2.getFingerprints().map((f) => `${f.algorithm} ${f.value.toLowerCase()}`));
  assert.ok(await connect(p));
  finish(p);
});

test('garbage after the handshake is dropped and counted; the connection keeps working', async () => {
  const p = pair();
  assert.ok(await connect(p));
  const r = new SeededRandom(99);
  let got = 0;
  p.s.on('data', () => got++);
  p.c.on('data', () => got++);
  // Capture a real application record to mutate.
  const sent: Uint8Array[] = [];
  const deliver = p.pipe.toB;
  p.pipe.toB = (d) => {
    sent.push(d);
    deliver?.(d);
  };
  p.c.send(text('capture me'));
  p.clock.advance(50);
  p.pipe.toB = deliver;
  const captured = sent[0]!;
  for (let i = 0; i < 3000; i++) {
    let d: Uint8Array;
    if (i % 2 === 0) d = r.bytes(1 + r.int(200));
    else {
      d = Uint8Array.from(captured);
      const at = r.int(d.length);
      d[at] = d[at]! ^ (1 + r.int(255));
    }
    if (i % 5 === 0 && d.length > 0) d[0] = 22; // looks like a handshake record
    p.s.handle(d);
    p.c.handle(d);
  }
  assert.equal(p.s.state, 'connected');
  assert.equal(p.c.state, 'connected');
  const st = p.s.stats;
  assert.ok(
    st.malformed + st.badRecords + st.replays + st.unknownEpoch + st.ignoredHandshake > 1000,
    JSON.stringify(st),
  );
  const before = got;
  p.c.send(text('still here'));
  p.s.send(text('me too'));
  p.clock.advance(50);
  assert.equal(got, before + 2);
  finish(p);
});

test('replayed application records are delivered once', async () => {
  const p = pair();
  assert.ok(await connect(p));
  const wire = tapToServer(p);
  const got: string[] = [];
  p.s.on('data', (d) => got.push(Buffer.from(d).toString()));
  p.c.send(text('once'));
  p.clock.advance(50);
  for (const d of wire) p.s.handle(d);
  assert.deepEqual(got, ['once']);
  assert.ok(p.s.stats.replays >= 1);
  finish(p);
});

test('close_notify closes both sides; no timers remain', async () => {
  const p = pair();
  assert.ok(await connect(p));
  let closed = 0;
  p.s.on('close', () => closed++);
  p.c.close();
  p.clock.advance(100);
  assert.equal(p.s.state, 'closed');
  assert.equal(closed, 1);
  assert.throws(() => p.c.send(text('late')), { code: 'ERR_DTLS_STATE' });
  finish(p);
});

test('unreachable peer: retransmission back-off doubles, then a timeout error', async () => {
  const clock = new ManualClock();
  const sentAt: number[] = [];
  const c = new DtlsEndpoint({
    role: 'client',
    clock,
    certificate: ec,
    send: () => sentAt.push(clock.now()),
    maxRetransmits: 4,
  });
  c.start();
  await clock.runUntil(() => c.state === 'failed', 1_000_000);
  assert.deepEqual(sentAt, [0, 1000, 3000, 7000, 15000]);
  assert.ok(c.error instanceof DtlsTimeoutError);
  assert.equal(clock.activeTimers, 0);
});

test('server answers a cookieless ClientHello with HelloVerifyRequest (and not when disabled)', async () => {
  for (const helloVerify of [true, false]) {
    const p = pair({}, {}, { helloVerify });
    const types: number[] = [];
    const orig = p.pipe.toA;
    p.pipe.toA = (d) => {
      types.push(d[13]!); // first handshake message type in the first record
      orig?.(d);
    };
    assert.ok(await connect(p));
    assert.equal(types[0], helloVerify ? 3 : 2);
    finish(p);
  }
});

test('server without a client certificate request', async () => {
  const p = pair({}, {}, { requestClientCertificate: false });
  assert.ok(await connect(p));
  assert.equal(p.s.remoteCertificate, undefined);
  finish(p);
});

for (const version of ['1.2', '1.3'] as const) {
  test(`DTLS ${version} maxDatagram: records sent together share datagrams, in order, before close_notify`, async () => {
    const p = pair({}, { versions: [version] }, { versions: [version] });
    assert.ok(await connect(p));
    const wire = tapToServer(p);
    const got: Uint8Array[] = [];
    p.s.on('data', (d) => got.push(Uint8Array.from(d)));
    p.c.maxDatagram = 40_000;
    const sent: Uint8Array[] = [1, 2, 3, 4, 5].map((i) => new Uint8Array(16000).fill(i));
    sent.push(text('a'), text('b'));
    for (const d of sent) p.c.send(d);
    assert.equal(wire.length, 0, 'nothing leaves before the batch is flushed');
    await Promise.resolve();
    p.clock.advance(50);
    assert.equal(wire.length, 3, 'two 16000-byte records per 40000-byte datagram, the rest in the last');
    assert.ok(wire.every((d) => d.length <= 40_000));
    assert.deepEqual(got, sent);
    // A record still batched goes out before the close_notify that follows it.
    got.length = 0;
    p.c.send(text('last'));
    p.c.close();
    p.clock.advance(50);
    assert.deepEqual(got, [text('last')]);
    assert.equal(p.s.state, 'closed');
    finish(p);
  });
}
