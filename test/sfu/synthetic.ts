/**
 * Synthetic simulcast publisher for SFU tests and the benchmark: three VP8 layers (own SSRC, own
 * random sequence and timestamp bases), 30 fps, keyframes on request or every `gop` frames per
 * layer (not aligned across layers), plus an Opus track with the RFC 6464 audio level.
 */
import type { Random } from '../../src/core/random.js';
import { serializeAudioLevel, serializeSdesExtension } from '../../src/rtp/extensions.js';
import { type RtpPacket, serializeRtp } from '../../src/rtp/packet.js';

export const RID_EXT = 10;
export const MID_EXT = 9;
export const AUDIO_LEVEL_EXT = 1;
export const VP8_PT = 96;
export const OPUS_PT = 111;

export interface SyntheticLayer {
  readonly rid: string;
  readonly ssrc: number;
  seq: number;
  ts: number;
  pictureId: number;
  frames: number;
  keyframeWanted: boolean;
  readonly packetsPerFrame: number;
  readonly packetSize: number;
  readonly gop: number;
}

export interface SyntheticPacket {
  readonly layer: number;
  readonly packet: RtpPacket;
  readonly bytes: Uint8Array;
  readonly keyframe: boolean;
}

const enc = new TextEncoder();

export class SimulcastPublisher {
  readonly layers: SyntheticLayer[];
  readonly audio: { ssrc: number; seq: number; ts: number };
  level = 127;
  voice = false;

  constructor(
    random: Random,
    o: { gop?: number; sizes?: readonly number[]; perFrame?: readonly number[] } = {},
  ) {
    const rids = ['q', 'h', 'f'];
    const per = o.perFrame ?? [1, 2, 4];
    const sizes = o.sizes ?? [600, 1000, 1100];
    this.layers = rids.map((rid, i) => ({
      rid,
      ssrc: random.u32() >>> 0,
      seq: random.u32() & 0xffff,
      ts: random.u32() >>> 0,
      pictureId: random.u32() & 0x7fff,
      frames: 0,
      keyframeWanted: false,
      packetsPerFrame: per[i]!,
      packetSize: sizes[i]!,
      // Keyframes of the layers at different times, as encoders do.
      gop: (o.gop ?? 90) + i * 7,
    }));
    this.audio = { ssrc: random.u32() >>> 0, seq: random.u32() & 0xffff, ts: random.u32() >>> 0 };
  }

  requestKeyframe(ssrc: number): void {
    for (const l of this.layers) if (l.ssrc === ssrc) l.keyframeWanted = true;
  }

  /** One frame on every layer (33 ms of video at 90 kHz). */
  videoFrame(): SyntheticPacket[] {
    const out: SyntheticPacket[] = [];
    this.layers.forEach((l, index) => {
      const keyframe = l.frames === 0 || l.keyframeWanted || l.frames % l.gop === 0;
      l.keyframeWanted = false;
      l.frames++;
      for (let i = 0; i < l.packetsPerFrame; i++) {
        const payload = new Uint8Array(l.packetSize);
        payload[0] = 0x80 | (i === 0 ? 0x10 : 0); // X, S on the first packet, PID 0
        payload[1] = 0x80; // I
        payload[2] = 0x80 | (l.pictureId >> 8);
        payload[3] = l.pictureId & 0xff;
        payload[4] = i === 0 ? (keyframe ? 0x00 : 0x01) : 0x55; // frame tag P bit on the first packet
        const packet: RtpPacket = {
          marker: i === l.packetsPerFrame - 1,
          payloadType: VP8_PT,
          sequenceNumber: l.seq,
          timestamp: l.ts,
          ssrc: l.ssrc,
          csrcs: [],
          extensions: [{ id: RID_EXT, data: enc.encode(l.rid) }],
          payload,
          paddingSize: 0,
        };
        out.push({ layer: index, packet, bytes: serializeRtp(packet), keyframe: keyframe && i === 0 });
        l.seq = (l.seq + 1) & 0xffff;
      }
      l.pictureId = (l.pictureId + 1) & 0x7fff;
      l.ts = (l.ts + 3000) >>> 0;
    });
    return out;
  }

  /** One 20 ms Opus packet. */
  audioPacket(): SyntheticPacket {
    const a = this.audio;
    const packet: RtpPacket = {
      marker: false,
      payloadType: OPUS_PT,
      sequenceNumber: a.seq,
      timestamp: a.ts,
      ssrc: a.ssrc,
      csrcs: [],
      extensions: [
        { id: AUDIO_LEVEL_EXT, data: serializeAudioLevel({ voiceActivity: this.voice, level: this.level }) },
        { id: MID_EXT, data: serializeSdesExtension('0') },
      ],
      payload: new Uint8Array(80).fill(0xfc),
      paddingSize: 0,
    };
    a.seq = (a.seq + 1) & 0xffff;
    a.ts = (a.ts + 960) >>> 0;
    return { layer: 0, packet, bytes: serializeRtp(packet), keyframe: true };
  }
}

/** The publish spec of a SimulcastPublisher's video (rids only: SSRCs learned from packets). */
export const VIDEO_SPEC = {
  trackId: 'video',
  kind: 'video' as const,
  codec: 'vp8' as const,
  clockRate: 90000,
  payloadTypes: [VP8_PT],
  layers: [
    { rid: 'q', width: 320, height: 180 },
    { rid: 'h', width: 640, height: 360 },
    { rid: 'f', width: 1280, height: 720 },
  ],
};
export const AUDIO_SPEC = {
  trackId: 'audio',
  kind: 'audio' as const,
  codec: 'opus' as const,
  clockRate: 48000,
  payloadTypes: [OPUS_PT],
  mid: '0',
  layers: [{}],
};
