import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { needs, PREREQS } from '../../test/helpers/prereq.js';
import { type Codec, codecsOf } from './codecs.js';
import { JsepError } from './errors.js';
import {
  answerDirection,
  buildAnswer,
  buildOffer,
  type DescriptionOptions,
  generateIceCredentials,
  generateSessionId,
  isIceRestart,
  nextSignalingState,
  type RtpSection,
  transportOf,
  validateAnswer,
  validateDescription,
} from './jsep.js';
import { parseSdp } from './parse.js';
import { serializeSdp } from './serialize.js';
import type { MediaDescription, SessionDescription } from './types.js';

const fixture = (name: string): SessionDescription =>
  parseSdp(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));

const FP = {
  algorithm: 'sha-256',
  value: Array.from({ length: 32 }, (_, i) => (i * 7 + 3).toString(16).padStart(2, '0').toUpperCase()).join(
    ':',
  ),
};
const FB = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'transport-cc' }];
const OPUS: Codec = {
  payloadType: 100,
  name: 'opus',
  clockRate: 48000,
  channels: 2,
  fmtp: 'minptime=10;useinbandfec=1',
  rtcpFeedback: [{ type: 'transport-cc' }],
};
const VIDEO: Codec[] = [
  { payloadType: 120, name: 'VP8', clockRate: 90000, rtcpFeedback: FB },
  { payloadType: 121, name: 'rtx', clockRate: 90000, fmtp: 'apt=120', rtcpFeedback: [] },
  {
    payloadType: 122,
    name: 'H264',
    clockRate: 90000,
    fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
    rtcpFeedback: FB,
  },
  { payloadType: 123, name: 'rtx', clockRate: 90000, fmtp: 'apt=122', rtcpFeedback: [] },
];
const EXT = [
  { id: 1, uri: 'urn:ietf:params:rtp-hdrext:sdes:mid' },
  { id: 2, uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01' },
  { id: 3, uri: 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id' },
];

function options(
  sections: DescriptionOptions['sections'],
  extra: Partial<DescriptionOptions> = {},
): DescriptionOptions {
  return {
    sessionId: generateSessionId(),
    sessionVersion: 1,
    ice: generateIceCredentials(),
    fingerprints: [FP],
    sections,
    ...extra,
  };
}
const audio = (mid: string, extra: Partial<RtpSection> = {}): RtpSection => ({
  kind: 'audio',
  mid,
  direction: 'sendrecv',
  codecs: [OPUS],
  headerExtensions: EXT,
  msid: { stream: 's', track: 'a' },
  send: { ssrc: 1111, cname: 'cn' },
  ...extra,
});
const video = (mid: string, extra: Partial<RtpSection> = {}): RtpSection => ({
  kind: 'video',
  mid,
  direction: 'sendrecv',
  codecs: VIDEO,
  headerExtensions: EXT,
  msid: { stream: 's', track: 'v' },
  send: { ssrc: 2222, rtxSsrc: 3333, cname: 'cn' },
  ...extra,
});

test('answer to a Chromium audio+video+datachannel offer', () => {
  const offer = fixture('chromium-av-dc-offer.sdp');
  const o = options([audio('0'), video('1', { direction: 'recvonly' }), { kind: 'application', mid: '2' }]);
  const answer = buildAnswer(offer, o);
  validateDescription(answer, 'answer');
  validateAnswer(offer, answer);
  assert.deepEqual(answer.groups, [{ semantics: 'BUNDLE', mids: ['0', '1', '2'] }]);
  const [a, v, d] = answer.media as MediaDescription[];
  for (const m of answer.media) {
    assert.equal(m.setup, 'active');
    assert.equal(m.iceUfrag, o.ice.ufrag);
    assert.deepEqual(m.fingerprints, [FP]);
  }
  // Offerer's payload types, intersection only.
  assert.deepEqual(
    codecsOf(a!).map((c) => [c.payloadType, c.name]),
    [[111, 'opus']],
  );
  assert.deepEqual(
    codecsOf(v!).map((c) => [c.payloadType, c.name, c.fmtp ?? '']),
    [
      [96, 'VP8', ''],
      [97, 'rtx', 'apt=96'],
      [108, 'H264', 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f'],
      [109, 'rtx', 'apt=108'],
    ],
  );
  assert.deepEqual(
    v!.rtcpFbs.filter((f) => f.payloadType === 96).map((f) => f.type + (f.parameter ?? '')),
    ['transport-cc', 'nack', 'nackpli'],
  );
  // Direction: we only receive video; offer sendrecv audio -> sendrecv.
  assert.equal(a!.direction, 'sendrecv');
  assert.equal(v!.direction, 'recvonly');
  assert.equal(v!.ssrcs.length, 0);
  assert.deepEqual(
    a!.ssrcs.map((s) => s.ssrc),
    [1111, 1111],
  );
  // Extmaps: only URIs we know, with the offerer's ids.
  const offeredIds = new Map(offer.media[1]!.extmaps.map((e) => [e.uri, e.id]));
  for (const e of v!.extmaps) assert.equal(e.id, offeredIds.get(e.uri));
  assert.ok(v!.extmaps.length >= 2 && v!.extmaps.length <= EXT.length);
  assert.equal(d!.sctpPort, 5000);
  assert.equal(d!.protocol, 'UDP/DTLS/SCTP');
  assert.ok(a!.rtcpMux && a!.rtcpRsize);
  assert.deepEqual(parseSdp(serializeSdp(answer)), answer);
});

test('answer rejects sections we cannot take with port 0 and drops them from BUNDLE', () => {
  const offer = fixture('chromium-av-dc-offer.sdp');
  // No audio transceiver, video only with a codec Chromium does not offer, data channel stopped.
  const o = options([
    video('1', { codecs: [{ payloadType: 99, name: 'FAKE', clockRate: 90000, rtcpFeedback: [] }] }),
    { kind: 'application', mid: '2', stopped: true },
  ]);
  const answer = buildAnswer(offer, o);
  assert.deepEqual(
    answer.media.map((m) => [m.kind, m.port, m.mid]),
    [
      ['audio', 0, '0'],
      ['video', 0, '1'],
      ['application', 0, '2'],
    ],
  );
  assert.deepEqual(answer.groups, []);
  validateAnswer(offer, answer);
});

test('answer to a simulcast offer receives the three rids', () => {
  const offer = fixture('chromium-simulcast-offer.sdp');
  const answer = buildAnswer(offer, options([video('0', { direction: 'recvonly' }), audio('1')]));
  const v = answer.media[0]!;
  assert.equal(v.direction, 'recvonly');
  assert.deepEqual(
    v.rids.map((r) => `${r.id}:${r.direction}`),
    ['q:recv', 'h:recv', 'f:recv'],
  );
  assert.deepEqual(
    v.simulcast?.recv?.map((alts) => alts[0]?.rid),
    ['q', 'h', 'f'],
  );
  assert.equal(v.simulcast?.send, undefined);
  validateDescription(answer, 'answer');
});

test('setup roles: actpass -> active (or passive by choice), active <-> passive', () => {
  const offer = fixture('chromium-dc-offer.sdp');
  assert.equal(buildAnswer(offer, options([{ kind: 'application', mid: '0' }])).media[0]?.setup, 'active');
  assert.equal(
    buildAnswer(offer, options([{ kind: 'application', mid: '0' }], { setup: 'passive' })).media[0]?.setup,
    'passive',
  );
  const active = { ...offer, media: offer.media.map((m) => ({ ...m, setup: 'active' as const })) };
  assert.equal(buildAnswer(active, options([{ kind: 'application', mid: '0' }])).media[0]?.setup, 'passive');
});

test('direction intersection table', () => {
  assert.equal(answerDirection('sendrecv', 'sendonly'), 'recvonly');
  assert.equal(answerDirection('sendrecv', 'recvonly'), 'sendonly');
  assert.equal(answerDirection('sendonly', 'sendonly'), 'inactive');
  assert.equal(answerDirection('recvonly', 'sendrecv'), 'recvonly');
  assert.equal(answerDirection('inactive', 'sendrecv'), 'inactive');
});

test('offer: max-bundle, rtcp-mux, data channel m-line, candidates set port and c=', () => {
  const cands = [
    {
      foundation: '1',
      component: 1,
      transport: 'udp',
      priority: 2130706431,
      address: '127.0.0.1',
      port: 40000,
      type: 'host',
      extensions: [],
    },
  ];
  const o = options(
    [
      audio('0'),
      video('1', { sendRids: ['l', 'm', 'h'] }),
      { kind: 'application', mid: '2', maxMessageSize: 65536 },
    ],
    { candidates: cands, endOfCandidates: true },
  );
  const offer = buildOffer(o);
  validateDescription(offer, 'offer');
  assert.deepEqual(offer.groups, [{ semantics: 'BUNDLE', mids: ['0', '1', '2'] }]);
  const text = serializeSdp(offer);
  assert.match(text, /\r\nm=application 40000 UDP\/DTLS\/SCTP webrtc-datachannel\r\n/);
  assert.match(text, /\r\na=sctp-port:5000\r\na=max-message-size:65536\r\n/);
  assert.match(text, /\r\nc=IN IP4 127\.0\.0\.1\r\n/);
  assert.match(text, /\r\na=setup:actpass\r\n/);
  const v = offer.media[1]!;
  assert.deepEqual(
    v.simulcast?.send?.map((s) => s[0]?.rid),
    ['l', 'm', 'h'],
  );
  assert.equal(v.ssrcGroups.length, 0, 'simulcast sections signal rids, not SSRCs');
  assert.deepEqual(offer.media[0]!.ssrcGroups, []);
  assert.ok(offer.media.every((m) => m.endOfCandidates && m.candidates.length === 1));
  assert.ok(offer.media.filter((m) => m.kind !== 'application').every((m) => m.rtcpMux));
  const stopped = buildOffer(options([audio('0', { stopped: true }), video('1')]));
  assert.equal(stopped.media[0]?.port, 0);
  assert.deepEqual(stopped.groups[0]?.mids, ['1']);
});

test('ICE restart: new credentials are detected, same ones are not', () => {
  const sections = [audio('0'), { kind: 'application' as const, mid: '1' }];
  const o = options(sections);
  const first = buildOffer(o);
  assert.equal(isIceRestart(first, buildOffer({ ...o, sessionVersion: 2 })), false);
  const restarted = buildOffer({ ...o, sessionVersion: 2, ice: generateIceCredentials() });
  assert.equal(isIceRestart(first, restarted), true);
  assert.notEqual(transportOf(restarted, restarted.media[0]!).iceUfrag, o.ice.ufrag);
});

test('validation: typed errors mapped to DOMException names', () => {
  const base = fixture('chromium-av-dc-offer.sdp');
  validateDescription(base, 'offer');
  const mutate = (f: (m: MediaDescription, i: number) => MediaDescription): SessionDescription => ({
    ...base,
    media: base.media.map(f),
  });
  const expect = (sdp: SessionDescription, type: 'offer' | 'answer', code: string, kind: string): void => {
    assert.throws(
      () => validateDescription(sdp, type),
      (e: unknown) => e instanceof JsepError && e.code === code && e.kind === kind,
    );
  };
  expect(
    mutate((m) => ({ ...m, fingerprints: [] })),
    'offer',
    'ERR_SDP_MISSING_FINGERPRINT',
    'InvalidAccessError',
  );
  expect(
    mutate((m) => ({ ...m, fingerprints: [{ algorithm: 'md5', value: 'AA' }] })),
    'offer',
    'ERR_SDP_UNSUPPORTED_FINGERPRINT',
    'OperationError',
  );
  expect(
    mutate((m) => {
      const { iceUfrag: _u, ...rest } = m;
      return rest;
    }),
    'offer',
    'ERR_SDP_MISSING_ICE_CREDENTIALS',
    'InvalidAccessError',
  );
  expect(
    mutate((m) => ({ ...m, icePwd: 'short' })),
    'offer',
    'ERR_SDP_BAD_ICE_CREDENTIALS',
    'InvalidAccessError',
  );
  expect(
    mutate((m) => ({ ...m, mid: '0' })),
    'offer',
    'ERR_SDP_DUPLICATE_MID',
    'InvalidAccessError',
  );
  expect(
    mutate((m) => {
      const { mid: _m, ...rest } = m;
      return rest;
    }),
    'offer',
    'ERR_SDP_MISSING_MID',
    'InvalidAccessError',
  );
  expect(
    mutate((m) => ({ ...m, rtcpMux: false })),
    'offer',
    'ERR_SDP_RTCP_MUX_REQUIRED',
    'InvalidAccessError',
  );
  expect(base, 'answer', 'ERR_SDP_BAD_SETUP', 'InvalidAccessError');
  expect(
    { ...base, groups: [{ semantics: 'BUNDLE', mids: ['0', '7'] }] },
    'offer',
    'ERR_SDP_BAD_BUNDLE',
    'InvalidAccessError',
  );
  // Credentials at session level only are fine (RFC 8839 allows both levels).
  const sessionLevel = {
    ...mutate((m) => {
      const { iceUfrag: _u, icePwd: _p, ...rest } = m;
      return rest;
    }),
    iceUfrag: 'abcd',
    icePwd: 'x'.repeat(22),
  };
  validateDescription(sessionLevel, 'offer');
  // Only the bundle-tagged section needs transport lines.
  validateDescription(
    mutate((m, i) => (i === 0 ? m : { ...m, fingerprints: [] })),
    'offer',
  );
  const answer = buildAnswer(base, options([audio('0')]));
  assert.throws(
    () => validateAnswer(base, { ...answer, media: answer.media.slice(1) }),
    (e: unknown) => e instanceof JsepError && e.code === 'ERR_SDP_ANSWER_MISMATCH',
  );
});

test('signaling state machine', () => {
  assert.equal(nextSignalingState('stable', 'local', 'offer'), 'have-local-offer');
  assert.equal(nextSignalingState('have-local-offer', 'remote', 'answer'), 'stable');
  assert.equal(nextSignalingState('have-local-offer', 'remote', 'pranswer'), 'have-remote-pranswer');
  assert.equal(nextSignalingState('have-remote-offer', 'local', 'pranswer'), 'have-local-pranswer');
  assert.equal(nextSignalingState('have-local-offer', 'local', 'rollback'), 'stable');
  for (const [s, side, t] of [
    ['stable', 'local', 'answer'],
    ['stable', 'remote', 'rollback'],
    ['have-local-offer', 'remote', 'offer'],
    ['have-remote-offer', 'local', 'offer'],
    ['closed', 'local', 'offer'],
  ] as const) {
    assert.throws(
      () => nextSignalingState(s, side, t),
      (e: unknown) => e instanceof JsepError && e.kind === 'InvalidStateError',
    );
  }
});

test('Chromium accepts our answer to its offer, and answers our offer', needs(PREREQS.chromium), async () => {
  const { chromium } = await import('playwright-core');
  const server = createServer((_q, r) => r.end('<html></html>'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const dir = mkdtempSync(join(tmpdir(), 'rtcs-sdp-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: false,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
    ],
  });
  try {
    await ctx.route(
      () => true,
      (r) => (r.request().url().startsWith('http://127.0.0.1') ? r.continue() : r.abort()),
    );
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    const addr = server.address();
    await page.goto(`http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`);
    // 1. Chromium offers, we answer.
    const offerText = await page.evaluate(async () => {
      const pc = new RTCPeerConnection();
      (globalThis as unknown as { pc: RTCPeerConnection }).pc = pc;
      pc.addTransceiver('audio');
      pc.addTransceiver('video');
      pc.createDataChannel('x');
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      return offer.sdp!;
    });
    const offer = parseSdp(offerText);
    const answer = buildAnswer(offer, options([audio('0'), video('1'), { kind: 'application', mid: '2' }]));
    const state = await page.evaluate(async (sdp) => {
      const pc = (globalThis as unknown as { pc: RTCPeerConnection }).pc;
      await pc.setRemoteDescription({ type: 'answer', sdp });
      return [pc.signalingState, pc.getTransceivers().map((t) => t.currentDirection)];
    }, serializeSdp(answer));
    assert.deepEqual(state, ['stable', ['sendrecv', 'sendrecv']]);
    // 2. We offer, Chromium answers.
    const ours = buildOffer(
      options([
        audio('0', { direction: 'sendonly' }),
        video('1', { sendRids: ['a', 'b'] }),
        { kind: 'application', mid: '2' },
      ]),
    );
    const answerText = await page.evaluate(async (sdp) => {
      const pc = new RTCPeerConnection();
      await pc.setRemoteDescription({ type: 'offer', sdp });
      const a = await pc.createAnswer();
      await pc.setLocalDescription(a);
      pc.close();
      return a.sdp!;
    }, serializeSdp(ours));
    const theirs = parseSdp(answerText);
    validateDescription(theirs, 'answer');
    validateAnswer(ours, theirs);
    assert.deepEqual(
      theirs.media.map((m) => [m.mid, m.port !== 0]),
      [
        ['0', true],
        ['1', true],
        ['2', true],
      ],
    );
    assert.equal(theirs.media[0]?.direction, 'recvonly');
    assert.deepEqual(
      codecsOf(theirs.media[0]!).map((c) => [c.payloadType, c.name]),
      [[100, 'opus']],
    );
    assert.deepEqual(
      codecsOf(theirs.media[1]!).map((c) => c.payloadType),
      [120, 121, 122, 123],
    );
    // Chromium 156 takes the simulcast offer but answers it as one plain receive stream.
    assert.equal(theirs.media[1]?.direction, 'recvonly');
    assert.equal(theirs.media[0]?.setup, 'active');
  } finally {
    await ctx.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('answer to a Firefox-style offer: payload types, RTX pairing, paused simulcast layer', () => {
  const offer = fixture('firefox-style-offer.sdp');
  validateDescription(offer, 'offer');
  const answer = buildAnswer(
    offer,
    options([audio('0'), video('1', { direction: 'recvonly' }), { kind: 'application', mid: '2' }]),
  );
  validateDescription(answer, 'answer');
  validateAnswer(offer, answer);
  assert.deepEqual(
    codecsOf(answer.media[0]!).map((c) => [c.payloadType, c.name, c.channels]),
    [[109, 'opus', 2]],
  );
  assert.deepEqual(
    codecsOf(answer.media[1]!).map((c) => [c.payloadType, c.name, c.fmtp ?? '']),
    [
      [120, 'VP8', ''],
      [124, 'rtx', 'apt=120'],
      [126, 'H264', 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f'],
      [127, 'rtx', 'apt=126'],
    ],
  );
  // Firefox sends layers a and ~b (paused); we receive both and keep the pause.
  assert.deepEqual(answer.media[1]?.simulcast, {
    recv: [[{ rid: 'a', paused: false }], [{ rid: 'b', paused: true }]],
  });
  assert.deepEqual(
    answer.media[1]?.rids.map((r) => `${r.id} ${r.direction}`),
    ['a recv', 'b recv'],
  );
  // The offer's recvonly extmap (2/recvonly csrc-audio-level) is not ours; mid is, with the offer's id.
  assert.deepEqual(
    answer.media[0]?.extmaps.map((e) => [e.id, e.uri]),
    [[3, 'urn:ietf:params:rtp-hdrext:sdes:mid']],
  );
  assert.deepEqual(answer.groups, [{ semantics: 'BUNDLE', mids: ['0', '1', '2'] }]);
  assert.equal(answer.media[2]?.maxMessageSize, 262144);
});

test('generateIceCredentials: 8-char ufrag and 24-char pwd of ice-chars, fresh each time', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const { ufrag, pwd } = generateIceCredentials();
    assert.match(ufrag, /^[A-Za-z0-9+/]{8}$/);
    assert.match(pwd, /^[A-Za-z0-9+/]{24}$/);
    seen.add(ufrag + pwd);
  }
  assert.equal(seen.size, 50);
});
