/**
 * SDP text -> SessionDescription (RFC 8866 §5). Accepts CRLF or LF line ends; any malformed line
 * throws SdpParseError with its line number, and nothing else escapes.
 */
import {
  DIRECTIONS,
  parseConnection,
  parseExtmap,
  parseFingerprint,
  parseFmtp,
  parseGroup,
  parseIceCredential,
  parseIceOptions,
  parseMsid,
  parseMsidSemantic,
  parseRid,
  parseRtcp,
  parseRtcpFb,
  parseRtpMap,
  parseSetup,
  parseSimulcast,
  parseSsrc,
  parseSsrcGroup,
} from './attributes.js';
import { parseCandidate } from './candidate.js';
import { parseUint, SdpParseError } from './errors.js';
import {
  type Direction,
  emptyMedia,
  type MediaDescription,
  type Mutable,
  type SessionDescription,
} from './types.js';

type MediaBuilder = Mutable<MediaDescription>;
type SessionBuilder = Mutable<Omit<SessionDescription, 'media'>> & { media: MediaDescription[] };

/** Cap on input size, so a hostile peer cannot make us split megabytes of lines. */
export const MAX_SDP_LENGTH = 1 << 20;

function newMedia(value: string, line: number): MediaBuilder {
  // m=<media> <port>[/<number of ports>] <proto> <fmt> ...   (RFC 8866 §5.14)
  const f = value.trim().split(/ +/);
  if (f.length < 3) throw new SdpParseError(line, 'm=', value);
  const [portText, countText] = f[1]!.split('/');
  const m: MediaBuilder = { ...emptyMedia(), kind: f[0]!, protocol: f[2]!, formats: f.slice(3) };
  m.port = parseUint(portText, 65535, line, 'm= port');

  if (countText !== undefined) m.numberOfPorts = parseUint(countText, 65535, line, 'm= number of ports');
  return m;
}

function parseBandwidth(value: string, line: number): { type: string; value: number } {
  const m = /^([\w-]+):(\d+)$/.exec(value.trim());
  if (!m) throw new SdpParseError(line, 'b=', value);
  return { type: m[1]!, value: parseUint(m[2], Number.MAX_SAFE_INTEGER, line, 'b=') };
}

/** Attributes valid at both levels. Returns false when `name` is not one of them. */
function sharedAttribute(
  t: SessionBuilder | MediaBuilder,
  name: string,
  value: string | undefined,
  line: number,
): boolean {
  switch (name) {
    case 'ice-ufrag':
      t.iceUfrag = parseIceCredential(value, line, 'a=ice-ufrag');
      return true;
    case 'ice-pwd':
      t.icePwd = parseIceCredential(value, line, 'a=ice-pwd');
      return true;
    case 'ice-options':
      t.iceOptions = parseIceOptions(value, line);
      return true;
    case 'fingerprint':
      t.fingerprints.push(parseFingerprint(value, line));
      return true;
    case 'setup':
      t.setup = parseSetup(value, line);
      return true;
    case 'extmap':
      t.extmaps.push(parseExtmap(value, line));
      return true;
    case 'extmap-allow-mixed':
      t.extmapAllowMixed = true;
      return true;
    default:
      return false;
  }
}

function mediaAttribute(m: MediaBuilder, name: string, value: string | undefined, line: number): void {
  if (sharedAttribute(m, name, value, line)) return;
  if (DIRECTIONS.includes(name as Direction) && value === undefined) {
    m.direction = name as Direction;
    return;
  }
  switch (name) {
    case 'mid':
      m.mid = parseIceCredential(value, line, 'a=mid');
      return;
    case 'rtcp':
      m.rtcp = parseRtcp(value, line);
      return;
    case 'candidate':
      m.candidates.push(parseCandidate(value ?? '', line));
      return;
    case 'end-of-candidates':
      m.endOfCandidates = true;
      return;
    case 'msid':
      m.msids.push(parseMsid(value, line));
      return;
    case 'rtcp-mux':
      m.rtcpMux = true;
      return;
    case 'rtcp-mux-only':
      m.rtcpMuxOnly = true;
      return;
    case 'rtcp-rsize':
      m.rtcpRsize = true;
      return;
    case 'rtpmap':
      m.rtpmaps.push(parseRtpMap(value, line));
      return;
    case 'fmtp':
      m.fmtps.push(parseFmtp(value, line));
      return;
    case 'rtcp-fb':
      m.rtcpFbs.push(parseRtcpFb(value, line));
      return;
    case 'ssrc':
      m.ssrcs.push(parseSsrc(value, line));
      return;
    case 'ssrc-group':
      m.ssrcGroups.push(parseSsrcGroup(value, line));
      return;
    case 'rid':
      m.rids.push(parseRid(value, line));
      return;
    case 'simulcast':
      m.simulcast = parseSimulcast(value, line);
      return;
    case 'sctp-port':
      m.sctpPort = parseUint(value?.trim(), 65535, line, 'a=sctp-port');
      return;
    case 'max-message-size':
      m.maxMessageSize = parseUint(value?.trim(), Number.MAX_SAFE_INTEGER, line, 'a=max-message-size');
      return;
    case 'bundle-only':
      m.bundleOnly = true;
      return;
    default:
      m.attributes.push(value === undefined ? { name } : { name, value });
  }
}

function sessionAttribute(s: SessionBuilder, name: string, value: string | undefined, line: number): void {
  if (sharedAttribute(s, name, value, line)) return;
  switch (name) {
    case 'group':
      s.groups.push(parseGroup(value, line));
      return;
    case 'msid-semantic':
      s.msidSemantic = parseMsidSemantic(value, line);
      return;
    case 'ice-lite':
      s.iceLite = true;
      return;
    default:
      s.attributes.push(value === undefined ? { name } : { name, value });
  }
}

function parseOrigin(value: string, line: number): SessionBuilder['origin'] {
  // o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>  (RFC 8866 §5.2)
  const f = value.trim().split(/ +/);
  if (f.length !== 6 || !/^\d+$/.test(f[1]!) || !/^\d+$/.test(f[2]!))
    throw new SdpParseError(line, 'o=', value);
  return {
    username: f[0]!,
    sessionId: f[1]!,
    sessionVersion: f[2]!,
    netType: f[3]!,
    addrType: f[4]!,
    address: f[5]!,
  };
}

/** Parse a whole session description. */
export function parseSdp(text: string): SessionDescription {
  if (typeof text !== 'string') throw new SdpParseError(0, 'sdp', 'not a string');
  if (text.length > MAX_SDP_LENGTH) throw new SdpParseError(0, 'sdp', `longer than ${MAX_SDP_LENGTH}`);
  const lines = text.split('\n');
  const s: SessionBuilder = {
    version: 0,
    origin: {
      username: '-',
      sessionId: '0',
      sessionVersion: '0',
      netType: 'IN',
      addrType: 'IP4',
      address: '0.0.0.0',
    },
    sessionName: '-',
    bandwidths: [],
    timing: [],
    otherLines: [],
    groups: [],
    iceLite: false,
    fingerprints: [],
    extmapAllowMixed: false,
    extmaps: [],
    attributes: [],
    media: [],
  };
  let media: MediaBuilder | undefined;
  let sawVersion = false;
  let sawOrigin = false;
  for (let i = 0; i < lines.length; i++) {
    const no = i + 1;
    const raw = lines[i]!;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.length === 0) continue;
    if (text.length < 2 || text[1] !== '=' || !/^[a-z]$/.test(text[0]!)) {
      throw new SdpParseError(
        no,
        'line',
        `expected <type>=<value>, got ${JSON.stringify(text.slice(0, 40))}`,
      );
    }
    const type = text[0]!;
    const value = text.slice(2);
    if (!sawVersion) {
      if (type !== 'v') throw new SdpParseError(no, 'v=', 'a description must start with v=');
      if (value.trim() !== '0') throw new SdpParseError(no, 'v=', `unsupported version ${value}`);
      sawVersion = true;
      continue;
    }
    if (type === 'm') {
      if (media) s.media.push(media);
      media = newMedia(value, no);
      continue;
    }
    if (type === 'a') {
      const colon = value.indexOf(':');
      const name = colon < 0 ? value : value.slice(0, colon);
      const val = colon < 0 ? undefined : value.slice(colon + 1);
      if (name.length === 0) throw new SdpParseError(no, 'a=', 'empty attribute name');
      if (media) mediaAttribute(media, name, val, no);
      else sessionAttribute(s, name, val, no);
      continue;
    }
    if (media) {
      if (type === 'c') media.connection = parseConnection(value, no);
      else if (type === 'b') media.bandwidths.push(parseBandwidth(value, no));
      else if (type === 'i') media.title = value;
      else if (type === 'k')
        continue; // obsolete (RFC 8866 §5.12), ignored
      else throw new SdpParseError(no, `${type}=`, 'not allowed in a media section');
      continue;
    }
    switch (type) {
      case 'v':
        throw new SdpParseError(no, 'v=', 'repeated');
      case 'o':
        s.origin = parseOrigin(value, no);
        sawOrigin = true;
        break;
      case 's':
        s.sessionName = value;
        break;
      case 'c':
        s.connection = parseConnection(value, no);
        break;
      case 'b':
        s.bandwidths.push(parseBandwidth(value, no));
        break;
      case 't': {
        const f = value.trim().split(/ +/);
        if (f.length !== 2 || !/^\d+$/.test(f[0]!) || !/^\d+$/.test(f[1]!))
          throw new SdpParseError(no, 't=', value);
        s.timing.push({ start: f[0]!, stop: f[1]! });
        break;
      }
      default:
        s.otherLines.push({ type, value });
    }
  }
  if (!sawVersion) throw new SdpParseError(1, 'v=', 'empty description');
  if (!sawOrigin) throw new SdpParseError(1, 'o=', 'missing origin line');
  if (media) s.media.push(media);
  // t= is mandatory but carries nothing in WebRTC; a description without it means `t=0 0`.
  if (s.timing.length === 0) s.timing.push({ start: '0', stop: '0' });
  return s;
}
