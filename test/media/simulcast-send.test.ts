/**
 * Simulcast sending (RFC 8853): an rtcstack sender with three rid encodings offers
 * `a=simulcast:send`, sends each layer on its own SSRC with the rid header extension, routes
 * frames written with a rid to that layer (without one to every layer), reports outbound-rtp per
 * layer, and answers a NACK on a layer over RTX tagged with repaired-rid (RFC 8852 §3.2).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { unwrapRtx } from '../../src/interceptor/nack.js';
import { MediaStream, MediaStreamTrack, type ReceivedFrame, type RTCStats } from '../../src/peer/index.js';
import { DEFAULT_VIDEO_CODECS } from '../../src/peer/media-codecs.js';
import { RTCRtpSender } from '../../src/peer/rtp-sender.js';
import { EXT_MID, EXT_REPAIRED_RID, EXT_RID, parseSdesExtension } from '../../src/rtp/extensions.js';
import { findExtension, type RtpPacket } from '../../src/rtp/packet.js';
import { trickledPair } from '../helpers/trickled-pair.js';
import { waitFor } from '../helpers/wait.js';

const RIDS = ['q', 'h', 'f'];

/** A VP8-shaped frame (keyframe bit in the frame tag) of `size` bytes filled with `fill`. */
function vp8Frame(size: number, fill: number, key: boolean): Uint8Array {
  const f = new Uint8Array(size).fill(fill);
  f[0] = key ? 0x10 : 0x11;
  return f;
}

test('rtcstack sends 3-layer simulcast to rtcstack: per-rid streams, frames routed by rid', async () => {
  const { a, b } = trickledPair();
  try {
    const track = new MediaStreamTrack({ kind: 'video' });
    const tx = a.addTransceiver(track, {
      direction: 'sendonly',
      streams: [new MediaStream()],
      sendEncodings: RIDS.map((rid) => ({ rid })),
    });
    const got: ReceivedFrame[] = [];
    b.ontrack = (e) => e.track.on('frame', (f) => got.push(f));
    await a.setLocalDescription(await a.createOffer());
    assert.match(a.localDescription!.sdp, /a=simulcast:send q;h;f/);
    for (const rid of RIDS) assert.match(a.localDescription!.sdp, new RegExp(`a=rid:${rid} send`));
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription(await b.createAnswer());
    assert.match(b.localDescription!.sdp, /a=simulcast:recv q;h;f/);
    await a.setRemoteDescription(b.localDescription!);
    await waitFor(() => a.connectionState === 'connected' && b.connectionState === 'connected', 'connected');
    // Layer sizes differ so each rid's frames are recognisable; frame 10 goes to every layer.
    const sizes: Record<string, number> = { q: 300, h: 1500, f: 5000 };
    for (let i = 0; i < 20; i++) {
      if (i === 10) track.writeFrame({ data: vp8Frame(700, 10, false), timestamp: i * 33 });
      else
        for (const rid of RIDS)
          track.writeFrame({ data: vp8Frame(sizes[rid]!, i, i === 0), timestamp: i * 33, rid });
      await new Promise((r) => setTimeout(r, 5));
    }
    await waitFor(() => got.length === 60, `60 frames (have ${got.length})`);
    for (const rid of RIDS) {
      const frames = got.filter((f) => f.rid === rid);
      assert.equal(frames.length, 20, `20 frames on ${rid}`);
      assert.equal(new Set(frames.map((f) => f.ssrc)).size, 1, `one SSRC for ${rid}`);
      for (const f of frames) {
        const shared = f.data[1] === 10;
        assert.equal(f.data.length, shared ? 700 : sizes[rid], `${rid} frame size`);
      }
      assert.ok(frames[0]!.keyframe, `${rid} starts with a keyframe`);
    }
    assert.equal(new Set(got.map((f) => f.ssrc)).size, 3);
    const senderSsrcs = tx.sender.layers.map((l) => l.ssrc);
    assert.deepEqual(new Set(got.map((f) => f.ssrc)), new Set(senderSsrcs));
    assert.deepEqual(
      tx.sender.getParameters().encodings.map((e) => [e.rid, e.ssrc]),
      tx.sender.layers.map((l) => [l.rid, l.ssrc]),
    );
    // A layer can be paused with setParameters: frames without a rid then go to the others only.
    const params = tx.sender.getParameters();
    params.encodings[2]!.active = false;
    await tx.sender.setParameters(params);
    const before = got.length;
    track.writeFrame({ data: vp8Frame(800, 77, false), timestamp: 21 * 33 });
    await waitFor(() => got.length === before + 2, 'two more frames');
    assert.deepEqual(
      got
        .slice(before)
        .map((f) => f.rid)
        .sort(),
      ['h', 'q'],
    );
    const stats = [...(await a.getStats()).values()] as RTCStats[];
    const out = stats.filter((s) => s.type === 'outbound-rtp') as (RTCStats & {
      rid?: string;
      framesSent: number;
    })[];
    assert.deepEqual(out.map((s) => s.rid).sort(), ['f', 'h', 'q']);
    for (const s of out) assert.equal(s.framesSent, s.rid === 'f' ? 20 : 21, `framesSent of ${s.rid}`);
    const inbound = [...(await b.getStats()).values()].filter((s) => s.type === 'inbound-rtp');
    assert.equal(inbound.length, 3);
  } finally {
    a.close();
    b.close();
  }
});

test('a NACK on one layer is answered over that layer RTX SSRC with repaired-rid, not rid', () => {
  const clock = new ManualClock();
  const sender = new RTCRtpSender(
    'video',
    clock,
    'cname',
    RIDS.map((rid) => ({ rid })),
  );
  const extmaps = [
    { id: 4, uri: EXT_MID },
    { id: 10, uri: EXT_RID },
    { id: 11, uri: EXT_REPAIRED_RID },
  ];
  sender.configure({ mid: '0', codecs: DEFAULT_VIDEO_CODECS, extmaps });
  const sent: RtpPacket[] = [];
  sender.out = (p) => sent.push(p);
  const track = new MediaStreamTrack({ kind: 'video' });
  sender.setTrack(track);
  const requests: { rid?: string }[] = [];
  track.on('keyframerequest', (r) => requests.push(r));
  track.writeFrame({ data: vp8Frame(3000, 1, true), timestamp: 0, rid: 'h' });
  const h = sender.layers[1]!;
  const media = sent.filter((p) => p.ssrc === h.ssrc);
  assert.equal(media.length, sent.length, 'only layer h sent');
  assert.ok(media.length >= 3);
  for (const p of media) assert.equal(parseSdesExtension(findExtension(p, 10)!), 'h');
  const lost = media[1]!;
  sent.length = 0;
  sender.onNack([lost.sequenceNumber], h.ssrc);
  assert.equal(sent.length, 1);
  const rtx = sent[0]!;
  assert.equal(rtx.ssrc, h.rtxSsrc);
  assert.equal(rtx.payloadType, 97);
  assert.equal(findExtension(rtx, 10), undefined, 'no rid on RTX');
  assert.equal(parseSdesExtension(findExtension(rtx, 11)!), 'h');
  assert.deepEqual(unwrapRtx(rtx, h.ssrc, 96).payload, lost.payload);
  assert.equal(h.stats.retransmittedPacketsSent, 1);
  assert.equal(sender.layers[0]!.stats.nackCount, 0);
  // A NACK for an SSRC that is not ours resends nothing.
  sender.onNack([lost.sequenceNumber], 12345);
  assert.equal(sent.length, 1);
  // PLI on layer f names it.
  sender.onKeyframeRequest('pli', sender.layers[2]!.ssrc);
  assert.deepEqual(requests, [{ rid: 'f' }]);
});
