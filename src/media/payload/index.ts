export * from './av1.js';
export * from './h264.js';
export * from './opus.js';
export * from './types.js';
export * from './vp8.js';
export * from './vp9.js';

import { Av1Depacketizer, Av1Packetizer, isAv1Keyframe } from './av1.js';
import { H264Depacketizer, H264Packetizer, isH264Keyframe } from './h264.js';
import { OpusDepacketizer, OpusPacketizer } from './opus.js';
import type { Depacketizer, Packetizer, PayloadCodecName } from './types.js';
import { isVp8Keyframe, Vp8Depacketizer, Vp8Packetizer } from './vp8.js';
import { isVp9Keyframe, Vp9Depacketizer, Vp9Packetizer } from './vp9.js';

/** The payload codec for an SDP encoding name, or undefined when we have none. */
export function payloadCodecName(encodingName: string): PayloadCodecName | undefined {
  const n = encodingName.toLowerCase();
  return n === 'opus' || n === 'vp8' || n === 'vp9' || n === 'h264' || n === 'av1' ? n : undefined;
}

export function createPacketizer(codec: PayloadCodecName): Packetizer {
  switch (codec) {
    case 'opus':
      return new OpusPacketizer();
    case 'vp8':
      return new Vp8Packetizer();
    case 'vp9':
      return new Vp9Packetizer();
    case 'h264':
      return new H264Packetizer();
    case 'av1':
      return new Av1Packetizer();
  }
}

export function createDepacketizer(codec: PayloadCodecName): Depacketizer {
  switch (codec) {
    case 'opus':
      return new OpusDepacketizer();
    case 'vp8':
      return new Vp8Depacketizer();
    case 'vp9':
      return new Vp9Depacketizer();
    case 'h264':
      return new H264Depacketizer();
    case 'av1':
      return new Av1Depacketizer();
  }
}

/** Whether an encoded frame (as a container stores it) is a keyframe. */
export function isKeyframe(codec: PayloadCodecName, frame: Uint8Array): boolean {
  switch (codec) {
    case 'opus':
      return true;
    case 'vp8':
      return isVp8Keyframe(frame);
    case 'vp9':
      return isVp9Keyframe(frame);
    case 'h264':
      return isH264Keyframe(frame);
    case 'av1':
      return isAv1Keyframe(frame);
  }
}
