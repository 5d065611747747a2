/**
 * H.264 Annex-B elementary streams: split into access units (ITU-T H.264 §7.4.1.2.3): a new
 * access unit starts at an AUD, SPS, PPS or SEI after a slice, or at a slice whose
 * first_mb_in_slice is 0 (its ue(v) code starts with a 1 bit) after a slice.
 */
import { nalType, splitAnnexB } from '../payload/h264.js';

const START = Uint8Array.of(0, 0, 0, 1);

export function splitAccessUnits(stream: Uint8Array): Uint8Array[] {
  const units: Uint8Array[][] = [];
  let cur: Uint8Array[] = [];
  let sawSlice = false;
  for (const nal of splitAnnexB(stream)) {
    const t = nalType(nal);
    const vcl = t === 1 || t === 5;
    const firstSlice = vcl && nal.length > 1 && (nal[1]! & 0x80) !== 0;
    const opens = t === 9 || t === 7 || t === 8 || t === 6 || firstSlice;
    if (sawSlice && opens) {
      units.push(cur);
      cur = [];
      sawSlice = false;
    }
    cur.push(START, nal);
    if (vcl) sawSlice = true;
  }
  if (cur.length) units.push(cur);
  return units.map((parts) => Buffer.concat(parts));
}

/**
 * The AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.2.4.1) from the SPS and PPS of an Annex-B
 * keyframe, for Matroska's CodecPrivate; undefined when the frame has no SPS or PPS.
 */
export function avcConfigFromAnnexB(frame: Uint8Array): Uint8Array | undefined {
  const nals = splitAnnexB(frame);
  const sps = nals.find((n) => nalType(n) === 7);
  const pps = nals.find((n) => nalType(n) === 8);
  if (!sps || !pps || sps.length < 4) return undefined;
  return Buffer.concat([
    Uint8Array.of(1, sps[1]!, sps[2]!, sps[3]!, 0xff, 0xe1, sps.length >> 8, sps.length & 0xff),
    sps,
    Uint8Array.of(1, pps.length >> 8, pps.length & 0xff),
    pps,
  ]);
}

/** Annex-B to 4-byte length-prefixed NAL units (how MP4 and Matroska store H.264). */
export function annexBToLengthPrefixed(frame: Uint8Array): Uint8Array {
  const nals = splitAnnexB(frame);
  const out = Buffer.alloc(nals.reduce((s, n) => s + 4 + n.length, 0));
  let at = 0;
  for (const n of nals) {
    out.writeUInt32BE(n.length, at);
    out.set(n, at + 4);
    at += 4 + n.length;
  }
  return out;
}
