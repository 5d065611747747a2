/** A Room on a ManualClock fed by synthetic simulcast publishers, recording what it sends. */
import { ManualClock } from '../../src/core/clock.js';
import { SeededRandom } from '../../src/core/random.js';
import type { RtcpPacket } from '../../src/rtcp/compound.js';
import type { ForwardedRtp } from '../../src/server/sfu/forwarded.js';
import { Room, type RoomOptions } from '../../src/server/sfu/room.js';
import {
  AUDIO_LEVEL_EXT,
  AUDIO_SPEC,
  MID_EXT,
  RID_EXT,
  SimulcastPublisher,
  type SyntheticPacket,
  VIDEO_SPEC,
} from './synthetic.js';

export class Harness {
  readonly clock = new ManualClock();
  readonly room: Room;
  readonly rtp = new Map<string, ForwardedRtp[]>();
  readonly rtcp = new Map<string, RtcpPacket[]>();
  readonly publishers = new Map<string, SimulcastPublisher>();
  /** Answer PLIs by sending a keyframe on the next frame (as an encoder does). */
  answerPli = true;
  /** The probe limit the room last gave each subscriber's connection (bits/s). */
  readonly probeLimits = new Map<string, number>();
  /** Sees every forwarded packet (a test's model of the subscriber's link). */
  onRtp: ((subscriberId: string, p: ForwardedRtp) => void) | undefined;

  constructor(o: Partial<RoomOptions> = {}, seed = 1) {
    this.room = new Room('room', {
      clock: this.clock,
      random: new SeededRandom(seed),
      sink: {
        sendRtp: (id, p) => {
          const list = this.rtp.get(id) ?? [];
          list.push(p);
          this.rtp.set(id, list);
          this.onRtp?.(id, p);
        },
        probeLimit: (id, bps) => {
          this.probeLimits.set(id, bps);
        },
        sendRtcp: (id, packets) => {
          const list = this.rtcp.get(id) ?? [];
          list.push(...packets);
          this.rtcp.set(id, list);
          const pub = this.publishers.get(id);
          if (pub && this.answerPli)
            for (const p of packets) if (p.type === 'pli') pub.requestKeyframe(p.mediaSsrc);
        },
      },
      ...o,
    });
  }

  addPublisher(
    id: string,
    seed: number,
    video = true,
    o?: ConstructorParameters<typeof SimulcastPublisher>[1],
  ): SimulcastPublisher {
    const pub = new SimulcastPublisher(new SeededRandom(seed), o);
    this.room.join(id, { rid: RID_EXT, mid: MID_EXT, audioLevel: AUDIO_LEVEL_EXT });
    if (video) this.room.publish(id, VIDEO_SPEC);
    this.room.publish(id, AUDIO_SPEC);
    this.publishers.set(id, pub);
    return pub;
  }

  /**
   * Run for `ms`: every 33 ms a frame on each layer of each publisher, every 20 ms audio.
   * `filter` may drop or hold back packets (loss, reordering).
   */
  run(
    ms: number,
    filter?: (p: SyntheticPacket, publisherId: string) => SyntheticPacket[],
    onStep?: (now: number) => void,
  ): void {
    const end = this.clock.now() + ms;
    let nextVideo = this.clock.now();
    let nextAudio = this.clock.now();
    while (this.clock.now() < end) {
      const now = this.clock.now();
      for (const [id, pub] of this.publishers) {
        const batch: SyntheticPacket[] = [];
        if (now >= nextVideo && this.room.tracksOf(id).some((t) => t.kind === 'video'))
          batch.push(...pub.videoFrame());
        if (now >= nextAudio) batch.push(pub.audioPacket());
        for (const p of batch) for (const q of filter ? filter(p, id) : [p]) this.room.handleRtp(id, q.bytes);
      }
      onStep?.(now);
      if (now >= nextVideo) nextVideo += 33;
      if (now >= nextAudio) nextAudio += 20;
      this.clock.advance(Math.max(1, Math.min(nextVideo, nextAudio, onStep ? now + 10 : Infinity) - now));
    }
  }

  videoTo(subscriber: string, from?: string): ForwardedRtp[] {
    return (this.rtp.get(subscriber) ?? []).filter(
      (p) => p.kind === 'video' && (!from || p.publisherId === from),
    );
  }
  audioTo(subscriber: string): ForwardedRtp[] {
    return (this.rtp.get(subscriber) ?? []).filter((p) => p.kind === 'audio');
  }
}

/** The layer (rid index) a forwarded synthetic VP8 packet came from. */
export const layerOf = (p: ForwardedRtp, pub: SimulcastPublisher): number =>
  pub.layers.findIndex((l) => l.ssrc === p.packet.ssrc);

/** First packet of a VP8 keyframe (S bit, P bit 0). */
export const isKey = (p: ForwardedRtp): boolean =>
  (p.packet.payload[0]! & 0x10) !== 0 && (p.packet.payload[4]! & 0x01) === 0;
