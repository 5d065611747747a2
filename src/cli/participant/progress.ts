/**
 * The progress display of `rtcstack record` and `rtcstack play` on stderr: on a terminal one line
 * rewritten in place, otherwise (a log file, a pipe) one line every `everyMs`.
 */

export interface ProgressFigures {
  /** Seconds since the command started. */
  readonly seconds: number;
  /** Remote participants in the room, and how many of them are connected. */
  readonly participants: number;
  readonly connected: number;
  readonly videoFrames: number;
  readonly audioFrames: number;
  readonly bytes: number;
  /** Extra words at the end (e.g. `loop 2`). */
  readonly note?: string;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function formatProgress(verb: string, f: ProgressFigures): string {
  return [
    `${verb} ${f.seconds.toFixed(1)}s`,
    `participants ${f.connected}/${f.participants}`,
    `video ${f.videoFrames} frames`,
    `audio ${f.audioFrames} frames`,
    formatBytes(f.bytes),
    ...(f.note ? [f.note] : []),
  ].join('  ');
}

export interface ProgressOutput {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

export class ProgressLine {
  readonly #out: ProgressOutput;
  readonly #everyMs: number;
  #lastPrinted = -Infinity;
  #onLine = false;

  constructor(out: ProgressOutput, everyMs = 5000) {
    this.#out = out;
    this.#everyMs = everyMs;
  }

  /** Shows `text` (now on a TTY; on other outputs only when `everyMs` has passed since the last). */
  update(text: string, nowMs: number): void {
    if (this.#out.isTTY) {
      this.#out.write(`\r\x1b[2K${text}`);
      this.#onLine = true;
      return;
    }
    if (nowMs - this.#lastPrinted < this.#everyMs) return;
    this.#lastPrinted = nowMs;
    this.#out.write(`${text}\n`);
  }

  /** A message on its own line (the progress line, if any, is redrawn by the next update). */
  message(text: string): void {
    this.#out.write(`${this.#onLine ? '\r\x1b[2K' : ''}${text}\n`);
    this.#onLine = false;
  }

  /** The final figures, always printed, ending the line. */
  finish(text: string): void {
    this.message(text);
  }
}
