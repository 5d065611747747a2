import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SeededRandom } from '../core/random.js';
import {
  parseCandidate,
  parseFmtpParameters,
  parseSdp,
  SdpParseError,
  type SessionDescription,
  serializeCandidate,
  serializeSdp,
} from './index.js';

/**
 * The order of rtpmap/fmtp/rtcp-fb lines carries no meaning (preference is the m= format order);
 * the serializer groups them per payload type, so compare with each list sorted by payload type.
 */
function canonical(s: SessionDescription): SessionDescription {
  const byPt = <T extends { payloadType: number | '*' }>(l: readonly T[]): T[] =>
    [...l].sort(
      (a, b) => (a.payloadType === '*' ? -1 : a.payloadType) - (b.payloadType === '*' ? -1 : b.payloadType),
    );
  return {
    ...s,
    media: s.media.map((m) => ({
      ...m,
      rtpmaps: byPt(m.rtpmaps),
      fmtps: byPt(m.fmtps),
      rtcpFbs: byPt(m.rtcpFbs),
    })),
  };
}

const FIX = new URL('./fixtures/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, FIX), 'utf8');
const chromiumFixtures = readdirSync(FIX).filter(
  (f) => f.startsWith('chromium-') && f.endsWith('.sdp') && !f.includes('candidates'),
);

test('Chromium 156 descriptions round-trip byte for byte', () => {
  assert.ok(chromiumFixtures.length >= 5);
  for (const f of chromiumFixtures) {
    const text = fixture(f);
    const parsed = parseSdp(text);
    assert.equal(serializeSdp(parsed), text, f);
    assert.deepEqual(parseSdp(serializeSdp(parsed)), parsed, f);
  }
});

test('Chromium audio+video+datachannel offer: fields', () => {
  const s = parseSdp(fixture('chromium-av-dc-offer.sdp'));
  assert.deepEqual(s.groups, [{ semantics: 'BUNDLE', mids: ['0', '1', '2'] }]);
  assert.equal(s.msidSemantic?.semantic, 'WMS');
  assert.equal(s.media.length, 3);
  const [audio, video, app] = s.media as [(typeof s.media)[0], (typeof s.media)[0], (typeof s.media)[0]];
  assert.equal(audio.kind, 'audio');
  assert.equal(audio.protocol, 'UDP/TLS/RTP/SAVPF');
  assert.equal(audio.setup, 'actpass');
  assert.equal(audio.direction, 'sendrecv');
  assert.ok(audio.rtcpMux && audio.rtcpRsize);
  assert.equal(audio.fingerprints[0]?.algorithm, 'sha-256');
  assert.equal(audio.fingerprints[0]?.value.split(':').length, 32);
  const opus = audio.rtpmaps.find((r) => r.encodingName === 'opus');
  assert.deepEqual(opus, { payloadType: 111, encodingName: 'opus', clockRate: 48000, encodingParameters: 2 });
  const opusFmtp = audio.fmtps.find((f) => f.payloadType === 111);
  assert.equal(parseFmtpParameters(opusFmtp!.parameters).get('useinbandfec'), '1');
  assert.deepEqual(audio.rtcp, {
    port: 9,
    connection: { netType: 'IN', addrType: 'IP4', address: '0.0.0.0' },
  });
  assert.ok(audio.attributes.some((a) => a.name === 'rtcp-xr'));
  assert.equal(video.ssrcGroups[0]?.semantics, 'FID');
  assert.equal(video.ssrcGroups[0]?.ssrcs.length, 2);
  assert.ok(video.rtcpFbs.some((f) => f.type === 'nack' && f.parameter === 'pli'));
  assert.ok(video.extmaps.some((e) => e.uri.endsWith('transport-wide-cc-extensions-01')));
  assert.equal(app.protocol, 'UDP/DTLS/SCTP');
  assert.deepEqual(app.formats, ['webrtc-datachannel']);
  assert.equal(app.sctpPort, 5000);
  assert.equal(app.maxMessageSize, 262144);
});

test('Chromium simulcast offer: rids and simulcast', () => {
  const s = parseSdp(fixture('chromium-simulcast-offer.sdp'));
  const v = s.media[0]!;
  assert.equal(s.extmapAllowMixed, true);
  assert.deepEqual(
    v.rids.map((r) => [r.id, r.direction]),
    [
      ['q', 'send'],
      ['h', 'send'],
      ['f', 'send'],
    ],
  );
  assert.deepEqual(
    v.simulcast?.send?.map((alts) => alts.map((a) => a.rid)),
    [['q'], ['h'], ['f']],
  );
  assert.equal(v.direction, 'sendonly');
  assert.ok(v.candidates.length > 0);
  assert.ok(v.candidates.some((c) => c.transport === 'tcp' && c.tcpType === 'active'));
  assert.ok(v.candidates.every((c) => c.generation === 0 && c.networkId !== undefined));
});

test('Chromium trickled candidates parse and serialize back', () => {
  const lines = fixture('chromium-candidates.sdp')
    .split('\n')
    .filter((l) => l.length > 0);
  assert.ok(lines.length > 0);
  for (const l of lines) {
    const c = parseCandidate(l);
    assert.equal(serializeCandidate(c), l);
    assert.ok(c.ufrag && c.ufrag.length > 0);
    assert.equal(c.type, 'host');
  }
});

test('candidate grammar (RFC 8839): srflx/relay, tcptype, unknown extensions, mDNS', () => {
  const srflx = parseCandidate(
    'candidate:842163049 1 udp 1677729535 203.0.113.4 61665 typ srflx raddr 10.0.0.5 rport 54321 generation 0 ufrag abcd network-cost 999 x-ext val',
  );
  assert.equal(srflx.type, 'srflx');
  assert.equal(srflx.relatedAddress, '10.0.0.5');
  assert.equal(srflx.relatedPort, 54321);
  assert.equal(srflx.networkCost, 999);
  assert.deepEqual(srflx.extensions, [['x-ext', 'val']]);
  assert.match(serializeCandidate(srflx), /network-cost 999 x-ext val$/);
  assert.deepEqual(parseCandidate(serializeCandidate(srflx)), srflx);
  const tcp = parseCandidate('a=candidate:1 1 TCP 1518280447 192.0.2.1 9 typ host tcptype passive');
  assert.equal(tcp.transport, 'tcp');
  assert.equal(tcp.tcpType, 'passive');
  const mdns = parseCandidate(
    'candidate:1 1 udp 2113937151 2b6c1e0f-0f0a-4a1e-9b1c-5d8e6a7b8c9d.local 53000 typ host',
  );
  assert.equal(mdns.address, '2b6c1e0f-0f0a-4a1e-9b1c-5d8e6a7b8c9d.local');
  const bare = parseCandidate('1 2 udp 10 ::1 5000 typ relay raddr ::1 rport 0');
  assert.equal(bare.component, 2);
  for (const bad of [
    'candidate:1 1 udp 10 1.2.3.4 5000 host',
    'candidate:1 1 udp 10 1.2.3.4 70000 typ host',
    'candidate:1 1 udp -1 1.2.3.4 5000 typ host',
    'candidate:1 1 udp 10 1.2.3.4 5000 typ host generation',
    'candidate:1 1 udp 10 1.2.3.4 5000 typ host tcptype sideways',
    'candidate:1 1 udp 99999999999 1.2.3.4 5000 typ host',
    '',
  ]) {
    assert.throws(() => parseCandidate(bad), SdpParseError, bad);
  }
});

test('Firefox-style offer: fields and a lossless round trip', () => {
  const text = fixture('firefox-style-offer.sdp');
  const s = parseSdp(text);
  assert.equal(s.fingerprints.length, 1);
  assert.deepEqual(s.iceOptions, ['trickle']);
  assert.deepEqual(s.msidSemantic, { semantic: 'WMS', ids: ['*'] });
  const [audio, video, app] = s.media;
  assert.equal(audio?.candidates.length, 4);
  assert.equal(audio?.candidates[2]?.relatedAddress, '10.0.0.12');
  assert.equal(audio?.candidates[1]?.tcpType, 'active');
  assert.equal(audio?.endOfCandidates, true);
  assert.equal(audio?.extmaps[1]?.direction, 'recvonly');
  assert.equal(audio?.iceUfrag, '8c1d2e3f');
  assert.deepEqual(video?.simulcast, {
    send: [[{ rid: 'a', paused: false }], [{ rid: 'b', paused: true }]],
  });
  assert.deepEqual(video?.rids[1]?.restrictions, [
    ['max-width', '640'],
    ['max-height', '360'],
  ]);
  assert.equal(app?.maxMessageSize, 1073741823);
  assert.equal(app?.direction, 'sendrecv');
  // Every line survives, up to the normalisations we document (transport and hex case, msid-semantic space).
  const norm = (t: string): string[] =>
    t
      .split('\r\n')
      .filter((l) => l.length > 0)
      .map((l) =>
        l.replace(/^a=msid-semantic: ?/, 'a=msid-semantic:').replace(/ (UDP|TCP) /, (m) => m.toLowerCase()),
      )
      .sort();
  const out = serializeSdp(s);
  assert.deepEqual(norm(out), norm(text));
  assert.deepEqual(canonical(parseSdp(out)), canonical(s));
});

test('werift-produced offer parses and round-trips', async () => {
  const { RTCPeerConnection } = await import('werift');
  const pc = new RTCPeerConnection({ iceServers: [] });
  try {
    pc.addTransceiver('video', { direction: 'sendrecv' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.createDataChannel('chat');
    const offer = await pc.createOffer();
    const s = parseSdp(offer.sdp);
    assert.deepEqual(
      s.media.map((m) => [m.kind, m.mid, m.direction ?? null]),
      [
        ['video', '0', 'sendrecv'],
        ['audio', '1', 'recvonly'],
        ['application', '2', null],
      ],
    );
    assert.ok(
      s.media.every((m) => m.iceUfrag && m.icePwd && m.fingerprints.length === 1 && m.setup === 'actpass'),
    );
    assert.equal(s.media[2]?.sctpPort, 5000);
    assert.deepEqual(parseSdp(serializeSdp(s)), s);
    const lines = (t: string): string[] =>
      t
        .split('\r\n')
        .filter((l) => l.length > 0 && !l.startsWith('a=msid-semantic'))
        .sort();
    assert.deepEqual(lines(serializeSdp(s)), lines(offer.sdp));
  } finally {
    await pc.close();
  }
});

test('malformed lines fail with SdpParseError naming the line', () => {
  const good = fixture('chromium-dc-offer.sdp').split('\r\n');
  const cases: [number, string][] = [
    [7, 'm=application nine UDP/DTLS/SCTP webrtc-datachannel'],
    [9, 'a=ice-ufrag:'],
    [12, 'a=fingerprint:sha-256 ZZ:11'],
    [13, 'a=setup:maybe'],
    [15, 'a=sctp-port:abc'],
    [3, 'garbage'],
  ];
  for (const [line, text] of cases) {
    const lines = [...good];
    lines[line - 1] = text;
    const err = (() => {
      try {
        parseSdp(lines.join('\r\n'));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof SdpParseError, `${text}: ${err}`);
    assert.equal(err.line, line, text);
  }
  assert.throws(() => parseSdp(''), SdpParseError);
  assert.throws(() => parseSdp('o=- 1 1 IN IP4 0.0.0.0\r\n'), SdpParseError);
  assert.throws(() => parseSdp('v=0\r\ns=-\r\n'), SdpParseError);
  assert.throws(
    () => parseSdp('v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n'),
    SdpParseError,
  );
  assert.throws(
    () => parseSdp('v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nm=audio 9 RTP/AVP 0\r\na=extmap:15 urn:x\r\n'),
    SdpParseError,
  );
});

test('LF-only input and rejected m-lines (port 0) parse', () => {
  const s = parseSdp(
    'v=0\no=- 1 2 IN IP4 127.0.0.1\ns=-\nt=0 0\nm=video 0 UDP/TLS/RTP/SAVPF 96\na=mid:1\na=bundle-only\n',
  );
  assert.equal(s.media[0]?.port, 0);
  assert.equal(s.media[0]?.bundleOnly, true);
  assert.equal(s.origin.sessionVersion, '2');
});

test('fuzz: mutated and random SDP gives a value or SdpParseError, never another exception', () => {
  const rnd = new SeededRandom(8866);
  const corpus = [...chromiumFixtures.map(fixture), fixture('firefox-style-offer.sdp')];
  const alphabet = ' :=/;,.~*-0123456789abcdefvmoastcrx\r\n\t';
  let parsed = 0;
  for (let i = 0; i < 3000; i++) {
    const base = corpus[rnd.int(corpus.length)]!;
    const lines = base.split('\r\n');
    const n = 1 + rnd.int(4);
    for (let k = 0; k < n; k++) {
      const at = rnd.int(lines.length);
      const line = lines[at]!;
      const op = rnd.int(5);
      if (op === 0) lines[at] = line.slice(0, rnd.int(line.length + 1));
      else if (op === 1) {
        const p = rnd.int(line.length + 1);
        lines[at] = line.slice(0, p) + alphabet[rnd.int(alphabet.length)] + line.slice(p + 1);
      } else if (op === 2) lines.splice(at, 1);
      else if (op === 3) lines.splice(at, 0, lines[rnd.int(lines.length)]!);
      else lines[at] = line.replace(/\d+/, String(rnd.u32()));
    }
    try {
      const s = parseSdp(lines.join('\r\n'));
      parsed++;
      // Whatever parses serializes and parses again to the same value.
      assert.deepEqual(canonical(parseSdp(serializeSdp(s))), canonical(s));
    } catch (e) {
      if (!(e instanceof SdpParseError)) throw e;
    }
  }
  for (let i = 0; i < 1000; i++) {
    const len = rnd.int(200);
    let t = 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n';
    for (let k = 0; k < len; k++) t += alphabet[rnd.int(alphabet.length)];
    try {
      parseSdp(t);
    } catch (e) {
      if (!(e instanceof SdpParseError)) throw e;
    }
  }
  assert.ok(parsed > 100, `only ${parsed} mutated descriptions parsed`);
});
