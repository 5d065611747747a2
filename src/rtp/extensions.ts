/**
 * Values of the header extensions WebRTC negotiates, with their extmap URIs.
 */
import { ParseError } from '../core/errors.js';

export const EXT_MID = 'urn:ietf:params:rtp-hdrext:sdes:mid';
export const EXT_RID = 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id';
export const EXT_REPAIRED_RID = 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id';
export const EXT_ABS_SEND_TIME = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';
export const EXT_TRANSPORT_CC = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
export const EXT_AUDIO_LEVEL = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
export const EXT_VIDEO_ORIENTATION = 'urn:3gpp:video-orientation';
export const EXT_DEPENDENCY_DESCRIPTOR =
  'https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const enc = new TextEncoder();

function need(data: Uint8Array, n: number, field: string): void {
  if (data.length < n) throw new ParseError('rtp', field, 0, `need ${n} byte(s), have ${data.length}`);
}

/** mid, rid and repaired-rid (RFC 9143 §15, RFC 8852 §3): UTF-8 text; trailing NULs ignored. */
export function parseSdesExtension(data: Uint8Array, field = 'sdes extension'): string {
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  try {
    return utf8.decode(data.subarray(0, end));
  } catch {
    throw new ParseError('rtp', field, 0, 'not UTF-8');
  }
}
export function serializeSdesExtension(value: string): Uint8Array {
  return enc.encode(value);
}

/** abs-send-time: 24-bit 6.18 fixed-point seconds, wrapping every 64 s. */
export function parseAbsSendTime(data: Uint8Array): number {
  need(data, 3, 'abs-send-time');
  return (data[0]! << 16) | (data[1]! << 8) | data[2]!;
}
export function serializeAbsSendTime(value: number): Uint8Array {
  return Uint8Array.of((value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}
/** abs-send-time of a time in milliseconds. */
export const absSendTimeFromMs = (ms: number): number => Math.round((ms / 1000) * 2 ** 18) & 0xffffff;
export const absSendTimeToMs = (v: number): number => (v / 2 ** 18) * 1000;

/** transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2). */
export function parseTransportCc(data: Uint8Array): number {
  need(data, 2, 'transport-cc');
  return (data[0]! << 8) | data[1]!;
}
export function serializeTransportCc(seq: number): Uint8Array {
  return Uint8Array.of((seq >>> 8) & 0xff, seq & 0xff);
}

/** RFC 6464 §3: voice activity flag and level in -dBov (0..127). */
export interface AudioLevel {
  readonly voiceActivity: boolean;
  readonly level: number;
}
export function parseAudioLevel(data: Uint8Array): AudioLevel {
  need(data, 1, 'audio-level');
  return { voiceActivity: (data[0]! & 0x80) !== 0, level: data[0]! & 0x7f };
}
export function serializeAudioLevel(a: AudioLevel): Uint8Array {
  return Uint8Array.of((a.voiceActivity ? 0x80 : 0) | (a.level & 0x7f));
}

/** 3GPP TS 26.114 §7.4.5 coordination of video orientation: 0 0 0 0 C F R1 R0. */
export interface VideoOrientation {
  /** 0 front-facing, 1 back-facing. */
  readonly camera: 0 | 1;
  readonly flip: boolean;
  /** Clockwise rotation in degrees. */
  readonly rotation: 0 | 90 | 180 | 270;
}
export function parseVideoOrientation(data: Uint8Array): VideoOrientation {
  need(data, 1, 'video-orientation');
  const b = data[0]!;
  return {
    camera: ((b >> 3) & 1) as 0 | 1,
    flip: (b & 0x04) !== 0,
    rotation: ((b & 0x03) * 90) as VideoOrientation['rotation'],
  };
}
export function serializeVideoOrientation(v: VideoOrientation): Uint8Array {
  return Uint8Array.of((v.camera << 3) | (v.flip ? 4 : 0) | ((v.rotation / 90) & 3));
}
