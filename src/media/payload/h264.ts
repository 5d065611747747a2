/**
 * H.264 payload format (RFC 6184), packetization-mode 1: single NAL unit packets, STAP-A
 * aggregation (§5.7.1) and FU-A fragmentation (§5.8). Frames are Annex-B byte streams
 * (00 00 00 01 start codes) on both sides.
 *
 *   NAL header: |F|NRI|Type(5)|      FU header: |S|E|R|Type(5)|
 */
import { concatBytes } from '../../core/bytes.js';
import { ParseError } from '../../core/errors.js';
import type { Depacketized, Depacketizer, Packetizer } from './types.js';

/** RFC 6184 §5.4 NAL unit types used by the payload format. */
export const H264_STAP_A = 24;
export const H264_FU_A = 28;
export const H264_IDR = 5;
export const H264_SPS = 7;
export const H264_PPS = 8;
const START_CODE = Uint8Array.of(0, 0, 0, 1);

/** NAL units of an Annex-B stream (3- or 4-byte start codes), as views. */
export function splitAnnexB(stream: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = -1;
  let i = 0;
  while (i + 2 < stream.length) {
    if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) {
      if (start >= 0) {
        let end = i;
        while (end > start && stream[end - 1] === 0) end--;
        if (end > start) out.push(stream.subarray(start, end));
      }
      i += 3;
      start = i;
    } else i++;
  }
  if (start >= 0 && start < stream.length) out.push(stream.subarray(start));
  return out;
}

export const nalType = (nal: Uint8Array): number => (nal[0] ?? 0) & 0x1f;

/** An Annex-B frame is a keyframe when it carries an IDR slice or a sequence parameter set. */
export function isH264Keyframe(frame: Uint8Array): boolean {
  return splitAnnexB(frame).some((n) => nalType(n) === H264_IDR || nalType(n) === H264_SPS);
}

export class H264Packetizer implements Packetizer {
  packetize(frame: Uint8Array, maxPayload: number): Uint8Array[] {
    const nals = splitAnnexB(frame).filter((n) => {
      const t = nalType(n);
      return t !== 9 && t !== 12; // access unit delimiter and filler are not sent (RFC 6184 §5.3 leaves it to us)
    });
    const out: Uint8Array[] = [];
    let pending: Uint8Array[] = [];
    const flush = (): void => {
      if (pending.length === 1) out.push(pending[0]!);
      else if (pending.length > 1) {
        const size = 1 + pending.reduce((s, n) => s + 2 + n.length, 0);
        const p = new Uint8Array(size);
        let nri = 0;
        for (const n of pending) nri = Math.max(nri, n[0]! & 0x60);
        p[0] = nri | H264_STAP_A;
        let at = 1;
        for (const n of pending) {
          p[at++] = n.length >> 8;
          p[at++] = n.length & 0xff;
          p.set(n, at);
          at += n.length;
        }
        out.push(p);
      }
      pending = [];
    };
    const stapSize = (): number => (pending.length ? 1 + pending.reduce((s, n) => s + 2 + n.length, 0) : 0);
    for (const nal of nals) {
      if (nal.length <= maxPayload) {
        const grown = (pending.length ? stapSize() : 1) + 2 + nal.length;
        if (pending.length && grown > maxPayload) flush();
        pending.push(nal);
        continue;
      }
      flush();
      // FU-A: the NAL header is split into the FU indicator (F, NRI) and the FU header (type).
      const header = nal[0]!;
      const body = nal.subarray(1);
      const room = maxPayload - 2;
      if (room < 1) throw new RangeError('payload size too small');
      const n = Math.ceil(body.length / room);
      const size = Math.ceil(body.length / n);
      for (let i = 0; i < n; i++) {
        const chunk = body.subarray(i * size, Math.min(body.length, (i + 1) * size));
        const p = new Uint8Array(2 + chunk.length);
        p[0] = (header & 0xe0) | H264_FU_A;
        p[1] = (i === 0 ? 0x80 : 0) | (i === n - 1 ? 0x40 : 0) | (header & 0x1f);
        p.set(chunk, 2);
        out.push(p);
      }
    }
    flush();
    return out;
  }
}

export class H264Depacketizer implements Depacketizer {
  /** Inside a fragmented NAL unit whose start we saw. */
  #inFragment = false;

  depacketize(payload: Uint8Array): Depacketized {
    if (payload.length === 0) throw new ParseError('h264', 'nal header', 0, 'empty payload');
    const type = nalType(payload);
    if (payload[0]! & 0x80) throw new ParseError('h264', 'nal header', 0, 'forbidden_zero_bit set');
    if (type >= 1 && type <= 23) {
      this.#inFragment = false;
      return {
        data: concatBytes([START_CODE, payload]),
        frameStart: startsAccessUnit(type),
        keyframe: type === H264_IDR || type === H264_SPS,
      };
    }
    if (type === H264_STAP_A) {
      this.#inFragment = false;
      const parts: Uint8Array[] = [];
      let at = 1;
      let keyframe = false;
      let first = -1;
      while (at < payload.length) {
        if (at + 2 > payload.length) throw new ParseError('h264', 'stap-a size', at, 'truncated');
        const size = (payload[at]! << 8) | payload[at + 1]!;
        at += 2;
        if (size === 0 || at + size > payload.length)
          throw new ParseError('h264', 'stap-a nal', at, `size ${size} exceeds payload`);
        const nal = payload.subarray(at, at + size);
        const t = nalType(nal);
        if (first < 0) first = t;
        if (t === H264_IDR || t === H264_SPS) keyframe = true;
        parts.push(START_CODE, nal);
        at += size;
      }
      if (parts.length === 0) throw new ParseError('h264', 'stap-a', 1, 'no NAL units');
      return { data: concatBytes(parts), frameStart: startsAccessUnit(first), keyframe };
    }
    if (type === H264_FU_A) {
      if (payload.length < 3) throw new ParseError('h264', 'fu header', 1, 'truncated');
      const fu = payload[1]!;
      const inner = fu & 0x1f;
      const body = payload.subarray(2);
      if (fu & 0x80) {
        this.#inFragment = !(fu & 0x40);
        const header = Uint8Array.of((payload[0]! & 0xe0) | inner);
        return {
          data: concatBytes([START_CODE, header, body]),
          frameStart: startsAccessUnit(inner),
          keyframe: inner === H264_IDR || inner === H264_SPS,
        };
      }
      if (!this.#inFragment) return { data: new Uint8Array(0), frameStart: false, keyframe: false };
      if (fu & 0x40) this.#inFragment = false;
      return { data: body, frameStart: false, keyframe: false };
    }
    throw new ParseError('h264', 'nal type', 0, `unsupported packet type ${type}`);
  }
  reset(): void {
    this.#inFragment = false;
  }
}

/** Parameter sets, SEI, AUD and IDR/non-IDR slices may open an access unit. */
const startsAccessUnit = (t: number): boolean => t === 1 || t === 5 || (t >= 6 && t <= 9);
