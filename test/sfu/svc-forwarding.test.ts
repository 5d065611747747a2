/**
 * SVC forwarding in the SFU room on a ManualClock: synthetic VP9 and AV1 (dependency descriptor)
 * L3T3 k-SVC streams on one SSRC; subscribers capped at each spatial layer get exactly the packets
 * of that layer and below from a keyframe on, with continuous sequence numbers and the marker on
 * the last forwarded packet of each picture; spatial switches up only at keyframes (asked for with
 * PLI), down at a picture boundary; temporal switches up only at switching-up points.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { SeededRandom } from '../../src/core/random.js';
import { parseDependencyDescriptor } from '../../src/rtp/dependency-descriptor.js';
import { findExtension } from '../../src/rtp/packet.js';
import type { ForwardedRtp } from '../../src/server/sfu/forwarded.js';
import { Room, type RoomOptions } from '../../src/server/sfu/room.js';
import { SvcFilter } from '../../src/server/sfu/svc-filter.js';
import { SvcSource } from '../../src/server/sfu/svc-layers.js';
import {
  AV1_PT,
  AV1_STRUCTURE,
  Av1SvcPublisher,
  DD_EXT,
  PACKETS_PER_LAYER,
  payloadTag,
  type SvcPacket,
  VP9_PT,
  Vp9SvcPublisher,
} from './svc-synthetic.js';

type Codec = 'vp9' | 'av1';
const publisherOf = (codec: Codec): Vp9SvcPublisher | Av1SvcPublisher =>
  codec === 'vp9'
    ? new Vp9SvcPublisher(0x1234, 65_500, 0xffff0000)
    : new Av1SvcPublisher(0x1234, 65_500, 0xffff0000);

interface Got {
  readonly picture: number;
  readonly s: number;
  readonly t: number;
  readonly seq: number;
  readonly ts: number;
  readonly marker: boolean;
  readonly sourceSeq: number;
}

class SvcRoom {
  readonly clock = new ManualClock();
  readonly room: Room;
  readonly pub: Vp9SvcPublisher | Av1SvcPublisher;
  readonly out = new Map<string, ForwardedRtp[]>();
  readonly sent: SvcPacket[] = [];
  plis = 0;
  /** The publisher answers a PLI this many pictures later (an encoder's delay). */
  pliDelay = 5;
  #keyIn = -1;

  constructor(codec: Codec, o: Partial<RoomOptions> = {}) {
    this.pub = publisherOf(codec);
    this.room = new Room('svc', {
      ...o,
      clock: this.clock,
      random: new SeededRandom(3),
      initialBandwidth: 50_000_000,
      upstreamRtcp: false,
      sink: {
        sendRtp: (id, f) => {
          const list = this.out.get(id) ?? [];
          list.push(f);
          this.out.set(id, list);
        },
        sendRtcp: (_id, packets) => {
          for (const p of packets)
            if (p.type === 'pli') {
              this.plis++;
              if (this.#keyIn < 0) this.#keyIn = this.pliDelay;
            }
        },
      },
    });
    this.room.join('pub', { dependencyDescriptor: DD_EXT });
    this.room.publish('pub', {
      trackId: 'v',
      kind: 'video',
      codec,
      clockRate: 90_000,
      payloadTypes: [codec === 'vp9' ? VP9_PT : AV1_PT],
      layers: [{ ssrc: this.pub.ssrc }],
    });
  }

  subscribe(id: string, maxHeight?: number): void {
    this.room.join(id);
    if (maxHeight !== undefined) this.room.setMaxResolution(id, maxHeight);
  }

  /** `ms` of pictures every 33 ms; `deliver` may drop or hold back packets. */
  run(ms: number, deliver: (p: SvcPacket) => SvcPacket[] = (p) => [p]): void {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) {
      if (this.#keyIn >= 0 && this.#keyIn-- === 0) this.pub.requestKeyframe();
      for (const p of this.pub.nextPicture()) {
        this.sent.push(p);
        for (const q of deliver(p)) this.room.handleRtp('pub', q.bytes);
      }
      this.clock.advance(33);
    }
  }

  got(id: string): Got[] {
    return (this.out.get(id) ?? []).map((f) => {
      const tag = payloadTag(f.packet.payload, this.pub.payloadHeaderSize(f.packet.payload));
      return {
        picture: tag.picture,
        s: tag.s,
        t: tag.t,
        seq: f.header.sequenceNumber,
        ts: f.header.timestamp,
        marker: f.header.marker ?? f.packet.marker,
        sourceSeq: f.packet.sequenceNumber,
      };
    });
  }
}

/** Consecutive sequence numbers, one timestamp offset, markers exactly on each picture's last packet. */
function assertContinuous(got: readonly Got[], what: string): void {
  assert.ok(got.length > 0, `${what}: nothing forwarded`);
  for (let i = 1; i < got.length; i++)
    assert.equal(got[i]!.seq, (got[i - 1]!.seq + 1) & 0xffff, `${what}: gap before packet ${i}`);
  for (let i = 0; i < got.length; i++) {
    const last = i === got.length - 1 || got[i + 1]!.picture !== got[i]!.picture;
    if (i < got.length - 1 || got[i]!.marker)
      assert.equal(got[i]!.marker, last, `${what}: marker of packet ${i}`);
  }
}

/** Layers each received picture has, every layer frame complete (all its packets). */
function picturesOf(got: readonly Got[]): Map<number, number[]> {
  const m = new Map<number, number[]>();
  for (const g of got) {
    const list = m.get(g.picture) ?? [];
    list.push(g.s);
    m.set(g.picture, list);
  }
  for (const [pic, layers] of m) {
    const top = Math.max(...layers);
    const want: number[] = [];
    for (let s = 0; s <= top; s++) for (let i = 0; i < PACKETS_PER_LAYER[s]!; i++) want.push(s);
    assert.deepEqual(layers, want, `picture ${pic} cut`);
  }
  return m;
}

for (const codec of ['vp9', 'av1'] as const) {
  describe(`SFU SVC forwarding (${codec === 'vp9' ? 'VP9 payload descriptor' : 'AV1 dependency descriptor'})`, () => {
    test('subscribers capped at each spatial layer get exactly that layer and below', () => {
      const h = new SvcRoom(codec);
      h.subscribe('s0', 180);
      h.subscribe('s1', 360);
      h.subscribe('s2');
      h.run(4000);
      for (const [id, top] of [
        ['s0', 0],
        ['s1', 1],
        ['s2', 2],
      ] as const) {
        const got = h.got(id);
        assertContinuous(got, id);
        const first = got[0]!.picture;
        assert.ok(h.sent.find((p) => p.picture === first)!.keyframe, `${id} starts at a keyframe`);
        // Exactly the publisher's packets of layers <= top from that picture on, in order.
        const want = h.sent.filter((p) => p.picture >= first && p.spatialId <= top);
        assert.deepEqual(
          got.map((g) => g.sourceSeq),
          want.map((p) => p.packet.sequenceNumber),
          id,
        );
        assert.ok(got.some((g) => g.t === 2) && got.some((g) => g.s === top));
        // One timestamp offset for the whole stream.
        const src = new Map(h.sent.map((p) => [p.packet.sequenceNumber, p.packet.timestamp]));
        const offsets = new Set(got.map((g) => (g.ts - src.get(g.sourceSeq)!) >>> 0));
        assert.equal(offsets.size, 1, `${id} timestamps`);
      }
      const downs = h.room.downTracksOf('s0');
      assert.equal(downs[0]!.svc?.current?.spatial, 0);
      assert.equal(downs[0]!.svc?.current?.temporal, 2);
    });

    test('spatial switches: up only at a keyframe asked for with PLI, down at the next picture', () => {
      const h = new SvcRoom(codec);
      h.subscribe('sw', 180);
      h.run(2000);
      const before = h.got('sw').length;
      assert.ok(h.got('sw').every((g) => g.s === 0));
      const plis = h.plis;
      h.room.setMaxResolution('sw', Number.POSITIVE_INFINITY);
      h.run(4000);
      const up = h.got('sw').slice(before);
      const firstTop = up.find((g) => g.s === 2);
      assert.ok(firstTop, 'switched up');
      assert.ok(h.sent.find((p) => p.picture === firstTop.picture)!.keyframe, 'up at a keyframe');
      assert.ok(h.plis > plis, 'keyframe requested');
      // Until that keyframe, S0 only.
      assert.ok(up.filter((g) => g.picture < firstTop.picture).every((g) => g.s === 0));
      const mid = h.got('sw').length;
      h.room.setMaxResolution('sw', 360);
      h.run(1000);
      const down = h.got('sw').slice(mid);
      // Down at once (the next picture), without a keyframe.
      const pics = picturesOf(down);
      const tops = [...pics.values()].map((l) => Math.max(...l));
      assert.ok(tops.at(-1) === 1 && tops.filter((t) => t === 2).length <= 1, `tops ${tops}`);
      const all = h.got('sw');
      assertContinuous(all, 'sw');
      picturesOf(all);
    });

    test('lost and late packets of a forwarded layer keep their numbers', () => {
      const h = new SvcRoom(codec);
      h.subscribe('s1', 360);
      h.run(1000);
      // Lose the last packet of S1 in one picture, deliver it two pictures later.
      let held: SvcPacket | undefined;
      let target = -1;
      h.run(200, (p) => {
        if (target < 0 && p.spatialId === 1 && !p.keyframe) target = p.picture;
        if (p.picture === target && p.spatialId === 1 && p.packet.sequenceNumber === lastOf(h, target, 1)) {
          held = p;
          return [];
        }
        if (held && p.picture === target + 2 && p.spatialId === 0) {
          const late = held;
          held = undefined;
          return [late, p];
        }
        return [p];
      });
      const got = h.got('s1');
      const late = got.find((g) => g.picture === target && g.s === 1 && g.marker);
      assert.ok(late, 'late packet forwarded');
      // It fills exactly the hole left for it: sorted by number, the stream is continuous.
      const sorted = [...got].sort(
        (a, b) => ((a.seq - got[0]!.seq) & 0xffff) - ((b.seq - got[0]!.seq) & 0xffff),
      );
      assertContinuous(sorted, 's1 sorted');
      assert.deepEqual(
        sorted.map((g) => g.sourceSeq),
        h.sent
          .filter((p) => p.picture >= got[0]!.picture && p.spatialId <= 1)
          .map((p) => p.packet.sequenceNumber),
      );
    });
  });
}

test('AV1: each subscriber is told the decode targets it is fed (active decode targets in every descriptor), every other field as sent', () => {
  const h = new SvcRoom('av1');
  h.subscribe('s0', 180);
  h.subscribe('s1', 360);
  h.subscribe('s2');
  h.run(2000);
  // Decode target 3s + t is spatial layer s, temporal layer t (AV1_STRUCTURE).
  const upTo = (spatial: number, temporal: number): number => {
    let m = 0;
    for (let s = 0; s <= spatial; s++) for (let t = 0; t <= temporal; t++) m += 2 ** (3 * s + t);
    return m;
  };
  for (const [id, top] of [
    ['s0', 0],
    ['s1', 1],
    ['s2', 2],
  ] as const) {
    const out = h.out.get(id)!;
    assert.ok(out.length > 30, `${id}: ${out.length} packets`);
    const masks = new Set<number>();
    for (const f of out) {
      const dd = f.dependencyDescriptor;
      assert.ok(dd, `${id}: every packet has its rewritten descriptor`);
      const sent = findExtension(f.packet, DD_EXT)!;
      const before = parseDependencyDescriptor(sent, AV1_STRUCTURE);
      const after = parseDependencyDescriptor(dd, AV1_STRUCTURE);
      const { activeDecodeTargets: mask, ...rest } = after;
      const { activeDecodeTargets: _, ...restBefore } = before;
      assert.deepEqual(rest, restBefore, `${id}: only the mask differs`);
      assert.ok(mask !== undefined);
      masks.add(mask);
      // The packet's own layer is among the active targets, nothing above the cap is.
      const frame = after.frame!;
      assert.ok(mask & (2 ** (3 * frame.spatialId + frame.temporalId)), `${id}: own layer active`);
      assert.equal(mask & ~upTo(top, 2), 0, `${id}: nothing above S${top}`);
    }
    // From the first keyframe on the subscriber gets all three temporal layers of its spatial ones.
    assert.deepEqual([...masks], [upTo(top, 2)], id);
  }
  // Moving down: the mask follows at the next picture.
  h.room.setMaxResolution('s2', 180);
  const mark = h.out.get('s2')!.length;
  h.run(500);
  const later = h.out.get('s2')!.slice(mark);
  const last = parseDependencyDescriptor(later.at(-1)!.dependencyDescriptor!, AV1_STRUCTURE);
  assert.equal(last.activeDecodeTargets, upTo(0, 2));
});

test('with TWCC estimation, an SVC subscriber is budgeted for its layers, not the whole stream', () => {
  const h = new SvcRoom('vp9', { twcc: true });
  h.subscribe('s0', 180);
  h.run(3000);
  const track = h.room.tracksOf('pub')[0]!;
  const whole = track.layers[0]!.meter.bitrate(h.clock.now());
  const floor = h.room.estimatorOf('s0')!.floor;
  // The floor is what the lowest operating point (S0T0) needs: a fraction of the three layers.
  assert.ok(floor > 0 && floor < whole / 3, `floor ${floor} of ${whole}`);
  assert.equal(h.room.downTracksOf('s0')[0]!.svc?.current?.spatial, 0);
});

test('upper temporal frames skipped by the encoder for a while are forwarded again as soon as they return', () => {
  const h = new SvcRoom('vp9');
  h.subscribe('s1', 360);
  h.run(3000);
  const before = h.got('s1').length;
  // 1.5 s of base-layer pictures only (an encoder dropping frames under load), then all again.
  h.pub.baseOnly = true;
  h.run(1500);
  h.pub.baseOnly = false;
  const resume = h.sent.length;
  h.run(1000);
  const resumed = new Set(h.sent.slice(resume).map((p) => p.packet.sequenceNumber));
  const after = h.got('s1').filter((g) => resumed.has(g.sourceSeq));
  assert.ok(h.got('s1').length > before);
  // Every picture of layers <= S1 after the return, T1 and T2 included, without waiting.
  assert.deepEqual(
    after.map((g) => g.sourceSeq),
    h.sent
      .slice(resume)
      .filter((p) => p.spatialId <= 1)
      .map((p) => p.packet.sequenceNumber),
  );
  assertContinuous(h.got('s1'), 's1');
});

test("a subscriber's height cap also holds for tracks published after it asked", () => {
  const h = new SvcRoom('vp9');
  h.subscribe('x', 180);
  h.room.publish('pub', {
    trackId: 'v2',
    kind: 'video',
    codec: 'vp9',
    clockRate: 90_000,
    layers: [{ ssrc: 7 }],
  });
  assert.deepEqual(
    h.room.downTracksOf('x').map((d) => d.maxHeight),
    [180, 180],
  );
  h.room.setMaxResolution('x', 360, 'v2');
  assert.deepEqual(
    h.room.downTracksOf('x').map((d) => d.maxHeight),
    [180, 360],
  );
});

/** Source sequence number of the last packet of layer `s` in picture `pic`. */
function lastOf(h: SvcRoom, pic: number, s: number): number {
  // The picture is being sent: compute from its first packet (S0's) and the packet counts.
  const first = h.sent.find((p) => p.picture === pic)!.packet.sequenceNumber;
  let n = 0;
  for (let l = 0; l <= s; l++) n += PACKETS_PER_LAYER[l]!;
  return (first + n - 1) & 0xffff;
}

for (const codec of ['vp9', 'av1'] as const) {
  test(`SvcFilter (${codec}): temporal layers go up one at a time at switching-up pictures, down at the next picture`, () => {
    const pub = publisherOf(codec);
    const src = new SvcSource(codec, DD_EXT);
    const f = new SvcFilter();
    f.setTarget(2, 0);
    const pass = (n: number): { p: SvcPacket; forward: boolean }[] => {
      const out: { p: SvcPacket; forward: boolean }[] = [];
      for (let i = 0; i < n; i++)
        for (const p of pub.nextPicture()) {
          const info = src.inspect(p.packet, p.bytes.length, i * 33);
          assert.ok(info);
          out.push({ p, forward: f.decide(info, p.packet.timestamp, p.packet.marker).forward });
        }
      return out;
    };
    const start = pass(12);
    assert.ok(start.filter((x) => x.forward).every((x) => x.p.temporalId === 0));
    assert.ok(start.some((x) => x.forward));
    f.setTarget(2, 2);
    const up = pass(24).filter((x) => x.forward);
    const firstT1 = up.find((x) => x.p.temporalId === 1)!;
    const firstT2 = up.find((x) => x.p.temporalId === 2)!;
    assert.ok(firstT1.p.switchUp && firstT2.p.switchUp, 'at switching-up points');
    assert.ok(firstT2.p.picture > firstT1.p.picture, 'one layer at a time');
    // The publisher sent non-switching T1 pictures before the first forwarded one.
    assert.ok(up[0]!.p.picture < firstT1.p.picture);
    assert.equal(f.current?.temporal, 2);
    f.setTarget(2, 0);
    const down = pass(8).filter((x) => x.forward);
    assert.ok(down.every((x) => x.p.temporalId === 0));
    assert.equal(f.current?.temporal, 0);
  });
}
