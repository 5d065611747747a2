/**
 * `rtcstack play FILE... --url URL --room ROOM`: joins a room of `rtcstack serve` and sends a video
 * file (IVF: VP8/VP9/AV1, or H.264 Annex-B) and/or an Ogg/Opus file to every participant, paced at
 * the file's frame timing (src/cli/participant/). `-` reads an IVF stream from stdin (a live
 * ffmpeg feed). Exit codes: 0 when the files ended or on SIGINT/SIGTERM, 1 when joining fails or
 * the session ends early, 2 for bad flags or unreadable files.
 */

import { splitFlags } from '../flags.js';
import { isLoopbackUrl, ROOM_VALUE_FLAGS, type RoomArgs, roomArgs } from '../participant/flags.js';
import { type MediaSource, openIvfStream, openSource } from '../participant/media-source.js';
import { Participant } from '../participant/participant.js';
import { Player } from '../participant/player.js';
import { ProgressLine } from '../participant/progress.js';
import { runSession } from '../participant/session.js';

const USAGE = `usage: rtcstack play FILE... --url URL --room ROOM [--loop] [--fps N]
                     [--name NAME] [--token TOKEN]

Joins ROOM on the rtcstack serve at URL (ws://HOST:PORT, or its http:// address) and sends the
files to every participant in the room, paced at their own frame timing. Playback starts when
the first participant is connected; participants who join later see the video from its next
keyframe. Shows progress on stderr; ends when the files end (or on Ctrl-C / SIGTERM).

FILE is one video file and/or one audio file (recognised by their contents):
  .ivf           VP8, VP9 or AV1 in IVF (e.g. ffmpeg -c:v libvpx -f ivf)
  .h264 / .264   H.264 Annex-B elementary stream (timing from --fps)
  .ogg / .opus   Opus in Ogg
  -              an IVF stream on stdin, e.g. a live feed:
                 ffmpeg -re -i cam.mp4 -c:v libvpx -deadline realtime -f ivf - | rtcstack play - ...

In a mesh room every participant gets its own connection; in SFU mode (by default from 5
participants) the media goes up once to the server's SFU (one encoding), which forwards it.

  --url URL      signaling server (required)
  --room ROOM    room to join (required)
  --loop         play the files again and again (not with -)
  --fps N        frame rate of an H.264 Annex-B file (default 30)
  --name NAME    display name in the room (default: player)
  --token TOKEN  join token, when the server's rooms need one (or env RTCSTACK_TOKEN)
  -h, --help     this help`;

export interface PlayArgs extends RoomArgs {
  readonly files: string[];
  readonly loop: boolean;
  readonly fps: number;
}

export function parsePlayArgs(argv: readonly string[]): PlayArgs | string {
  const a = splitFlags(argv, [...ROOM_VALUE_FLAGS, '--fps'], ['--loop']);
  if (typeof a === 'string') return a;
  const room = roomArgs(a, 'player');
  if (typeof room === 'string') return room;
  const files = a.positionals;
  if (files.length === 0) return 'no FILE to play';
  if (files.length > 2) return 'at most two files: one video and one audio';
  if (files.filter((f) => f === '-').length > 1) return "'-' (stdin) can be given once";
  const loop = a.bools.has('--loop');
  if (loop && files.includes('-')) return '--loop cannot repeat a stream on stdin';
  const fpsText = a.values.get('--fps') ?? '30';
  const fps = Number(fpsText);
  if (!/^\d+(\.\d+)?$/.test(fpsText) || fps <= 0 || fps > 240)
    return `--fps: a frame rate in (0, 240] (got '${fpsText}')`;
  return { ...room, files, loop, fps };
}

/** Opens the files; an error message when one cannot be played or two are of the same kind. */
export async function openSources(args: PlayArgs): Promise<MediaSource[] | string> {
  const sources: MediaSource[] = [];
  for (const f of args.files) {
    try {
      sources.push(f === '-' ? await openIvfStream(process.stdin) : openSource(f, { fps: args.fps }));
    } catch (err) {
      return (err as Error).message;
    }
  }
  const [a, b] = sources;
  if (a && b && a.kind === b.kind)
    return `two ${a.kind} files (${a.label}, ${b.label}); give one video and one audio`;
  return sources;
}

/** Shaped as main.ts's `Command` (not imported: that would be an import cycle). */
export const command: { summary: string; run(argv: string[]): Promise<number> } = {
  summary: 'join a room and send a video (IVF/H.264) and/or Opus file to everyone in it',
  async run(argv) {
    if (argv.includes('--help') || argv.includes('-h')) {
      console.log(USAGE);
      return 0;
    }
    const args = parsePlayArgs(argv);
    if (typeof args === 'string') {
      console.error(`rtcstack play: ${args}\n\n${USAGE}`);
      return 2;
    }
    const sources = await openSources(args);
    if (typeof sources === 'string') {
      console.error(`rtcstack play: ${sources}`);
      return 2;
    }
    const player = new Player(sources, args.loop);
    const progress = new ProgressLine(process.stderr);
    const participant = new Participant({
      ...args,
      peerOptions: { includeLoopback: isLoopbackUrl(args.url) },
      ...(process.env.RTCSTACK_DEBUG && { note: (e: string) => progress.message(`rtcstack play: ${e}`) }),
      setup: (pc) => player.attach(pc),
      sfu: true,
      publish: (pc) => player.attach(pc),
    });
    let startPlaying: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      startPlaying = () => void player.start().then(resolve);
    });
    // The first keyframe goes to someone: start when the first connection is up.
    participant.on('state', (c, s) => {
      // In SFU mode, what we send goes through the publishing connection.
      if (s === 'connected' && !player.started && !(c.kind === 'sfu' && c.pc === 'sub')) {
        progress.message(`rtcstack play: connected; playing ${sources.map((s) => s.label).join(' + ')}`);
        startPlaying();
      }
    });
    return runSession({
      verb: 'play',
      participant,
      progress,
      done,
      figures: () => {
        const f = player.figures();
        return { ...f, ...(args.loop && f.passes > 0 && { note: `pass ${f.passes}` }) };
      },
      onJoined: (w) =>
        progress.message(
          `rtcstack play: joined room ${w.room} (${w.mode} mode) as ${w.name} (${w.peerId}); ${w.peers.length} other participant(s)${w.peers.length ? '' : '; waiting for someone to join'}`,
        ),
      finish: () => {
        player.stop();
        if (args.files.includes('-')) process.stdin.destroy();
      },
    });
  },
};
