/**
 * Configuration of `rtcstack serve`: embedded defaults, overridden by a JSON config file, then by
 * environment variables, then by command-line flags (flags > env > file > defaults). Every option is
 * declared once in OPTIONS (key, flag, env var, type, help), which drives parsing, validation and
 * `--help`. Problems are collected into one ConfigError (the CLI prints it and exits with 2).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { LogLevel } from '../core/log.js';
import { generateSecret } from './signaling/tokens.js';

export interface ServeConfig {
  host: string;
  httpPort: number;
  /**
   * Also serve the web app and signaling over HTTPS/WSS (browsers give camera and microphone only
   * to secure pages, and a non-loopback http:// page is not one). Default: on when bound to a
   * non-loopback address.
   */
  https: boolean | undefined;
  httpsPort: number;
  /** PEM files of the HTTPS certificate and key (default: a generated self-signed pair). */
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  /** HMAC key of join and resume tokens (generated when not given). */
  secret: string;
  /** Bearer key for POST /api/token when rooms are not open (unset: endpoint disabled). */
  apiKey: string | undefined;
  /** Open rooms (no join token needed). Default: on when bound to a loopback address. */
  open: boolean;
  logLevel: LogLevel;
  /** Start the STUN/TURN server in this process (when the TURN module is present). */
  turn: boolean;
  turnPort: number;
  /** TURN REST API shared secret (generated when not given). */
  turnSecret: string;
  turnRealm: string;
  /** Lifetime of the TURN credentials handed to clients, seconds. */
  turnCredentialTtl: number;
  /** Let TURN relay to loopback peers (default: on only when bound to loopback, for local calls). */
  turnAllowLoopbackPeers: boolean | undefined;
  /** Extra ICE server URLs handed to clients (e.g. an external STUN server). */
  iceUrls: string[];
  /** Host name put in TURN URLs; default: the host the client used to reach us. */
  publicHost: string | undefined;
  resumeWindowSec: number;
  maxPeersPerRoom: number;
  maxPayload: number;
  rateLimitPerSec: number;
  rateLimitBurst: number;
  maxBufferedBytes: number;
  heartbeatIntervalMs: number;
  /** Dashboard TURN cost estimate, USD per relayed GB. */
  turnCostPerGb: number;
  /**
   * Run the SFU: rooms switch to it at `sfuSwitchAt` participants and back at `sfuBackAt`. Default:
   * on only when bound to loopback (not yet tried beyond it).
   */
  sfu: boolean | undefined;
  sfuSwitchAt: number;
  sfuBackAt: number;
  /** Where SFU rooms are recorded on request (`record` frames); unset: recording is off. */
  recordDir: string | undefined;
}

export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.problems = problems;
  }
}

type Kind = 'string' | 'port' | 'int' | 'number' | 'bool' | 'list' | 'level' | 'host';

interface OptionSpec {
  readonly key: keyof ServeConfig;
  readonly flag: string;
  readonly env: string;
  readonly kind: Kind;
  readonly help: string;
  readonly min?: number;
  readonly max?: number;
  /** Also accepted as a flag (e.g. --dev for --open). */
  readonly alias?: string;
}

export const OPTIONS: readonly OptionSpec[] = [
  {
    key: 'host',
    flag: '--host',
    env: 'RTCSTACK_HOST',
    kind: 'host',
    help: 'address to bind (default 127.0.0.1)',
  },
  {
    key: 'httpPort',
    flag: '--http-port',
    env: 'RTCSTACK_HTTP_PORT',
    kind: 'port',
    help: 'HTTP and WebSocket port (default 8080; 0 = any)',
  },
  {
    key: 'https',
    flag: '--https',
    env: 'RTCSTACK_HTTPS',
    kind: 'bool',
    help: 'also serve HTTPS/WSS (default: on when --host is not loopback)',
  },
  {
    key: 'httpsPort',
    flag: '--https-port',
    env: 'RTCSTACK_HTTPS_PORT',
    kind: 'port',
    help: 'HTTPS and secure WebSocket port (default 8443; 0 = any)',
  },
  {
    key: 'tlsCert',
    flag: '--tls-cert',
    env: 'RTCSTACK_TLS_CERT',
    kind: 'string',
    help: 'PEM certificate file for HTTPS (default: generated self-signed)',
  },
  {
    key: 'tlsKey',
    flag: '--tls-key',
    env: 'RTCSTACK_TLS_KEY',
    kind: 'string',
    help: 'PEM private key file for HTTPS (with --tls-cert)',
  },
  {
    key: 'secret',
    flag: '--secret',
    env: 'RTCSTACK_SECRET',
    kind: 'string',
    help: 'HMAC key of join/resume tokens (default: generated)',
  },
  {
    key: 'apiKey',
    flag: '--api-key',
    env: 'RTCSTACK_API_KEY',
    kind: 'string',
    help: 'bearer key for POST /api/token (default: none, endpoint only in open mode)',
  },
  {
    key: 'open',
    flag: '--open',
    alias: '--dev',
    env: 'RTCSTACK_OPEN',
    kind: 'bool',
    help: 'open rooms, no join token (default: on only when bound to loopback)',
  },
  {
    key: 'logLevel',
    flag: '--log-level',
    env: 'RTCSTACK_LOG_LEVEL',
    kind: 'level',
    help: 'error|warn|info|debug (default info)',
  },
  {
    key: 'turn',
    flag: '--turn',
    env: 'RTCSTACK_TURN',
    kind: 'bool',
    help: 'run the STUN/TURN server in this process (default on; --turn=false to disable)',
  },
  {
    key: 'turnPort',
    flag: '--turn-port',
    env: 'RTCSTACK_TURN_PORT',
    kind: 'port',
    help: 'STUN/TURN UDP and TCP port (default 3478)',
  },
  {
    key: 'turnSecret',
    flag: '--turn-secret',
    env: 'RTCSTACK_TURN_SECRET',
    kind: 'string',
    help: 'TURN REST API shared secret (default: generated)',
  },
  {
    key: 'turnRealm',
    flag: '--turn-realm',
    env: 'RTCSTACK_TURN_REALM',
    kind: 'string',
    help: 'TURN realm (default rtcstack)',
  },
  {
    key: 'turnCredentialTtl',
    flag: '--turn-ttl',
    env: 'RTCSTACK_TURN_TTL',
    kind: 'int',
    min: 60,
    max: 86_400 * 7,
    help: 'TURN credential lifetime, seconds (default 1800)',
  },
  {
    key: 'turnAllowLoopbackPeers',
    flag: '--turn-allow-loopback-peers',
    env: 'RTCSTACK_TURN_ALLOW_LOOPBACK_PEERS',
    kind: 'bool',
    help: 'TURN may relay to loopback peers (default: on only when bound to loopback)',
  },
  {
    key: 'iceUrls',
    flag: '--ice-url',
    env: 'RTCSTACK_ICE_URLS',
    kind: 'list',
    help: 'extra ICE server URL for clients (repeatable; env: comma-separated)',
  },
  {
    key: 'publicHost',
    flag: '--public-host',
    env: 'RTCSTACK_PUBLIC_HOST',
    kind: 'host',
    help: 'host name in TURN URLs (default: the host clients used)',
  },
  {
    key: 'resumeWindowSec',
    flag: '--resume-window',
    env: 'RTCSTACK_RESUME_WINDOW',
    kind: 'int',
    min: 1,
    max: 3600,
    help: 'seconds a dropped peer keeps its id and room (default 60)',
  },
  {
    key: 'maxPeersPerRoom',
    flag: '--max-peers-per-room',
    env: 'RTCSTACK_MAX_PEERS_PER_ROOM',
    kind: 'int',
    min: 1,
    max: 10_000,
    help: 'room size limit (default 16)',
  },
  {
    key: 'sfu',
    flag: '--sfu',
    env: 'RTCSTACK_SFU',
    kind: 'bool',
    help: 'switch rooms of --sfu-switch-at participants to the SFU (default: on only when bound to loopback)',
  },
  {
    key: 'sfuSwitchAt',
    flag: '--sfu-switch-at',
    env: 'RTCSTACK_SFU_SWITCH_AT',
    kind: 'int',
    min: 2,
    max: 10_000,
    help: 'participants at which a room switches from mesh to SFU (default 5)',
  },
  {
    key: 'sfuBackAt',
    flag: '--sfu-back-at',
    env: 'RTCSTACK_SFU_BACK_AT',
    kind: 'int',
    min: 0,
    max: 10_000,
    help: 'participants at which an SFU room goes back to mesh (default 3; below --sfu-switch-at)',
  },
  {
    key: 'recordDir',
    flag: '--record-dir',
    env: 'RTCSTACK_RECORD_DIR',
    kind: 'string',
    help: "let participants record SFU rooms (the call page's Record button) into this directory (default: off)",
  },
  {
    key: 'maxPayload',
    flag: '--max-frame',
    env: 'RTCSTACK_MAX_FRAME',
    kind: 'int',
    min: 1024,
    max: 16 << 20,
    help: 'largest signaling frame, bytes (default 65536)',
  },
  {
    key: 'rateLimitPerSec',
    flag: '--rate-limit',
    env: 'RTCSTACK_RATE_LIMIT',
    kind: 'number',
    min: 1,
    max: 1e6,
    help: 'frames per second per connection (default 50)',
  },
  {
    key: 'rateLimitBurst',
    flag: '--rate-burst',
    env: 'RTCSTACK_RATE_BURST',
    kind: 'int',
    min: 1,
    max: 1e6,
    help: 'burst above the rate limit (default 200)',
  },
  {
    key: 'maxBufferedBytes',
    flag: '--max-buffered',
    env: 'RTCSTACK_MAX_BUFFERED',
    kind: 'int',
    min: 4096,
    max: 1 << 30,
    help: 'unsent bytes before a client that does not read is dropped (default 1048576)',
  },
  {
    key: 'heartbeatIntervalMs',
    flag: '--heartbeat-ms',
    env: 'RTCSTACK_HEARTBEAT_MS',
    kind: 'int',
    min: 100,
    max: 600_000,
    help: 'WebSocket ping period, ms (default 15000)',
  },
  {
    key: 'turnCostPerGb',
    flag: '--turn-cost-per-gb',
    env: 'RTCSTACK_TURN_COST_PER_GB',
    kind: 'number',
    min: 0,
    max: 1000,
    help: 'USD per relayed GB for the dashboard estimate (default 0.08)',
  },
];

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

export function defaults(): Omit<ServeConfig, 'open'> & { open: boolean | undefined } {
  return {
    host: '127.0.0.1',
    httpPort: 8080,
    https: undefined,
    httpsPort: 8443,
    tlsCert: undefined,
    tlsKey: undefined,
    secret: generateSecret(),
    apiKey: undefined,
    open: undefined,
    logLevel: 'info',
    turn: true,
    turnPort: 3478,
    turnSecret: generateSecret(),
    turnRealm: 'rtcstack',
    turnCredentialTtl: 1800,
    turnAllowLoopbackPeers: undefined,
    iceUrls: [],
    publicHost: undefined,
    resumeWindowSec: 60,
    maxPeersPerRoom: 16,
    maxPayload: 65_536,
    rateLimitPerSec: 50,
    rateLimitBurst: 200,
    maxBufferedBytes: 1 << 20,
    heartbeatIntervalMs: 15_000,
    turnCostPerGb: 0.08,
    sfu: undefined,
    sfuSwitchAt: 5,
    sfuBackAt: 3,
    recordDir: undefined,
  };
}

function convert(spec: OptionSpec, raw: unknown, where: string, problems: string[]): unknown {
  const bad = (why: string): undefined => {
    problems.push(`${where}: ${why} (got ${JSON.stringify(raw)})`);
    return undefined;
  };
  const fromString = typeof raw === 'string';
  switch (spec.kind) {
    case 'string':
      return typeof raw === 'string' && raw.length > 0 ? raw : bad('expected a non-empty string');
    case 'host': {
      if (typeof raw !== 'string' || !(isIP(raw) || /^[A-Za-z0-9.-]{1,253}$/.test(raw)))
        return bad('expected an IP address or host name');
      return raw;
    }
    case 'level':
      return raw === 'error' || raw === 'warn' || raw === 'info' || raw === 'debug'
        ? raw
        : bad('expected error, warn, info or debug');
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      if (fromString && /^(1|true|yes|on)$/i.test(raw)) return true;
      if (fromString && /^(0|false|no|off)$/i.test(raw)) return false;
      return bad('expected true or false');
    }
    case 'list': {
      if (Array.isArray(raw) && raw.every((x) => typeof x === 'string')) return raw;
      if (fromString)
        return raw
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
      return bad('expected a list of strings');
    }
    case 'port':
    case 'int':
    case 'number': {
      const n =
        fromString && /^-?\d+(\.\d+)?$/.test(raw.trim())
          ? Number(raw)
          : typeof raw === 'number'
            ? raw
            : Number.NaN;
      const [min, max] = spec.kind === 'port' ? [0, 65_535] : [spec.min ?? -Infinity, spec.max ?? Infinity];
      if (!Number.isFinite(n) || (spec.kind !== 'number' && !Number.isInteger(n)) || n < min || n > max) {
        return bad(
          spec.kind === 'port'
            ? 'expected a port number 0-65535'
            : `expected a ${spec.kind === 'number' ? 'number' : 'whole number'} in [${min}, ${max}]`,
        );
      }
      return n;
    }
  }
}

export interface ResolveInput {
  readonly argv: string[];
  readonly env?: Record<string, string | undefined>;
}

/** Parses flags only (for --config and --help), leaving values as strings. */
function parseFlags(
  argv: string[],
  problems: string[],
): { values: Map<OptionSpec, unknown[]>; config?: string; help: boolean } {
  const values = new Map<OptionSpec, unknown[]>();
  let config: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    let inline: string | undefined = eq > 0 ? arg.slice(eq + 1) : undefined;
    if (name === '--config') {
      config = inline ?? argv[++i];
      if (!config) problems.push('--config: needs a file name');
      continue;
    }
    const spec = OPTIONS.find((o) => o.flag === name || o.alias === name);
    if (!spec) {
      problems.push(`unknown flag '${name}' (rtcstack serve --help lists them)`);
      continue;
    }
    if (spec.kind === 'bool' && inline === undefined) inline = 'true';
    const value = inline ?? argv[++i];
    if (value === undefined) {
      problems.push(`${name}: needs a value`);
      continue;
    }
    const list = values.get(spec) ?? [];
    list.push(value);
    values.set(spec, list);
  }
  return { values, ...(config !== undefined ? { config } : {}), help };
}

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([
      `--config ${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    ]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([`--config ${path}: not valid JSON (${(err as Error).message})`]);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError([`--config ${path}: must hold a JSON object`]);
  }
  return value as Record<string, unknown>;
}

/**
 * Resolves the configuration. Returns `{ help: true }` when --help was asked. Throws ConfigError
 * listing every problem found.
 */
export function resolveConfig(input: ResolveInput): { help: true } | { help: false; config: ServeConfig } {
  const env = input.env ?? process.env;
  const problems: string[] = [];
  const flags = parseFlags(input.argv, problems);
  if (flags.help) return { help: true };
  const configPath = flags.config ?? env.RTCSTACK_CONFIG;
  const cfg: Record<string, unknown> = defaults();
  const set = new Set<string>();

  if (configPath) {
    const file = readConfigFile(configPath);
    for (const [k, raw] of Object.entries(file)) {
      const spec = OPTIONS.find((o) => o.key === k);
      if (!spec) {
        problems.push(`${configPath}: unknown key '${k}' (known: ${OPTIONS.map((o) => o.key).join(', ')})`);
        continue;
      }
      const val = convert(spec, raw, `${configPath}: ${k}`, problems);
      if (val !== undefined) {
        cfg[k] = val;
        set.add(k);
      }
    }
  }
  for (const spec of OPTIONS) {
    const raw = env[spec.env];
    if (raw === undefined || raw === '') continue;
    const val = convert(spec, raw, `env ${spec.env}`, problems);
    if (val !== undefined) {
      cfg[spec.key] = val;
      set.add(spec.key);
    }
  }
  for (const [spec, raws] of flags.values) {
    if (spec.kind === 'list') {
      cfg[spec.key] = raws.flatMap(
        (r) => (convert(spec, r, spec.flag, problems) as string[] | undefined) ?? [],
      );
    } else {
      const val = convert(spec, raws[raws.length - 1], spec.flag, problems);
      if (val !== undefined) cfg[spec.key] = val;
    }
    set.add(spec.key);
  }
  for (const url of cfg.iceUrls as string[]) {
    if (!/^(stun|stuns|turn|turns):[^\s]+$/.test(url))
      problems.push(`ice url '${url}': must start with stun:, stuns:, turn: or turns:`);
  }
  if ((cfg.sfuBackAt as number) >= (cfg.sfuSwitchAt as number))
    problems.push(`--sfu-back-at ${cfg.sfuBackAt} must be below --sfu-switch-at ${cfg.sfuSwitchAt}`);
  if ((cfg.tlsCert === undefined) !== (cfg.tlsKey === undefined))
    problems.push('--tls-cert and --tls-key go together: give both or neither');
  for (const k of ['tlsCert', 'tlsKey'] as const) {
    const path = cfg[k] as string | undefined;
    if (path === undefined) continue;
    try {
      const text = readFileSync(path, 'utf8');
      if (!/-----BEGIN [A-Z ]+-----/.test(text)) problems.push(`${k} ${path}: not a PEM file`);
    } catch (err) {
      problems.push(`${k} ${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  if (cfg.open === undefined) cfg.open = isLoopback(cfg.host as string);
  if (cfg.https === undefined) cfg.https = !isLoopback(cfg.host as string);
  return { help: false, config: cfg as unknown as ServeConfig };
}

export function usage(): string {
  const lines = [
    'usage: rtcstack serve [flags]',
    '',
    'Runs signaling, the web app (call page, /dashboard), /metrics and the STUN/TURN server in one',
    'process. Precedence: flags > environment > --config FILE (JSON, keys as below) > defaults.',
    '',
    `  ${'--config FILE'.padEnd(26)} JSON config file (env RTCSTACK_CONFIG)`,
  ];
  for (const o of OPTIONS) {
    const flag = `${o.flag}${o.alias ? `, ${o.alias}` : ''}${o.kind === 'bool' ? '' : ' V'}`;
    lines.push(`  ${flag.padEnd(26)} ${o.help}`);
    lines.push(`  ${''.padEnd(26)}   env ${o.env}, config key "${o.key}"`);
  }
  return lines.join('\n');
}
