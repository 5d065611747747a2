import { parseUint, SdpParseError } from './errors.js';
import type { Candidate } from './types.js';

/*
 * RFC 8839 §5.1:
 *   candidate-attribute = "candidate" ":" foundation SP component-id SP transport SP priority SP
 *                         connection-address SP port SP cand-type [SP rel-addr] [SP rel-port]
 *                         *(SP cand-extension)
 *   cand-type = "typ" SP ("host" / "srflx" / "prflx" / "relay" / token)
 *   rel-addr  = "raddr" SP connection-address ;  rel-port = "rport" SP port
 *   cand-extension = extension-att-name SP extension-att-value
 * Known extensions: tcptype (RFC 6544 §4.5), generation, ufrag, network-id, network-cost (libwebrtc).
 */

const ICE_CHARS = /^[A-Za-z0-9+/]{1,32}$/;
const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/;
const MAX_U32 = 0xffffffff;

/**
 * Parse a candidate as trickled (`candidate:...`), as an SDP line (`a=candidate:...`) or bare
 * (without the prefix). `line` is the SDP line number used in errors.
 */
export function parseCandidate(text: string, line = 1): Candidate {
  let s = text;
  if (s.length > 0 && (s.charCodeAt(0) <= 32 || s.charCodeAt(s.length - 1) <= 32)) s = s.trim();
  if (s.startsWith('a=')) s = s.slice(2);
  if (s.startsWith('candidate:')) s = s.slice(10);
  const f = s.indexOf('\t') >= 0 || s.indexOf('  ') >= 0 ? s.split(/[ \t]+/) : s.split(' ');
  if (f.length < 8) throw new SdpParseError(line, 'candidate', `expected at least 8 fields, got ${f.length}`);
  const foundation = f[0]!;
  const transport = f[2]!;
  const address = f[4]!;
  const type = f[7]!;
  if (!ICE_CHARS.test(foundation)) throw new SdpParseError(line, 'candidate foundation', foundation);
  if (!TOKEN.test(transport)) throw new SdpParseError(line, 'candidate transport', transport);
  if (address.length === 0) throw new SdpParseError(line, 'candidate address', 'empty');
  if (f[6] !== 'typ')
    throw new SdpParseError(line, 'candidate typ', `expected "typ", got ${JSON.stringify(f[6])}`);
  if (!TOKEN.test(type)) throw new SdpParseError(line, 'candidate type', type);
  if ((f.length - 8) % 2 !== 0) throw new SdpParseError(line, 'candidate extension', 'name without a value');
  const c: { -readonly [K in keyof Candidate]: Candidate[K] } = {
    foundation,
    component: parseUint(f[1], 256, line, 'candidate component'),
    transport: transport === 'udp' || transport === 'tcp' ? transport : transport.toLowerCase(),
    priority: parseUint(f[3], MAX_U32, line, 'candidate priority'),
    address,
    port: parseUint(f[5], 65535, line, 'candidate port'),
    type,
    extensions: [],
  };
  let extensions: [string, string][] | undefined;
  for (let i = 8; i < f.length; i += 2) {
    const name = f[i]!;
    const value = f[i + 1]!;
    switch (name) {
      case 'raddr':
        c.relatedAddress = value;
        break;
      case 'rport':
        c.relatedPort = parseUint(value, 65535, line, 'candidate rport');
        break;
      case 'tcptype':
        if (value !== 'active' && value !== 'passive' && value !== 'so') {
          throw new SdpParseError(line, 'candidate tcptype', value);
        }
        c.tcpType = value;
        break;
      case 'generation':
        c.generation = parseUint(value, MAX_U32, line, 'candidate generation');
        break;
      case 'ufrag':
        c.ufrag = value;
        break;
      case 'network-id':
        c.networkId = parseUint(value, MAX_U32, line, 'candidate network-id');
        break;
      case 'network-cost':
        c.networkCost = parseUint(value, MAX_U32, line, 'candidate network-cost');
        break;
      default:
        if (!TOKEN.test(name)) throw new SdpParseError(line, 'candidate extension', name);
        (extensions ??= []).push([name, value]);
    }
  }
  if (extensions) c.extensions = extensions;
  return c;
}

/** `candidate:...` without the `a=` prefix, as RTCIceCandidate.candidate carries it. */
export function serializeCandidate(c: Candidate): string {
  let s = `candidate:${c.foundation} ${c.component} ${c.transport} ${c.priority} ${c.address} ${c.port} typ ${c.type}`;
  if (c.relatedAddress !== undefined) s += ` raddr ${c.relatedAddress}`;
  if (c.relatedPort !== undefined) s += ` rport ${c.relatedPort}`;
  if (c.tcpType !== undefined) s += ` tcptype ${c.tcpType}`;
  if (c.generation !== undefined) s += ` generation ${c.generation}`;
  if (c.ufrag !== undefined) s += ` ufrag ${c.ufrag}`;
  if (c.networkId !== undefined) s += ` network-id ${c.networkId}`;
  if (c.networkCost !== undefined) s += ` network-cost ${c.networkCost}`;
  for (const [k, v] of c.extensions) s += ` ${k} ${v}`;
  return s;
}
