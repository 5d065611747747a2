/**
 * Flag parsing shared by `rtcstack record` and `rtcstack play`, in the conventions of the other
 * commands: `--flag value` or `--flag=value`, every problem reported before anything starts.
 */
import { ROOM_PATTERN } from '../../server/signaling/protocol.js';
import { signalingUrl } from './signaling.js';

export interface SplitArgs {
  readonly values: Map<string, string>;
  readonly bools: Set<string>;
  readonly positionals: string[];
}

/** Splits argv by the flags a command knows; `-` alone is a positional, `--` ends the flags. */
export function splitFlags(
  argv: readonly string[],
  valueFlags: readonly string[],
  boolFlags: readonly string[],
): SplitArgs | string {
  const out: SplitArgs = { values: new Map(), bools: new Set(), positionals: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      out.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (boolFlags.includes(name)) {
      if (eq > 0) return `${name}: takes no value`;
      out.bools.add(name);
      continue;
    }
    if (!valueFlags.includes(name)) return `unknown flag '${name}'`;
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) return `${name}: needs a value`;
    if (out.values.has(name)) return `${name}: given twice`;
    out.values.set(name, value);
  }
  return out;
}

/** Where to join: `--url`, `--room`, `--name`, `--token`. */
export interface RoomArgs {
  readonly url: string;
  readonly room: string;
  readonly name?: string;
  readonly token?: string;
}

export const ROOM_VALUE_FLAGS = ['--url', '--room', '--name', '--token'] as const;

export function roomArgs(a: SplitArgs, defaultName: string): RoomArgs | string {
  const url = a.values.get('--url');
  if (url === undefined) return '--url is required (the signaling server, e.g. ws://127.0.0.1:8080)';
  const u = signalingUrl(url);
  if (typeof u === 'string') return `--url: ${u}`;
  const room = a.values.get('--room');
  if (room === undefined) return '--room is required';
  if (!ROOM_PATTERN.test(room)) return `--room: 1-64 characters of A-Z a-z 0-9 _ . - (got '${room}')`;
  const name = a.values.get('--name') ?? defaultName;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (name.length > 64 || /[\u0000-\u001f\u007f]/.test(name))
    return '--name: at most 64 characters, no control characters';
  const token = a.values.get('--token') ?? process.env.RTCSTACK_TOKEN;
  if (token !== undefined && (token.length === 0 || token.length > 2048)) return '--token: 1-2048 characters';
  return { url: u.href, room, name, ...(token !== undefined && { token }) };
}

/** A positive number of seconds (fractions allowed), or an error message. */
export function seconds(flag: string, value: string, max = 7 * 86_400): number | string {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n <= 0 || n > max)
    return `${flag}: seconds, more than 0 and at most ${max} (got '${value}')`;
  return n;
}

/** True when the URL's host is this machine (loopback candidates are then worth gathering). */
export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
