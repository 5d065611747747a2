/**
 * The SDP `candidate` attribute value (RFC 8839 §5.1), the form candidates travel in over signaling:
 *
 *   candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>
 *             [raddr <address> rport <port>] [tcptype <active|passive|so>] *(<name> <value>)
 *
 * Only what ICE needs; the SDP layer has its own full parser. `parseCandidate` accepts the value
 * with or without the `candidate:` / `a=candidate:` prefix. Bad input throws ParseError('ice').
 */
import { ParseError } from '../core/errors.js';
import type { Candidate, CandidateProtocol, CandidateType, TcpType } from './candidate.js';

const TYPES: readonly CandidateType[] = ['host', 'srflx', 'prflx', 'relay'];
const TCP_TYPES: readonly TcpType[] = ['active', 'passive', 'so'];
/** RFC 8839 §5.1: foundation is 1*32 ice-char. */
const FOUNDATION_RE = /^[A-Za-z0-9+/]{1,32}$/;
const TOKEN_RE = /^[\x21-\x7e]+$/;

function fail(field: string, offset: number, detail: string): never {
  throw new ParseError('ice', field, offset, detail, 'ERR_ICE_BAD_CANDIDATE');
}

function parseIntField(tok: string | undefined, field: string, at: number, max: number): number {
  if (tok === undefined || !/^\d{1,10}$/.test(tok)) fail(field, at, `expected an integer, got ${tok}`);
  const n = Number(tok);
  if (n > max) fail(field, at, `${n} out of range`);
  return n;
}

export function parseCandidate(text: string): Candidate {
  let s = text.trim();
  if (s.startsWith('a=')) s = s.slice(2);
  if (s.startsWith('candidate:')) s = s.slice('candidate:'.length);
  if (s.length > 1024) fail('candidate', 0, 'too long');
  const tok = s.split(/\s+/).filter((t) => t.length > 0);
  let i = 0;
  const next = (field: string): string => {
    const t = tok[i++];
    if (t === undefined) fail(field, i - 1, 'missing');
    return t;
  };
  const foundation = next('foundation');
  if (!FOUNDATION_RE.test(foundation)) fail('foundation', 0, 'not ice-char');
  const component = parseIntField(next('component'), 'component', 1, 256);
  if (component < 1) fail('component', 1, 'must be 1..256');
  const transport = next('transport').toLowerCase();
  if (transport !== 'udp' && transport !== 'tcp') fail('transport', 2, `unsupported ${transport}`);
  const priority = parseIntField(next('priority'), 'priority', 3, 0xffffffff);
  const address = next('address');
  if (!TOKEN_RE.test(address)) fail('address', 4, 'bad characters');
  const port = parseIntField(next('port'), 'port', 5, 65535);
  if (next('typ') !== 'typ') fail('typ', 6, 'expected "typ"');
  const type = next('type') as CandidateType;
  if (!TYPES.includes(type)) fail('type', 7, `unknown ${type}`);
  let relatedAddress: string | undefined;
  let relatedPort: number | undefined;
  let tcpType: TcpType | undefined;
  const extensions: [string, string][] = [];
  while (i < tok.length) {
    const at = i;
    const name = next('extension');
    const value = next(name);
    if (name === 'raddr') {
      if (!TOKEN_RE.test(value)) fail('raddr', at, 'bad characters');
      relatedAddress = value;
    } else if (name === 'rport') relatedPort = parseIntField(value, 'rport', at, 65535);
    else if (name === 'tcptype') {
      if (!TCP_TYPES.includes(value as TcpType)) fail('tcptype', at, `unknown ${value}`);
      tcpType = value as TcpType;
    } else {
      if (!TOKEN_RE.test(name) || !TOKEN_RE.test(value)) fail('extension', at, 'bad characters');
      extensions.push([name, value]);
    }
  }
  const c: {
    -readonly [K in keyof Candidate]: Candidate[K];
  } = {
    foundation,
    component,
    protocol: transport as CandidateProtocol,
    priority,
    address,
    port,
    type,
  };
  if (relatedAddress !== undefined) c.relatedAddress = relatedAddress;
  if (relatedPort !== undefined) c.relatedPort = relatedPort;
  if (tcpType !== undefined) c.tcpType = tcpType;
  if (extensions.length > 0) c.extensions = extensions;
  return c;
}

/** The attribute value, starting with `candidate:` (as RTCIceCandidate.candidate carries it). */
export function serializeCandidate(c: Candidate): string {
  let s = `candidate:${c.foundation} ${c.component} ${c.protocol} ${c.priority} ${c.address} ${c.port} typ ${c.type}`;
  if (c.relatedAddress !== undefined) s += ` raddr ${c.relatedAddress}`;
  if (c.relatedPort !== undefined) s += ` rport ${c.relatedPort}`;
  if (c.tcpType !== undefined) s += ` tcptype ${c.tcpType}`;
  for (const [k, v] of c.extensions ?? []) s += ` ${k} ${v}`;
  return s;
}
