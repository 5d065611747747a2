/**
 * Codecs as a media section describes them (rtpmap + fmtp + rtcp-fb per payload type), and the
 * matching rules JSEP answers need (RFC 9429 §5.3.1: intersect, keep the offerer's payload types).
 */
import { parseFmtpParameters } from './attributes.js';
import type { Fmtp, MediaDescription, RtcpFb, RtpMap } from './types.js';

export interface RtcpFeedback {
  readonly type: string;
  readonly parameter?: string;
}

/** One codec of a media section, or of what a local transceiver can do. */
export interface Codec {
  readonly payloadType: number;
  /** Encoding name as written: `opus`, `VP8`, `H264`, `rtx`, `red`, `ulpfec`. */
  readonly name: string;
  readonly clockRate: number;
  /** Audio channels (rtpmap encoding parameters); absent means 1. */
  readonly channels?: number;
  /** fmtp parameters as written (`apt=96`, `minptime=10;useinbandfec=1`). */
  readonly fmtp?: string;
  readonly rtcpFeedback: readonly RtcpFeedback[];
}

/** RFC 3551 §6 static payload types that may appear without an rtpmap. */
const STATIC_PT: Record<number, { name: string; clockRate: number }> = {
  0: { name: 'PCMU', clockRate: 8000 },
  8: { name: 'PCMA', clockRate: 8000 },
  9: { name: 'G722', clockRate: 8000 },
  13: { name: 'CN', clockRate: 8000 },
};

/** The codecs of a section in m= line (preference) order. */
export function codecsOf(m: MediaDescription): Codec[] {
  const out: Codec[] = [];
  for (const f of m.formats) {
    if (!/^\d+$/.test(f)) continue;
    const pt = Number(f);
    const rtpmap = m.rtpmaps.find((r) => r.payloadType === pt);
    const stat = STATIC_PT[pt];
    if (!rtpmap && !stat) continue;
    const fmtp = m.fmtps.find((x) => x.payloadType === pt)?.parameters;
    const rtcpFeedback = m.rtcpFbs
      .filter((fb) => fb.payloadType === pt || fb.payloadType === '*')
      .map((fb) =>
        fb.parameter !== undefined ? { type: fb.type, parameter: fb.parameter } : { type: fb.type },
      );
    const channels = rtpmap?.encodingParameters;
    out.push({
      payloadType: pt,
      name: rtpmap ? rtpmap.encodingName : stat!.name,
      clockRate: rtpmap ? rtpmap.clockRate : stat!.clockRate,
      ...(channels !== undefined && { channels }),
      ...(fmtp !== undefined && { fmtp }),
      rtcpFeedback,
    });
  }
  return out;
}

/** The rtpmap, fmtp and rtcp-fb lines and m= formats for a list of codecs. */
export function codecLines(codecs: readonly Codec[]): {
  formats: string[];
  rtpmaps: RtpMap[];
  fmtps: Fmtp[];
  rtcpFbs: RtcpFb[];
} {
  const out = {
    formats: [] as string[],
    rtpmaps: [] as RtpMap[],
    fmtps: [] as Fmtp[],
    rtcpFbs: [] as RtcpFb[],
  };
  for (const c of codecs) {
    out.formats.push(String(c.payloadType));
    out.rtpmaps.push({
      payloadType: c.payloadType,
      encodingName: c.name,
      clockRate: c.clockRate,
      ...(c.channels !== undefined && c.channels !== 1 && { encodingParameters: c.channels }),
    });
    for (const fb of c.rtcpFeedback) out.rtcpFbs.push({ payloadType: c.payloadType, ...fb });
    if (c.fmtp) out.fmtps.push({ payloadType: c.payloadType, parameters: c.fmtp });
  }
  return out;
}

const lower = (s: string): string => s.toLowerCase();
export const isRtx = (c: Codec): boolean => lower(c.name) === 'rtx';

/**
 * Whether two codecs are the same format: name, clock rate, channels, and the fmtp parameters
 * that define the bitstream (H264 profile and packetization mode, VP9 and AV1 profile).
 */
export function sameCodec(a: Codec, b: Codec): boolean {
  if (lower(a.name) !== lower(b.name) || a.clockRate !== b.clockRate) return false;
  if ((a.channels ?? 1) !== (b.channels ?? 1)) return false;
  const pa = parseFmtpParameters(a.fmtp ?? '');
  const pb = parseFmtpParameters(b.fmtp ?? '');
  switch (lower(a.name)) {
    case 'h264': {
      // RFC 6184 §8.1: profile_idc and profile-iop must match; level may differ; mode defaults to 0.
      const prof = (p: Map<string, string>): string =>
        (p.get('profile-level-id') ?? '42000a').slice(0, 4).toLowerCase();
      return (
        prof(pa) === prof(pb) &&
        (pa.get('packetization-mode') ?? '0') === (pb.get('packetization-mode') ?? '0')
      );
    }
    case 'vp9':
      return (pa.get('profile-id') ?? '0') === (pb.get('profile-id') ?? '0');
    case 'av1':
      return (pa.get('profile') ?? '0') === (pb.get('profile') ?? '0');
    default:
      return true;
  }
}

function withApt(fmtp: string | undefined, apt: number): string {
  const p = parseFmtpParameters(fmtp ?? '');
  p.set('apt', String(apt));
  return [...p].map(([k, v]) => (v === '' ? k : `${k}=${v}`)).join(';');
}

/**
 * Codecs both sides support, in the offerer's order with the offerer's payload types; rtcp-fb
 * reduced to what both list; RTX kept only for a kept primary codec (RFC 4588 §8.6).
 */
export function intersectCodecs(offered: readonly Codec[], local: readonly Codec[]): Codec[] {
  const out: Codec[] = [];
  for (const o of offered) {
    if (isRtx(o)) continue;
    const l = local.find((c) => !isRtx(c) && sameCodec(o, c));
    if (!l) continue;
    const rtcpFeedback = o.rtcpFeedback.filter((fb) =>
      l.rtcpFeedback.some((x) => x.type === fb.type && (x.parameter ?? '') === (fb.parameter ?? '')),
    );
    // Format parameters describe what the answerer receives: ours, not the offer's.
    const { fmtp: _offered, ...rest } = o;
    out.push({ ...rest, ...(l.fmtp !== undefined && { fmtp: l.fmtp }), rtcpFeedback });
  }
  if (local.some(isRtx)) {
    const kept = new Set(out.map((c) => c.payloadType));
    for (const o of offered) {
      if (!isRtx(o)) continue;
      const apt = Number(parseFmtpParameters(o.fmtp ?? '').get('apt'));
      if (!kept.has(apt)) continue;
      // Place the RTX codec right after its primary, as browsers do.
      const at = out.findIndex((c) => c.payloadType === apt);
      out.splice(at + 1, 0, { ...o, fmtp: withApt(o.fmtp, apt), rtcpFeedback: [] });
    }
  }
  return out;
}
