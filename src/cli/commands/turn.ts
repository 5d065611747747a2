/**
 * `rtcstack turn`: the STUN/TURN server. Today it answers STUN Binding over UDP and TCP, with
 * RFC 5780 NAT behaviour discovery when given an alternate IP. Flag names follow coturn's
 * `turnserver` so its users feel at home.
 */
import { createLogger } from '../../core/log.js';
import { formatAddress } from '../../core/net.js';
import { nodeNetwork } from '../../core/net-node.js';
import { StunServer } from '../../server/turn/stun-server.js';
import { ipToBytes } from '../../stun/ip.js';
import type { Command } from '../main.js';

const USAGE = `usage: rtcstack turn [--listening-ip IP] [--listening-port PORT]
                     [--alt-ip IP2] [--alt-port PORT2] [--no-udp] [--no-tcp]

STUN server (RFC 8489) on UDP and TCP; with --alt-ip it also does RFC 5780 NAT behaviour
discovery (listening on 2 IPs x 2 ports), so 'rtcstack nat-check' and coturn's
turnutils_natdiscovery can classify a NAT against it.

  -L, --listening-ip IP       address to listen on (default 0.0.0.0). Given twice, the second
                              one is the RFC 5780 alternate IP, as in coturn.
  -p, --listening-port PORT   port (default 3478; 0 = any free port)
      --alt-ip IP             RFC 5780 alternate IP (needs a concrete --listening-ip)
      --alt-port PORT         RFC 5780 alternate port (default listening port + 1)
      --alt-listening-port    same as --alt-port (coturn's name)
      --no-udp, --no-tcp      do not listen on that transport
      --software NAME         SOFTWARE attribute (default rtcstack)
      --no-software-attribute omit SOFTWARE (coturn's name)
      --recv-buffer BYTES     UDP receive buffer size (default 4 MiB)
      --send-buffer BYTES     UDP send buffer size (default 4 MiB)
  -h, --help                  this help

coturn flags that mean nothing here are accepted and ignored: -n, --no-cli, --no-tls, --no-dtls,
--rfc5780, --fingerprint. On SIGINT/SIGTERM the server closes its sockets and prints its
counters (JSON) on stderr. Once listening it prints one line per socket and then 'ready'.`;

export interface TurnArgs {
  listeningIp: string;
  listeningPort: number;
  altIp?: string;
  altPort?: number;
  udp: boolean;
  tcp: boolean;
  software: string;
  recvBuffer: number;
  sendBuffer: number;
  help: boolean;
}

const IGNORED = new Set(['-n', '--no-cli', '--no-tls', '--no-dtls', '--rfc5780', '--fingerprint', '-f']);

function port(flag: string, v: string): number | string {
  if (!/^\d+$/.test(v) || Number(v) > 65535) return `${flag}: a port number 0-65535 (got '${v}')`;
  return Number(v);
}
function ip(flag: string, v: string): string {
  return ipToBytes(v) ? '' : `${flag}: not an IP address: '${v}'`;
}

/** Parse flags; returns an error message string on bad input. */
export function parseTurnArgs(argv: readonly string[]): TurnArgs | string {
  const out: TurnArgs = {
    listeningIp: '0.0.0.0',
    listeningPort: 3478,
    udp: true,
    tcp: true,
    software: 'rtcstack',
    recvBuffer: 4 << 20,
    sendBuffer: 4 << 20,
    help: false,
  };
  const ips: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (IGNORED.has(name)) continue;
    switch (name) {
      case '-h':
      case '--help':
        out.help = true;
        continue;
      case '--no-udp':
        out.udp = false;
        continue;
      case '--no-tcp':
        out.tcp = false;
        continue;
      case '--no-software-attribute':
        out.software = '';
        continue;
    }
    const known = [
      '-L',
      '--listening-ip',
      '-p',
      '--listening-port',
      '--alt-ip',
      '--alt-port',
      '--alt-listening-port',
      '--software',
      '--recv-buffer',
      '--send-buffer',
    ];
    if (!known.includes(name)) return `unknown flag '${arg}'`;
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith('-') && value.length > 1))
      return `${name}: needs a value`;
    switch (name) {
      case '-L':
      case '--listening-ip': {
        const e = ip(name, value);
        if (e) return e;
        ips.push(value);
        break;
      }
      case '-p':
      case '--listening-port': {
        const p = port(name, value);
        if (typeof p === 'string') return p;
        out.listeningPort = p;
        break;
      }
      case '--alt-ip': {
        const e = ip(name, value);
        if (e) return e;
        out.altIp = value;
        break;
      }
      case '--alt-port':
      case '--alt-listening-port': {
        const p = port(name, value);
        if (typeof p === 'string') return p;
        out.altPort = p;
        break;
      }
      case '--software':
        out.software = value;
        break;
      case '--recv-buffer':
      case '--send-buffer': {
        if (!/^\d+$/.test(value) || Number(value) < 1024)
          return `${name}: bytes, at least 1024 (got '${value}')`;
        if (name === '--recv-buffer') out.recvBuffer = Number(value);
        else out.sendBuffer = Number(value);
        break;
      }
    }
  }
  if (ips.length > 2) return '--listening-ip: at most two (the second is the RFC 5780 alternate)';
  if (ips[0]) out.listeningIp = ips[0];
  if (ips[1]) {
    if (out.altIp && out.altIp !== ips[1]) return 'two --listening-ip and a different --alt-ip';
    out.altIp = ips[1];
  }
  if (out.altIp) {
    if (out.listeningIp === '0.0.0.0' || out.listeningIp === '::') {
      return '--alt-ip needs a concrete --listening-ip (RESPONSE-ORIGIN must name a real address)';
    }
    if (out.altIp === out.listeningIp) return '--alt-ip must differ from --listening-ip';
    if (ipToBytes(out.altIp)!.length !== ipToBytes(out.listeningIp)!.length) {
      return '--alt-ip and --listening-ip must be the same address family';
    }
  }
  if (out.altPort !== undefined && out.altPort !== 0 && out.altPort === out.listeningPort) {
    return '--alt-port must differ from --listening-port';
  }
  if (!out.udp && !out.tcp) return '--no-udp and --no-tcp together leave nothing to serve';
  return out;
}

export const command: Command = {
  summary: 'STUN/TURN server (STUN Binding, RFC 5780 NAT discovery with --alt-ip)',
  async run(argv) {
    const args = parseTurnArgs(argv);
    if (typeof args === 'string') {
      console.error(`rtcstack turn: ${args}\n(rtcstack turn --help lists the flags)`);
      return 2;
    }
    if (args.help) {
      console.log(USAGE);
      return 0;
    }
    const log = createLogger('turn', { level: 'info' });
    let server: StunServer;
    try {
      server = await StunServer.start({
        network: nodeNetwork,
        listeningIp: args.listeningIp,
        listeningPort: args.listeningPort,
        altIp: args.altIp,
        altPort: args.altPort,
        udp: args.udp,
        tcp: args.tcp,
        software: args.software,
        recvBufferSize: args.recvBuffer,
        sendBufferSize: args.sendBuffer,
        logger: log,
      });
    } catch (e) {
      console.error(`rtcstack turn: cannot listen: ${(e as Error).message}`);
      return 1;
    }
    const eps = [server.address];
    const alt = server.alternateAddress;
    if (alt) {
      eps.push(
        { address: server.address.address, port: alt.port },
        { address: alt.address, port: server.address.port },
        alt,
      );
    }
    for (const ep of eps) {
      if (args.udp) console.log(`listening udp ${formatAddress(ep)}`);
      if (args.tcp) console.log(`listening tcp ${formatAddress(ep)}`);
    }
    console.log(alt ? `rfc5780 other-address ${formatAddress(alt)}` : 'rfc5780 off (no --alt-ip)');
    console.log('ready');
    return new Promise<number>((resolve) => {
      const stop = (signal: string): void => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        server.close();
        console.error(JSON.stringify({ stopped: signal, counters: server.counters }));
        resolve(0);
      };
      const onInt = (): void => stop('SIGINT');
      const onTerm = (): void => stop('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
    });
  },
};
