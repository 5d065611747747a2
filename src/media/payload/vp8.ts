/**
 * VP8 payload format (RFC 7741 §4.2).
 *
 *        0 1 2 3 4 5 6 7
 *       +-+-+-+-+-+-+-+-+
 *       |X|R|N|S|R| PID | (REQUIRED)
 *       +-+-+-+-+-+-+-+-+
 *  X:   |I|L|T|K| RSV   | (OPTIONAL)
 *       +-+-+-+-+-+-+-+-+
 *  I:   |M| PictureID   | (OPTIONAL, 7 or 15 bits)
 *       +-+-+-+-+-+-+-+-+
 *  L:   |   TL0PICIDX   | (OPTIONAL)
 *       +-+-+-+-+-+-+-+-+
 *  T/K: |TID|Y| KEYIDX  | (OPTIONAL)
 *       +-+-+-+-+-+-+-+-+
 */
import { ByteReader } from '../../core/bytes.js';
import type { Depacketized, Depacketizer, Packetizer } from './types.js';

export interface Vp8Descriptor {
  readonly nonReference: boolean;
  readonly startOfPartition: boolean;
  readonly partitionId: number;
  readonly pictureId?: number;
  readonly tl0PicIdx?: number;
  readonly temporalId?: number;
  readonly layerSync?: boolean;
  readonly keyIdx?: number;
}

export function parseVp8Descriptor(payload: Uint8Array): { descriptor: Vp8Descriptor; headerSize: number } {
  const r = new ByteReader(payload, 'vp8');
  const b0 = r.u8('descriptor');
  let pictureId: number | undefined;
  let tl0PicIdx: number | undefined;
  let temporalId: number | undefined;
  let layerSync: boolean | undefined;
  let keyIdx: number | undefined;
  if (b0 & 0x80) {
    const x = r.u8('extension byte');
    if (x & 0x80) {
      const m = r.u8('picture id');
      pictureId = m & 0x80 ? ((m & 0x7f) << 8) | r.u8('picture id low') : m & 0x7f;
    }
    if (x & 0x40) tl0PicIdx = r.u8('tl0picidx');
    if (x & 0x30) {
      const t = r.u8('tid/keyidx');
      if (x & 0x20) {
        temporalId = t >> 6;
        layerSync = (t & 0x20) !== 0;
      }
      if (x & 0x10) keyIdx = t & 0x1f;
    }
  }
  if (r.remaining === 0) r.fail('payload', 'descriptor without VP8 data');
  return {
    descriptor: {
      nonReference: (b0 & 0x20) !== 0,
      startOfPartition: (b0 & 0x10) !== 0,
      partitionId: b0 & 0x07,
      ...(pictureId !== undefined && { pictureId }),
      ...(tl0PicIdx !== undefined && { tl0PicIdx }),
      ...(temporalId !== undefined && { temporalId, layerSync }),
      ...(keyIdx !== undefined && { keyIdx }),
    },
    headerSize: r.offset,
  };
}

/** RFC 7741 §4.3 / RFC 6386 §9.1: the P bit of the frame tag is 0 on keyframes. */
export const isVp8Keyframe = (frame: Uint8Array): boolean => frame.length > 0 && (frame[0]! & 0x01) === 0;

export class Vp8Packetizer implements Packetizer {
  #pictureId: number;
  constructor(firstPictureId = 0) {
    this.#pictureId = firstPictureId & 0x7fff;
  }
  packetize(frame: Uint8Array, maxPayload: number): Uint8Array[] {
    const HEADER = 4; // X, I with a 15-bit picture id
    const out: Uint8Array[] = [];
    const pid = this.#pictureId;
    this.#pictureId = (pid + 1) & 0x7fff;
    let first = true;
    for (let at = 0; at < frame.length || first; ) {
      const n = Math.min(maxPayload - HEADER, frame.length - at);
      if (n <= 0 && frame.length > 0) throw new RangeError('payload size too small');
      const p = new Uint8Array(HEADER + n);
      p[0] = 0x80 | (first ? 0x10 : 0);
      p[1] = 0x80;
      p[2] = 0x80 | (pid >> 8);
      p[3] = pid & 0xff;
      p.set(frame.subarray(at, at + n), HEADER);
      out.push(p);
      at += n;
      first = false;
    }
    return out;
  }
}

export class Vp8Depacketizer implements Depacketizer {
  depacketize(payload: Uint8Array): Depacketized {
    const { descriptor: d, headerSize } = parseVp8Descriptor(payload);
    const data = payload.subarray(headerSize);
    const frameStart = d.startOfPartition && d.partitionId === 0;
    return { data, frameStart, keyframe: frameStart && isVp8Keyframe(data) };
  }
  reset(): void {}
}
