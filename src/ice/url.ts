/**
 * ICE server URLs (RFC 7064 `stun:`/`stuns:`, RFC 7065 `turn:`/`turns:`):
 *   stun:host[:port]   turn:host[:port][?transport=udp|tcp]   turns:host[:port][?transport=tcp]
 * Default ports 3478, and 5349 for the TLS schemes. IPv6 literals in brackets.
 */
import { RtcError } from '../core/errors.js';

export interface IceServerUrl {
  readonly scheme: 'stun' | 'stuns' | 'turn' | 'turns';
  readonly host: string;
  readonly port: number;
  /** Transport to the server: udp, tcp or tls. */
  readonly transport: 'udp' | 'tcp' | 'tls';
  /** The url as given (for stats and errors). */
  readonly url: string;
}

export function parseIceServerUrl(url: string): IceServerUrl {
  const m =
    /^(stuns?|turns?):(\[[0-9a-fA-F:.]+\]|[^:?/[\]\s]+)(?::(\d{1,5}))?(?:\?transport=(udp|tcp))?$/i.exec(
      url.trim(),
    );
  if (!m) throw new RtcError('ERR_ICE_BAD_URL', `invalid ICE server url: ${url}`);
  const scheme = m[1]!.toLowerCase() as IceServerUrl['scheme'];
  const secure = scheme === 'stuns' || scheme === 'turns';
  const host = m[2]!.replace(/^\[|\]$/g, '');
  const port = m[3] ? Number(m[3]) : secure ? 5349 : 3478;
  if (port < 1 || port > 65535) throw new RtcError('ERR_ICE_BAD_URL', `invalid port in ${url}`);
  const t = m[4]?.toLowerCase();
  const transport = secure ? 'tls' : t === 'tcp' ? 'tcp' : 'udp';
  return { scheme, host, port, transport, url };
}
