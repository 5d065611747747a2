/**
 * What `rtcstack play` sends: encoded frames with their presentation times, from an IVF file
 * (VP8/VP9/AV1), an H.264 Annex-B file (no timing of its own: `fps`), an Ogg/Opus file, or an IVF
 * stream on stdin (`-`, e.g. a live ffmpeg feed). Files can loop: each pass is shifted by the
 * file's duration, so timestamps keep growing.
 */
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { splitAccessUnits } from '../../media/container/annexb.js';
import { type IvfHeader, ivfCodec, parseIvf } from '../../media/container/ivf.js';
import { opusPacketSamples, parseOggOpus } from '../../media/container/opus-file.js';

export type SourceCodec = 'vp8' | 'vp9' | 'av1' | 'h264' | 'opus';

export interface TimedFrame {
  readonly data: Uint8Array;
  /** Presentation time, ms from the start of the source. */
  readonly ms: number;
  /** Which pass through a looping file (0 first). */
  readonly pass?: number;
}

export interface MediaSource {
  readonly kind: 'audio' | 'video';
  readonly codec: SourceCodec;
  /** File name (or `stdin`) and a short description, for messages. */
  readonly label: string;
  /** The frames, in order; `loop` repeats a file (a stream cannot loop). */
  frames(loop: boolean): AsyncIterable<TimedFrame>;
}

const u32le = (b: Uint8Array, at: number): number =>
  (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;

function ivfMs(header: IvfHeader, timestamp: number): number {
  return (timestamp * header.timebaseScale * 1000) / header.timebaseRate;
}

/** Frames of a whole file, repeated when looping with each pass shifted by `durationMs`. */
function fileFrames(frames: readonly TimedFrame[], durationMs: number): MediaSource['frames'] {
  return async function* (loop: boolean) {
    for (let pass = 0; ; pass++) {
      for (const f of frames) yield { data: f.data, ms: f.ms + pass * durationMs, pass };
      if (!loop || frames.length === 0) return;
    }
  };
}

/** Duration of a sequence of frames: the last one's time plus the usual gap between frames. */
function videoDuration(frames: readonly TimedFrame[], fallbackMs: number): number {
  const n = frames.length;
  if (n === 0) return 0;
  const gap = n > 1 ? (frames[n - 1]!.ms - frames[0]!.ms) / (n - 1) : fallbackMs;
  return frames[n - 1]!.ms - frames[0]!.ms + (gap > 0 ? gap : fallbackMs);
}

/**
 * Opens a file, recognising it by its first bytes (`openIvfStream` reads stdin). Throws an Error
 * whose message says what is wrong with the file.
 */
export function openSource(path: string, o: { fps: number }): MediaSource {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(
      `${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic === 'DKIF') {
    const { header, frames } = wrap(path, () => parseIvf(bytes));
    const codec = ivfCodec(header.fourcc);
    if (!codec)
      throw new Error(`${path}: IVF with fourcc ${header.fourcc} (VP80, VP90 or AV01 can be played)`);
    if (frames.length === 0) throw new Error(`${path}: no frames`);
    const t0 = ivfMs(header, frames[0]!.timestamp);
    const timed = frames.map((f) => ({ data: f.data, ms: ivfMs(header, f.timestamp) - t0 }));
    return {
      kind: 'video',
      codec,
      label: `${path} (${codec.toUpperCase()} ${header.width}x${header.height}, ${frames.length} frames)`,
      frames: fileFrames(timed, videoDuration(timed, 1000 / o.fps)),
    };
  }
  if (magic === 'OggS') {
    const { packets } = wrap(path, () => parseOggOpus(bytes));
    if (packets.length === 0) throw new Error(`${path}: no Opus packets`);
    let samples = 0;
    const timed = packets.map((data) => {
      const f = { data, ms: samples / 48 };
      samples += opusPacketSamples(data);
      return f;
    });
    return {
      kind: 'audio',
      codec: 'opus',
      label: `${path} (Opus, ${(samples / 48000).toFixed(1)} s)`,
      frames: fileFrames(timed, samples / 48),
    };
  }
  const startCode = (bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 1) || u32le(bytes, 0) === 0x01000000;
  if (startCode) {
    const units = splitAccessUnits(bytes);
    if (units.length === 0) throw new Error(`${path}: no H.264 access units`);
    const timed = units.map((data, i) => ({ data, ms: (i * 1000) / o.fps }));
    return {
      kind: 'video',
      codec: 'h264',
      label: `${path} (H.264 Annex-B, ${units.length} frames at ${o.fps} fps)`,
      frames: fileFrames(timed, (units.length * 1000) / o.fps),
    };
  }
  throw new Error(`${path}: not an IVF, Ogg/Opus or H.264 Annex-B file`);
}

function wrap<T>(path: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}

/**
 * An IVF stream (stdin): waits for its header (the codec comes from the fourcc), then yields frames
 * as they arrive. Each complete frame record is read with the file parser (header + that record).
 */
export async function openIvfStream(stream: Readable, label = 'stdin'): Promise<MediaSource> {
  const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let buf: Uint8Array = new Uint8Array(0);
  const more = async (): Promise<boolean> => {
    const r = await chunks.next();
    if (r.done) return false;
    buf = buf.length ? Buffer.concat([buf, r.value]) : r.value;
    return true;
  };
  while (buf.length < 32 || buf.length < (buf[6]! | (buf[7]! << 8))) {
    if (!(await more())) throw new Error(`${label}: the stream ended before its IVF header`);
  }
  if (String.fromCharCode(...buf.subarray(0, 4)) !== 'DKIF') throw new Error(`${label}: not an IVF stream`);
  const header = buf.subarray(0, buf[6]! | (buf[7]! << 8));
  buf = buf.subarray(header.length);
  const info = wrap(label, () => parseIvf(header)).header;
  const codec = ivfCodec(info.fourcc);
  if (!codec) throw new Error(`${label}: IVF with fourcc ${info.fourcc} (VP80, VP90 or AV01 can be played)`);
  return {
    kind: 'video',
    codec,
    label: `${label} (${codec.toUpperCase()} ${info.width}x${info.height} IVF stream)`,
    async *frames() {
      let t0: number | undefined;
      for (;;) {
        while (buf.length >= 12 && buf.length >= 12 + u32le(buf, 0)) {
          const end = 12 + u32le(buf, 0);
          const f = wrap(label, () => parseIvf(Buffer.concat([header, buf.subarray(0, end)]))).frames[0]!;
          buf = buf.subarray(end);
          t0 ??= ivfMs(info, f.timestamp);
          yield { data: f.data, ms: ivfMs(info, f.timestamp) - t0 };
        }
        if (!(await more())) return;
      }
    },
  };
}
