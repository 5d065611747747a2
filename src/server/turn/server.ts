/**
 * Starting a TURN server: listeners (UDP, TCP, TLS) on each listening IP, the engine, relay port
 * allocation and metrics, wired together. Used by `rtcstack turn` and by `rtcstack serve`, which
 * starts it in-process:
 *
 *     import { startTurnServer } from './turn/server.js';
 *     const turn = await startTurnServer({ realm: 'example.org', secrets: [secret], listeningIps: ['0.0.0.0'] });
 *     // turn.ports.udp / .tcp / .tls: the bound ports; turn.metrics: a prom-client Registry to merge
 *     // (Registry.merge([mine, turn.metrics])) or pass `registry` to have the metrics registered in yours.
 *     await turn.close();
 *
 * Everything runs on the injected `network` (default: real sockets) and `clock`, so the same server
 * runs on the virtual network in tests.
 */
import { createServer, type Server } from 'node:http';
import { Registry } from 'prom-client';
import { type Clock, SystemClock } from '../../core/clock.js';
import { createLogger, type Logger } from '../../core/log.js';
import { type AddressFamily, familyOf, type Network, type TcpConnection } from '../../core/net.js';
import { NodeNetwork, nodeNetwork } from '../../core/net-node.js';
import { cryptoRandom, type Random, SeededRandom } from '../../core/random.js';
import { Credentials } from './credentials.js';
import { TurnEngine } from './engine.js';
import { registerTurnMetrics } from './metrics.js';
import { PeerPolicy } from './peer-policy.js';
import { RelayPorts } from './relay-ports.js';
import type { TurnStats } from './stats.js';
import { StreamListener } from './stream-listener.js';
import {
  createSecureContext,
  generateSelfSigned,
  listenTlsNode,
  type PemPair,
  wrapTlsServer,
} from './tls.js';
import { UdpListener } from './udp-listener.js';
import { RelayNetwork } from './udp-node.js';

export interface TurnServerOptions {
  /** Default 'rtcstack'. */
  readonly realm?: string;
  /** Static users `user:password` (coturn `--user`). */
  readonly users?: readonly string[];
  /** TURN REST secrets (coturn `--static-auth-secret`; several for rotation). */
  readonly secrets?: readonly string[];
  /** Addresses to listen on (coturn `--listening-ip`). Default ['0.0.0.0']. */
  readonly listeningIps?: readonly string[];
  /** UDP and TCP port (coturn `--listening-port`, default 3478; 0 = any). */
  readonly listeningPort?: number;
  /** TLS port (coturn `--tls-listening-port`, default 5349; 0 = any). */
  readonly tlsListeningPort?: number;
  readonly udp?: boolean;
  readonly tcp?: boolean;
  readonly tls?: boolean;
  /** TLS certificate and key (PEM text); a self-signed pair is generated when absent. */
  readonly tlsCert?: PemPair;
  /** Relay IPs (coturn `--relay-ip`); default: the listening IP, or the first public-looking interface. */
  readonly relayIps?: readonly string[];
  /** `PUBLIC` or `PUBLIC/PRIVATE` (coturn `--external-ip`): advertise PUBLIC for relay IP PRIVATE. */
  readonly externalIps?: readonly string[];
  readonly minPort?: number;
  readonly maxPort?: number;
  readonly allowLoopbackPeers?: boolean;
  readonly allowedPeerIps?: readonly string[];
  readonly deniedPeerIps?: readonly string[];
  readonly userQuota?: number;
  readonly totalQuota?: number;
  /** Bytes per second per allocation (coturn `--max-bps`). */
  readonly maxBps?: number;
  readonly defaultLifetimeS?: number;
  readonly maxLifetimeS?: number;
  readonly nonceLifetimeS?: number;
  readonly unauthRate?: number;
  /** Serve Prometheus text at http://host:port/metrics (real network only). */
  readonly prometheus?: { readonly port: number; readonly host?: string };
  /** Register metrics here instead of a fresh registry. */
  readonly registry?: Registry;
  /** UDP socket buffer size for listeners and relays (default 4 MiB listeners, 512 KiB relays). */
  readonly socketBufferSize?: number;
  readonly software?: string;
  /** Accept only RFC 8656 channel numbers 0x4000-0x4FFF (default: RFC 5766's 0x4000-0x7FFF too). */
  readonly strictChannelRange?: boolean;
  readonly network?: Network;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly logger?: Logger;
}

export interface TurnServerHandle {
  /** Bound ports per transport (one entry per listening IP). */
  readonly ports: { readonly udp: number[]; readonly tcp: number[]; readonly tls: number[] };
  /** The prom-client registry holding the TURN metrics. */
  readonly metrics: Registry;
  /** Port of the Prometheus HTTP endpoint, when enabled. */
  readonly prometheusPort: number | undefined;
  readonly stats: TurnStats;
  readonly engine: TurnEngine;
  readonly listeners: { readonly udp: UdpListener[]; readonly stream: StreamListener[] };
  close(): Promise<void>;
}

function defaultRelayIp(
  network: Network,
  listening: readonly string[],
  family: AddressFamily,
): string | undefined {
  for (const ip of listening) {
    if (familyOf(ip) === family && ip !== '0.0.0.0' && ip !== '::') return ip;
  }
  const wildcard = listening.some((ip) => ip === (family === 'IPv4' ? '0.0.0.0' : '::'));
  if (!wildcard) return undefined;
  const ifs = network.interfaces().filter((i) => i.family === family && !i.address.startsWith('fe80'));
  return (ifs.find((i) => !i.internal) ?? ifs[0])?.address;
}

export async function startTurnServer(options: TurnServerOptions = {}): Promise<TurnServerHandle> {
  const network = options.network ?? nodeNetwork;
  // Real sockets: UDP through the relay's own node:dgram adapter (udp-node.ts), the rest as given.
  const udpNetwork = network instanceof NodeNetwork ? new RelayNetwork(network) : network;
  const clock = options.clock ?? new SystemClock();
  const random = options.random ?? new SeededRandom(cryptoRandom.u32());
  const logger = options.logger ?? createLogger('turn', { level: 'info' });
  const listening = options.listeningIps?.length ? options.listeningIps : ['0.0.0.0'];
  const relayIps: Partial<Record<AddressFamily, string>> = {};
  for (const ip of options.relayIps ?? []) relayIps[familyOf(ip)] ??= ip;
  for (const fam of ['IPv4', 'IPv6'] as const) relayIps[fam] ??= defaultRelayIp(network, listening, fam);
  const externalIps = new Map<string, string>();
  for (const spec of options.externalIps ?? []) {
    const [pub, priv] = spec.split('/');
    if (!pub) continue;
    externalIps.set(priv ?? relayIps[familyOf(pub)] ?? pub, pub);
  }
  const credentials = new Credentials({ users: options.users, secrets: options.secrets });
  const policy = new PeerPolicy({
    allowed: options.allowedPeerIps,
    denied: options.deniedPeerIps,
    allowLoopback: options.allowLoopbackPeers,
  });
  const bufferSize = options.socketBufferSize;
  const engine = new TurnEngine({
    realm: options.realm ?? 'rtcstack',
    credentials,
    policy,
    relayPorts: new RelayPorts({
      network: udpNetwork,
      random,
      relayIps,
      minPort: options.minPort ?? 49152,
      maxPort: options.maxPort ?? 65535,
      bufferSize: bufferSize ?? 512 * 1024,
    }),
    clock,
    random,
    logger,
    externalIps,
    userQuota: options.userQuota,
    totalQuota: options.totalQuota,
    maxBps: options.maxBps,
    defaultLifetimeS: options.defaultLifetimeS,
    maxLifetimeS: options.maxLifetimeS,
    nonceLifetimeS: options.nonceLifetimeS,
    unauthRate: options.unauthRate,
    software: options.software,
    strictChannelRange: options.strictChannelRange,
  });
  const udp: UdpListener[] = [];
  const stream: StreamListener[] = [];
  const ports = { udp: [] as number[], tcp: [] as number[], tls: [] as number[] };
  let http: Server | undefined;
  let prometheusPort: number | undefined;
  const registry = registerTurnMetrics(engine.stats, options.registry ?? new Registry());
  const close = async (): Promise<void> => {
    engine.close();
    for (const l of udp) l.close();
    for (const l of stream) l.close();
    if (http) await new Promise<void>((r) => http!.close(() => r()));
  };
  try {
    const port = options.listeningPort ?? 3478;
    const tlsPort = options.tlsListeningPort ?? 5349;
    const tlsPem = options.tls === false ? undefined : (options.tlsCert ?? (await generateSelfSigned()));
    const tlsContext = tlsPem ? createSecureContext(tlsPem) : undefined;
    for (const ip of listening) {
      if (options.udp !== false) {
        const sock = await udpNetwork.bindUdp({
          address: ip,
          port,
          family: familyOf(ip),
          recvBufferSize: bufferSize ?? 4 * 1024 * 1024,
          sendBufferSize: bufferSize ?? 4 * 1024 * 1024,
        });
        udp.push(new UdpListener(engine, sock));
        ports.udp.push(sock.local.port);
      }
      if (options.tcp !== false) {
        const l = await network.listenTcp({
          address: ip,
          port: port === 0 && ports.udp.length ? ports.udp.at(-1) : port,
        });
        stream.push(new StreamListener(engine, l, { transport: 'tcp' }));
        ports.tcp.push(l.local.port);
      }
      if (tlsPem && tlsContext) {
        // Real sockets: node:tls natively; any other Network: TLS over its TcpConnection.
        const native = network instanceof NodeNetwork;
        const l = native
          ? await listenTlsNode(ip, tlsPort, tlsPem)
          : await network.listenTcp({ address: ip, port: tlsPort });
        const wrap = native ? undefined : (c: TcpConnection) => wrapTlsServer(c, tlsContext);
        stream.push(new StreamListener(engine, l, { transport: 'tls', wrap }));
        ports.tls.push(l.local.port);
      }
    }
    if (options.prometheus) {
      const h = createServer((req, res) => {
        if (req.url !== '/metrics') {
          res.writeHead(404).end();
          return;
        }
        registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
          (err: unknown) => res.writeHead(500).end(String(err)),
        );
      });
      http = h;
      prometheusPort = await new Promise<number>((resolve, reject) => {
        h.once('error', reject);
        h.listen(options.prometheus!.port, options.prometheus!.host ?? '0.0.0.0', () => {
          const a = h.address();
          resolve(typeof a === 'object' && a ? a.port : 0);
        });
      });
    }
  } catch (err) {
    await close();
    throw err;
  }
  logger.info('turn server listening', { ports, relayIps, realm: engine.options.realm });
  return {
    ports,
    metrics: registry,
    prometheusPort,
    stats: engine.stats,
    engine,
    listeners: { udp, stream },
    close,
  };
}
