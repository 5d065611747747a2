/**
 * JSEP (RFC 9429) offer and answer construction as pure functions: the peer connection describes its
 * transceivers, data channel, ICE credentials and certificate fingerprints; these return the
 * SessionDescription to serialize. Validation of remote descriptions is in jsep-validate.ts.
 */
import { cryptoRandom } from '../core/random.js';
import { type Codec, codecLines, codecsOf, intersectCodecs } from './codecs.js';
import type {
  Candidate,
  Direction,
  Extmap,
  Fingerprint,
  MediaDescription,
  Msid,
  SessionDescription,
  SetupRole,
  Simulcast,
} from './types.js';
import { EMPTY_MEDIA } from './types.js';

export * from './jsep-validate.js';

/** RFC 8841: the default SCTP port of a data channel section. */
export const DEFAULT_SCTP_PORT = 5000;
/** What we accept in one data channel message (RFC 8841 §6: a=max-message-size). */
export const DEFAULT_MAX_MESSAGE_SIZE = 262144;
export const RTP_PROTOCOL = 'UDP/TLS/RTP/SAVPF';
export const DATA_PROTOCOL = 'UDP/DTLS/SCTP';

export interface IceParameters {
  readonly ufrag: string;
  readonly pwd: string;
  readonly lite?: boolean;
}

/** An RTP transceiver as it appears in a description. */
export interface RtpSection {
  readonly kind: 'audio' | 'video';
  readonly mid: string;
  readonly direction: Direction;
  /** Codecs we can handle, in preference order (payload types are ours in offers). */
  readonly codecs: readonly Codec[];
  readonly headerExtensions?: readonly Extmap[];
  readonly msid?: Msid;
  /** What we send (when the direction sends): SSRC, RTX SSRC and CNAME. */
  readonly send?: { readonly ssrc: number; readonly rtxSsrc?: number; readonly cname: string };
  /** Simulcast rids we send (RFC 8853), lowest layer first. */
  readonly sendRids?: readonly string[];
  /** Accept simulcast offered to us (default true). */
  readonly receiveSimulcast?: boolean;
  readonly rtcpRsize?: boolean;
  /** A stopped transceiver: the section is rejected (port 0). */
  readonly stopped?: boolean;
}

export interface DataSection {
  readonly kind: 'application';
  readonly mid: string;
  readonly sctpPort?: number;
  readonly maxMessageSize?: number;
  readonly stopped?: boolean;
}

export type LocalSection = RtpSection | DataSection;

export interface DescriptionOptions {
  /** Decimal session id (RFC 8866 §5.2), fixed for the life of the peer connection. */
  readonly sessionId: string;
  /** Incremented by the caller on every new local description. */
  readonly sessionVersion: number | string;
  readonly ice: IceParameters;
  readonly fingerprints: readonly Fingerprint[];
  /** Offers: 'actpass' (default). Answers: our role when the offer says actpass (default 'active'). */
  readonly setup?: SetupRole;
  readonly sections: readonly LocalSection[];
  /** max-bundle (default): one BUNDLE group with every accepted section. */
  readonly bundle?: boolean;
  /** Gathered candidates, placed in every accepted section (they share the bundle transport). */
  readonly candidates?: readonly Candidate[];
  readonly endOfCandidates?: boolean;
  /** Advertise `a=ice-options:trickle` (default true). */
  readonly trickle?: boolean;
  readonly extmapAllowMixed?: boolean;
}

/** ice-char (RFC 8839 §5.4): ALPHA / DIGIT / "+" / "/", 64 of them: one per 6 random bits. */
const ICE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** RFC 8839 §5.4: ufrag at least 4 characters, pwd at least 22 (ours 8 and 24). */
const ICE_UFRAG_CHARS = 8;
const ICE_PWD_CHARS = 24;

/** Fresh ICE credentials (RFC 8839 §5.4: ufrag >= 24 bits, pwd >= 128 bits of randomness). */
export function generateIceCredentials(): IceParameters {
  // node:crypto's CSPRNG through core/random's pool (one call into it per 4 KiB; every
  // RTCPeerConnection makes a set), a plain loop per string.
  const b = cryptoRandom.bytes(ICE_UFRAG_CHARS + ICE_PWD_CHARS);
  let ufrag = '';
  let pwd = '';
  for (let i = 0; i < ICE_UFRAG_CHARS; i++) ufrag += ICE_CHARS[b[i]! & 63];
  for (let i = ICE_UFRAG_CHARS; i < b.length; i++) pwd += ICE_CHARS[b[i]! & 63];
  return { ufrag, pwd };
}

/** A fresh session id for `o=`: 62 random bits as a decimal string (RFC 9429 §5.2.1). */
export function generateSessionId(): string {
  const b = cryptoRandom.bytes(8);
  return (new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0) >> 2n).toString();
}

const SENDS = (d: Direction): boolean => d === 'sendrecv' || d === 'sendonly';
const RECEIVES = (d: Direction): boolean => d === 'sendrecv' || d === 'recvonly';
function direction(send: boolean, recv: boolean): Direction {
  return send ? (recv ? 'sendrecv' : 'sendonly') : recv ? 'recvonly' : 'inactive';
}
/** The direction as seen from the other side. */
export function reverseDirection(d: Direction): Direction {
  return direction(RECEIVES(d), SENDS(d));
}
/** RFC 9429 §5.3.1: what we may do given what we want and what the offer allows. */
export function answerDirection(local: Direction, offered: Direction): Direction {
  return direction(SENDS(local) && RECEIVES(offered), RECEIVES(local) && SENDS(offered));
}

function transportLines(o: DescriptionOptions, setup: SetupRole): Partial<MediaDescription> {
  const cands = o.candidates ?? [];
  const first = cands.find((c) => c.component === 1 && c.transport === 'udp') ?? cands[0];
  const v6 = first?.address.includes(':') ?? false;
  return {
    port: first?.port ?? 9,
    connection: { netType: 'IN', addrType: v6 ? 'IP6' : 'IP4', address: first?.address ?? '0.0.0.0' },
    candidates: cands,
    endOfCandidates: o.endOfCandidates ?? false,
    iceUfrag: o.ice.ufrag,
    icePwd: o.ice.pwd,
    ...((o.trickle ?? true) && { iceOptions: ['trickle'] }),
    fingerprints: o.fingerprints,
    setup,
  };
}

function rtpSection(
  l: RtpSection,
  o: DescriptionOptions,
  setup: SetupRole,
  codecs: readonly Codec[],
  dir: Direction,
  extmaps: readonly Extmap[],
  simulcast: Simulcast | undefined,
  rsize: boolean,
): MediaDescription {
  const lines = codecLines(codecs);
  const ssrcGroups = [];
  const ssrcs = [];
  if (SENDS(dir) && l.send && !simulcast?.send) {
    const ids = [l.send.ssrc, ...(l.send.rtxSsrc !== undefined ? [l.send.rtxSsrc] : [])];
    if (ids.length > 1) ssrcGroups.push({ semantics: 'FID', ssrcs: ids });
    for (const ssrc of ids) {
      ssrcs.push({ ssrc, attribute: 'cname', value: l.send.cname });
      if (l.msid)
        ssrcs.push({ ssrc, attribute: 'msid', value: `${l.msid.stream} ${l.msid.track ?? ''}`.trim() });
    }
  }
  const rids = [
    ...(simulcast?.send ?? [])
      .flat()
      .map((r) => ({ id: r.rid, direction: 'send' as const, restrictions: [] })),
    ...(simulcast?.recv ?? [])
      .flat()
      .map((r) => ({ id: r.rid, direction: 'recv' as const, restrictions: [] })),
  ];
  return {
    ...EMPTY_MEDIA,
    ...transportLines(o, setup),
    kind: l.kind,
    protocol: RTP_PROTOCOL,
    formats: lines.formats,
    rtcp: { port: 9, connection: { netType: 'IN', addrType: 'IP4', address: '0.0.0.0' } },
    mid: l.mid,
    extmaps,
    direction: dir,
    msids: SENDS(dir) && l.msid ? [l.msid] : [],
    rtcpMux: true,
    rtcpRsize: rsize,
    rtpmaps: lines.rtpmaps,
    fmtps: lines.fmtps,
    rtcpFbs: lines.rtcpFbs,
    ssrcGroups,
    ssrcs,
    rids,
    ...(simulcast && { simulcast }),
  };
}

function dataSection(
  l: DataSection,
  o: DescriptionOptions,
  setup: SetupRole,
  protocol = DATA_PROTOCOL,
): MediaDescription {
  return {
    ...EMPTY_MEDIA,
    ...transportLines(o, setup),
    kind: 'application',
    protocol,
    formats: ['webrtc-datachannel'],
    mid: l.mid,
    sctpPort: l.sctpPort ?? DEFAULT_SCTP_PORT,
    maxMessageSize: l.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
  };
}

/** A rejected section (port 0) answering or re-offering `m` (RFC 9429 §5.3.1, §5.2.2). */
export function rejectedSection(
  m: Pick<MediaDescription, 'kind' | 'protocol' | 'formats' | 'mid'>,
): MediaDescription {
  return {
    ...EMPTY_MEDIA,
    kind: m.kind,
    port: 0,
    protocol: m.protocol,
    formats: m.formats.length > 0 ? [m.formats[0]!] : [m.kind === 'application' ? 'webrtc-datachannel' : '0'],
    connection: { netType: 'IN', addrType: 'IP4', address: '0.0.0.0' },
    ...(m.mid !== undefined && { mid: m.mid }),
  };
}

function session(o: DescriptionOptions, media: MediaDescription[], bundleMids: string[]): SessionDescription {
  return {
    version: 0,
    origin: {
      username: '-',
      sessionId: o.sessionId,
      sessionVersion: String(o.sessionVersion),
      netType: 'IN',
      addrType: 'IP4',
      address: '127.0.0.1',
    },
    sessionName: '-',
    bandwidths: [],
    timing: [{ start: '0', stop: '0' }],
    otherLines: [],
    groups: (o.bundle ?? true) && bundleMids.length > 0 ? [{ semantics: 'BUNDLE', mids: bundleMids }] : [],
    msidSemantic: { semantic: 'WMS', ids: [] },
    iceLite: o.ice.lite ?? false,
    fingerprints: [],
    extmapAllowMixed: o.extmapAllowMixed ?? true,
    extmaps: [],
    attributes: [],
    media,
  };
}

/** Build an offer (RFC 9429 §5.2) from our sections, in order. */
export function buildOffer(o: DescriptionOptions): SessionDescription {
  const setup = o.setup ?? 'actpass';
  const media: MediaDescription[] = [];
  const bundle: string[] = [];
  for (const l of o.sections) {
    if (l.stopped) {
      media.push(
        rejectedSection({
          kind: l.kind,
          protocol: l.kind === 'application' ? DATA_PROTOCOL : RTP_PROTOCOL,
          formats: l.kind === 'application' ? ['webrtc-datachannel'] : codecLines(l.codecs).formats,
          mid: l.mid,
        }),
      );
      continue;
    }
    bundle.push(l.mid);
    if (l.kind === 'application') {
      media.push(dataSection(l, o, setup));
      continue;
    }
    const simulcast: Simulcast | undefined =
      l.sendRids && l.sendRids.length > 1 && SENDS(l.direction)
        ? { send: l.sendRids.map((rid) => [{ rid, paused: false }]) }
        : undefined;
    media.push(
      rtpSection(
        l,
        o,
        setup,
        l.codecs,
        l.direction,
        l.headerExtensions ?? [],
        simulcast,
        l.rtcpRsize ?? true,
      ),
    );
  }
  return session(o, media, bundle);
}

/** RFC 9429 §5.3.1 / RFC 8842 §5.3: our setup role given the offer's. */
export function answerSetup(offered: SetupRole | undefined, preferred: SetupRole = 'active'): SetupRole {
  if (offered === 'active') return 'passive';
  if (offered === 'passive') return 'active';
  return preferred === 'passive' ? 'passive' : 'active';
}

function answerSimulcast(m: MediaDescription, l: RtpSection, dir: Direction): Simulcast | undefined {
  const offered = m.simulcast;
  if (!offered) return undefined;
  const out: { send?: Simulcast['send']; recv?: Simulcast['recv'] } = {};
  // The offerer sends these layers; we receive them when we receive at all.
  const offeredRids = new Set(m.rids.map((r) => r.id));
  if (offered.send && RECEIVES(dir) && (l.receiveSimulcast ?? true)) {
    out.recv = offered.send
      .map((alts) => alts.filter((a) => offeredRids.has(a.rid) || m.rids.length === 0))
      .filter((alts) => alts.length > 0);
  }
  if (offered.recv && SENDS(dir) && l.sendRids) {
    const mine = new Set(l.sendRids);
    out.send = offered.recv
      .map((alts) => alts.filter((a) => mine.has(a.rid)))
      .filter((alts) => alts.length > 0);
  }
  return out.send?.length || out.recv?.length ? out : undefined;
}

/**
 * Build an answer (RFC 9429 §5.3) to `offer`. Our sections are matched to the offer's by mid; an
 * offered section with no match, another kind, an unknown protocol or no common codec is rejected
 * with port 0. Codecs keep the offerer's payload types; directions, header extensions and
 * simulcast are intersected; BUNDLE keeps the offer's group minus what we reject.
 */
export function buildAnswer(offer: SessionDescription, o: DescriptionOptions): SessionDescription {
  const media: MediaDescription[] = [];
  const accepted = new Set<string>();
  for (const m of offer.media) {
    const l = o.sections.find((s) => s.mid === m.mid);
    const setup = answerSetup(m.setup ?? offer.setup, o.setup);
    const reject = (): void => {
      media.push(rejectedSection(m));
    };
    if (!l || l.stopped || m.port === 0 || l.kind !== m.kind || m.mid === undefined) {
      reject();
      continue;
    }
    if (l.kind === 'application') {
      if (!/^(UDP|TCP)\/DTLS\/SCTP$/.test(m.protocol) || !m.formats.includes('webrtc-datachannel')) {
        reject();
        continue;
      }
      media.push(dataSection(l, o, setup, m.protocol));
      accepted.add(m.mid);
      continue;
    }
    if (
      !/^(UDP\/TLS|TCP\/TLS|UDP\/DTLS|TCP\/DTLS)\/RTP\/SAVPF$/.test(m.protocol) &&
      m.protocol !== 'RTP/SAVPF'
    ) {
      reject();
      continue;
    }
    const codecs = intersectCodecs(codecsOf(m), l.codecs);
    if (codecs.length === 0) {
      reject();
      continue;
    }
    const dir = answerDirection(l.direction, m.direction ?? 'sendrecv');
    const localUris = new Set((l.headerExtensions ?? []).map((e) => e.uri));
    const extmaps = m.extmaps
      .filter((e) => localUris.has(e.uri))
      .map((e) => (e.direction ? { ...e, direction: reverseDirection(e.direction) } : e));
    const section = rtpSection(
      { ...l, protocol: m.protocol } as RtpSection,
      o,
      setup,
      codecs,
      dir,
      extmaps,
      answerSimulcast(m, l, dir),
      m.rtcpRsize && (l.rtcpRsize ?? true),
    );
    media.push({ ...section, protocol: m.protocol });
    accepted.add(m.mid);
  }
  const bundleGroup = offer.groups.find((g) => g.semantics === 'BUNDLE');
  const bundleMids = bundleGroup ? bundleGroup.mids.filter((mid) => accepted.has(mid)) : [];
  const s = session({ ...o, bundle: bundleGroup !== undefined && (o.bundle ?? true) }, media, bundleMids);
  return { ...s, extmapAllowMixed: offer.extmapAllowMixed && (o.extmapAllowMixed ?? true) };
}
