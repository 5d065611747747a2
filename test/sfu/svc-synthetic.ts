/**
 * Synthetic SVC publishers for the SFU tests: one SSRC carrying 3 spatial x 3 temporal layers
 * (k-SVC: upper spatial layers predict from the lower ones only in keyframes), 30 pictures/s,
 * temporal pattern 0,2,1,2. Packets are built with our serializers:
 * - VP9 (serializeVp9Descriptor): layer indices with U on the switching-up pictures, the
 *   scalability structure with resolutions on keyframes, B/E per layer frame, M on the picture's
 *   last packet;
 * - AV1 (serializeDependencyDescriptor): a template structure on keyframes, one template per
 *   (layer, key/delta), decode target indications saying where each decode target may start.
 * Each payload's data names its picture, spatial and temporal layer, so a test can check exactly
 * what a subscriber got.
 */

import { serializeVp9Descriptor } from '../../src/media/payload/vp9.js';
import {
  type Dti,
  type FrameTemplate,
  serializeDependencyDescriptor,
  type TemplateStructure,
} from '../../src/rtp/dependency-descriptor.js';
import { parseRtp, type RtpPacket, serializeRtp } from '../../src/rtp/packet.js';

export const VP9_PT = 98;
export const AV1_PT = 45;
export const DD_EXT = 12;
export const SVC_RESOLUTIONS = [
  { width: 320, height: 180 },
  { width: 640, height: 360 },
  { width: 1280, height: 720 },
];
/** Packets per layer frame, spatial 0..2. */
export const PACKETS_PER_LAYER = [1, 2, 3];
const TEMPORAL_PATTERN = [0, 2, 1, 2];

export interface SvcPacket {
  readonly bytes: Uint8Array;
  readonly packet: RtpPacket;
  readonly picture: number;
  readonly spatialId: number;
  readonly temporalId: number;
  readonly keyframe: boolean;
  /** The picture is a switching-up point for its temporal layer. */
  readonly switchUp: boolean;
}

/** What a forwarded payload says about itself (the data written by the publisher). */
export function payloadTag(
  payload: Uint8Array,
  headerSize: number,
): { picture: number; s: number; t: number } {
  const d = payload.subarray(headerSize);
  return { picture: (d[0]! << 8) | d[1]!, s: d[2]!, t: d[3]! };
}

abstract class SvcPublisher {
  readonly ssrc: number;
  seq: number;
  ts: number;
  picture = 0;
  keyframeWanted = true;
  readonly gop: number;
  /** Spatial layers sent (a publisher may send fewer than 3). */
  spatialLayers = 3;
  /** Skip the upper temporal layers' pictures (an encoder dropping frames under load). */
  baseOnly = false;
  #sinceKey = 0;

  constructor(ssrc: number, seq: number, ts: number, gop = 90) {
    this.ssrc = ssrc;
    this.seq = seq;
    this.ts = ts;
    this.gop = gop;
  }

  requestKeyframe(): void {
    this.keyframeWanted = true;
  }

  /** The next picture's packets, in sending order. */
  nextPicture(): SvcPacket[] {
    const key = this.keyframeWanted || this.#sinceKey >= this.gop;
    this.keyframeWanted = false;
    this.#sinceKey = key ? 1 : this.#sinceKey + 1;
    const pic = this.picture++;
    const tid = key ? 0 : TEMPORAL_PATTERN[pic % 4]!;
    // Switching-up pictures: every other pattern cycle (so a test sees switches wait for one).
    const switchUp = !key && tid > 0 && Math.floor(pic / 4) % 2 === 0;
    const out: SvcPacket[] = [];
    if (this.baseOnly && tid > 0) {
      this.ts = (this.ts + 3000) >>> 0;
      return out;
    }
    for (let s = 0; s < this.spatialLayers; s++) {
      const n = PACKETS_PER_LAYER[s]!;
      for (let i = 0; i < n; i++) {
        const first = i === 0;
        const last = i === n - 1;
        const header = this.header({ pic, s, tid, key, switchUp, first, last });
        const data = new Uint8Array(200 + 100 * s);
        data[0] = (pic >> 8) & 0xff;
        data[1] = pic & 0xff;
        data[2] = s;
        data[3] = tid;
        const payload = this.payloadHeader({ pic, s, tid, key, switchUp, first, last });
        const body = new Uint8Array(payload.length + data.length);
        body.set(payload);
        body.set(data, payload.length);
        const packet: RtpPacket = {
          marker: last && s === this.spatialLayers - 1,
          payloadType: this.payloadType,
          sequenceNumber: this.seq,
          timestamp: this.ts,
          ssrc: this.ssrc,
          csrcs: [],
          extensions: header ? [{ id: DD_EXT, data: header }] : [],
          payload: body,
          paddingSize: 0,
        };
        this.seq = (this.seq + 1) & 0xffff;
        const bytes = serializeRtp(packet);
        out.push({
          bytes,
          packet: parseRtp(bytes),
          picture: pic,
          spatialId: s,
          temporalId: tid,
          keyframe: key,
          switchUp,
        });
      }
    }
    this.ts = (this.ts + 3000) >>> 0;
    return out;
  }

  abstract readonly payloadType: number;
  /** The dependency descriptor of a packet, if this codec sends one. */
  protected abstract header(f: FrameSpot): Uint8Array | undefined;
  /** The payload's own header (VP9 descriptor, AV1 aggregation header). */
  protected abstract payloadHeader(f: FrameSpot): Uint8Array;
  /** Bytes before the tag in a payload (to read payloadTag). */
  abstract payloadHeaderSize(payload: Uint8Array): number;
}

interface FrameSpot {
  readonly pic: number;
  readonly s: number;
  readonly tid: number;
  readonly key: boolean;
  readonly switchUp: boolean;
  readonly first: boolean;
  readonly last: boolean;
}

/** VP9 k-SVC, non-flexible mode, 15-bit picture ids. */
export class Vp9SvcPublisher extends SvcPublisher {
  readonly payloadType = VP9_PT;
  #tl0 = 0;
  protected header(): undefined {
    return undefined;
  }
  protected payloadHeader(f: FrameSpot): Uint8Array {
    if (f.s === 0 && f.first && f.tid === 0) this.#tl0 = (this.#tl0 + 1) & 0xff;
    return serializeVp9Descriptor({
      interPicturePredicted: !f.key,
      flexible: false,
      beginningOfFrame: f.first,
      endOfFrame: f.last,
      pictureId: f.pic & 0x7fff,
      temporalId: f.tid,
      spatialId: f.s,
      switchingUp: f.switchUp,
      interLayerDependency: f.key && f.s > 0,
      notUpperReference: !f.key,
      tl0PicIdx: this.#tl0,
      pDiffs: [],
      ...(f.key && f.s === 0 && f.first && { resolutions: SVC_RESOLUTIONS.slice(0, this.spatialLayers) }),
    });
  }
  payloadHeaderSize(payload: Uint8Array): number {
    // I (2 bytes of picture id), L with TL0PICIDX, V with resolutions on keyframes.
    let n = 1 + 2 + 2;
    if (payload[0]! & 0x02) n += 1 + 4 * ((payload[n]! >> 5) + 1);
    return n;
  }
}

const S: Dti = 2;
const R: Dti = 3;
const N: Dti = 0;
/**
 * Decode targets (s, t) with t in 0..2, dt = 3s + t. A frame of layer (ls, lt) serves dt when
 * t >= lt and (k-SVC) s === ls, or s >= ls in a keyframe; it is a switch point there in keyframes
 * and on the switching-up pictures of upper temporal layers.
 */
function dtis(ls: number, lt: number, key: boolean, sw: boolean): Dti[] {
  const out: Dti[] = [];
  for (let s = 0; s < 3; s++)
    for (let t = 0; t < 3; t++) {
      const serves = t >= lt && (key ? s >= ls : s === ls);
      out.push(!serves ? N : key || (lt > 0 && sw) ? S : R);
    }
  return out;
}

/** Templates per spatial layer: key, T0, T1 switch, T1, T2 switch, T2 (id 6s + k). */
const templateIndex = (s: number, tid: number, key: boolean, sw: boolean): number =>
  6 * s + (key ? 0 : tid === 0 ? 1 : 2 * tid + (sw ? 0 : 1));

/** L3T3 k-SVC template structure. */
export const AV1_STRUCTURE: TemplateStructure = (() => {
  const templates: FrameTemplate[] = [];
  const diff = [12, 6, 3];
  for (let s = 0; s < 3; s++) {
    templates.push({
      spatialId: s,
      temporalId: 0,
      dtis: dtis(s, 0, true, false),
      fdiffs: s === 0 ? [] : [1],
      chainFdiffs: [],
    });
    templates.push({
      spatialId: s,
      temporalId: 0,
      dtis: dtis(s, 0, false, false),
      fdiffs: [12],
      chainFdiffs: [],
    });
    for (const t of [1, 2])
      for (const sw of [true, false])
        templates.push({
          spatialId: s,
          temporalId: t,
          dtis: dtis(s, t, false, sw),
          fdiffs: [diff[t]!],
          chainFdiffs: [],
        });
  }
  const decodeTargetLayers = [];
  for (let s = 0; s < 3; s++)
    for (let t = 0; t < 3; t++) decodeTargetLayers.push({ spatialId: s, temporalId: t });
  return {
    templateIdOffset: 0,
    decodeTargetCount: 9,
    templates,
    chainCount: 0,
    decodeTargetProtectedBy: [],
    decodeTargetLayers,
    resolutions: SVC_RESOLUTIONS,
  };
})();

/** AV1 L3T3 k-SVC with the dependency descriptor (switching-up pictures marked by DTI Switch). */
export class Av1SvcPublisher extends SvcPublisher {
  readonly payloadType = AV1_PT;
  #frame = 0;
  protected header(f: FrameSpot): Uint8Array {
    if (f.first) this.#frame = (this.#frame + 1) & 0xffff;
    const templateId = templateIndex(f.s, f.tid, f.key, f.switchUp);
    let structure: TemplateStructure | undefined;
    if (f.key && f.s === 0 && f.first) structure = AV1_STRUCTURE;
    const bytes = serializeDependencyDescriptor(
      {
        startOfFrame: f.first,
        endOfFrame: f.last,
        templateId,
        frameNumber: this.#frame,
        ...(structure && { structure }),
      },
      AV1_STRUCTURE,
    );
    return bytes;
  }
  protected payloadHeader(f: FrameSpot): Uint8Array {
    // Aggregation header: Z/Y for fragments, W=1 (one element), N on the keyframe's first packet.
    return Uint8Array.of(
      (f.first ? 0 : 0x80) | (f.last ? 0 : 0x40) | 0x10 | (f.key && f.s === 0 && f.first ? 0x08 : 0),
    );
  }
  payloadHeaderSize(): number {
    return 1;
  }
}
