/**
 * `rtcstack record --url URL --room ROOM`: joins a room of `rtcstack serve` receive-only and writes
 * each remote participant's video and audio to a WebM file (src/cli/participant/). Stops on
 * SIGINT/SIGTERM or after --duration, finalises the files and leaves the room.
 * Exit codes: 0 after a clean stop, 1 when joining fails or the session ends early, 2 for bad flags.
 */
import { accessSync, constants, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { splitFlags } from '../flags.js';
import { isLoopbackUrl, ROOM_VALUE_FLAGS, type RoomArgs, roomArgs, seconds } from '../participant/flags.js';
import { Participant } from '../participant/participant.js';
import { formatBytes, ProgressLine } from '../participant/progress.js';
import { RoomRecorder } from '../participant/room-recorder.js';
import { runSession } from '../participant/session.js';

const USAGE = `usage: rtcstack record --url URL --room ROOM [--out DIR] [--duration SECONDS]
                       [--name NAME] [--token TOKEN]

Joins ROOM on the rtcstack serve at URL (ws://HOST:PORT, or its http:// address) as a
receive-only participant and records every other participant's camera and microphone to
DIR/<name>-<peer id>.webm (VP8/VP9/AV1 + Opus; .mkv for H.264). Shows progress on stderr.
Stops on Ctrl-C (SIGINT), SIGTERM or after --duration, finalises the files and leaves the room.
Mesh and SFU rooms: in SFU mode (by default from 5 participants) everyone arrives on one
connection with the server's SFU, which forwards one simulcast layer of each camera.

  --url URL           signaling server (required)
  --room ROOM         room to join (required)
  --out DIR           where the files go (default: the current directory; created if missing)
  --duration SECONDS  stop after this long (default: until interrupted)
  --name NAME         display name in the room (default: recorder)
  --token TOKEN       join token, when the server's rooms need one (or env RTCSTACK_TOKEN)
  -h, --help          this help`;

export interface RecordArgs extends RoomArgs {
  readonly out: string;
  readonly durationSec?: number;
}

export function parseRecordArgs(argv: readonly string[]): RecordArgs | string {
  const a = splitFlags(argv, [...ROOM_VALUE_FLAGS, '--out', '--duration'], []);
  if (typeof a === 'string') return a;
  if (a.positionals.length) return `unexpected argument '${a.positionals[0]}'`;
  const room = roomArgs(a, 'recorder');
  if (typeof room === 'string') return room;
  const d = a.values.get('--duration');
  const durationSec = d === undefined ? undefined : seconds('--duration', d);
  if (typeof durationSec === 'string') return durationSec;
  return {
    ...room,
    out: resolve(a.values.get('--out') ?? '.'),
    ...(durationSec !== undefined && { durationSec }),
  };
}

/** Shaped as main.ts's `Command` (not imported: that would be an import cycle). */
export const command: { summary: string; run(argv: string[]): Promise<number> } = {
  summary: "join a room and record each participant's video and audio to WebM",
  async run(argv) {
    if (argv.includes('--help') || argv.includes('-h')) {
      console.log(USAGE);
      return 0;
    }
    const args = parseRecordArgs(argv);
    if (typeof args === 'string') {
      console.error(`rtcstack record: ${args}\n\n${USAGE}`);
      return 2;
    }
    try {
      mkdirSync(args.out, { recursive: true });
      accessSync(args.out, constants.W_OK);
    } catch (err) {
      console.error(`rtcstack record: --out ${args.out}: ${(err as Error).message}`);
      return 2;
    }
    const recorder = new RoomRecorder(args.out);
    const progress = new ProgressLine(process.stderr);
    const participant = new Participant({
      ...args,
      peerOptions: { includeLoopback: isLoopbackUrl(args.url) },
      ...(process.env.RTCSTACK_DEBUG && { note: (e: string) => progress.message(`rtcstack record: ${e}`) }),
      setup: (pc) => {
        pc.addTransceiver('video', { direction: 'recvonly' });
        pc.addTransceiver('audio', { direction: 'recvonly' });
      },
      sfu: true,
    });
    participant.on('track', (peer, ev, link) => recorder.onTrack(peer, ev, link));
    return runSession({
      verb: 'record',
      participant,
      progress,
      ...(args.durationSec !== undefined && { durationMs: args.durationSec * 1000 }),
      figures: () => recorder.totals(),
      onJoined: (w) =>
        progress.message(
          `rtcstack record: joined room ${w.room} (${w.mode} mode) as ${w.name} (${w.peerId}); ${w.peers.length} other participant(s); writing to ${args.out}`,
        ),
      finish: () => {
        recorder.close();
        for (const r of recorder.recordings)
          progress.message(
            r.path
              ? `  ${r.path}: ${r.videoFrames} video + ${r.audioFrames} audio frames, ${formatBytes(r.bytes)} (${r.peer.name})`
              : `  ${r.peer.name} (${r.peer.id}): nothing recorded (no keyframe or no audio arrived)`,
          );
      },
    });
  },
};
