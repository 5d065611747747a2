/**
 * `rtcstack turn`: the STUN/TURN server. Without --alt-ip it is the TURN relay (RFC 8656) with
 * STUN Binding on UDP, TCP and TLS (src/server/turn/server.ts); with --alt-ip it is the RFC 5780
 * NAT behaviour discovery server (STUN only, 2 IPs x 2 ports). Flag names follow coturn's
 * `turnserver` so its users feel at home; `-c FILE` reads the same flags from a coturn-style file.
 */
import { readFileSync } from 'node:fs';
import { createLogger } from '../../core/log.js';
import { formatAddress } from '../../core/net.js';
import { nodeNetwork } from '../../core/net-node.js';
import { PeerPolicy } from '../../server/turn/peer-policy.js';
import { startTurnServer, type TurnServerHandle } from '../../server/turn/server.js';
import { StunServer } from '../../server/turn/stun-server.js';
import { ipToBytes } from '../../stun/ip.js';

const USAGE = `usage: rtcstack turn [--listening-ip IP] [--listening-port PORT] [TURN flags]
       rtcstack turn --listening-ip IP --alt-ip IP2 [--alt-port PORT2]     (RFC 5780 mode)

TURN server (RFC 8656) with STUN Binding, on UDP, TCP and TLS. With --alt-ip it is instead a
STUN-only RFC 5780 NAT behaviour discovery server (listening on 2 IPs x 2 ports), so
'rtcstack nat-check' and coturn's turnutils_natdiscovery can classify a NAT against it.

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

TURN (ignored in RFC 5780 mode, where giving any is an error):
      --tls-listening-port P  TLS port (default 5349; 0 = any)
      --no-tls                no TLS listener
      --cert FILE, --pkey FILE  TLS certificate and key (PEM); default a generated self-signed one
      --relay-ip IP           address relay sockets bind to (repeatable: one per family);
                              default the listening IP, or the first non-loopback interface
  -X, --external-ip PUB[/PRIV]  advertise PUB as the relayed address for relay IP PRIV
      --min-port P, --max-port P  relay port range (default 49152-65535)
  -r, --realm REALM           realm (default rtcstack)
  -u, --user USER:PASS        a static long-term user (repeatable; PASS may be 0x<md5 key>)
      --use-auth-secret       TURN REST API credentials (needs --static-auth-secret)
      --static-auth-secret S  REST secret (repeatable: several are accepted, for rotation)
      --allow-loopback-peers  allow relaying to 127.0.0.0/8 and ::1 (tests only)
      --allowed-peer-ip R     allow peers in R (IP, IP1-IP2 or CIDR; repeatable; wins over denials)
      --denied-peer-ip R      deny peers in R (repeatable). Denied by default: loopback, RFC 1918,
                              link-local (incl. 169.254.169.254), CGNAT 100.64/10, multicast,
                              unspecified/reserved, fc00::/7, fe80::/10, ::ffff:-mapped denied v4
      --user-quota N          allocations per user (default 0 = unlimited)
      --total-quota N         allocations in total (default 0 = unlimited)
      --max-bps BYTES         bytes per second per allocation (default 0 = unlimited)
      --stale-nonce SECONDS   nonce lifetime (default 600)
      --max-allocate-lifetime SECONDS  longest allocation lifetime (default 3600)
      --strict-channel-range  only RFC 8656 channel numbers 0x4000-0x4FFF (default also 5766's up to 0x7FFF)
      --prometheus            serve Prometheus metrics at http://0.0.0.0:PORT/metrics
      --prometheus-port PORT  metrics port (default 9641); --metrics-port is the same
      --log-level LEVEL       error|warn|info|debug (default info)
  -c, --config FILE           read flags from a coturn-style file (name=value per line, # comments)

coturn flags that mean nothing here are accepted and ignored: -n, --no-cli, --no-dtls, --rfc5780,
--fingerprint, --lt-cred-mech/-a, --no-multicast-peers, --no-loopback-peers. On SIGINT/SIGTERM
the server closes its sockets and prints its counters (JSON) on stderr. Once listening it prints
one line per socket and then 'ready'.`;

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
  turn: TurnFlags;
}

/** The TURN part of the flags (unused in RFC 5780 mode). */
export interface TurnFlags {
  /** Names of the TURN flags given (RFC 5780 mode refuses them). */
  given: string[];
  tlsListeningPort: number;
  tls: boolean;
  cert?: string;
  pkey?: string;
  relayIps: string[];
  externalIps: string[];
  minPort: number;
  maxPort: number;
  realm: string;
  users: string[];
  useAuthSecret: boolean;
  secrets: string[];
  allowLoopbackPeers: boolean;
  allowedPeerIps: string[];
  deniedPeerIps: string[];
  userQuota: number;
  totalQuota: number;
  maxBps: number;
  staleNonce: number;
  maxLifetime: number;
  strictChannelRange: boolean;
  prometheus: boolean;
  prometheusPort: number;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
}

const TURN_VALUE_FLAGS = new Set([
  '--tls-listening-port',
  '--cert',
  '--pkey',
  '--relay-ip',
  '-X',
  '--external-ip',
  '--min-port',
  '--max-port',
  '-r',
  '--realm',
  '-u',
  '--user',
  '--static-auth-secret',
  '--allowed-peer-ip',
  '--denied-peer-ip',
  '--user-quota',
  '--total-quota',
  '--max-bps',
  '--stale-nonce',
  '--max-allocate-lifetime',
  '--prometheus-port',
  '--metrics-port',
  '--log-level',
]);
const TURN_BOOL_FLAGS = new Set([
  '--no-tls',
  '--use-auth-secret',
  '--allow-loopback-peers',
  '--strict-channel-range',
  '--prometheus',
]);

/** Apply one TURN flag; returns an error message or ''. */
function turnFlag(t: TurnFlags, name: string, value: string | undefined): string {
  t.given.push(name);
  const count = (): number | string =>
    /^\d+$/.test(value ?? '') ? Number(value) : `${name}: a whole number (got '${value}')`;
  switch (name) {
    case '--no-tls':
      t.tls = false;
      return '';
    case '--use-auth-secret':
      t.useAuthSecret = true;
      return '';
    case '--allow-loopback-peers':
      t.allowLoopbackPeers = true;
      return '';
    case '--strict-channel-range':
      t.strictChannelRange = true;
      return '';
    case '--prometheus':
      t.prometheus = true;
      return '';
  }
  const v = value!;
  switch (name) {
    case '--tls-listening-port':
    case '--min-port':
    case '--max-port':
    case '--prometheus-port':
    case '--metrics-port': {
      const p = port(name, v);
      if (typeof p === 'string') return p;
      if (name === '--tls-listening-port') t.tlsListeningPort = p;
      else if (name === '--min-port') t.minPort = p;
      else if (name === '--max-port') t.maxPort = p;
      else {
        t.prometheusPort = p;
        if (name === '--metrics-port') t.prometheus = true;
      }
      return '';
    }
    case '--cert':
    case '--pkey':
      try {
        const text = readFileSync(v, 'utf8');
        if (name === '--cert') t.cert = text;
        else t.pkey = text;
      } catch (e) {
        return `${name}: cannot read '${v}': ${(e as Error).message}`;
      }
      return '';
    case '--relay-ip':
      if (ip(name, v)) return ip(name, v);
      t.relayIps.push(v);
      return '';
    case '-X':
    case '--external-ip': {
      const [pub, priv] = v.split('/');
      if (!pub || ip(name, pub) || (priv !== undefined && ip(name, priv))) {
        return `${name}: PUBLIC or PUBLIC/PRIVATE IP addresses (got '${v}')`;
      }
      t.externalIps.push(v);
      return '';
    }
    case '-r':
    case '--realm':
      if (!v) return `${name}: needs a value`;
      t.realm = v;
      return '';
    case '-u':
    case '--user':
      if (v.indexOf(':') <= 0) return `${name}: USER:PASSWORD (got '${v}')`;
      t.users.push(v);
      return '';
    case '--static-auth-secret':
      if (!v) return `${name}: needs a value`;
      t.secrets.push(v);
      return '';
    case '--allowed-peer-ip':
    case '--denied-peer-ip': {
      for (const part of v.split(/[\s,]+/).filter(Boolean)) {
        const range = part.split('-');
        const base = range[0]!.split('/')[0]!;
        if (range.length > 2 || ip(name, base) || (range[1] !== undefined && ip(name, range[1]))) {
          return `${name}: IP, IP1-IP2 or IP/PREFIX (got '${part}')`;
        }
        (name === '--allowed-peer-ip' ? t.allowedPeerIps : t.deniedPeerIps).push(part);
      }
      return '';
    }
    case '--user-quota':
    case '--total-quota':
    case '--max-bps':
    case '--stale-nonce':
    case '--max-allocate-lifetime': {
      const n = count();
      if (typeof n === 'string') return n;
      if (name === '--user-quota') t.userQuota = n;
      else if (name === '--total-quota') t.totalQuota = n;
      else if (name === '--max-bps') t.maxBps = n;
      else if (name === '--stale-nonce') t.staleNonce = n;
      else t.maxLifetime = n;
      return '';
    }
    case '--log-level':
      if (!['error', 'warn', 'info', 'debug'].includes(v))
        return `${name}: error|warn|info|debug (got '${v}')`;
      t.logLevel = v as TurnFlags['logLevel'];
      return '';
  }
  return `unknown flag '${name}'`;
}

/** coturn-style config file: `name=value` or `name` per line, `#` comments -> argv. */
export function configToArgv(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const eq = line.indexOf('=');
    const name = (eq > 0 ? line.slice(0, eq) : line).trim();
    const value =
      eq > 0
        ? line
            .slice(eq + 1)
            .trim()
            .replace(/^"(.*)"$/, '$1')
        : undefined;
    out.push(`--${name}`);
    if (value !== undefined) out.push(value);
  }
  return out;
}

const IGNORED = new Set([
  '-n',
  '--no-cli',
  '--no-dtls',
  '--rfc5780',
  '--fingerprint',
  '-f',
  '-a',
  '--lt-cred-mech',
  '--no-multicast-peers',
  '--no-loopback-peers',
]);

function port(flag: string, v: string): number | string {
  if (!/^\d+$/.test(v) || Number(v) > 65535) return `${flag}: a port number 0-65535 (got '${v}')`;
  return Number(v);
}
function ip(flag: string, v: string): string {
  return ipToBytes(v) ? '' : `${flag}: not an IP address: '${v}'`;
}

/** Parse flags; returns an error message string on bad input. */
export function parseTurnArgs(input: readonly string[]): TurnArgs | string {
  let argv = input;
  const out: TurnArgs = {
    listeningIp: '0.0.0.0',
    listeningPort: 3478,
    udp: true,
    tcp: true,
    software: 'rtcstack',
    recvBuffer: 4 << 20,
    sendBuffer: 4 << 20,
    help: false,
    turn: {
      given: [],
      tlsListeningPort: 5349,
      tls: true,
      relayIps: [],
      externalIps: [],
      minPort: 49152,
      maxPort: 65535,
      realm: 'rtcstack',
      users: [],
      useAuthSecret: false,
      secrets: [],
      allowLoopbackPeers: false,
      allowedPeerIps: [],
      deniedPeerIps: [],
      userQuota: 0,
      totalQuota: 0,
      maxBps: 0,
      staleNonce: 600,
      maxLifetime: 3600,
      strictChannelRange: false,
      prometheus: false,
      prometheusPort: 9641,
      logLevel: 'info',
    },
  };
  const ips: string[] = [];
  // A config file's flags come first, so the command line can add to or override them.
  const expanded: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-c' || a === '--config' || a.startsWith('--config=')) {
      const file = a.startsWith('--config=') ? a.slice(9) : argv[++i];
      if (!file) return `${a}: needs a file name`;
      try {
        expanded.unshift(...configToArgv(readFileSync(file, 'utf8')));
      } catch (e) {
        return `${a}: cannot read '${file}': ${(e as Error).message}`;
      }
    } else expanded.push(a);
  }
  argv = expanded;
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
    if (TURN_BOOL_FLAGS.has(name)) {
      const e = turnFlag(out.turn, name, undefined);
      if (e) return e;
      continue;
    }
    if (TURN_VALUE_FLAGS.has(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq < 0 && value.startsWith('-') && value.length > 1))
        return `${name}: needs a value`;
      const e = turnFlag(out.turn, name, value);
      if (e) return e;
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
  const t = out.turn;
  if (out.altIp && t.given.length > 0) {
    return `${t.given[0]}: TURN flags do not apply in RFC 5780 mode (--alt-ip); run a separate TURN server`;
  }
  if (!out.altIp) {
    if (!out.udp && !out.tcp && !t.tls)
      return '--no-udp, --no-tcp and --no-tls together leave nothing to serve';
    if (t.useAuthSecret && t.secrets.length === 0) return '--use-auth-secret needs --static-auth-secret';
    if (t.minPort > t.maxPort) return `--min-port ${t.minPort} is above --max-port ${t.maxPort}`;
    if ((t.cert === undefined) !== (t.pkey === undefined)) return '--cert and --pkey go together';
    try {
      new PeerPolicy({ allowed: t.allowedPeerIps, denied: t.deniedPeerIps });
    } catch (e) {
      return `--allowed-peer-ip/--denied-peer-ip: ${(e as Error).message}`;
    }
  } else if (!out.udp && !out.tcp) return '--no-udp and --no-tcp together leave nothing to serve';
  return out;
}

/** The shape cli/main.ts expects (declared here: importing main.ts from a command is a cycle). */
interface Command {
  readonly summary: string;
  run(argv: string[]): Promise<number>;
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
    if (!args.altIp) return runTurn(args);
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

/** TURN mode: the relay with Binding on UDP, TCP and TLS. */
async function runTurn(args: TurnArgs): Promise<number> {
  const t = args.turn;
  const log = createLogger('turn', { level: t.logLevel });
  let server: TurnServerHandle;
  try {
    server = await startTurnServer({
      listeningIps: [args.listeningIp],
      listeningPort: args.listeningPort,
      tlsListeningPort: t.tlsListeningPort,
      udp: args.udp,
      tcp: args.tcp,
      tls: t.tls,
      tlsCert: t.cert !== undefined && t.pkey !== undefined ? { cert: t.cert, key: t.pkey } : undefined,
      relayIps: t.relayIps,
      externalIps: t.externalIps,
      minPort: t.minPort,
      maxPort: t.maxPort,
      realm: t.realm,
      users: t.users,
      secrets: t.secrets,
      allowLoopbackPeers: t.allowLoopbackPeers,
      allowedPeerIps: t.allowedPeerIps,
      deniedPeerIps: t.deniedPeerIps,
      userQuota: t.userQuota,
      totalQuota: t.totalQuota,
      maxBps: t.maxBps,
      nonceLifetimeS: t.staleNonce,
      maxLifetimeS: t.maxLifetime,
      strictChannelRange: t.strictChannelRange,
      prometheus: t.prometheus ? { port: t.prometheusPort } : undefined,
      socketBufferSize: Math.max(args.recvBuffer, args.sendBuffer),
      software: args.software || undefined,
      network: nodeNetwork,
      logger: log,
    });
  } catch (e) {
    console.error(`rtcstack turn: cannot start: ${(e as Error).message}`);
    return 1;
  }
  const ip = args.listeningIp;
  for (const p of server.ports.udp) console.log(`listening udp ${formatAddress({ address: ip, port: p })}`);
  for (const p of server.ports.tcp) console.log(`listening tcp ${formatAddress({ address: ip, port: p })}`);
  for (const p of server.ports.tls) console.log(`listening tls ${formatAddress({ address: ip, port: p })}`);
  if (server.prometheusPort !== undefined)
    console.log(
      `metrics http://${formatAddress({ address: '0.0.0.0', port: server.prometheusPort })}/metrics`,
    );
  if (t.users.length === 0 && t.secrets.length === 0) {
    log.warn('no --user and no --static-auth-secret: every Allocate will be refused (STUN Binding only)');
  }
  console.log('ready');
  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      void server.close().then(() => {
        console.error(JSON.stringify({ stopped: signal, counters: server.stats }));
        resolve(0);
      });
    };
    const onInt = (): void => stop('SIGINT');
    const onTerm = (): void => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}
