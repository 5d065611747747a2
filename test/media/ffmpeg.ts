/** ffmpeg/ffprobe helpers for media tests: make clips, count decodable frames. */
import { execFileSync } from 'node:child_process';

export type ClipCodec = 'vp8' | 'vp9' | 'av1' | 'h264';

const VIDEO_ARGS: Record<ClipCodec, { args: string[]; ext: string }> = {
  vp8: { args: ['-c:v', 'libvpx', '-b:v', '300k', '-deadline', 'realtime', '-cpu-used', '8'], ext: 'ivf' },
  vp9: {
    args: ['-c:v', 'libvpx-vp9', '-b:v', '300k', '-deadline', 'realtime', '-cpu-used', '8'],
    ext: 'ivf',
  },
  av1: { args: ['-c:v', 'libaom-av1', '-b:v', '300k', '-cpu-used', '8', '-usage', 'realtime'], ext: 'ivf' },
  h264: {
    args: [
      '-c:v',
      'libx264',
      '-profile:v',
      'baseline',
      '-tune',
      'zerolatency',
      '-bsf:v',
      'h264_mp4toannexb',
      '-f',
      'h264',
    ],
    ext: 'h264',
  },
};

/**
 * A testsrc clip: `frames` frames at `fps`, keyframe every `gop` frames. `repeatable`: the same
 * bytes on every run however busy the machine (libvpx's realtime deadline adapts its speed to the
 * time each frame took, so its frames differ from run to run, more so under load; 'good' on one
 * thread does not).
 */
export function makeVideoClip(
  codec: ClipCodec,
  file: string,
  o: { frames?: number; fps?: number; size?: string; gop?: number; repeatable?: boolean } = {},
): void {
  const fps = o.fps ?? 30;
  let { args } = VIDEO_ARGS[codec];
  if (o.repeatable) {
    if (!args.includes('realtime')) throw new Error(`repeatable clips: libvpx only, not ${codec}`);
    args = [...args.map((a) => (a === 'realtime' ? 'good' : a)), '-threads', '1'];
  }
  fromLavfi(file, `testsrc=size=${o.size ?? '320x240'}:rate=${fps}`, [
    '-frames:v',
    String(o.frames ?? 60),
    '-g',
    String(o.gop ?? 30),
    '-pix_fmt',
    'yuv420p',
    ...args,
  ]);
}

/** Writes `file` from an ffmpeg lavfi source with the given output options. */
function fromLavfi(file: string, source: string, outputArgs: string[]): void {
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', source, ...outputArgs, file]);
}

export function makeOpusClip(file: string, seconds = 2): void {
  fromLavfi(file, `sine=frequency=440:duration=${seconds}`, ['-c:a', 'libopus', '-b:a', '48k', '-ac', '2']);
}

export interface ProbeResult {
  readonly codec: string;
  readonly frames: number;
}

/** Decode stream `select` (v:0 or a:0) fully and count frames; throws when ffmpeg reports errors. */
export function probeFrames(file: string, select = 'v:0'): ProbeResult {
  const out = execFileSync('ffprobe', [
    '-v',
    'error',
    '-count_frames',
    '-select_streams',
    select,
    '-show_entries',
    'stream=codec_name,nb_read_frames',
    '-of',
    'json',
    file,
  ]).toString();
  const s = (JSON.parse(out) as { streams: { codec_name: string; nb_read_frames: string }[] }).streams[0];
  if (!s) throw new Error(`no stream ${select} in ${file}`);
  return { codec: s.codec_name, frames: Number(s.nb_read_frames) };
}

/** Decode errors ffmpeg prints for a file (empty when it decodes cleanly). */
export function decodeErrors(file: string): string {
  try {
    return execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
      .toString()
      .trim();
  } catch (err) {
    return String((err as { stderr?: Buffer }).stderr ?? err);
  }
}
