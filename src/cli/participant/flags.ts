/**
 * Flags shared by `rtcstack record` and `rtcstack play` (split by src/cli/flags.ts): where to join,
 * durations; every problem reported before anything starts.
 */
import { ROOM_PATTERN } from '../../server/signaling/protocol.js';
import type { SplitArgs } from '../flags.js';
import { signalingUrl } from './signaling.js';

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
