/**
 * W3C webrtc-pc behaviour, adapted to node:test: the checks the Web Platform Tests make for
 * RTCPeerConnection, RTCSessionDescription, RTCIceCandidate and RTCDataChannel that make sense
 * outside a browser (no media, no DOM). Written from the specification's algorithms; each test
 * names the section it follows. The summary line at the end reports the pass count.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { RTCIceCandidate, RTCPeerConnection, RTCSessionDescription } from '../../src/peer/index.js';

const OPTS = { includeLoopback: true, ipv6: false };
const open: RTCPeerConnection[] = [];
const pc = (config = {}): RTCPeerConnection => {
  const p = new RTCPeerConnection(config, OPTS);
  open.push(p);
  return p;
};
after(() => {
  for (const p of open) p.close();
});

const isDom =
  (name: string) =>
  (e: unknown): boolean =>
    e instanceof DOMException && e.name === name;
const events = (target: EventTarget, type: string): string[] => {
  const seen: string[] = [];
  target.addEventListener(type, () => seen.push(type));
  return seen;
};

async function connected(): Promise<{ a: RTCPeerConnection; b: RTCPeerConnection }> {
  const a = pc();
  const b = pc();
  a.onicecandidate = (e) => void b.addIceCandidate(e.candidate ?? undefined).catch(() => {});
  b.onicecandidate = (e) => void a.addIceCandidate(e.candidate ?? undefined).catch(() => {});
  return { a, b };
}

// §4.4.1 constructor and initial state
test('§4.4.1 a new RTCPeerConnection starts stable, new, without descriptions', () => {
  const p = pc();
  assert.equal(p.signalingState, 'stable');
  assert.equal(p.iceGatheringState, 'new');
  assert.equal(p.iceConnectionState, 'new');
  assert.equal(p.connectionState, 'new');
  assert.equal(p.localDescription, null);
  assert.equal(p.remoteDescription, null);
  assert.equal(p.currentLocalDescription, null);
  assert.equal(p.pendingRemoteDescription, null);
  assert.equal(p.canTrickleIceCandidates, null);
  assert.equal(p.sctp, null);
  for (const h of [
    'onnegotiationneeded',
    'onicecandidate',
    'onsignalingstatechange',
    'ondatachannel',
  ] as const) {
    assert.equal(p[h], null, `${h} defaults to null`);
  }
});

test('§4.4.1 the configuration is validated: bad urls SyntaxError, TURN without credentials InvalidAccessError', () => {
  assert.throws(() => pc({ iceServers: [{ urls: 'xyz:foo' }] }), isDom('SyntaxError'));
  assert.throws(() => pc({ iceServers: [{ urls: [] }] }), SyntaxError);
  assert.throws(() => pc({ iceServers: [{ urls: 'turns:example.org' }] }), isDom('InvalidAccessError'));
  assert.throws(() => pc({ iceTransportPolicy: 'none' as 'all' }), TypeError);
  const ok = pc({ iceServers: [{ urls: ['stun:127.0.0.1:3478'] }], iceTransportPolicy: 'relay' });
  const cfg = ok.getConfiguration();
  assert.deepEqual(cfg.iceServers, [{ urls: ['stun:127.0.0.1:3478'] }]);
  assert.equal(cfg.iceTransportPolicy, 'relay');
});

test('§4.4.1.6 setConfiguration refuses to change bundlePolicy; closed connections refuse it', () => {
  const p = pc({ bundlePolicy: 'max-bundle' });
  assert.throws(() => p.setConfiguration({ bundlePolicy: 'balanced' }), isDom('InvalidModificationError'));
  p.setConfiguration({ bundlePolicy: 'max-bundle', iceTransportPolicy: 'relay' });
  assert.equal(p.getConfiguration().iceTransportPolicy, 'relay');
  p.close();
  assert.throws(() => p.setConfiguration({}), isDom('InvalidStateError'));
});

// §4.4.3 / JSEP
test('§4.4.3 createOffer gives an offer with a data section once a channel exists', async () => {
  const p = pc();
  p.createDataChannel('x');
  const offer = await p.createOffer();
  assert.equal(offer.type, 'offer');
  assert.match(offer.sdp!, /^v=0\r\n/);
  assert.match(offer.sdp!, /m=application 9 UDP\/DTLS\/SCTP webrtc-datachannel/);
  assert.match(offer.sdp!, /a=setup:actpass/);
  assert.match(offer.sdp!, /a=fingerprint:sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
  assert.equal(p.signalingState, 'stable', 'createOffer does not change state');
});

test('§4.4.3 createAnswer without a remote offer is InvalidStateError', async () => {
  await assert.rejects(pc().createAnswer(), isDom('InvalidStateError'));
});

test('§4.4.1.5 setLocalDescription(offer) moves to have-local-offer with one signalingstatechange', async () => {
  const p = pc();
  p.createDataChannel('x');
  const seen = events(p, 'signalingstatechange');
  const offer = await p.createOffer();
  await p.setLocalDescription(offer);
  assert.equal(p.signalingState, 'have-local-offer');
  assert.deepEqual(seen, ['signalingstatechange']);
  assert.equal(p.pendingLocalDescription?.type, 'offer');
  assert.equal(p.currentLocalDescription, null);
  assert.ok(p.localDescription instanceof RTCSessionDescription);
});

test('§4.4.1.5 a modified offer is InvalidModificationError', async () => {
  const p = pc();
  p.createDataChannel('x');
  const offer = await p.createOffer();
  await assert.rejects(
    p.setLocalDescription({ type: 'offer', sdp: offer.sdp!.replace('a=setup:actpass', 'a=setup:active') }),
    isDom('InvalidModificationError'),
  );
});

test('§4.4.1.5 parameterless setLocalDescription creates the offer (and the answer) itself', async () => {
  const { a, b } = await connected();
  a.createDataChannel('x');
  await a.setLocalDescription();
  assert.equal(a.localDescription?.type, 'offer');
  await b.setRemoteDescription(a.localDescription!);
  await b.setLocalDescription();
  assert.equal(b.localDescription?.type, 'answer');
  assert.equal(b.signalingState, 'stable');
});

test('§4.4.1.5 rollback returns to stable and clears the pending description', async () => {
  const p = pc();
  p.createDataChannel('x');
  await p.setLocalDescription();
  await p.setLocalDescription({ type: 'rollback' });
  assert.equal(p.signalingState, 'stable');
  assert.equal(p.pendingLocalDescription, null);
  await assert.rejects(p.setLocalDescription({ type: 'rollback' }), isDom('InvalidStateError'));
});

test('§4.4.1.6 a remote offer in have-local-offer rolls the local offer back (perfect negotiation)', async () => {
  const { a, b } = await connected();
  a.createDataChannel('a');
  b.createDataChannel('b');
  await a.setLocalDescription();
  await b.setLocalDescription();
  await b.setRemoteDescription(a.localDescription!);
  assert.equal(b.signalingState, 'have-remote-offer');
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription!);
  assert.equal(a.signalingState, 'stable');
});

test('§4.4.1.6 setRemoteDescription(answer) in stable is InvalidStateError; garbage SDP rejects', async () => {
  const p = pc();
  await assert.rejects(
    p.setRemoteDescription({ type: 'answer', sdp: 'v=0\r\n' }),
    (e: unknown) => e instanceof DOMException,
  );
  await assert.rejects(
    p.setRemoteDescription({ type: 'offer', sdp: 'garbage' }),
    (e: unknown) => e instanceof DOMException,
  );
  assert.equal(p.signalingState, 'stable', 'a failed setRemoteDescription changes nothing');
});

test('§4.4.1.6 an offer without ICE credentials or fingerprint is refused', async () => {
  const a = pc();
  a.createDataChannel('x');
  const offer = await a.createOffer();
  const p = pc();
  await assert.rejects(
    p.setRemoteDescription({ type: 'offer', sdp: offer.sdp!.replace(/a=fingerprint:[^\r]+\r\n/, '') }),
    (e: unknown) => e instanceof DOMException,
  );
  await assert.rejects(
    p.setRemoteDescription({ type: 'offer', sdp: offer.sdp!.replace(/a=ice-ufrag:[^\r]+\r\n/, '') }),
    (e: unknown) => e instanceof DOMException,
  );
});

// §4.4.1.7 addIceCandidate
test('§4.4.1.7 addIceCandidate needs a remote description, a known mid, and sdpMid or sdpMLineIndex', async () => {
  const p = pc();
  await assert.rejects(
    p.addIceCandidate({ candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0' }),
    isDom('InvalidStateError'),
  );
  const a = pc();
  a.createDataChannel('x');
  await a.setLocalDescription();
  await p.setRemoteDescription(a.localDescription!);
  await assert.rejects(
    p.addIceCandidate({ candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: 'nope' }),
    isDom('OperationError'),
  );
  await assert.rejects(
    p.addIceCandidate({ candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host' }),
    TypeError,
  );
  await p.addIceCandidate({ candidate: 'candidate:1 1 udp 2130706431 127.0.0.1 9 typ host', sdpMid: '0' });
  await p.addIceCandidate(null as unknown as undefined); // end-of-candidates
  await p.addIceCandidate({ candidate: '', sdpMid: '0' }); // end-of-candidates
});

// §4.8 RTCSessionDescription, RTCIceCandidate
test('§4.8.1 RTCSessionDescription keeps type and sdp and serialises with toJSON', () => {
  const d = new RTCSessionDescription({ type: 'offer', sdp: 'v=0\r\n' });
  assert.deepEqual(d.toJSON(), { type: 'offer', sdp: 'v=0\r\n' });
  assert.throws(() => new RTCSessionDescription({ type: 'nope' as 'offer' }), TypeError);
});

test('§4.8.2 RTCIceCandidate parses its candidate attribute', () => {
  const c = new RTCIceCandidate({
    candidate:
      'candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 10.0.0.2 rport 46154 generation 0 ufrag abcd',
    sdpMid: '0',
    sdpMLineIndex: 0,
  });
  assert.equal(c.foundation, '842163049');
  assert.equal(c.component, 'rtp');
  assert.equal(c.priority, 1677729535);
  assert.equal(c.address, '203.0.113.7');
  assert.equal(c.port, 46154);
  assert.equal(c.protocol, 'udp');
  assert.equal(c.type, 'srflx');
  assert.equal(c.relatedAddress, '10.0.0.2');
  assert.equal(c.relatedPort, 46154);
  assert.equal(c.usernameFragment, 'abcd');
  assert.deepEqual(Object.keys(c.toJSON()).sort(), [
    'candidate',
    'sdpMLineIndex',
    'sdpMid',
    'usernameFragment',
  ]);
  assert.throws(
    () => new RTCIceCandidate({ candidate: 'candidate:1 1 udp 1 1.2.3.4 5 typ host' }),
    TypeError,
  );
  const empty = new RTCIceCandidate({ sdpMid: '0' });
  assert.equal(empty.candidate, '');
  assert.equal(empty.type, null);
});

// §4.10 certificates
test('§4.10 generateCertificate: ECDSA P-256 with a future expiry and a sha-256 fingerprint; unknown algorithms NotSupportedError', async () => {
  const cert = await RTCPeerConnection.generateCertificate({ name: 'ECDSA', namedCurve: 'P-256' });
  assert.ok(cert.expires > Date.now());
  const [fp] = cert.getFingerprints();
  assert.equal(fp?.algorithm, 'sha-256');
  await assert.rejects(
    RTCPeerConnection.generateCertificate({ name: 'ECDSA', namedCurve: 'P-384' } as unknown as {
      name: 'ECDSA';
      namedCurve: 'P-256';
    }),
    isDom('NotSupportedError'),
  );
  // A given certificate is the one whose fingerprint appears in the offer.
  const p = pc({ certificates: [cert] });
  p.createDataChannel('x');
  const offer = await p.createOffer();
  assert.ok(offer.sdp!.includes(fp!.value));
});

// §4.7 events
test('§4.7.3 negotiationneeded fires once for the first channel, not for later ones', async () => {
  const p = pc();
  const seen = events(p, 'negotiationneeded');
  p.createDataChannel('one');
  p.createDataChannel('two');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen, ['negotiationneeded']);
});

test('§4.3.2 gathering: icegatheringstatechange gathering then complete, icecandidate ends with null', async () => {
  const p = pc();
  p.createDataChannel('x');
  const states: string[] = [];
  p.onicegatheringstatechange = () => states.push(p.iceGatheringState);
  const cands: (RTCIceCandidate | null)[] = [];
  const done = new Promise<void>((resolve) => {
    p.onicecandidate = (e) => {
      cands.push(e.candidate);
      if (!e.candidate) resolve();
    };
  });
  await p.setLocalDescription();
  await done;
  assert.deepEqual(states, ['gathering', 'complete']);
  assert.ok(cands.length >= 2);
  assert.equal(cands.at(-1), null);
  for (const c of cands.slice(0, -1)) {
    assert.ok(c instanceof RTCIceCandidate);
    assert.equal(c.sdpMid, '0');
    assert.ok(c.candidate.startsWith('candidate:'));
  }
  assert.match(p.localDescription!.sdp, /a=candidate:/, 'the local description carries gathered candidates');
  assert.match(p.localDescription!.sdp, /a=end-of-candidates/);
});

// §4.4.1.9 close
test('§4.4.1.9 close(): state closed without events, operations reject InvalidStateError', async () => {
  const p = pc();
  const seen = events(p, 'signalingstatechange');
  p.close();
  p.close(); // idempotent
  assert.equal(p.signalingState, 'closed');
  assert.equal(p.connectionState, 'closed');
  assert.equal(p.iceConnectionState, 'closed');
  assert.deepEqual(seen, []);
  await assert.rejects(p.createOffer(), isDom('InvalidStateError'));
  await assert.rejects(p.setRemoteDescription({ type: 'offer', sdp: '' }), isDom('InvalidStateError'));
  assert.throws(() => p.createDataChannel('x'), isDom('InvalidStateError'));
});

// §6.1 createDataChannel, §6.2 RTCDataChannel
test('§6.1 createDataChannel defaults and argument checks', () => {
  const p = pc();
  const dc = p.createDataChannel('label');
  assert.equal(dc.label, 'label');
  assert.equal(dc.ordered, true);
  assert.equal(dc.maxPacketLifeTime, null);
  assert.equal(dc.maxRetransmits, null);
  assert.equal(dc.protocol, '');
  assert.equal(dc.negotiated, false);
  assert.equal(dc.id, null);
  assert.equal(dc.readyState, 'connecting');
  assert.equal(dc.bufferedAmount, 0);
  assert.equal(dc.bufferedAmountLowThreshold, 0);
  assert.throws(() => p.createDataChannel('x', { maxPacketLifeTime: 1, maxRetransmits: 1 }), TypeError);
  assert.throws(() => p.createDataChannel('x', { negotiated: true }), TypeError);
  assert.throws(() => p.createDataChannel('x'.repeat(65536)), TypeError);
  const neg = p.createDataChannel('n', { negotiated: true, id: 42 });
  assert.equal(neg.id, 42);
  assert.throws(() => p.createDataChannel('m', { negotiated: true, id: 42 }), isDom('OperationError'));
});

test('§6.2 send before open is InvalidStateError; binaryType accepts only blob or arraybuffer', () => {
  const dc = pc().createDataChannel('x');
  assert.throws(() => dc.send('too early'), isDom('InvalidStateError'));
  dc.binaryType = 'blob';
  assert.equal(dc.binaryType, 'blob');
  assert.throws(() => {
    dc.binaryType = 'text' as 'blob';
  }, isDom('SyntaxError'));
});

test('§6.2 negotiated channels with the same id connect without DCEP; oversize sends are TypeError', async () => {
  const { a, b } = await connected();
  const ca = a.createDataChannel('n', { negotiated: true, id: 7 });
  const cb = b.createDataChannel('n', { negotiated: true, id: 7 });
  let datachannelEvents = 0;
  b.ondatachannel = () => datachannelEvents++;
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription!);
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription!);
  const end = Date.now() + 20_000;
  while (ca.readyState !== 'open' || cb.readyState !== 'open') {
    if (Date.now() > end) throw new Error('negotiated channels did not open');
    await new Promise((r) => setTimeout(r, 10));
  }
  const got = new Promise<string>((resolve) => {
    cb.onmessage = (e) => resolve((e as MessageEvent).data as string);
  });
  ca.send('over a negotiated channel');
  assert.equal(await got, 'over a negotiated channel');
  assert.equal(datachannelEvents, 0, 'no datachannel event for negotiated channels');
  assert.equal(a.sctp?.maxMessageSize, 262144);
  assert.throws(() => ca.send(new Uint8Array(262145)), TypeError);
  ca.close();
  assert.equal(ca.readyState, 'closing');
});
