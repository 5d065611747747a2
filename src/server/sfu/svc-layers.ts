/**
 * What the SFU reads of one SVC packet (one SSRC carrying spatial and temporal layers) to forward
 * part of it without decoding, and what it knows of the stream's layers:
 * - VP9 (RFC 9628 §4.2): the payload descriptor's layer indices (TID, U, SID, D), B/E for the
 *   layer frame, P for inter-picture prediction, the scalability structure (V) with the spatial
 *   layers' resolutions on keyframes.
 * - AV1 (AV1 RTP specification, Appendix A): the dependency descriptor header extension; the
 *   template structure a keyframe carries is kept per track and describes the later frames (layer,
 *   decode target indications).
 */
import { isInputError } from '../../core/errors.js';
import type { PayloadCodecName } from '../../media/payload/types.js';
import { parseVp9Descriptor } from '../../media/payload/vp9.js';
import {
  type Dti,
  parseDependencyDescriptor,
  type TemplateStructure,
  withActiveDecodeTargets,
} from '../../rtp/dependency-descriptor.js';
import { findExtension, type RtpPacket } from '../../rtp/packet.js';
import { RateMeter } from './rate-meter.js';

/** AV1 RTP spec A.8.3: the frame is a switch point of the decode target. */
export const DTI_SWITCH: Dti = 2;
/** Highest spatial and temporal layer ids the SFU tracks (VP9 allows 0-7; Chromium sends up to 3). */
export const SVC_MAX_LAYERS = 4;

export interface SvcPacketInfo {
  readonly spatialId: number;
  readonly temporalId: number;
  /** First packet of this layer frame (VP9 B, DD start_of_frame). */
  readonly frameStart: boolean;
  /** Last packet of this layer frame (VP9 E, DD end_of_frame). */
  readonly frameEnd: boolean;
  /** First packet of a keyframe's base layer: every layer may start here. */
  readonly keyframe: boolean;
  /**
   * Whether a receiver holding the layers below may start decode target (spatial s, temporal t) at
   * this frame, going up spatially (`dim` 'spatial') or temporally: VP9 answers from keyframes
   * (spatial) and the U bit (temporal); AV1 from the frame's decode target indications.
   */
  canSwitchTo(s: number, t: number, dim: 'spatial' | 'temporal'): boolean;
}

/**
 * The decode targets a receiver can decode when fed the layers up to spatial `spatial` and temporal
 * `temporal`, as a bitmask (bit i: decode target i): those whose frames all lie in these layers.
 */
export function activeDecodeTargets(s: TemplateStructure, spatial: number, temporal: number): number {
  let mask = 0;
  s.decodeTargetLayers.forEach((l, dt) => {
    if (l.spatialId <= spatial && l.temporalId <= temporal) mask += 2 ** dt;
  });
  return mask;
}

/** One published SVC stream's layers as the SFU has seen them. */
export class SvcSource {
  readonly codec: PayloadCodecName;
  /** The publisher's dependency descriptor extension id (AV1; VP9 needs none). */
  ddExtension: number | undefined;
  /** The template structure in force (from the last keyframe's dependency descriptor). */
  structure: TemplateStructure | undefined;
  /** Frame heights per spatial layer, once a keyframe declared them. */
  heights: number[] = [];
  /** Spatial and temporal layer counts seen so far (they only grow). */
  spatialLayers = 1;
  temporalLayers = 1;
  /** Bitrate per (spatial, temporal) layer: meters[s][t]. */
  readonly meters: RateMeter[][] = [];
  readonly lastSeen: number[][] = [];
  malformed = 0;
  /** The latest inspected packet and its dependency descriptor's bytes (AV1). */
  #ddPacket: RtpPacket | undefined;
  #ddBytes: Uint8Array | undefined;
  /** That packet's descriptor as rewritten per active decode target mask (subscribers share them). */
  readonly #ddByMask = new Map<number, Uint8Array>();

  constructor(codec: PayloadCodecName, ddExtension?: number) {
    this.codec = codec;
    this.ddExtension = ddExtension;
  }

  /** Whether packets of this codec can be layered by the SFU. */
  static supports(codec: PayloadCodecName): boolean {
    return codec === 'vp9' || codec === 'av1';
  }

  /**
   * The layer information of `packet` (and count its bytes), or undefined when it carries none
   * (no VP9 layer indices, no dependency descriptor, malformed): the caller forwards it whole.
   */
  inspect(packet: RtpPacket, size: number, now: number): SvcPacketInfo | undefined {
    let info: SvcPacketInfo | undefined;
    try {
      info = this.codec === 'vp9' ? this.#vp9(packet) : this.#av1(packet);
    } catch (err) {
      if (!isInputError(err)) throw err;
      this.malformed++;
      return undefined;
    }
    if (!info) return undefined;
    const { spatialId: s, temporalId: t } = info;
    if (s >= SVC_MAX_LAYERS || t >= SVC_MAX_LAYERS) return undefined;
    this.spatialLayers = Math.max(this.spatialLayers, s + 1);
    this.temporalLayers = Math.max(this.temporalLayers, t + 1);
    const row = (this.meters[s] ??= []);
    (row[t] ??= new RateMeter(1000, 100)).add(size, now);
    (this.lastSeen[s] ??= [])[t] = now;
    return info;
  }

  /**
   * The dependency descriptor to forward `packet` (the latest one inspected) with to a subscriber
   * fed the layers up to `layers`: the publisher's, with the active decode targets bitmask saying
   * which decode targets those layers make up (see withActiveDecodeTargets). Undefined when the
   * packet has none (VP9, or no structure known yet): the caller forwards what the packet has.
   */
  descriptorFor(
    packet: RtpPacket,
    layers: { readonly spatial: number; readonly temporal: number },
  ): Uint8Array | undefined {
    const s = this.structure;
    const dd = this.#ddBytes;
    if (!s || !dd || packet !== this.#ddPacket) return undefined;
    const mask = activeDecodeTargets(s, layers.spatial, layers.temporal);
    let out = this.#ddByMask.get(mask);
    if (!out) this.#ddByMask.set(mask, (out = withActiveDecodeTargets(dd, s, mask)));
    return out;
  }

  /** Bits/s of layer (s, t) alone. */
  bitrate(s: number, t: number, now: number): number {
    return this.meters[s]?.[t]?.bitrate(now) ?? 0;
  }
  /** Whether layer (s, t) was seen within `withinMs`. */
  active(s: number, t: number, now: number, withinMs = 1000): boolean {
    const at = this.lastSeen[s]?.[t];
    return at !== undefined && now - at < withinMs;
  }
  /** Frame height of spatial layer `s` (declared, else a guess doubling from 180). */
  height(s: number): number {
    return this.heights[s] ?? 180 * 2 ** (s - Math.max(0, this.spatialLayers - 3));
  }

  #vp9(packet: RtpPacket): SvcPacketInfo | undefined {
    const { descriptor: d } = parseVp9Descriptor(packet.payload);
    if (d.temporalId === undefined) return undefined;
    if (d.resolutions) this.heights = d.resolutions.map((r) => r.height);
    if (d.spatialLayers !== undefined) this.spatialLayers = Math.max(this.spatialLayers, d.spatialLayers);
    const spatialId = d.spatialId ?? 0;
    const temporalId = d.temporalId;
    const keyframe = d.beginningOfFrame && !d.interPicturePredicted && spatialId === 0;
    const up = d.switchingUp === true;
    return {
      spatialId,
      temporalId,
      frameStart: d.beginningOfFrame,
      frameEnd: d.endOfFrame,
      keyframe,
      // RFC 9628 §4.2: U=1 lets a receiver switch up to this frame's temporal layer; spatial layers
      // are joined at keyframes (k-SVC upper layers predict only from themselves afterwards).
      canSwitchTo: (_s, t, dim) => keyframe || (dim === 'temporal' && t === temporalId && up),
    };
  }

  #av1(packet: RtpPacket): SvcPacketInfo | undefined {
    if (this.ddExtension === undefined) return undefined;
    const data = findExtension(packet, this.ddExtension);
    this.#ddPacket = packet;
    this.#ddBytes = undefined;
    this.#ddByMask.clear();
    if (!data) return undefined;
    const dd = parseDependencyDescriptor(data, this.structure);
    this.#ddBytes = data;
    if (dd.structure) {
      this.structure = dd.structure;
      const r = dd.structure.resolutions;
      if (r) this.heights = r.map((x) => x.height);
    }
    const s = dd.structure ?? this.structure;
    const f = dd.frame;
    if (!s || !f) return undefined;
    this.spatialLayers = Math.max(this.spatialLayers, ...s.decodeTargetLayers.map((l) => l.spatialId + 1));
    const keyframe = dd.startOfFrame && f.spatialId === 0 && f.fdiffs.length === 0;
    return {
      spatialId: f.spatialId,
      temporalId: f.temporalId,
      frameStart: dd.startOfFrame,
      frameEnd: dd.endOfFrame,
      keyframe,
      // Temporal: the decode target of this frame's own spatial layer (asked at the base layer's
      // frame, it stands for the picture: layers share the temporal structure).
      canSwitchTo: (ts, tt, dim) => {
        if (keyframe) return true;
        const sid = dim === 'temporal' ? f.spatialId : ts;
        const dt = s.decodeTargetLayers.findIndex((l) => l.spatialId === sid && l.temporalId === tt);
        return dt >= 0 && f.dtis[dt] === DTI_SWITCH;
      },
    };
  }
}
