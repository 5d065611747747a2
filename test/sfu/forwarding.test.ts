import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../../src/core/random.js';
import { serializeRtcp } from '../../src/rtcp/compound.js';
import { parseRtp } from '../../src/rtp/packet.js';
import { type ForwardedRtp, rewriteRtpBytes } from '../../src/server/sfu/forwarded.js';
import { PAUSED } from '../../src/server/sfu/layer-selector.js';
import { Harness, isKey, layerOf } from './harness.js';
import type { SyntheticPacket } from './synthetic.js';

/** Asserts one SSRC, sequence numbers +1 each (no gap, no duplicate), timestamps never backwards. */
function assertContinuous(packets: readonly ForwardedRtp[], what: string, maxTsStep = 90000): void {
  const fresh = packets.filter((p) => !p.retransmission);
  assert.ok(fresh.length > 0, `${what}: packets`);
  const ssrc = fresh[0]!.header.ssrc;
  for (let i = 1; i < fresh.length; i++) {
    const a = fresh[i - 1]!.header;
    const b = fresh[i]!.header;
    assert.equal(b.ssrc, ssrc, `${what}: one SSRC`);
    assert.equal(b.sequenceNumber, (a.sequenceNumber + 1) & 0xffff, `${what}: seq continuous at ${i}`);
    const dt = (b.timestamp - a.timestamp) >>> 0;
    assert.ok(dt <= maxTsStep, `${what}: timestamp forward at ${i} (${dt})`);
  }
}

/** Layer runs of a subscriber's video: [layer, packets] in order; each run starts at a keyframe. */
function layerRuns(packets: readonly ForwardedRtp[], h: Harness, pubId: string): number[] {
  const pub = h.publishers.get(pubId)!;
  const runs: number[] = [];
  for (const p of packets) {
    const l = layerOf(p, pub);
    if (runs.at(-1) !== l) {
      assert.ok(isKey(p), `switch to layer ${l} starts at a keyframe`);
      runs.push(l);
    }
  }
  return runs;
}

test('3 simulcast layers to 3 subscribers: switches down and up at keyframes, streams stay continuous', () => {
  const h = new Harness({ selector: { upHoldMs: 2000 } });
  h.addPublisher('pub', 2);
  for (const s of ['a', 'b', 'c']) h.room.join(s);
  h.room.setBandwidth('a', 5_000_000);
  h.room.setBandwidth('b', 5_000_000);
  h.room.setBandwidth('c', 5_000_000);
  const changes: string[] = [];
  h.room.on('layerChanged', (sub, track, layer) => changes.push(`${sub}:${track}:${layer}`));
  h.run(3000);
  h.room.setBandwidth('b', 400_000); // only q fits
  h.room.setBandwidth('c', 50_000); // nothing fits: audio only
  h.run(3000);
  h.room.setBandwidth('b', 5_000_000);
  h.room.setBandwidth('c', 5_000_000);
  h.run(6000);

  const a = h.videoTo('a');
  const b = h.videoTo('b');
  const c = h.videoTo('c');
  assertContinuous(a, 'a');
  assertContinuous(b, 'b');
  assertContinuous(c, 'c', 90 * 6000);
  assert.deepEqual(
    layerRuns(a, h, 'pub'),
    [2],
    'a: on the top layer from its first keyframe, never switched',
  );
  const runsB = layerRuns(b, h, 'pub');
  assert.equal(runsB.at(-1), 2, 'b back on the top layer');
  assert.ok(runsB.includes(0), `b went down to q: ${runsB}`);
  assert.ok(runsB.indexOf(0) > runsB.indexOf(2), 'down after having been up');
  // c paused: a 3 s hole in its video (but never in its sequence numbers), audio all along.
  const gaps = c.slice(1).map((p, i) => p.header.timestamp - c[i]!.header.timestamp);
  assert.ok(Math.max(...gaps.map((g) => g >>> 0)) >= 90 * 2500, 'paused for seconds');
  assert.equal(h.room.downTracksOf('c').find((d) => d.track.kind === 'video')!.current, 2);
  const audioC = h.audioTo('c');
  assertContinuous(audioC, 'c audio');
  assert.ok(audioC.length >= 590, `audio kept flowing while video paused: ${audioC.length}`);
  // The SFU asked the publisher for keyframes for the switches, as itself.
  const plis = (h.rtcp.get('pub') ?? []).filter((p) => p.type === 'pli');
  assert.ok(plis.length >= 2);
  for (const p of plis) assert.equal(p.type === 'pli' && p.senderSsrc, h.room.rtcpSsrc);
  assert.ok(changes.includes('b:video:0') && changes.includes('b:video:2'), changes.join());
  // Per-subscriber layer sets: a alone on f at the end while b too; c resumed.
  assert.equal(h.room.stats.malformed, 0);
});

test('upstream loss and reordering show through unchanged; upstream NACKs; a late retransmission fills the gap', () => {
  const h = new Harness();
  h.addPublisher('pub', 5);
  h.room.join('a');
  h.room.setBandwidth('a', 400_000); // stays on q (1 packet per frame)
  const r = new SeededRandom(9);
  const dropped: SyntheticPacket[] = [];
  let held: SyntheticPacket | undefined;
  let reordered = 0;
  h.run(200);
  h.run(4000, (p) => {
    if (p.packet.payloadType !== 96 || p.layer !== 0 || p.keyframe) return [p];
    const x = r.float();
    if (x < 0.05) {
      dropped.push(p);
      return [];
    }
    if (x < 0.1 && !held) {
      held = p;
      return [];
    }
    if (held) {
      const out = [p, held];
      held = undefined;
      reordered++;
      return out;
    }
    return [p];
  });
  assert.ok(dropped.length > 3 && reordered > 3, `${dropped.length} dropped, ${reordered} reordered`);
  const q = h.publishers.get('pub')!.layers[0]!.ssrc;
  const v = h.videoTo('a');
  assert.ok(
    v.every((p) => p.packet.ssrc === q),
    'on q all along',
  );
  const seqs = v.map((p) => p.header.sequenceNumber);
  assert.equal(new Set(seqs).size, seqs.length, 'no duplicates');
  // Each forwarded packet's output number is its input number plus one offset (reordering kept).
  const off = (v[0]!.header.sequenceNumber - v[0]!.packet.sequenceNumber) & 0xffff;
  for (const p of v) assert.equal((p.header.sequenceNumber - p.packet.sequenceNumber) & 0xffff, off);
  // Exactly the lost packets are missing downstream.
  const rel = (s: number): number => (s - seqs[0]! + 65536) & 0xffff;
  const ext = seqs.map(rel).sort((x, y) => x - y);
  const have = new Set(ext);
  const missing: number[] = [];
  for (let s = 0; s <= ext.at(-1)!; s++) if (!have.has(s)) missing.push(s);
  const lostInside = dropped
    .map((d) => rel((d.packet.sequenceNumber + off) & 0xffff))
    .filter((s) => s <= ext.at(-1)!);
  assert.deepEqual(
    missing,
    lostInside.sort((x, y) => x - y),
  );
  // The SFU NACKed the lost packets upstream itself.
  const nacked = new Set((h.rtcp.get('pub') ?? []).flatMap((p) => (p.type === 'nack' ? p.lost : [])));
  for (const d of dropped.slice(0, -1))
    assert.ok(nacked.has(d.packet.sequenceNumber), `NACK for ${d.packet.sequenceNumber}`);
  // The publisher's retransmissions arrive late and land in the gaps.
  for (const d of dropped) h.room.handleRtp('pub', d.bytes);
  const all = h.videoTo('a').map((p) => (p.header.sequenceNumber - seqs[0]! + 65536) & 0xffff);
  const sorted = [...new Set(all)].sort((x, y) => x - y);
  assert.equal(sorted.length, sorted.at(-1)! + 1, 'gap-free after the retransmissions');
  h.room.close();
});

test('subscriber NACK answered from the cache; PLI terminated and throttled; RR not forwarded', () => {
  const h = new Harness({ keyframeIntervalMs: 500 });
  h.addPublisher('pub', 7);
  h.room.join('a');
  h.room.setBandwidth('a', 5_000_000);
  h.run(1000);
  const v = h.videoTo('a');
  const target = v[v.length - 5]!;
  const before = (h.rtcp.get('pub') ?? []).length;
  const nack = serializeRtcp([
    {
      type: 'rr',
      ssrc: 0x1234,
      reports: [
        {
          ssrc: target.header.ssrc,
          fractionLost: 64,
          packetsLost: 3,
          highestSequence: 0,
          jitter: 0,
          lastSr: 0,
          delaySinceLastSr: 0,
        },
      ],
    },
    {
      type: 'nack',
      senderSsrc: 0x1234,
      mediaSsrc: target.header.ssrc,
      lost: [target.header.sequenceNumber, (target.header.sequenceNumber + 100) & 0xffff],
    },
  ]);
  h.room.handleRtcp('a', nack);
  const rtx = h.videoTo('a').filter((p) => p.retransmission);
  assert.equal(rtx.length, 1, 'the known packet resent; the unknown one not');
  assert.deepEqual(rtx[0]!.header, target.header);
  assert.deepEqual(parseRtp(rewriteRtpBytes(rtx[0]!)).payload, target.packet.payload);
  const down = h.room.downTracksOf('a').find((d) => d.track.kind === 'video')!;
  assert.equal(down.stats.fractionLost, 0.25);
  const pli = serializeRtcp([{ type: 'pli', senderSsrc: 0x1234, mediaSsrc: target.header.ssrc }]);
  h.room.handleRtcp('a', pli);
  h.room.handleRtcp('a', pli);
  h.room.handleRtcp('a', pli);
  const upstream = (h.rtcp.get('pub') ?? []).slice(before);
  const plis = upstream.filter((p) => p.type === 'pli');
  assert.equal(plis.length, 1, 'three PLIs within 500 ms: one request upstream');
  assert.equal(
    plis[0]!.type === 'pli' && plis[0]!.mediaSsrc,
    h.publishers.get('pub')!.layers[down.current]!.ssrc,
  );
  assert.equal(plis[0]!.type === 'pli' && plis[0]!.senderSsrc, h.room.rtcpSsrc);
  assert.ok(
    !upstream.some((p) => p.type === 'rr' && p.ssrc === 0x1234),
    'the subscriber RR stays with the SFU',
  );
  assert.ok(!upstream.some((p) => p.type === 'nack'), 'no NACK upstream for what the cache answered');
  // A PLI about an SSRC the subscriber does not receive is ignored.
  h.clock.advance(600);
  h.room.handleRtcp('b', pli);
  h.room.handleRtcp('a', serializeRtcp([{ type: 'pli', senderSsrc: 1, mediaSsrc: 0xdead }]));
  assert.equal((h.rtcp.get('pub') ?? []).slice(before).filter((p) => p.type === 'pli').length, 1);
  h.room.close();
});

test('publisher SR becomes a subscriber SR with the rewritten timestamp', () => {
  const h = new Harness();
  const pub = h.addPublisher('pub', 11);
  h.room.join('a');
  h.run(500);
  const v = h.videoTo('a');
  const last = v.at(-1)!;
  const layer = pub.layers[layerOf(last, pub)]!;
  h.room.handleRtcp(
    'pub',
    serializeRtcp([
      {
        type: 'sr',
        ssrc: layer.ssrc,
        ntpSeconds: 1000,
        ntpFraction: 5,
        rtpTimestamp: last.packet.timestamp,
        packetCount: 1,
        octetCount: 1,
        reports: [],
      },
    ]),
  );
  const sr = (h.rtcp.get('a') ?? []).find((p) => p.type === 'sr');
  assert.ok(sr && sr.type === 'sr');
  assert.equal(sr.ssrc, last.header.ssrc);
  assert.equal(sr.rtpTimestamp, last.header.timestamp);
  assert.equal(sr.ntpSeconds, 1000);
  h.room.close();
});

test('join late, mute/unmute, leave; a late joiner starts at a keyframe', () => {
  const h = new Harness();
  h.addPublisher('pub', 13);
  h.room.join('a');
  const added: string[] = [];
  const removed: string[] = [];
  h.room.on('trackAdded', (t) => added.push(t.id));
  h.room.on('trackRemoved', (t) => removed.push(t.id));
  h.run(1000);
  h.room.join('late');
  h.run(1000);
  const late = h.videoTo('late');
  assert.ok(late.length > 0 && isKey(late[0]!), 'first video packet of a late joiner is a keyframe');
  assertContinuous(late, 'late');
  h.room.setMuted('pub', 'video', true);
  const n = h.videoTo('a').length;
  h.run(1000);
  assert.equal(h.videoTo('a').length, n, 'muted: nothing forwarded');
  h.room.setMuted('pub', 'video', false);
  h.run(1000);
  const a = h.videoTo('a');
  assert.ok(a.length > n);
  assert.ok(isKey(a[n]!), 'unmuted: resumes at a keyframe');
  assertContinuous(a, 'a across mute', 90 * 1100);
  h.room.leave('late');
  assert.equal(h.room.downTracksOf('late').length, 0);
  h.room.leave('pub');
  assert.deepEqual(removed.sort(), ['audio', 'video']);
  assert.equal(h.room.downTracksOf('a').length, 0);
  const m = h.rtp.get('a')!.length;
  h.room.handleRtp('pub', h.publishers.get('pub')!.videoFrame()[0]!.bytes);
  assert.equal(h.rtp.get('a')!.length, m, 'nothing from a participant who left');
  assert.deepEqual(added, []);
  h.room.close();
  assert.equal(h.clock.activeTimers, 0, 'closed room leaves no timer');
});

test('max resolution cap per subscriber; two subscribers on different layers at once', () => {
  const h = new Harness({ selector: { upHoldMs: 500 } });
  h.addPublisher('pub', 17);
  h.room.join('hd');
  h.room.join('small');
  h.room.setBandwidth('hd', 5_000_000);
  h.room.setBandwidth('small', 5_000_000);
  h.room.setMaxResolution('small', 360);
  h.run(3000);
  const pub = h.publishers.get('pub')!;
  const tail = (id: string): number => layerOf(h.videoTo(id).at(-1)!, pub);
  assert.equal(tail('hd'), 2);
  assert.equal(tail('small'), 1);
  assertContinuous(h.videoTo('small'), 'small');
  h.room.close();
});

test('active speaker events from the audio level extension', () => {
  const h = new Harness();
  const a = h.addPublisher('alice', 21, false);
  const b = h.addPublisher('bob', 22, false);
  const events: string[] = [];
  h.room.on('activeSpeaker', (id) => events.push(id));
  a.voice = true;
  a.level = 25;
  h.run(1500);
  b.voice = true;
  b.level = 10;
  a.level = 40;
  h.run(300); // short: no change
  assert.deepEqual(events, ['alice']);
  h.run(2000);
  assert.deepEqual(events, ['alice', 'bob']);
  h.room.setMuted('bob', 'audio', true);
  h.run(1500);
  assert.deepEqual(events, ['alice', 'bob', 'alice'], 'muted speaker hands over');
  h.room.close();
});

test('garbage RTP and RTCP is counted and dropped; forwarding goes on', () => {
  const h = new Harness();
  h.addPublisher('pub', 23);
  h.room.join('a');
  h.run(300);
  const r = new SeededRandom(77);
  const sample = h.publishers.get('pub')!.videoFrame()[0]!.bytes;
  const rtcp = serializeRtcp([
    { type: 'pli', senderSsrc: 1, mediaSsrc: 2 },
    { type: 'nack', senderSsrc: 1, mediaSsrc: 2, lost: [1, 2, 40] },
  ]);
  for (let i = 0; i < 4000; i++) {
    const base = i % 3 === 0 ? sample : i % 3 === 1 ? rtcp : new Uint8Array(r.int(40));
    const b = base.slice();
    for (let k = 0; k < 1 + r.int(4); k++) if (b.length) b[r.int(b.length)] = r.int(256);
    h.room.handleRtp(i % 2 ? 'pub' : 'a', b);
    h.room.handleRtcp(i % 2 ? 'pub' : 'a', b);
  }
  assert.ok(h.room.stats.malformed > 100);
  // Mutated but parseable packets on a real SSRC count as traffic (SRTP would have dropped them
  // before the room): the burst may pause video until the meters settle, then it resumes.
  h.run(3000);
  const n = h.videoTo('a').length;
  h.run(1000);
  assert.ok(h.videoTo('a').length > n + 20, 'still forwarding');
  assertContinuous(h.audioTo('a').slice(-40), 'audio after garbage');
  h.room.close();
});

test('a paused subscriber gets no video; PAUSED is reported', () => {
  const h = new Harness();
  h.addPublisher('pub', 29);
  h.room.join('a');
  h.room.setBandwidth('a', 60_000);
  h.run(1000);
  assert.equal(h.videoTo('a').length, 0);
  assert.equal(h.room.downTracksOf('a').find((d) => d.track.kind === 'video')!.target, PAUSED);
  assert.ok(h.audioTo('a').length > 40);
  h.room.close();
});
