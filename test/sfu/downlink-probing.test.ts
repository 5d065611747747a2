/**
 * The SFU probing a subscriber's downlink, on a ManualClock: each subscriber's leg is modelled as
 * its peer connection's transport would run it: the room's packets go through a Pacer paced at the
 * leg's own GCC controller's target, which asks for probes (padding-only packets through the pacer,
 * as MediaSession does), every packet gets a transport-wide sequence number and its probe cluster,
 * recorded by that controller alone; the leg is a bottleneck queue (capacity, tail drop past 300 ms,
 * random loss) whose arrivals come back as TWCC feedback every 50 ms to the transport's controller,
 * which the room's estimator reads after each one (Room.useTransportController, transportFeedback),
 * as SfuServer wires a subscribing connection: one controller per leg.
 *
 * A subscriber squeezed hard (a cap with loss) falls to the low layers; when the cap is lifted,
 * probe results lift its estimate and its layers come back up within a bound.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../../src/core/random.js';
import { CongestionController } from '../../src/interceptor/congestion-controller.js';
import { Pacer } from '../../src/interceptor/pacer.js';
import { TwccRecorder } from '../../src/interceptor/twcc-recorder.js';
import type { ForwardedRtp } from '../../src/server/sfu/forwarded.js';
import { PAUSED } from '../../src/server/sfu/layer-selector.js';
import type { Harness } from './harness.js';
import { type SubscriberLink, twoByTwoRoom } from './twcc-links.js';

interface Out {
  readonly size: number;
  readonly ssrc: number;
  readonly cls: 'audio' | 'video' | 'padding';
}

/** Padding-only RTP: 12-byte header, 255 bytes of padding, the SRTP tag. */
const PADDING_PACKET = 12 + 255 + 10;

class Leg implements SubscriberLink {
  capacity = Number.POSITIVE_INFINITY;
  loss = 0;
  readonly cc = new CongestionController({ initialBitrate: 300_000 });
  readonly pacer: Pacer<Out>;
  readonly #twcc = new TwccRecorder();
  readonly #arrivals: { seq: number; at: number }[] = [];
  readonly #random = new SeededRandom(99);
  #busyUntil = 0;
  #lastFeedback = 0;
  #seq = 0;
  dropped = 0;
  probeBytes = 0;

  constructor(
    readonly id: string,
    readonly h: Harness,
  ) {
    this.pacer = new Pacer<Out>({
      clock: h.clock,
      send: (p) => this.#wire(p),
      padding: (bytes) =>
        Array.from({ length: Math.ceil(bytes / PADDING_PACKET) }, () => ({
          size: PADDING_PACKET,
          ssrc: 2,
          cls: 'padding' as const,
        })),
    });
    this.pacer.bitrate = this.cc.targetBitrate;
    h.room.useTransportController(id, this.cc);
  }

  send(p: ForwardedRtp): void {
    this.pacer.enqueue({ size: p.bytes.length + 10, ssrc: p.packet.ssrc, cls: p.kind });
  }

  #wire(p: Out): void {
    const now = this.h.clock.now();
    const seq = this.#seq++ & 0xffff;
    const cluster = this.cc.onPacketSent(seq, p.size, now);
    if (cluster >= 0) this.probeBytes += p.size;
    const start = Math.max(now, this.#busyUntil);
    if (start - now > 300 || this.#random.float() < this.loss) {
      this.dropped++;
      return;
    }
    const done = start + (p.size * 8 * 1000) / this.capacity;
    this.#busyUntil = done;
    this.#arrivals.push({ seq, at: done + 20 });
  }

  step(now: number): void {
    while (this.#arrivals.length > 0 && this.#arrivals[0]!.at <= now) {
      const a = this.#arrivals.shift()!;
      this.#twcc.record(a.seq, a.at);
    }
    if (now - this.#lastFeedback >= 50) {
      this.#lastFeedback = now;
      const fb = this.#twcc.buildFeedback(1, 0);
      if (fb) {
        // The transport's controller reads it (pacing, probes), then the room's estimator reads
        // that controller (layers).
        this.cc.onFeedback(fb, now);
        this.h.room.transportFeedback(this.id, fb);
        this.pacer.bitrate = this.cc.targetBitrate;
      }
    }
    const probe = this.cc.takeProbe(now);
    if (probe) this.pacer.probe(probe.bitrate, probe.durationMs);
  }
}

function room() {
  const r = twoByTwoRoom(
    { transportSequence: 'transport', initialBandwidth: 300_000 },
    (id, h) => new Leg(id, h),
  );
  const { h, links: legs, step } = r;
  /** Runs until `cond` holds (checked every 100 ms) or `ms` passed; returns the time taken. */
  const until = (cond: () => boolean, ms: number): number | undefined => {
    const from = h.clock.now();
    while (h.clock.now() - from < ms) {
      h.run(100, undefined, step);
      if (cond()) return h.clock.now() - from;
    }
    return undefined;
  };
  const close = () => {
    for (const l of legs.values()) l.pacer.close();
  };
  return { ...r, legs, until, close };
}

test('SFU probing: subscribers climb from a 300 kbit/s start to the top layers through probes', (t) => {
  const { h, legs, layers, until, close } = room();
  try {
    const took = until(() => layers('S').every((l) => l === 2) && layers('T').every((l) => l === 2), 30_000);
    t.diagnostic(`both on the top layers after ${took} ms (estimate ${h.room.bandwidthOf('S')!.estimate})`);
    assert.ok(took !== undefined, `layers S ${layers('S')} T ${layers('T')}`);
    assert.ok(took < 10_000, `top layers only after ${took} ms`);
    assert.ok(legs.get('S')!.cc.probeResults > 0, 'probe results fed the transport controller');
    assert.equal(h.room.estimatorOf('S')!.cc, legs.get('S')!.cc, "the room reads the leg's controller");
    assert.ok(legs.get('S')!.probeBytes > 0);
  } finally {
    close();
  }
});

/**
 * S up on the top layers, then squeezed for 30 s (`capacity`, random `loss` besides the tail
 * drop), then the cap and the loss lift: the time S spends on the low layers and paused while
 * squeezed, and how long it takes after the lift to get higher layers and the top ones again.
 */
function squeeze(capacity: number, loss: number) {
  const { h, legs, step, layers, until, close } = room();
  try {
    const s = legs.get('S')!;
    const estimate = () => Math.round(h.room.bandwidthOf('S')!.estimate / 1000);
    assert.ok(until(() => layers('S').every((l) => l === 2), 30_000) !== undefined, 'S up first');
    s.capacity = capacity;
    s.loss = loss;
    let paused = 0;
    let low = 0;
    const trace: string[] = [];
    for (let i = 0; i < 300; i++) {
      h.run(100, undefined, step);
      if (layers('S').includes(PAUSED)) paused++;
      if (layers('S').every((l) => l === 0)) low++;
      if (i % 20 === 0) trace.push(`${layers('S').join('/')}:${estimate()}`);
    }
    const othersTop = layers('T').every((l) => l === 2);
    s.capacity = Number.POSITIVE_INFINITY;
    s.loss = 0;
    const up = until(() => layers('S').every((l) => l >= 1), 30_000);
    const top = until(() => layers('S').every((l) => l === 2), 30_000);
    return {
      lowS: low / 10,
      pausedS: paused / 10,
      othersTop,
      up,
      top,
      text: `squeezed 30 s: low layers ${low / 10} s, paused ${paused / 10} s (layers:estimate every 2 s ${trace.join(' ')}); after the lift: higher layers after ${up} ms, top layers ${top} ms later (estimate ${estimate()} kbit/s)`,
    };
  } finally {
    close();
  }
}

test('SFU probing: a subscriber squeezed to 450 kbit/s with 3% loss keeps the low layers and comes back up within a bound when the cap lifts', (t) => {
  const r = squeeze(450_000, 0.03);
  t.diagnostic(r.text);
  assert.ok(r.othersTop, 'T keeps the top layers');
  // The low layers (2 x ~150 kbit/s and audio) fit, nothing higher.
  assert.ok(r.lowS >= 15, r.text);
  assert.ok(r.pausedS <= 3, r.text);
  assert.ok(r.up !== undefined && r.up < 10_000, r.text);
  assert.ok(r.top !== undefined && r.top < 15_000, r.text);
});

test('SFU probing: a subscriber squeezed below its lowest layers (200 kbit/s, 5% loss) is paused, and resumes within a bound when the cap lifts', (t) => {
  const r = squeeze(200_000, 0.05);
  t.diagnostic(r.text);
  assert.ok(r.othersTop, 'T keeps the top layers');
  assert.ok(r.pausedS >= 15, r.text);
  assert.ok(r.up !== undefined && r.up < 10_000, r.text);
  assert.ok(r.top !== undefined && r.top < 15_000, r.text);
});
