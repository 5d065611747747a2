import assert from 'node:assert/strict';
import { test } from 'node:test';
import { takeFreshCertificate } from './certificate.js';
import { AudioLevelMeter, VideoFrameMeter } from './frame-meter.js';
import { OperationsChain } from './operations-chain.js';
import { RTCPeerConnection } from './peer-connection.js';

test('operations chain runs in call order, survives failures, rejects after close', async () => {
  const chain = new OperationsChain();
  const order: number[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const a = chain.run(async () => {
    await gate;
    order.push(1);
    return 'a';
  });
  const b = chain.run(() => {
    order.push(2);
    throw new Error('boom');
  });
  const c = chain.run(() => {
    order.push(3);
    return 'c';
  });
  release();
  assert.equal(await a, 'a');
  await assert.rejects(b, /boom/);
  assert.equal(await c, 'c');
  assert.deepEqual(order, [1, 2, 3]);
  chain.close();
  await assert.rejects(
    chain.run(() => 1),
    (e: unknown) => e instanceof DOMException && e.name === 'InvalidStateError',
  );
});

test('certificates generated ahead: every connection gets its own, valid, ECDSA P-256', async () => {
  const certs = await Promise.all([takeFreshCertificate(), takeFreshCertificate(), takeFreshCertificate()]);
  const prints = new Set(certs.map((c) => c.getFingerprints()[0]!.value));
  assert.equal(prints.size, 3, 'never the same certificate twice');
  const pcs = [new RTCPeerConnection(), new RTCPeerConnection()];
  try {
    for (const pc of pcs) pc.createDataChannel('x');
    const offers = await Promise.all(pcs.map((pc) => pc.createOffer()));
    const fp = offers.map((o) => /a=fingerprint:sha-256 (\S+)/.exec(o.sdp ?? '')?.[1]);
    assert.ok(fp[0] && fp[1] && fp[0] !== fp[1]);
    assert.ok(!prints.has(fp[0]!) && !prints.has(fp[1]!));
  } finally {
    for (const pc of pcs) pc.close();
  }
  for (const c of certs) {
    assert.ok(c.expires > Date.now() + 29 * 86_400_000);
    assert.equal(c.dtls.privateKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  }
});

test('VideoFrameMeter: picture size from VP8/VP9 keyframes only, frames of the last second', () => {
  const m = new VideoFrameMeter();
  // A VP8 keyframe header (RFC 6386 §9.1): frame tag, start code, 14-bit width and height.
  const key = Uint8Array.of(0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01);
  assert.deepEqual(m.stats(0), { framesPerSecond: 0 });
  m.onFrame(1000, 'VP8', key, false); // not flagged a keyframe: size not read
  assert.equal(m.frameWidth, undefined);
  m.onFrame(1100, 'VP8', key, true);
  assert.deepEqual([m.frameWidth, m.frameHeight], [640, 360]);
  m.onFrame(1200, 'H264', Uint8Array.of(0, 0, 0, 1, 0x65), true); // unknown: the last size stays
  assert.deepEqual([m.frameWidth, m.frameHeight], [640, 360]);
  for (let t = 1300; t < 2300; t += 100) m.onFrame(t, 'VP8', Uint8Array.of(0x11), false);
  assert.equal(m.framesPerSecond(2250), 10);
  assert.equal(m.framesPerSecond(5000), 0);
  assert.deepEqual(m.stats(2250), { frameWidth: 640, frameHeight: 360, framesPerSecond: 10 });
});

test('AudioLevelMeter: RFC 6464 levels as linear audioLevel, energy and duration from timestamp steps', () => {
  const m = new AudioLevelMeter();
  assert.deepEqual(m.stats(), {});
  m.onPacket(0, 1000, 48_000); // 0 dBov: full scale; first packet counts 20 ms
  assert.equal(m.audioLevel, 1);
  m.onPacket(20, 1960, 48_000); // -20 dBov = 0.1, one 20-ms step
  assert.ok(Math.abs(m.audioLevel! - 0.1) < 1e-12);
  m.onPacket(127, 1960 + 48_000 * 5, 48_000); // a 5-s gap: counted as one 20-ms packet
  const s = m.stats();
  assert.ok(Math.abs(s.totalSamplesDuration! - 0.06) < 1e-9, `${s.totalSamplesDuration}`);
  const expected = 1 * 0.02 + 0.01 * 0.02 + 10 ** (-127 / 10) * 0.02;
  assert.ok(Math.abs(s.totalAudioEnergy! - expected) < 1e-12, `${s.totalAudioEnergy}`);
  m.onPacket(20, 1000, 48_000); // reordered (older): 20 ms, the newest timestamp stays
  m.onPacket(20, 1960 + 48_000 * 5 + 960, 48_000);
  assert.ok(Math.abs(m.stats().totalSamplesDuration! - 0.1) < 1e-9);
});
