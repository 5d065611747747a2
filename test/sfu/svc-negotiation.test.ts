/**
 * What the SFU needs of rtcstack's peer connection to forward AV1 SVC: the dependency descriptor
 * extension negotiated only where a transceiver asks for it (W3C setHeaderExtensionsToNegotiate),
 * answered with the offerer's id, and a forwarded packet's descriptor sent in it (writeRtp
 * `dependencyDescriptor`), byte for byte, to the receiving peer. Two peers on loopback UDP.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MediaStreamTrack, RTCPeerConnection, type RTCRtpTransceiver } from '../../src/peer/index.js';
import { EXT_DEPENDENCY_DESCRIPTOR } from '../../src/rtp/extensions.js';
import { findExtension, type RtpPacket } from '../../src/rtp/packet.js';
import { waitFor } from '../helpers/wait.js';
import { AV1_PT, Av1SvcPublisher, DD_EXT } from './svc-synthetic.js';

const OPTS = { includeLoopback: true, ipv6: false, interfaceFilter: undefined };

const ddOn = (t: RTCRtpTransceiver): void =>
  t.setHeaderExtensionsToNegotiate(
    t
      .getHeaderExtensionsToNegotiate()
      .map((e) => (e.uri === EXT_DEPENDENCY_DESCRIPTOR ? { ...e, direction: 'sendrecv' as const } : e)),
  );

test('dependency descriptor: negotiated on request only, forwarded descriptors arrive unchanged', async () => {
  const a = new RTCPeerConnection({}, OPTS);
  const b = new RTCPeerConnection({}, OPTS);
  a.onicecandidate = (e) => void b.addIceCandidate(e.candidate ?? undefined).catch(() => {});
  b.onicecandidate = (e) => void a.addIceCandidate(e.candidate ?? undefined).catch(() => {});
  try {
    const track = new MediaStreamTrack({ kind: 'video', label: 'svc' });
    const plain = a.addTransceiver(new MediaStreamTrack({ kind: 'video', label: 'plain' }), {
      direction: 'sendonly',
    });
    const t = a.addTransceiver(track, { direction: 'sendonly' });
    assert.equal(
      t.getHeaderExtensionsToNegotiate().find((e) => e.uri === EXT_DEPENDENCY_DESCRIPTOR)?.direction,
      'stopped',
      'off by default',
    );
    ddOn(t);
    const av1 = t.getHeaderExtensionsToNegotiate().filter((e) => e.uri === EXT_DEPENDENCY_DESCRIPTOR);
    assert.equal(av1[0]?.direction, 'sendrecv');
    t.setCodecPreferences([{ mimeType: 'video/AV1', clockRate: 90000 }]);
    await a.setLocalDescription(await a.createOffer());
    const sections = a.localDescription!.sdp.split('m=').slice(1);
    assert.ok(!sections[0]!.includes(EXT_DEPENDENCY_DESCRIPTOR), 'not offered where not asked for');
    assert.ok(sections[1]!.includes(EXT_DEPENDENCY_DESCRIPTOR), 'offered where asked for');
    const received: RtpPacket[] = [];
    b.ontrack = (e) => {
      if (e.transceiver.mid === t.mid) e.track.on('rtp', (p) => received.push(p));
    };
    await b.setRemoteDescription(a.localDescription!);
    // The answerer keeps it only when it asks for it too (an SFU's publishing connection does).
    for (const x of b.getTransceivers()) if (x.mid === t.mid) ddOn(x);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription!);
    const offeredId = a.localDescription!.sdp.match(/a=extmap:(\d+) https:\/\/aomediacodec[^\r\n]*/)![1];
    const answeredId = b.localDescription!.sdp.match(/a=extmap:(\d+) https:\/\/aomediacodec[^\r\n]*/)?.[1];
    assert.equal(answeredId, offeredId, 'answered with the offerer id');
    assert.equal(plain.sender.getParameters().headerExtensions.length > 0, true);
    await waitFor(() => a.connectionState === 'connected' && b.connectionState === 'connected', 'connected');

    // Forward a synthetic AV1 SVC stream as an SFU would, descriptors passed on.
    const pub = new Av1SvcPublisher(0x42, 100, 1000);
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 30; i++) {
      for (const p of pub.nextPicture()) {
        const dd = findExtension(p.packet, DD_EXT)!;
        sent.push(dd);
        track.writeRtp({ ...p.packet, payloadType: AV1_PT }, { dependencyDescriptor: dd });
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await waitFor(() => received.length >= sent.length * 0.9, 'forwarded packets');
    const id = Number(offeredId);
    const got = received.map((p) => findExtension(p, id));
    assert.ok(
      got.every((x) => x !== undefined),
      'every packet carries the descriptor',
    );
    // Same bytes, in order (allowing for the odd lost packet on a loaded host).
    const key = (x: Uint8Array): string => Buffer.from(x).toString('hex');
    const want = new Set(sent.map(key));
    assert.ok(got.every((x) => want.has(key(x!))));
    assert.deepEqual(key(got[0]!), key(sent[0]!));
  } finally {
    a.close();
    b.close();
  }
});
