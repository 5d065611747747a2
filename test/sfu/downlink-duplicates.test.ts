/**
 * Copies of packets already received are neither metered nor forwarded. Chromium pads and probes
 * its upload by resending recent media packets of its lowest simulcast layer over RTX (libwebrtc's
 * RTX payload padding, with abs-send-time negotiated): unwrapped by the peer connection they look
 * like media of rid q. In a Chromium run the SFU measured q at 450-960 kbit/s (Chromium's own
 * outbound-rtp q: 150 kbit/s target, retransmittedPacketsSent 0; the SFU's inbound-rtp q: 1259 of
 * 1864 packets over RTX), above h (~280), so a subscriber limited between q and h could not be
 * given q, and every copy was forwarded to q's subscribers too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UpstreamStream } from '../../src/server/sfu/upstream.js';
import { Harness, layerOf } from './harness.js';
import type { SyntheticPacket } from './synthetic.js';

test('upstream stream: a copy of a received packet is a duplicate; a late original, a recovered loss, is not', () => {
  const u = new UpstreamStream(7, 90000);
  for (const s of [65534, 65535, 0, 2]) assert.equal(u.onPacket(s, 0, 0), true, `original ${s}`);
  assert.equal(u.onPacket(65535, 0, 10), false, 'copy across the wrap');
  assert.equal(u.onPacket(2, 0, 10), false, 'copy of the highest');
  assert.equal(u.onPacket(1, 0, 20), true, 'the lost one, late');
  assert.equal(u.recovered, 1);
  assert.equal(u.onPacket(1, 0, 30), false, 'and its copy');
  assert.equal(u.duplicates, 3);
  assert.equal(u.received, 5, 'copies do not count as received (they would hide loss)');
  assert.equal(u.reportBlock(40).packetsLost, 0);
  for (let s = 3; s < 3000; s++) u.onPacket(s, 0, 50);
  assert.equal(u.onPacket(5, 0, 60), false, 'older than the window: not forwarded');
  assert.equal(u.onPacket(2999, 0, 60), false);
  assert.equal(u.onPacket(3000, 0, 60), true);
});

test('RTX payload padding on the lowest layer: not metered, not forwarded; the layer keeps its media rate', () => {
  const h = new Harness();
  const pub = h.addPublisher('pub', 3);
  h.room.join('sub');
  h.room.setBandwidth('sub', 200_000); // q only
  const sent = new Map<number, number>(); // q's media packets and bytes, originals only
  const recent: SyntheticPacket[] = [];
  // Every q packet goes out once; the "padding" resends the last ten q packets after each frame
  // (a browser probing at several times the layer's rate).
  h.run(4000, (p) => {
    if (p.packet.ssrc !== pub.layers[0]!.ssrc) return [p];
    sent.set(p.packet.sequenceNumber, p.bytes.length);
    recent.push(p);
    if (recent.length > 10) recent.shift();
    return p.packet.marker ? [p, ...recent] : [p];
  });
  const q = h.room.tracksOf('pub').find((t) => t.kind === 'video')!.layers[0]!;
  const media = ([...sent.values()].reduce((a, b) => a + b, 0) * 8) / 4; // bits/s over 4 s
  const measured = q.meter.bitrate(h.clock.now());
  assert.ok(measured < media * 1.3, `q measured ${measured} bit/s, its media ${media}`);
  assert.ok(q.upstream!.duplicates > sent.size, `duplicates ${q.upstream!.duplicates}`);
  const toSub = h.videoTo('sub', 'pub').filter((p) => !p.retransmission);
  assert.ok(toSub.length > 0 && toSub.every((p) => layerOf(p, pub) === 0), 'the subscriber gets q');
  const seqs = toSub.map((p) => p.packet.sequenceNumber);
  assert.equal(new Set(seqs).size, seqs.length, 'each q packet forwarded once');
  const down = h.room.downTracksOf('sub').find((d) => d.track.kind === 'video')!;
  assert.equal(down.current, 0, 'on q, not paused (q still fits the budget)');
});
