/**
 * Video frame figures for getStats (webrtc-stats inbound-rtp / outbound-rtp): the picture size the
 * last keyframe declares (VP8 and VP9 headers; other codecs leave it unknown) and the frames of
 * the last second. Frames stay encoded: nothing is decoded.
 */
import { keyframeSize } from '../media/container/frame-size.js';

/** Frame times kept: a second of frames at up to this rate. */
const MAX_FPS = 240;

export class VideoFrameMeter {
  frameWidth: number | undefined;
  frameHeight: number | undefined;
  readonly #times: number[] = [];

  /** One whole frame of `codec` sent or received at `now` (wall-clock ms, as getStats times). */
  onFrame(now: number, codec: string, data: Uint8Array, keyframe: boolean): void {
    if (keyframe) {
      const size = keyframeSize(codec, data);
      if (size) {
        this.frameWidth = size.width;
        this.frameHeight = size.height;
      }
    }
    this.#times.push(now);
    if (this.#times.length > MAX_FPS) this.#times.shift();
  }

  /** Frames in the second before `now`. */
  framesPerSecond(now: number): number {
    let n = 0;
    for (let i = this.#times.length - 1; i >= 0 && this.#times[i]! > now - 1000; i--) n++;
    return n;
  }

  /** The fields for a stats entry (none of them until known). */
  stats(now: number): { frameWidth?: number; frameHeight?: number; framesPerSecond: number } {
    return {
      ...(this.frameWidth !== undefined && { frameWidth: this.frameWidth, frameHeight: this.frameHeight! }),
      framesPerSecond: this.framesPerSecond(now),
    };
  }
}

/**
 * Audio figures for inbound-rtp from the sender's RFC 6464 audio-level header extension (nothing
 * is decoded): `audioLevel` (0..1, linear, from -dBov), `totalAudioEnergy` (the sum of level²
 * times each packet's duration) and `totalSamplesDuration` (seconds of audio the levels covered).
 */
export class AudioLevelMeter {
  audioLevel: number | undefined;
  totalAudioEnergy = 0;
  totalSamplesDuration = 0;
  #lastTimestamp: number | undefined;

  /** One packet carrying `dBov` (0..127, as -dBov) with RTP timestamp `ts` at `clockRate`. */
  onPacket(dBov: number, ts: number, clockRate: number): void {
    const level = 10 ** (-dBov / 20);
    // A packet's duration from the timestamp step (20 ms when the step is unusable: first packet,
    // reordering, a gap of a second or more).
    const step = this.#lastTimestamp === undefined ? 0 : (ts - this.#lastTimestamp) >>> 0;
    const seconds = step > 0 && step < clockRate ? step / clockRate : 0.02;
    if (this.#lastTimestamp === undefined || (step > 0 && step < 2 ** 31)) this.#lastTimestamp = ts;
    this.audioLevel = level;
    this.totalAudioEnergy += level * level * seconds;
    this.totalSamplesDuration += seconds;
  }

  stats(): { audioLevel?: number; totalAudioEnergy?: number; totalSamplesDuration?: number } {
    if (this.audioLevel === undefined) return {};
    return {
      audioLevel: this.audioLevel,
      totalAudioEnergy: this.totalAudioEnergy,
      totalSamplesDuration: this.totalSamplesDuration,
    };
  }
}
