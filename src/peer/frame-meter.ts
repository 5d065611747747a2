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
