/**
 * SessionDescription -> SDP text with CRLF line ends, in the order browsers write (so a Chromium
 * description serializes back line for line), unknown attributes after the known ones.
 */
import {
  serializeConnection,
  serializeExtmap,
  serializeFingerprint,
  serializeFmtp,
  serializeGroup,
  serializeMsid,
  serializeMsidSemantic,
  serializeRid,
  serializeRtcp,
  serializeRtcpFb,
  serializeRtpMap,
  serializeSimulcast,
  serializeSsrc,
  serializeSsrcGroup,
} from './attributes.js';
import { serializeCandidate } from './candidate.js';
import type { Attribute, MediaDescription, SessionDescription } from './types.js';

const attr = (a: Attribute): string => (a.value === undefined ? `a=${a.name}` : `a=${a.name}:${a.value}`);

function serializeMedia(m: MediaDescription, out: string[]): void {
  const port = m.numberOfPorts !== undefined ? `${m.port}/${m.numberOfPorts}` : `${m.port}`;
  out.push(`m=${[m.kind, port, m.protocol, ...m.formats].join(' ')}`);
  if (m.title !== undefined) out.push(`i=${m.title}`);
  if (m.connection) out.push(`c=${serializeConnection(m.connection)}`);
  for (const b of m.bandwidths) out.push(`b=${b.type}:${b.value}`);
  if (m.rtcp) out.push(`a=rtcp:${serializeRtcp(m.rtcp)}`);
  for (const c of m.candidates) out.push(`a=${serializeCandidate(c)}`);
  if (m.endOfCandidates) out.push('a=end-of-candidates');
  if (m.iceUfrag !== undefined) out.push(`a=ice-ufrag:${m.iceUfrag}`);
  if (m.icePwd !== undefined) out.push(`a=ice-pwd:${m.icePwd}`);
  if (m.iceOptions) out.push(`a=ice-options:${m.iceOptions.join(' ')}`);
  for (const f of m.fingerprints) out.push(`a=fingerprint:${serializeFingerprint(f)}`);
  if (m.setup) out.push(`a=setup:${m.setup}`);
  if (m.mid !== undefined) out.push(`a=mid:${m.mid}`);
  if (m.bundleOnly) out.push('a=bundle-only');
  if (m.extmapAllowMixed) out.push('a=extmap-allow-mixed');
  for (const e of m.extmaps) out.push(`a=extmap:${serializeExtmap(e)}`);
  if (m.direction) out.push(`a=${m.direction}`);
  for (const x of m.msids) out.push(`a=msid:${serializeMsid(x)}`);
  if (m.rtcpMux) out.push('a=rtcp-mux');
  if (m.rtcpMuxOnly) out.push('a=rtcp-mux-only');
  if (m.rtcpRsize) out.push('a=rtcp-rsize');
  for (const a of m.attributes) out.push(attr(a));
  // Per payload type, in m= order: rtpmap, rtcp-fb, fmtp (as browsers group them).
  const byPt = new Map<number, string[]>();
  const linesOf = (pt: number): string[] => {
    let l = byPt.get(pt);
    if (!l) byPt.set(pt, (l = []));
    return l;
  };
  for (const f of m.formats) {
    const pt = Number(f);
    if (Number.isInteger(pt)) linesOf(pt);
  }
  for (const r of m.rtpmaps) linesOf(r.payloadType).push(`a=rtpmap:${serializeRtpMap(r)}`);
  for (const fb of m.rtcpFbs) {
    if (fb.payloadType === '*') out.push(`a=rtcp-fb:${serializeRtcpFb(fb)}`);
    else linesOf(fb.payloadType).push(`a=rtcp-fb:${serializeRtcpFb(fb)}`);
  }
  for (const f of m.fmtps) linesOf(f.payloadType).push(`a=fmtp:${serializeFmtp(f)}`);
  for (const lines of byPt.values()) for (const l of lines) out.push(l);
  for (const g of m.ssrcGroups) out.push(`a=ssrc-group:${serializeSsrcGroup(g)}`);
  for (const x of m.ssrcs) out.push(`a=ssrc:${serializeSsrc(x)}`);
  for (const r of m.rids) out.push(`a=rid:${serializeRid(r)}`);
  if (m.simulcast) out.push(`a=simulcast:${serializeSimulcast(m.simulcast)}`);
  if (m.sctpPort !== undefined) out.push(`a=sctp-port:${m.sctpPort}`);
  if (m.maxMessageSize !== undefined) out.push(`a=max-message-size:${m.maxMessageSize}`);
}

/** Serialize a session description; every line ends in CRLF. */
export function serializeSdp(s: SessionDescription): string {
  const out: string[] = [`v=${s.version}`];
  const o = s.origin;
  out.push(`o=${o.username} ${o.sessionId} ${o.sessionVersion} ${o.netType} ${o.addrType} ${o.address}`);
  out.push(`s=${s.sessionName}`);
  const early = s.otherLines.filter((l) => 'iuep'.includes(l.type));
  const late = s.otherLines.filter((l) => !'iuep'.includes(l.type));
  for (const l of early) out.push(`${l.type}=${l.value}`);
  if (s.connection) out.push(`c=${serializeConnection(s.connection)}`);
  for (const b of s.bandwidths) out.push(`b=${b.type}:${b.value}`);
  const timing = s.timing.length > 0 ? s.timing : [{ start: '0', stop: '0' }];
  for (const t of timing) out.push(`t=${t.start} ${t.stop}`);
  for (const l of late) out.push(`${l.type}=${l.value}`);
  if (s.iceLite) out.push('a=ice-lite');
  if (s.iceUfrag !== undefined) out.push(`a=ice-ufrag:${s.iceUfrag}`);
  if (s.icePwd !== undefined) out.push(`a=ice-pwd:${s.icePwd}`);
  if (s.iceOptions) out.push(`a=ice-options:${s.iceOptions.join(' ')}`);
  for (const f of s.fingerprints) out.push(`a=fingerprint:${serializeFingerprint(f)}`);
  if (s.setup) out.push(`a=setup:${s.setup}`);
  for (const g of s.groups) out.push(`a=group:${serializeGroup(g)}`);
  if (s.extmapAllowMixed) out.push('a=extmap-allow-mixed');
  for (const e of s.extmaps) out.push(`a=extmap:${serializeExtmap(e)}`);
  if (s.msidSemantic) out.push(`a=msid-semantic:${serializeMsidSemantic(s.msidSemantic)}`);
  for (const a of s.attributes) out.push(attr(a));
  for (const m of s.media) serializeMedia(m, out);
  return `${out.join('\r\n')}\r\n`;
}
