/**
 * Keyframe detection on one RTP payload, so the forwarder can switch a subscriber to another layer
 * exactly where a decoder can start. Only the first packet of a keyframe answers true: that is the
 * packet a switch may start at. Cheap (no copies); malformed payloads are not keyframes.
 */
import { isInputError } from '../../core/errors.js';
import { H264_FU_A, H264_IDR, H264_SPS, H264_STAP_A } from '../../media/payload/h264.js';
import type { PayloadCodecName } from '../../media/payload/types.js';
import { parseVp8Descriptor } from '../../media/payload/vp8.js';
import { parseVp9Descriptor } from '../../media/payload/vp9.js';

/** RFC 7741 §4.3: S=1, PID=0 and the frame tag's P bit 0 (RFC 6386 §9.1). */
function vp8(payload: Uint8Array): boolean {
  const { descriptor: d, headerSize } = parseVp8Descriptor(payload);
  return d.startOfPartition && d.partitionId === 0 && (payload[headerSize]! & 0x01) === 0;
}

/** RFC 9628 §4.2: B=1 and P=0 on the base spatial layer starts a keyframe. */
function vp9(payload: Uint8Array): boolean {
  const { descriptor: d } = parseVp9Descriptor(payload);
  return d.beginningOfFrame && !d.interPicturePredicted && (d.spatialId ?? 0) === 0;
}

const isKeyNal = (t: number): boolean => t === H264_IDR || t === H264_SPS;

/** RFC 6184 §5.6-5.8: a single IDR/SPS NAL, a STAP-A holding one, or the first FU-A fragment of one. */
function h264(payload: Uint8Array): boolean {
  const type = payload[0]! & 0x1f;
  if (type >= 1 && type <= 23) return isKeyNal(type);
  if (type === H264_STAP_A) {
    for (let at = 1; at + 2 < payload.length; ) {
      const size = (payload[at]! << 8) | payload[at + 1]!;
      if (size === 0 || at + 2 + size > payload.length) return false;
      if (isKeyNal(payload[at + 2]! & 0x1f)) return true;
      at += 2 + size;
    }
    return false;
  }
  if (type === H264_FU_A)
    return payload.length > 1 && (payload[1]! & 0x80) !== 0 && isKeyNal(payload[1]! & 0x1f);
  return false;
}

/** AV1 RTP §4.4 aggregation header: N=1 (new coded video sequence) and Z=0 (not a continuation). */
function av1(payload: Uint8Array): boolean {
  const agg = payload[0]!;
  return (agg & 0x08) !== 0 && (agg & 0x80) === 0;
}

/** Whether this payload is the first packet of a keyframe (audio: always true). */
export function isKeyframeStart(codec: PayloadCodecName, payload: Uint8Array): boolean {
  if (payload.length === 0) return false;
  try {
    switch (codec) {
      case 'opus':
        return true;
      case 'vp8':
        return vp8(payload);
      case 'vp9':
        return vp9(payload);
      case 'h264':
        return h264(payload);
      case 'av1':
        return av1(payload);
    }
  } catch (err) {
    if (isInputError(err)) return false;
    throw err;
  }
}
