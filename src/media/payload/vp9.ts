/**
 * VP9 payload format (RFC 9628 §4.2), flexible and non-flexible modes.
 *
 *        0 1 2 3 4 5 6 7
 *       +-+-+-+-+-+-+-+-+
 *       |I|P|L|F|B|E|V|Z| (REQUIRED)
 *       +-+-+-+-+-+-+-+-+
 *  I:   |M| PICTURE ID  | (7 or 15 bits)
 *  L:   | TID |U| SID |D| (+ TL0PICIDX when F=0)
 *  F&P: | P_DIFF      |N| (up to 3 times)
 *  V:   | SS            | (scalability structure, §4.2.1)
 */
import { ByteReader } from '../../core/bytes.js';
import type { Depacketized, Depacketizer, Packetizer } from './types.js';

export interface Vp9Descriptor {
  readonly interPicturePredicted: boolean;
  readonly flexible: boolean;
  readonly beginningOfFrame: boolean;
  readonly endOfFrame: boolean;
  readonly pictureId?: number;
  readonly temporalId?: number;
  readonly spatialId?: number;
  readonly tl0PicIdx?: number;
  /** U: a switching-up point to this temporal layer (with L). */
  readonly switchingUp?: boolean;
  /** D: this spatial layer frame depends on the lower spatial layer of the same picture (with L). */
  readonly interLayerDependency?: boolean;
  /** Z: not a reference for the upper spatial layers of this picture. */
  readonly notUpperReference: boolean;
  readonly pDiffs: readonly number[];
  /** From the scalability structure (V): the number of spatial layers (N_S + 1). */
  readonly spatialLayers?: number;
  /** From the scalability structure: width/height per spatial layer. */
  readonly resolutions?: readonly { width: number; height: number }[];
}

export function parseVp9Descriptor(payload: Uint8Array): { descriptor: Vp9Descriptor; headerSize: number } {
  const r = new ByteReader(payload, 'vp9');
  const b0 = r.u8('descriptor');
  const flexible = (b0 & 0x10) !== 0;
  const predicted = (b0 & 0x40) !== 0;
  let pictureId: number | undefined;
  let temporalId: number | undefined;
  let spatialId: number | undefined;
  let tl0PicIdx: number | undefined;
  let switchingUp = false;
  let interLayerDependency = false;
  let spatialLayers: number | undefined;
  const pDiffs: number[] = [];
  let resolutions: { width: number; height: number }[] | undefined;
  if (b0 & 0x80) {
    const m = r.u8('picture id');
    pictureId = m & 0x80 ? ((m & 0x7f) << 8) | r.u8('picture id low') : m & 0x7f;
  }
  if (b0 & 0x20) {
    const l = r.u8('layer indices');
    temporalId = l >> 5;
    switchingUp = (l & 0x10) !== 0;
    spatialId = (l >> 1) & 0x07;
    interLayerDependency = (l & 0x01) !== 0;
    if (!flexible) tl0PicIdx = r.u8('tl0picidx');
  }
  if (flexible && predicted) {
    for (let i = 0; i < 3; i++) {
      const d = r.u8('p_diff');
      pDiffs.push(d >> 1);
      if (!(d & 1)) break;
      if (i === 2) r.fail('p_diff', 'more than 3 reference indices');
    }
  }
  if (b0 & 0x02) {
    const ss = r.u8('scalability structure');
    const layers = (ss >> 5) + 1;
    spatialLayers = layers;
    if (ss & 0x10) {
      resolutions = [];
      for (let i = 0; i < layers; i++) resolutions.push({ width: r.u16('width'), height: r.u16('height') });
    }
    if (ss & 0x08) {
      const groups = r.u8('n_g');
      for (let i = 0; i < groups; i++) {
        const g = r.u8('picture group');
        r.skip((g >> 2) & 0x03, 'group p_diff');
      }
    }
  }
  if (r.remaining === 0) r.fail('payload', 'descriptor without VP9 data');
  return {
    descriptor: {
      interPicturePredicted: predicted,
      flexible,
      beginningOfFrame: (b0 & 0x08) !== 0,
      endOfFrame: (b0 & 0x04) !== 0,
      ...(pictureId !== undefined && { pictureId }),
      ...(temporalId !== undefined && { temporalId, spatialId, switchingUp, interLayerDependency }),
      notUpperReference: (b0 & 0x01) !== 0,
      ...(tl0PicIdx !== undefined && { tl0PicIdx }),
      pDiffs,
      ...(spatialLayers !== undefined && { spatialLayers }),
      ...(resolutions && { resolutions }),
    },
    headerSize: r.offset,
  };
}

/**
 * The payload descriptor for `d` (RFC 9628 §4.2): I with a 15-bit picture id when `pictureId` is
 * set, L when `temporalId` is, F/P reference indices from `pDiffs`, V with N_S, Y and the
 * resolutions (no picture group description). The inverse of parseVp9Descriptor's header.
 */
export function serializeVp9Descriptor(d: Vp9Descriptor): Uint8Array {
  const out: number[] = [0];
  let b0 =
    (d.interPicturePredicted ? 0x40 : 0) |
    (d.flexible ? 0x10 : 0) |
    (d.beginningOfFrame ? 0x08 : 0) |
    (d.endOfFrame ? 0x04 : 0) |
    (d.notUpperReference ? 0x01 : 0);
  if (d.pictureId !== undefined) {
    b0 |= 0x80;
    out.push(0x80 | ((d.pictureId >> 8) & 0x7f), d.pictureId & 0xff);
  }
  if (d.temporalId !== undefined) {
    b0 |= 0x20;
    out.push(
      ((d.temporalId & 0x07) << 5) |
        (d.switchingUp ? 0x10 : 0) |
        (((d.spatialId ?? 0) & 0x07) << 1) |
        (d.interLayerDependency ? 1 : 0),
    );
    if (!d.flexible) out.push((d.tl0PicIdx ?? 0) & 0xff);
  }
  if (d.flexible && d.interPicturePredicted) {
    if (d.pDiffs.length === 0 || d.pDiffs.length > 3) throw new RangeError('1 to 3 p_diffs');
    d.pDiffs.forEach((p, i) => {
      out.push(((p & 0x7f) << 1) | (i < d.pDiffs.length - 1 ? 1 : 0));
    });
  }
  if (d.spatialLayers !== undefined || d.resolutions) {
    b0 |= 0x02;
    const n = d.resolutions?.length ?? d.spatialLayers ?? 1;
    out.push((((n - 1) & 0x07) << 5) | (d.resolutions ? 0x10 : 0));
    for (const r of d.resolutions ?? [])
      out.push(r.width >> 8, r.width & 0xff, r.height >> 8, r.height & 0xff);
  }
  out[0] = b0;
  return Uint8Array.from(out);
}

/**
 * VP9 uncompressed header (VP9 bitstream spec §6.2): frame_marker(2) profile(2, +1 reserved bit
 * for profile 3) show_existing_frame(1) frame_type(1, 0 = KEY_FRAME).
 */
export function isVp9Keyframe(frame: Uint8Array): boolean {
  if (frame.length === 0) return false;
  const b = frame[0]!;
  if (b >> 6 !== 2) return false;
  const profile = ((b >> 5) & 1) | (((b >> 4) & 1) << 1);
  let bit = 3 - (profile === 3 ? 1 : 0);
  if ((b >> bit) & 1) return false; // show_existing_frame
  bit--;
  return ((b >> bit) & 1) === 0;
}

export class Vp9Packetizer implements Packetizer {
  #pictureId: number;
  constructor(firstPictureId = 0) {
    this.#pictureId = firstPictureId & 0x7fff;
  }
  packetize(frame: Uint8Array, maxPayload: number, keyframe = isVp9Keyframe(frame)): Uint8Array[] {
    const HEADER = 3; // I with a 15-bit picture id
    const pid = this.#pictureId;
    this.#pictureId = (pid + 1) & 0x7fff;
    const room = maxPayload - HEADER;
    if (room < 1) throw new RangeError('payload size too small');
    const n = Math.max(1, Math.ceil(frame.length / room));
    const size = Math.ceil(frame.length / n);
    const out: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const chunk = frame.subarray(i * size, Math.min(frame.length, (i + 1) * size));
      const p = new Uint8Array(HEADER + chunk.length);
      p[0] = 0x80 | (keyframe ? 0 : 0x40) | (i === 0 ? 0x08 : 0) | (i === n - 1 ? 0x04 : 0);
      p[1] = 0x80 | (pid >> 8);
      p[2] = pid & 0xff;
      p.set(chunk, HEADER);
      out.push(p);
    }
    return out;
  }
}

export class Vp9Depacketizer implements Depacketizer {
  depacketize(payload: Uint8Array): Depacketized {
    const { descriptor: d, headerSize } = parseVp9Descriptor(payload);
    const data = payload.subarray(headerSize);
    const base = (d.spatialId ?? 0) === 0;
    return {
      data,
      frameStart: d.beginningOfFrame && base,
      keyframe: d.beginningOfFrame && base && !d.interPicturePredicted,
    };
  }
  reset(): void {}
}
