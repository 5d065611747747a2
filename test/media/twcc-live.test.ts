/**
 * Transport-wide congestion control between two rtcstack peers: transport-cc is negotiated, the
 * receiver sends TWCC feedback for the stamped packets, and the sender's GCC estimate reaches the
 * application as RTCRtpSender.targetBitrate with 'targetbitrate' events and in outbound-rtp stats.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MediaStream, MediaStreamTrack, RTCPeerConnection } from '../../src/peer/index.js';
import { trickledPair } from '../helpers/trickled-pair.js';
import { waitFor } from '../helpers/wait.js';
import { enableTwcc } from './twcc.js';

const OPTS = { includeLoopback: true, ipv6: false };

test('transport-cc is on by default (as in browsers) and can be stopped per transceiver', async () => {
  const pc = new RTCPeerConnection({}, OPTS);
  try {
    const t = pc.addTransceiver('video');
    const tcc = () => t.getHeaderExtensionsToNegotiate().find((e) => e.uri.includes('transport-wide'));
    assert.equal(tcc()?.direction, 'sendrecv');
    const sdp = (await pc.createOffer()).sdp ?? '';
    assert.match(sdp, /transport-wide-cc/);
    assert.match(sdp, /a=rtcp-fb:96 goog-remb/);
    assert.match(sdp, /a=rtcp-fb:96 transport-cc/);
    t.setHeaderExtensionsToNegotiate(
      t
        .getHeaderExtensionsToNegotiate()
        .map((e) => (e.uri === tcc()?.uri ? { ...e, direction: 'stopped' } : e)),
    );
    assert.equal(tcc()?.direction, 'stopped');
    assert.doesNotMatch((await pc.createOffer()).sdp ?? '', /transport-wide-cc|transport-cc|goog-remb/);
    enableTwcc(t);
    assert.match((await pc.createOffer()).sdp ?? '', /transport-wide-cc/);
    assert.throws(
      () =>
        t.setHeaderExtensionsToNegotiate([
          { uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', direction: 'stopped' },
        ]),
      { name: 'InvalidModificationError' },
    );
  } finally {
    pc.close();
  }
});

test('TWCC feedback from the receiver drives the sender target bitrate', async () => {
  const { a, b } = trickledPair();
  try {
    const track = new MediaStreamTrack({ kind: 'video' });
    const sender = a.addTrack(track, new MediaStream());
    enableTwcc(a.getTransceivers()[0]!);
    const events: number[] = [];
    sender.on('targetbitrate', (bps) => events.push(bps));
    let frames = 0;
    b.ontrack = (e) => e.track.on('frame', () => frames++);
    await a.setLocalDescription(await a.createOffer());
    assert.match(
      a.localDescription!.sdp,
      /a=extmap:3 http:\/\/www\.ietf\.org\/id\/draft-holmer-rmcat-transport-wide-cc/,
    );
    assert.match(a.localDescription!.sdp, /a=rtcp-fb:96 transport-cc/);
    await b.setRemoteDescription(a.localDescription!);
    enableTwcc(b.getTransceivers()[0]!);
    await b.setLocalDescription(await b.createAnswer());
    assert.match(b.localDescription!.sdp, /transport-wide-cc/);
    await a.setRemoteDescription(b.localDescription!);
    await waitFor(() => a.connectionState === 'connected' && b.connectionState === 'connected', 'connected');
    assert.equal(sender.targetBitrate, undefined, 'no estimate before feedback');
    // About 1 Mbit/s of 30 fps video until the estimate shows up and frames arrive.
    let i = 0;
    while ((sender.targetBitrate === undefined || frames < 30) && i < 600) {
      const f = new Uint8Array(4000).fill(i & 0xff);
      f[0] = i % 30 === 0 ? 0x10 : 0x11;
      track.writeFrame({ data: f, timestamp: i * 33 });
      i++;
      await new Promise((r) => setTimeout(r, 33));
    }
    assert.ok(sender.targetBitrate !== undefined, 'an estimate arrived');
    assert.ok(
      sender.targetBitrate >= 30_000 && sender.targetBitrate <= 10_000_000,
      `${sender.targetBitrate}`,
    );
    assert.ok(events.length >= 1 && events.at(-1) !== undefined);
    assert.ok(frames > 0);
    const out = [...(await a.getStats()).values()].find((s) => s.type === 'outbound-rtp') as
      | { targetBitrate?: number }
      | undefined;
    assert.equal(typeof out?.targetBitrate, 'number');
  } finally {
    a.close();
    b.close();
  }
});
