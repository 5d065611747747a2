/**
 * `rtcstack nat-check stun:HOST:PORT`: RFC 5780 NAT behaviour discovery, explained in one screen,
 * or as one JSON object with --json (the NAT lab tests parse it; the fields are documented in
 * README.md and in `NatBehavior`).
 */
import { lookup } from 'node:dns/promises';
import { SystemClock } from '../../core/clock.js';
import { formatAddress, type TransportAddress } from '../../core/net.js';
import { nodeNetwork } from '../../core/net-node.js';
import { ipToBytes } from '../../stun/ip.js';
import { discoverNatBehavior, type NatBehavior, type NatBehaviorKind } from '../../stun/nat-discovery.js';
import { splitFlags } from '../flags.js';

const USAGE = `usage: rtcstack nat-check [--json] [--local-ip IP] [--local-port PORT] [--rto MS]
                          [--no-hairpin] stun:HOST[:PORT]

Finds out how the NAT in front of this machine behaves (RFC 5780: mapping, filtering,
hairpinning) and whether direct peer-to-peer calls will work or need a TURN relay. The server
must support RFC 5780 (rtcstack turn --alt-ip ..., or coturn with two listening IPs and
rfc5780 on). PORT defaults to 3478.

  --json            print one JSON object instead of the explanation
  --local-ip IP     bind the probe socket to this address
  --local-port PORT bind the probe socket to this port
  --rto MS          initial retransmission timeout per probe (default 200; a lost probe
                    costs about 15x this)
  --no-hairpin      skip the hairpinning test

Exit status: 0 when the server answered, 1 when it did not (UDP blocked or server down),
2 for bad arguments.`;

interface Args {
  target?: string;
  json: boolean;
  localIp?: string;
  localPort?: number;
  rto: number;
  hairpin: boolean;
  help: boolean;
}

function parse(argv: readonly string[]): Args | string {
  const a = splitFlags(
    argv,
    ['--local-ip', '--local-port', '--rto'],
    ['--json', '--no-hairpin', '-h', '--help'],
  );
  if (typeof a === 'string') return a;
  if (a.positionals.length > 1)
    return `one server only (got '${a.positionals[0]}' and '${a.positionals[1]}')`;
  const out: Args = {
    json: a.bools.has('--json'),
    rto: 200,
    hairpin: !a.bools.has('--no-hairpin'),
    help: a.bools.has('-h') || a.bools.has('--help'),
  };
  if (a.positionals[0] !== undefined) out.target = a.positionals[0];
  const localIp = a.values.get('--local-ip');
  if (localIp !== undefined) {
    if (!ipToBytes(localIp)) return `--local-ip: not an IP address: '${localIp}'`;
    out.localIp = localIp;
  }
  const localPort = a.values.get('--local-port');
  if (localPort !== undefined) {
    if (!/^\d+$/.test(localPort)) return `--local-port: a whole number (got '${localPort}')`;
    if (Number(localPort) > 65535) return `--local-port: 0-65535 (got '${localPort}')`;
    out.localPort = Number(localPort);
  }
  const rto = a.values.get('--rto');
  if (rto !== undefined) {
    if (!/^\d+$/.test(rto)) return `--rto: a whole number (got '${rto}')`;
    if (Number(rto) < 10 || Number(rto) > 10_000) return `--rto: 10-10000 ms (got '${rto}')`;
    out.rto = Number(rto);
  }
  return out;
}

/** "stun:host:port", "stun:[v6]:port", "host:port" or "host" -> host and port (default 3478). */
export function parseStunUri(text: string): { host: string; port: number } | string {
  const m = /^(?:stun:)?(?:\[([0-9a-fA-F:.]+)\]|([^:[\]/?#\s]+))(?::(\d{1,5}))?$/.exec(text);
  if (!m) {
    if (/^(stuns|turns?):/.test(text)) return `only stun: URIs are supported (got '${text}')`;
    return `not a STUN server URI: '${text}' (expected stun:HOST[:PORT])`;
  }
  const port = m[3] ? Number(m[3]) : 3478;
  if (port < 1 || port > 65535) return `bad port in '${text}'`;
  return { host: (m[1] ?? m[2])!, port };
}

const MEANING: Record<NatBehaviorKind, { mapping: string; filtering: string }> = {
  'endpoint-independent': {
    mapping: 'same public address for every destination',
    filtering: 'anyone may send to your public address once it exists',
  },
  'address-dependent': {
    mapping: 'a new public port for each destination IP',
    filtering: 'only IPs you have sent to may reply',
  },
  'address-and-port-dependent': {
    mapping: 'a new public port for each destination IP and port',
    filtering: 'only the exact IP and port you sent to may reply',
  },
};

const fmt = (a: TransportAddress | null): string => (a ? formatAddress(a) : '-');

/** The one-screen explanation. */
export function explain(r: NatBehavior, target: string): string {
  const lines = [`rtcstack nat-check ${target}`, ''];
  const row = (k: string, v: string): void => void lines.push(`  ${k.padEnd(16)} ${v}`);
  row('server', `${fmt(r.server)}${r.otherAddress ? `  (RFC 5780 alternate ${fmt(r.otherAddress)})` : ''}`);
  row('local address', fmt(r.local));
  if (!r.udp) {
    lines.push(
      '',
      'UDP blocked: no answer from the STUN server.',
      'Either UDP is filtered between you and the server, or the server is down. Calls from this',
      'network need a TURN relay over TCP or TLS (turn:HOST?transport=tcp, turns:HOST:443).',
    );
    return lines.join('\n');
  }
  row(
    'public address',
    `${fmt(r.mapped)}${r.natDetected === false ? '  (no NAT: this is your own address)' : r.natDetected ? '  (behind a NAT)' : ''}`,
  );
  if (r.mapping !== 'unknown') row('mapping', `${r.mapping}: ${MEANING[r.mapping].mapping}`);
  else row('mapping', 'unknown');
  if (r.filtering !== 'unknown') row('filtering', `${r.filtering}: ${MEANING[r.filtering].filtering}`);
  else row('filtering', 'unknown');
  row('hairpinning', r.hairpinning === null ? 'not tested' : r.hairpinning ? 'yes' : 'no');
  lines.push('');
  if (r.verdict === 'direct') {
    lines.push(
      'Direct peer-to-peer will work.',
      r.natDetected === false
        ? 'You are not behind a NAT, so peers can reach your address directly.'
        : 'Your NAT keeps one public address for all destinations, so ICE hole punching succeeds.',
    );
    if (r.filtering !== 'endpoint-independent' && r.natDetected) {
      lines.push(
        'Its filtering is strict, so only peers you have sent to can reach you: ICE does that for you.',
      );
    }
    lines.push('Only a peer behind a symmetric NAT of its own would still need a TURN relay.');
  } else if (r.verdict === 'relay') {
    lines.push(
      'Symmetric NAT: calls need a TURN relay.',
      'Your NAT picks a new public port for each destination, so the address a STUN server sees is not',
      'the one a peer would reach. Direct connections only work with peers that have no NAT or an',
      'endpoint-independent one; configure a TURN server (rtcstack turn, coturn) so every call connects.',
    );
  } else {
    lines.push(
      'Cannot tell: the server does not support RFC 5780 (no OTHER-ADDRESS in its answer).',
      'Point nat-check at a server started with two IPs (rtcstack turn --alt-ip, coturn --rfc5780).',
    );
  }
  return lines.join('\n');
}

/** The --json output: NatBehavior with addresses as "ip:port" strings plus a one-line summary. */
export function toJson(r: NatBehavior): Record<string, unknown> {
  const a = (x: TransportAddress | null): string | null => (x ? formatAddress(x) : null);
  const summary =
    r.verdict === 'direct'
      ? 'direct peer-to-peer will work'
      : r.verdict === 'relay'
        ? 'symmetric NAT: calls need a TURN relay'
        : r.verdict === 'udp-blocked'
          ? 'UDP blocked: calls need a TURN relay over TCP/TLS'
          : 'unknown: the server does not support RFC 5780';
  return {
    server: a(r.server),
    local: a(r.local),
    mapped: a(r.mapped),
    otherAddress: a(r.otherAddress),
    udp: r.udp,
    rfc5780: r.rfc5780,
    natDetected: r.natDetected,
    mapping: r.mapping,
    filtering: r.filtering,
    hairpinning: r.hairpinning,
    symmetric: r.mapping === 'address-dependent' || r.mapping === 'address-and-port-dependent',
    verdict: r.verdict,
    summary,
    tests: {
      mappingI: a(r.tests.mappingI),
      mappingII: a(r.tests.mappingII),
      mappingIII: a(r.tests.mappingIII),
      filteringII: r.tests.filteringII,
      filteringIII: r.tests.filteringIII,
    },
    durationMs: Math.round(r.durationMs),
  };
}

/** The shape cli/main.ts expects (declared here: importing main.ts from a command is a cycle). */
interface Command {
  readonly summary: string;
  run(argv: string[]): Promise<number>;
}

export const command: Command = {
  summary: 'find out what your NAT does and whether calls need TURN (RFC 5780)',
  async run(argv) {
    const args = parse(argv);
    if (typeof args === 'string') {
      console.error(`rtcstack nat-check: ${args}\n(rtcstack nat-check --help lists the flags)`);
      return 2;
    }
    if (args.help) {
      console.log(USAGE);
      return 0;
    }
    if (!args.target) {
      console.error(
        `rtcstack nat-check: which server? e.g. rtcstack nat-check stun:127.0.0.1:3478\n\n${USAGE}`,
      );
      return 2;
    }
    const uri = parseStunUri(args.target);
    if (typeof uri === 'string') {
      console.error(`rtcstack nat-check: ${uri}`);
      return 2;
    }
    let address = uri.host;
    if (!ipToBytes(address)) {
      try {
        address = (await lookup(uri.host, { family: args.localIp?.includes(':') ? 6 : 4 })).address;
      } catch (e) {
        console.error(`rtcstack nat-check: cannot resolve '${uri.host}': ${(e as Error).message}`);
        return 1;
      }
    }
    const clock = new SystemClock();
    let r: NatBehavior;
    try {
      r = await discoverNatBehavior(nodeNetwork, { address, port: uri.port }, clock, {
        localAddress: args.localIp,
        localPort: args.localPort,
        hairpin: args.hairpin,
        transaction: { rto: args.rto, rc: 4, rm: 8 },
      });
    } catch (e) {
      console.error(`rtcstack nat-check: ${(e as Error).message}`);
      return 1;
    }
    console.log(args.json ? JSON.stringify(toJson(r), null, 2) : explain(r, args.target));
    return r.udp ? 0 : 1;
  },
};
