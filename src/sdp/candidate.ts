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
  let s = text.trim();
  if (s.startsWith('a=')) s = s.slice(2);
  if (s.startsWith('candidate:')) s = s.slice('candidate:'.length);
  const f = s.split(/[ \t]+/);
  if (f.length < 8) throw new SdpParseError(line, 'candidate', `expected at least 8 fields, got ${f.length}`);
  const [foundation, comp, transport, prio, address, port, typ, type] = f as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (!ICE_CHARS.test(foundation)) throw new SdpParseError(line, 'candidate foundation', foundation);
  if (!TOKEN.test(transport)) throw new SdpParseError(line, 'candidate transport', transport);
  if (address.length === 0) throw new SdpParseError(line, 'candidate address', 'empty');
  if (typ !== 'typ')
    throw new SdpParseError(line, 'candidate typ', `expected "typ", got ${JSON.stringify(typ)}`);
  if (!TOKEN.test(type)) throw new SdpParseError(line, 'candidate type', type);
  let relatedAddress: string | undefined;
  let relatedPort: number | undefined;
  let tcpType: Candidate['tcpType'];
  let generation: number | undefined;
  let ufrag: string | undefined;
  let networkId: number | undefined;
  let networkCost: number | undefined;
  const extensions: [string, string][] = [];
  if ((f.length - 8) % 2 !== 0) throw new SdpParseError(line, 'candidate extension', 'name without a value');
  for (let i = 8; i < f.length; i += 2) {
    const name = f[i]!;
    const value = f[i + 1]!;
    switch (name) {
      case 'raddr':
        relatedAddress = value;
        break;
      case 'rport':
        relatedPort = parseUint(value, 65535, line, 'candidate rport');
        break;
      case 'tcptype':
        if (value !== 'active' && value !== 'passive' && value !== 'so') {
          throw new SdpParseError(line, 'candidate tcptype', value);
        }
        tcpType = value;
        break;
      case 'generation':
        generation = parseUint(value, MAX_U32, line, 'candidate generation');
        break;
      case 'ufrag':
        ufrag = value;
        break;
      case 'network-id':
        networkId = parseUint(value, MAX_U32, line, 'candidate network-id');
        break;
      case 'network-cost':
        networkCost = parseUint(value, MAX_U32, line, 'candidate network-cost');
        break;
      default:
        if (!TOKEN.test(name)) throw new SdpParseError(line, 'candidate extension', name);
        extensions.push([name, value]);
    }
  }
  return {
    foundation,
    component: parseUint(comp, 256, line, 'candidate component'),
    transport: transport.toLowerCase(),
    priority: parseUint(prio, MAX_U32, line, 'candidate priority'),
    address,
    port: parseUint(port, 65535, line, 'candidate port'),
    type,
    ...(relatedAddress !== undefined && { relatedAddress }),
    ...(relatedPort !== undefined && { relatedPort }),
    ...(tcpType !== undefined && { tcpType }),
    ...(generation !== undefined && { generation }),
    ...(ufrag !== undefined && { ufrag }),
    ...(networkId !== undefined && { networkId }),
    ...(networkCost !== undefined && { networkCost }),
    extensions,
  };
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
