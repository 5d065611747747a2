/**
 * `rtcstack token --room R [--ttl 3600] [--name N]`: mints a join token. Signs locally with the
 * server's secret (--secret, RTCSTACK_SECRET or the "secret" of --config FILE), or asks a running
 * server (--server URL [--api-key K]) through POST /api/token. Prints the token on stdout.
 */
import { ConfigError, readConfigFile } from '../../server/config.js';
import { ROOM_PATTERN } from '../../server/signaling/protocol.js';
import { mintJoinToken } from '../../server/signaling/tokens.js';
import { splitFlags } from '../flags.js';

const USAGE = `usage: rtcstack token --room ROOM [--ttl SECONDS] [--name NAME]
                      [--secret S | --config FILE | --server URL [--api-key K]] [--json]

Mints a signed join token for ROOM valid for --ttl seconds (default 3600).
The secret comes from --secret, env RTCSTACK_SECRET, or "secret" in --config FILE (the same
file rtcstack serve reads); with --server it asks that server's POST /api/token instead.`;

interface TokenArgs {
  room: string;
  ttl: number;
  name?: string;
  secret?: string;
  config?: string;
  server?: string;
  apiKey?: string;
  json: boolean;
}

function parse(argv: string[]): TokenArgs | string {
  const a = splitFlags(
    argv,
    ['--room', '--ttl', '--name', '--secret', '--config', '--server', '--api-key'],
    ['--json'],
  );
  if (typeof a === 'string') return a;
  if (a.positionals.length > 0) return `unexpected argument '${a.positionals[0]}'`;
  const room = a.values.get('--room');
  if (room === undefined) return '--room is required';
  if (!ROOM_PATTERN.test(room)) return `--room: 1-64 characters of A-Z a-z 0-9 _ . - (got '${room}')`;
  const out: TokenArgs = { room, ttl: 3600, json: a.bools.has('--json') };
  const ttl = a.values.get('--ttl');
  if (ttl !== undefined) {
    const n = Number(ttl);
    if (!/^\d+$/.test(ttl) || n < 1 || n > 7 * 86_400)
      return `--ttl: whole seconds in [1, 604800] (got '${ttl}')`;
    out.ttl = n;
  }
  const name = a.values.get('--name');
  if (name !== undefined) {
    if (name.length > 64) return '--name: at most 64 characters';
    out.name = name;
  }
  const secret = a.values.get('--secret');
  if (secret !== undefined) out.secret = secret;
  const config = a.values.get('--config');
  if (config !== undefined) out.config = config;
  const server = a.values.get('--server');
  if (server !== undefined) out.server = server.replace(/\/$/, '');
  const apiKey = a.values.get('--api-key');
  if (apiKey !== undefined) out.apiKey = apiKey;
  return out;
}

/** Shaped as main.ts's `Command` (not imported: that would be an import cycle). */
export const command: { summary: string; run(argv: string[]): Promise<number> } = {
  summary: 'mint a signed join token for a room',
  async run(argv) {
    if (argv.includes('--help') || argv.includes('-h')) {
      console.log(USAGE);
      return 0;
    }
    const args = parse(argv);
    if (typeof args === 'string') {
      console.error(`rtcstack token: ${args}\n\n${USAGE}`);
      return 2;
    }
    const room = args.room;
    let token: string;
    let exp: number;
    if (args.server) {
      const res = await fetch(`${args.server}/api/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(args.apiKey ? { authorization: `Bearer ${args.apiKey}` } : {}),
        },
        body: JSON.stringify({
          room,
          ttl: args.ttl,
          ...(args.name !== undefined ? { name: args.name } : {}),
        }),
      }).catch((err: Error) => err);
      if (res instanceof Error) {
        console.error(`rtcstack token: cannot reach ${args.server}: ${res.message}`);
        return 1;
      }
      const body = (await res.json().catch(() => ({}))) as { token?: string; exp?: number; error?: string };
      if (!res.ok || !body.token || body.exp === undefined) {
        console.error(`rtcstack token: server said ${res.status}: ${body.error ?? 'no token'}`);
        return 1;
      }
      token = body.token;
      exp = body.exp;
    } else {
      let secret = args.secret ?? process.env.RTCSTACK_SECRET;
      if (secret === undefined && args.config) {
        try {
          const file = readConfigFile(args.config);
          if (typeof file.secret === 'string') secret = file.secret;
        } catch (err) {
          if (err instanceof ConfigError) {
            console.error(`rtcstack token: ${err.message}`);
            return 2;
          }
          throw err;
        }
      }
      if (!secret) {
        console.error(
          'rtcstack token: no secret: pass --secret (the --secret of rtcstack serve), set RTCSTACK_SECRET, use --config FILE, or --server URL',
        );
        return 2;
      }
      exp = Math.floor(Date.now() / 1000) + args.ttl;
      token = mintJoinToken(secret, { room, exp, ...(args.name !== undefined ? { name: args.name } : {}) });
    }
    console.log(args.json ? JSON.stringify({ token, room, exp }) : token);
    return 0;
  },
};
