/**
 * Parsers for the values of the attributes WebRTC uses (`a=<name>:<value>`), one function each,
 * with their serializers. Each throws SdpParseError naming the line.
 */
import { parseUint, SdpParseError } from './errors.js';
import type {
  Connection,
  Direction,
  Extmap,
  Fingerprint,
  Fmtp,
  Group,
  Msid,
  MsidSemantic,
  Rid,
  RtcpAttribute,
  RtcpFb,
  RtpMap,
  SetupRole,
  Simulcast,
  SimulcastRid,
  SsrcAttribute,
  SsrcGroup,
} from './types.js';

const MAX_U32 = 0xffffffff;
const NON_WS = /^\S+$/;

export const DIRECTIONS: readonly Direction[] = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];
export const SETUP_ROLES: readonly SetupRole[] = ['actpass', 'active', 'passive', 'holdconn'];

function need(value: string | undefined, line: number, field: string): string {
  if (value === undefined || value.length === 0) throw new SdpParseError(line, field, 'missing value');
  return value;
}

/** `<nettype> <addrtype> <address>` (RFC 8866 §5.7). */
export function parseConnection(value: string, line: number, field = 'c='): Connection {
  const f = value.trim().split(/ +/);
  if (f.length !== 3 || f.some((x) => x.length === 0)) throw new SdpParseError(line, field, value);
  return { netType: f[0]!, addrType: f[1]!, address: f[2]! };
}
export const serializeConnection = (c: Connection): string => `${c.netType} ${c.addrType} ${c.address}`;

export function parseGroup(value: string | undefined, line: number): Group {
  const f = need(value, line, 'a=group').trim().split(/ +/);
  return { semantics: f[0]!, mids: f.slice(1).filter((x) => x.length > 0) };
}
export const serializeGroup = (g: Group): string => [g.semantics, ...g.mids].join(' ');

export function parseMsidSemantic(value: string | undefined, line: number): MsidSemantic {
  const f = need(value, line, 'a=msid-semantic').trim().split(/ +/);
  if (f[0]!.length === 0) throw new SdpParseError(line, 'a=msid-semantic', 'missing semantic');
  return { semantic: f[0]!, ids: f.slice(1).filter((x) => x.length > 0) };
}
/** Browsers write a space after the colon (`a=msid-semantic: WMS`); we do too. */
export const serializeMsidSemantic = (m: MsidSemantic): string => [` ${m.semantic}`, ...m.ids].join(' ');

export function parseFingerprint(value: string | undefined, line: number): Fingerprint {
  const f = need(value, line, 'a=fingerprint').trim().split(/ +/);
  if (f.length !== 2 || !/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2})*$/.test(f[1]!)) {
    throw new SdpParseError(line, 'a=fingerprint', `${value}`);
  }
  return { algorithm: f[0]!.toLowerCase(), value: f[1]!.toUpperCase() };
}
export const serializeFingerprint = (f: Fingerprint): string => `${f.algorithm} ${f.value}`;

export function parseSetup(value: string | undefined, line: number): SetupRole {
  if (!SETUP_ROLES.includes(value as SetupRole)) throw new SdpParseError(line, 'a=setup', `${value}`);
  return value as SetupRole;
}

export function parseIceOptions(value: string | undefined, line: number): string[] {
  return need(value, line, 'a=ice-options')
    .trim()
    .split(/ +/)
    .filter((x) => x.length > 0);
}

export function parseIceCredential(value: string | undefined, line: number, field: string): string {
  const v = need(value, line, field).trim();
  if (!NON_WS.test(v)) throw new SdpParseError(line, field, v);
  return v;
}

/** `a=rtcp:<port> [<nettype> <addrtype> <address>]` (RFC 3605 §2.1). */
export function parseRtcp(value: string | undefined, line: number): RtcpAttribute {
  const v = need(value, line, 'a=rtcp').trim();
  const sp = v.indexOf(' ');
  const port = parseUint(sp < 0 ? v : v.slice(0, sp), 65535, line, 'a=rtcp port');
  return sp < 0 ? { port } : { port, connection: parseConnection(v.slice(sp + 1), line, 'a=rtcp') };
}
export const serializeRtcp = (r: RtcpAttribute): string =>
  r.connection ? `${r.port} ${serializeConnection(r.connection)}` : `${r.port}`;

/** `<pt> <encoding name>/<clock rate>[/<encoding parameters>]` (RFC 8866 §6.6). */
export function parseRtpMap(value: string | undefined, line: number): RtpMap {
  const v = need(value, line, 'a=rtpmap').trim();
  const m = /^(\d+) +([^/\s]+)\/(\d+)(?:\/(\d+))?$/.exec(v);
  if (!m) throw new SdpParseError(line, 'a=rtpmap', v);
  const out: RtpMap = {
    payloadType: parseUint(m[1], 127, line, 'a=rtpmap payload type'),
    encodingName: m[2]!,
    clockRate: parseUint(m[3], MAX_U32, line, 'a=rtpmap clock rate'),
  };
  return m[4] === undefined
    ? out
    : { ...out, encodingParameters: parseUint(m[4], 255, line, 'a=rtpmap encoding parameters') };
}
export const serializeRtpMap = (r: RtpMap): string =>
  `${r.payloadType} ${r.encodingName}/${r.clockRate}${r.encodingParameters !== undefined ? `/${r.encodingParameters}` : ''}`;

export function parseFmtp(value: string | undefined, line: number): Fmtp {
  const v = need(value, line, 'a=fmtp');
  const m = /^(\d+) (.*)$/.exec(v);
  if (!m) throw new SdpParseError(line, 'a=fmtp', v);
  return { payloadType: parseUint(m[1], 127, line, 'a=fmtp payload type'), parameters: m[2]!.trim() };
}
export const serializeFmtp = (f: Fmtp): string => `${f.payloadType} ${f.parameters}`;

/**
 * `key=value;key=value` fmtp parameters as a Map (keys lower-cased); a part without `=` (as in
 * `a=fmtp:63 111/111`, RFC 2198) maps to ''.
 */
export function parseFmtpParameters(parameters: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of parameters.split(';')) {
    const p = part.trim();
    if (p.length === 0) continue;
    const eq = p.indexOf('=');
    if (eq < 0) out.set(p, '');
    else out.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim());
  }
  return out;
}
export function serializeFmtpParameters(params: ReadonlyMap<string, string>): string {
  return [...params].map(([k, v]) => (v === '' ? k : `${k}=${v}`)).join(';');
}

export function parseRtcpFb(value: string | undefined, line: number): RtcpFb {
  const f = need(value, line, 'a=rtcp-fb').trim().split(/ +/);
  if (f.length < 2) throw new SdpParseError(line, 'a=rtcp-fb', `${value}`);
  const payloadType = f[0] === '*' ? '*' : parseUint(f[0], 127, line, 'a=rtcp-fb payload type');
  const parameter = f.slice(2).join(' ');
  return parameter ? { payloadType, type: f[1]!, parameter } : { payloadType, type: f[1]! };
}
export const serializeRtcpFb = (r: RtcpFb): string =>
  `${r.payloadType} ${r.type}${r.parameter !== undefined ? ` ${r.parameter}` : ''}`;

export function parseExtmap(value: string | undefined, line: number): Extmap {
  const v = need(value, line, 'a=extmap').trim();
  const m = /^(\d+)(?:\/(\w+))? +(\S+)(?: +(.*))?$/.exec(v);
  if (!m) throw new SdpParseError(line, 'a=extmap', v);
  const id = parseUint(m[1], 255, line, 'a=extmap id');
  if (id === 0 || id === 15) throw new SdpParseError(line, 'a=extmap id', `${id} is reserved`);
  if (m[2] !== undefined && !DIRECTIONS.includes(m[2] as Direction)) {
    throw new SdpParseError(line, 'a=extmap direction', m[2]);
  }
  return {
    id,
    ...(m[2] !== undefined && { direction: m[2] as Direction }),
    uri: m[3]!,
    ...(m[4] !== undefined && { attributes: m[4] }),
  };
}
export const serializeExtmap = (e: Extmap): string =>
  `${e.id}${e.direction ? `/${e.direction}` : ''} ${e.uri}${e.attributes !== undefined ? ` ${e.attributes}` : ''}`;

export function parseSsrc(value: string | undefined, line: number): SsrcAttribute {
  const v = need(value, line, 'a=ssrc');
  const m = /^(\d+) +([^:\s]+)(?::(.*))?$/.exec(v.trim());
  if (!m) throw new SdpParseError(line, 'a=ssrc', v);
  const ssrc = parseUint(m[1], MAX_U32, line, 'a=ssrc');
  return m[3] === undefined ? { ssrc, attribute: m[2]! } : { ssrc, attribute: m[2]!, value: m[3] };
}
export const serializeSsrc = (s: SsrcAttribute): string =>
  `${s.ssrc} ${s.attribute}${s.value !== undefined ? `:${s.value}` : ''}`;

export function parseSsrcGroup(value: string | undefined, line: number): SsrcGroup {
  const f = need(value, line, 'a=ssrc-group').trim().split(/ +/);
  return {
    semantics: f[0]!,
    ssrcs: f.slice(1).map((x) => parseUint(x, MAX_U32, line, 'a=ssrc-group ssrc')),
  };
}
export const serializeSsrcGroup = (g: SsrcGroup): string => [g.semantics, ...g.ssrcs].join(' ');

export function parseMsid(value: string | undefined, line: number): Msid {
  const f = need(value, line, 'a=msid').trim().split(/ +/);
  if (f.length > 2) throw new SdpParseError(line, 'a=msid', `${value}`);
  return f[1] === undefined ? { stream: f[0]! } : { stream: f[0]!, track: f[1] };
}
export const serializeMsid = (m: Msid): string =>
  m.track !== undefined ? `${m.stream} ${m.track}` : m.stream;

const RID_ID = /^[A-Za-z0-9_-]+$/;

/** RFC 8851 §10: `a=rid:<rid-id> SP <send|recv> [SP pt=<fmt>,..;<restriction>=<value>;..]`. */
export function parseRid(value: string | undefined, line: number): Rid {
  const f = need(value, line, 'a=rid').trim().split(/ +/);
  const [id, dir, params] = f;
  if (f.length > 3 || !RID_ID.test(id ?? '')) throw new SdpParseError(line, 'a=rid', `${value}`);
  if (dir !== 'send' && dir !== 'recv') throw new SdpParseError(line, 'a=rid direction', `${dir}`);
  let payloadTypes: number[] | undefined;
  const restrictions: [string, string | undefined][] = [];
  for (const part of params?.split(';') ?? []) {
    if (part.length === 0) continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const val = eq < 0 ? undefined : part.slice(eq + 1);
    if (key === 'pt' && val !== undefined) {
      payloadTypes = val.split(',').map((x) => parseUint(x, 127, line, 'a=rid pt'));
    } else restrictions.push([key, val]);
  }
  return { id: id!, direction: dir, ...(payloadTypes && { payloadTypes }), restrictions };
}
export function serializeRid(r: Rid): string {
  const parts: string[] = [];
  if (r.payloadTypes) parts.push(`pt=${r.payloadTypes.join(',')}`);
  for (const [k, v] of r.restrictions) parts.push(v === undefined ? k : `${k}=${v}`);
  return `${r.id} ${r.direction}${parts.length ? ` ${parts.join(';')}` : ''}`;
}

function parseSimulcastList(text: string, line: number): SimulcastRid[][] {
  return text.split(';').map((stream) =>
    stream.split(',').map((alt) => {
      const paused = alt.startsWith('~');
      const rid = paused ? alt.slice(1) : alt;
      if (!RID_ID.test(rid)) throw new SdpParseError(line, 'a=simulcast rid', alt);
      return { rid, paused };
    }),
  );
}
const serializeSimulcastList = (l: readonly (readonly SimulcastRid[])[]): string =>
  l.map((s) => s.map((a) => `${a.paused ? '~' : ''}${a.rid}`).join(',')).join(';');

/** RFC 8853 §5.1: `a=simulcast:send <list> [recv <list>]` (either order, at least one). */
export function parseSimulcast(value: string | undefined, line: number): Simulcast {
  const f = need(value, line, 'a=simulcast').trim().split(/ +/);
  if (f.length !== 2 && f.length !== 4) throw new SdpParseError(line, 'a=simulcast', `${value}`);
  let send: SimulcastRid[][] | undefined;
  let recv: SimulcastRid[][] | undefined;
  for (let i = 0; i < f.length; i += 2) {
    const list = parseSimulcastList(f[i + 1]!, line);
    if (f[i] === 'send' && !send) send = list;
    else if (f[i] === 'recv' && !recv) recv = list;
    else throw new SdpParseError(line, 'a=simulcast direction', f[i]!);
  }
  return { ...(send && { send }), ...(recv && { recv }) };
}
export function serializeSimulcast(s: Simulcast): string {
  const parts: string[] = [];
  if (s.send) parts.push(`send ${serializeSimulcastList(s.send)}`);
  if (s.recv) parts.push(`recv ${serializeSimulcastList(s.recv)}`);
  return parts.join(' ');
}
