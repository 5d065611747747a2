/**
 * The life of a `record`/`play` run: join, show progress, stop on SIGINT/SIGTERM, after the
 * duration, when the work is done, or when the session cannot go on (SFU mode, signaling lost);
 * then finish (finalise files), leave the room and return the exit code.
 */
import type { Participant } from './participant.js';
import { formatProgress, type ProgressFigures, type ProgressLine } from './progress.js';
import type { Welcome } from './signaling.js';

export interface SessionOptions {
  readonly verb: string;
  readonly participant: Participant;
  readonly progress: ProgressLine;
  readonly durationMs?: number;
  /** Media figures for the progress line. */
  figures(): Pick<ProgressFigures, 'videoFrames' | 'audioFrames' | 'bytes' | 'note'>;
  onJoined?(welcome: Welcome): void;
  /** Resolves when the work is done on its own (a played file ended). */
  readonly done?: Promise<unknown>;
  /** Called once while stopping, before leaving the room: finalise files, stop sources. */
  finish(): void | Promise<void>;
  /** Progress refresh period, ms (default 500 on a terminal, 1000 otherwise). */
  readonly tickMs?: number;
}

/** How SFU mode is reported to a participant made without `sfu: true`. */
export const SFU_MESSAGE = 'the room is in SFU mode, which this participant was made without';

export function runSession(o: SessionOptions): Promise<number> {
  const p = o.participant;
  const started = performance.now();
  const log = (text: string): void => o.progress.message(`rtcstack ${o.verb}: ${text}`);
  const figures = (): ProgressFigures => ({
    ...o.figures(),
    ...p.counts(),
    seconds: (performance.now() - started) / 1000,
  });
  return new Promise<number>((resolveRun) => {
    let stopping = false;
    const timers: ReturnType<typeof setTimeout>[] = [];
    const onSignal = (sig: string): void => {
      log(`${sig}: stopping`);
      void stop(0);
    };
    const onInt = (): void => onSignal('SIGINT');
    const onTerm = (): void => onSignal('SIGTERM');
    const stop = async (code: number, why?: string): Promise<void> => {
      if (stopping) return;
      stopping = true;
      for (const t of timers) clearTimeout(t);
      clearInterval(tick);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      if (why) log(why);
      try {
        await o.finish();
      } catch (err) {
        log(`finishing failed: ${(err as Error).message}`);
        code = 1;
      }
      o.progress.finish(formatProgress(o.verb === 'record' ? 'recorded' : 'played', figures()));
      await p.close().catch(() => {});
      resolveRun(code);
    };
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    const tick = setInterval(
      () => o.progress.update(formatProgress(o.verb, figures()), performance.now()),
      o.tickMs ?? (process.stderr.isTTY ? 500 : 1000),
    );
    p.on('sfu', () => void stop(1, SFU_MESSAGE));
    let joined = false;
    p.on('closed', (reason) => void stop(1, `${joined ? 'signaling ended' : 'cannot join'}: ${reason}`));
    p.on('peer-joined', (peer) => log(`${peer.name} (${peer.id}) joined`));
    p.on('peer-left', (peer) => log(`${peer.name} (${peer.id}) left`));
    p.on('mode', (mode) => log(`the room is now in ${mode} mode`));
    p.join().then(
      (w) => {
        if (stopping) return;
        joined = true;
        o.onJoined?.(w);
        if (o.durationMs !== undefined) timers.push(setTimeout(() => void stop(0), o.durationMs));
        o.done?.then(
          () => void stop(0),
          (err: Error) => void stop(1, err.message),
        );
      },
      (err: Error) => void stop(1, `cannot join: ${err.message}`),
    );
  });
}
