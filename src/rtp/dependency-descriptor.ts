/**
 * AV1 RTP dependency descriptor (AV1 RTP specification, Appendix A), parse only: the mandatory
 * fields, the template dependency structure (sent with keyframes) and, given the structure in force,
 * the frame's layer, decode target indications, frame diffs and chains.
 */
import { ParseError } from '../core/errors.js';
import { BitReader } from './bit-reader.js';

/** Decode target indication (A.8.3): not present, discardable, switch, required. */
export type Dti = 0 | 1 | 2 | 3;

export interface FrameTemplate {
  readonly spatialId: number;
  readonly temporalId: number;
  readonly dtis: readonly Dti[];
  readonly fdiffs: readonly number[];
  readonly chainFdiffs: readonly number[];
}

export interface TemplateStructure {
  readonly templateIdOffset: number;
  readonly decodeTargetCount: number;
  readonly templates: readonly FrameTemplate[];
  readonly chainCount: number;
  /** For each decode target, the chain protecting it. */
  readonly decodeTargetProtectedBy: readonly number[];
  readonly decodeTargetLayers: readonly { readonly spatialId: number; readonly temporalId: number }[];
  readonly resolutions?: readonly { readonly width: number; readonly height: number }[];
}

export interface DependencyDescriptor {
  readonly startOfFrame: boolean;
  readonly endOfFrame: boolean;
  readonly templateId: number;
  readonly frameNumber: number;
  /** Present when this packet carries a new structure. */
  readonly structure?: TemplateStructure;
  readonly activeDecodeTargets?: number;
  /** The frame's description, when a structure was known (carried here or passed in). */
  readonly frame?: FrameTemplate;
}

function readStructure(r: BitReader): TemplateStructure {
  const templateIdOffset = r.bits(6, 'template_id_offset');
  const dtCnt = r.bits(5, 'dt_cnt_minus_one') + 1;
  // template_layers()
  const layers: { spatialId: number; temporalId: number }[] = [];
  let spatialId = 0;
  let temporalId = 0;
  for (;;) {
    if (layers.length >= 64) throw new ParseError('rtp', 'template_layers', 0, 'more than 64 templates');
    layers.push({ spatialId, temporalId });
    const next = r.bits(2, 'next_layer_idc');
    if (next === 3) break;
    if (next === 1) temporalId++;
    else if (next === 2) {
      temporalId = 0;
      spatialId++;
    }
  }
  const dtis = layers.map(() => Array.from({ length: dtCnt }, () => r.bits(2, 'template_dti') as Dti));
  const fdiffs = layers.map(() => {
    const out: number[] = [];
    while (r.flag('fdiff_follows_flag')) out.push(r.bits(4, 'fdiff_minus_one') + 1);
    return out;
  });
  const chainCount = r.ns(dtCnt + 1, 'chain_cnt');
  const decodeTargetProtectedBy: number[] = [];
  const chainFdiffs: number[][] = layers.map(() => []);
  if (chainCount > 0) {
    for (let dt = 0; dt < dtCnt; dt++)
      decodeTargetProtectedBy.push(r.ns(chainCount, 'decode_target_protected_by'));
    for (const c of chainFdiffs)
      for (let i = 0; i < chainCount; i++) c.push(r.bits(4, 'template_chain_fdiff'));
  }
  const decodeTargetLayers = Array.from({ length: dtCnt }, (_, dt) => {
    let s = 0;
    let t = 0;
    layers.forEach((l, i) => {
      if (dtis[i]![dt] !== 0) {
        s = Math.max(s, l.spatialId);
        t = Math.max(t, l.temporalId);
      }
    });
    return { spatialId: s, temporalId: t };
  });
  let resolutions: { width: number; height: number }[] | undefined;
  if (r.flag('resolutions_present_flag')) {
    resolutions = [];
    for (let s = 0; s <= spatialId; s++) {
      resolutions.push({
        width: r.bits(16, 'render_width_minus_1') + 1,
        height: r.bits(16, 'render_height_minus_1') + 1,
      });
    }
  }
  return {
    templateIdOffset,
    decodeTargetCount: dtCnt,
    templates: layers.map((l, i) => ({
      ...l,
      dtis: dtis[i]!,
      fdiffs: fdiffs[i]!,
      chainFdiffs: chainFdiffs[i]!,
    })),
    chainCount,
    decodeTargetProtectedBy,
    decodeTargetLayers,
    ...(resolutions && { resolutions }),
  };
}

/** What `readDescriptor` found, with where its parts lie (bit offsets into the bytes). */
interface DescriptorFields {
  readonly descriptor: DependencyDescriptor;
  /** The structure's bits, when this packet carries one. */
  readonly structureBits?: readonly [number, number];
  readonly customDtis: boolean;
  readonly customFdiffs: boolean;
  readonly customChains: boolean;
  /** The frame's custom fields (DTIs, fdiffs, chains): where they start and end; undefined without a structure. */
  readonly customBits?: readonly [number, number];
}

function readDescriptor(data: Uint8Array, known: TemplateStructure | undefined): DescriptorFields {
  const r = new BitReader(data, 'rtp');
  const startOfFrame = r.flag('start_of_frame');
  const endOfFrame = r.flag('end_of_frame');
  const templateId = r.bits(6, 'frame_dependency_template_id');
  const frameNumber = r.bits(16, 'frame_number');
  let structure: TemplateStructure | undefined;
  let structureBits: [number, number] | undefined;
  let activeDecodeTargets: number | undefined;
  let customDtis = false;
  let customFdiffs = false;
  let customChains = false;
  if (data.length > 3) {
    const structurePresent = r.flag('template_dependency_structure_present_flag');
    const activePresent = r.flag('active_decode_targets_present_flag');
    customDtis = r.flag('custom_dtis_flag');
    customFdiffs = r.flag('custom_fdiffs_flag');
    customChains = r.flag('custom_chains_flag');
    if (structurePresent) {
      const from = r.consumed;
      structure = readStructure(r);
      structureBits = [from, r.consumed];
      activeDecodeTargets = 2 ** structure.decodeTargetCount - 1;
    }
    if (activePresent) {
      const s = structure ?? known;
      if (!s) throw new ParseError('rtp', 'active_decode_targets_bitmask', 3, 'no template structure known');
      activeDecodeTargets = r.bits(s.decodeTargetCount, 'active_decode_targets_bitmask');
    }
  }
  const base = { startOfFrame, endOfFrame, templateId, frameNumber, ...(structure && { structure }) };
  const withActive = activeDecodeTargets !== undefined ? { ...base, activeDecodeTargets } : base;
  const flags = { customDtis, customFdiffs, customChains, ...(structureBits && { structureBits }) };
  const s = structure ?? known;
  if (!s) return { descriptor: withActive, ...flags };
  const index = (templateId + 64 - s.templateIdOffset) % 64;
  const t = s.templates[index];
  if (!t)
    throw new ParseError(
      'rtp',
      'frame_dependency_template_id',
      0,
      `template ${index} of ${s.templates.length}`,
    );
  const customFrom = r.consumed;
  let { dtis, fdiffs, chainFdiffs } = t;
  if (customDtis) dtis = Array.from({ length: s.decodeTargetCount }, () => r.bits(2, 'frame_dti') as Dti);
  if (customFdiffs) {
    const out: number[] = [];
    for (let size = r.bits(2, 'next_fdiff_size'); size !== 0; size = r.bits(2, 'next_fdiff_size')) {
      out.push(r.bits(4 * size, 'fdiff_minus_one') + 1);
    }
    fdiffs = out;
  }
  if (customChains) chainFdiffs = Array.from({ length: s.chainCount }, () => r.bits(8, 'frame_chain_fdiff'));
  return {
    descriptor: {
      ...withActive,
      frame: { spatialId: t.spatialId, temporalId: t.temporalId, dtis, fdiffs, chainFdiffs },
    },
    ...flags,
    customBits: [customFrom, r.consumed],
  };
}

/**
 * Parse a dependency descriptor. `known` is the structure from an earlier keyframe; without one
 * (and none in this packet) only the mandatory fields are returned.
 */
export function parseDependencyDescriptor(data: Uint8Array, known?: TemplateStructure): DependencyDescriptor {
  return readDescriptor(data, known).descriptor;
}

/** a AND b for bitmasks of up to 32 bits (JavaScript's & is signed 32-bit). */
const andBits = (a: number, b: number): number => (a & b) >>> 0;

/**
 * The descriptor `data` as an SFU forwards it to a receiver that gets only some of the stream's
 * decode targets (AV1 RTP specification A.4.4: a middlebox that stops forwarding decode targets
 * signals it with active_decode_targets_bitmask): the same fields, bit for bit, with the bitmask
 * present and set to `active` (bit i: decode target i), ANDed with the one the sender wrote, if
 * any. The SFU writes it into every packet it forwards, as a receiver cannot tell a mask left
 * out from one lost, and one that kept waiting for frames of a decode target nobody sends would
 * stall. `known` is
 * the structure in force; without one (and none in the packet) `data` is returned unchanged.
 * Throws ParseError for malformed bytes.
 */
export function withActiveDecodeTargets(
  data: Uint8Array,
  known: TemplateStructure | undefined,
  active: number,
): Uint8Array {
  const f = readDescriptor(data, known);
  const d = f.descriptor;
  const s = d.structure ?? known;
  if (!s || !f.customBits) return data;
  const all = 2 ** s.decodeTargetCount - 1;
  let mask = active % 2 ** s.decodeTargetCount;
  if (d.activeDecodeTargets !== undefined && d.activeDecodeTargets !== all)
    mask = andBits(mask, d.activeDecodeTargets);
  const w = new BitWriter();
  copyBits(w, data, 0, 24);
  w.flag(f.structureBits !== undefined)
    .flag(true)
    .flag(f.customDtis)
    .flag(f.customFdiffs)
    .flag(f.customChains);
  if (f.structureBits) copyBits(w, data, f.structureBits[0], f.structureBits[1]);
  w.bits(s.decodeTargetCount, mask);
  copyBits(w, data, f.customBits[0], f.customBits[1]);
  return w.bytes();
}

/** Bits [from, to) of `data` (MSB first) appended to `w`. */
function copyBits(w: BitWriter, data: Uint8Array, from: number, to: number): void {
  let b = from;
  for (; b + 8 <= to; b += 8) {
    const at = b >> 3;
    const shift = b & 7;
    const v = shift === 0 ? data[at]! : ((data[at]! << shift) | (data[at + 1]! >> (8 - shift))) & 0xff;
    w.bits(8, v);
  }
  for (; b < to; b++) w.bits(1, (data[b >> 3]! >> (7 - (b & 7))) & 1);
}

/** MSB-first bit writer for the serializer (values of at most 32 bits). */
class BitWriter {
  readonly #bytes: number[] = [];
  #bit = 0;
  bits(n: number, v: number): this {
    for (let i = n - 1; i >= 0; i--) {
      if ((this.#bit & 7) === 0) this.#bytes.push(0);
      if (Math.floor(v / 2 ** i) & 1) this.#bytes[this.#bytes.length - 1]! |= 0x80 >> (this.#bit & 7);
      this.#bit++;
    }
    return this;
  }
  flag(b: boolean): this {
    return this.bits(1, b ? 1 : 0);
  }
  /** ns(n), the inverse of BitReader.ns (AV1 spec §4.10.7). */
  ns(n: number, v: number): this {
    let w = 0;
    for (let x = n; x !== 0; x >>= 1) w++;
    const m = (1 << w) - n;
    if (v < m) return this.bits(w - 1, v);
    const e = v + m;
    return this.bits(w - 1, e >> 1).bits(1, e & 1);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }
}

function writeStructure(w: BitWriter, s: TemplateStructure): void {
  const ts = s.templates;
  if (ts.length === 0 || ts.length > 64) throw new RangeError('1 to 64 templates');
  if (ts[0]!.spatialId !== 0 || ts[0]!.temporalId !== 0) throw new RangeError('first template not S0T0');
  w.bits(6, s.templateIdOffset).bits(5, s.decodeTargetCount - 1);
  // template_layers(): how each template's layer follows the previous one's.
  for (let i = 1; i <= ts.length; i++) {
    const prev = ts[i - 1]!;
    const t = ts[i];
    if (!t) w.bits(2, 3);
    else if (t.spatialId === prev.spatialId && t.temporalId === prev.temporalId) w.bits(2, 0);
    else if (t.spatialId === prev.spatialId && t.temporalId === prev.temporalId + 1) w.bits(2, 1);
    else if (t.spatialId === prev.spatialId + 1 && t.temporalId === 0) w.bits(2, 2);
    else throw new RangeError(`template ${i} does not follow template ${i - 1}`);
  }
  for (const t of ts) for (let dt = 0; dt < s.decodeTargetCount; dt++) w.bits(2, t.dtis[dt] ?? 0);
  for (const t of ts) {
    for (const f of t.fdiffs) w.flag(true).bits(4, f - 1);
    w.flag(false);
  }
  w.ns(s.decodeTargetCount + 1, s.chainCount);
  if (s.chainCount > 0) {
    for (let dt = 0; dt < s.decodeTargetCount; dt++) w.ns(s.chainCount, s.decodeTargetProtectedBy[dt] ?? 0);
    for (const t of ts) for (let c = 0; c < s.chainCount; c++) w.bits(4, t.chainFdiffs[c] ?? 0);
  }
  w.flag(s.resolutions !== undefined);
  for (const r of s.resolutions ?? []) w.bits(16, r.width - 1).bits(16, r.height - 1);
}

/** A frame's own DTIs, frame diffs or chain diffs, written instead of its template's (A.8.2). */
export interface CustomFrameFields {
  readonly dtis?: readonly Dti[];
  readonly fdiffs?: readonly number[];
  readonly chainFdiffs?: readonly number[];
}

/**
 * The descriptor's bytes: the mandatory fields, then (when `structure`, `activeDecodeTargets` or
 * `custom` is set) the extended fields. `known`: the structure in force, for the active decode
 * target count. `custom`: the frame's fields that differ from its template's (fdiffs of up to 12
 * bits each; DTIs and chains as many as the structure has decode targets and chains).
 */
export function serializeDependencyDescriptor(
  d: Omit<DependencyDescriptor, 'frame'>,
  known?: TemplateStructure,
  custom: CustomFrameFields = {},
): Uint8Array {
  const w = new BitWriter()
    .flag(d.startOfFrame)
    .flag(d.endOfFrame)
    .bits(6, d.templateId)
    .bits(16, d.frameNumber);
  const s = d.structure ?? known;
  const all = s ? 2 ** s.decodeTargetCount - 1 : undefined;
  const active =
    d.activeDecodeTargets !== undefined && !(d.structure && d.activeDecodeTargets === all)
      ? d.activeDecodeTargets
      : undefined;
  const { dtis, fdiffs, chainFdiffs } = custom;
  const anyCustom = dtis !== undefined || fdiffs !== undefined || chainFdiffs !== undefined;
  if (d.structure || active !== undefined || anyCustom) {
    if (anyCustom && !s) throw new RangeError('custom frame fields without a structure');
    w.flag(d.structure !== undefined)
      .flag(active !== undefined)
      .flag(dtis !== undefined)
      .flag(fdiffs !== undefined)
      .flag(chainFdiffs !== undefined);
    if (d.structure) writeStructure(w, d.structure);
    if (active !== undefined) {
      if (!s) throw new RangeError('active decode targets without a structure');
      w.bits(s.decodeTargetCount, active);
    }
    if (dtis) for (let dt = 0; dt < (s?.decodeTargetCount ?? 0); dt++) w.bits(2, dtis[dt] ?? 0);
    if (fdiffs) {
      for (const f of fdiffs) {
        if (f < 1 || f > 4096) throw new RangeError(`frame diff ${f} out of range`);
        const size = f <= 16 ? 1 : f <= 256 ? 2 : 3;
        w.bits(2, size).bits(4 * size, f - 1);
      }
      w.bits(2, 0);
    }
    if (chainFdiffs) for (let c = 0; c < (s?.chainCount ?? 0); c++) w.bits(8, chainFdiffs[c] ?? 0);
  }
  return w.bytes();
}
