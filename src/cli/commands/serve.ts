/**
 * `rtcstack serve`: signaling, web app, dashboard, metrics and STUN/TURN in one process.
 * Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM), 1 when startup fails, 2 for bad flags/config.
 */
import { createLogger } from '../../core/log.js';
import { ConfigError, resolveConfig, usage } from '../../server/config.js';
import { writeWebDist } from '../../server/http/web-assets.js';
import { startServe } from '../../server/serve.js';

/** Shaped as main.ts's `Command` (not imported: that would be an import cycle). */
export const command: { summary: string; run(argv: string[]): Promise<number> } = {
  summary: 'run signaling, the call page, dashboard, metrics and STUN/TURN',
  async run(argv) {
    if (argv.includes('--bundle-only')) {
      for (const f of await writeWebDist()) console.log(f);
      return 0;
    }
    let resolved: ReturnType<typeof resolveConfig>;
    try {
      resolved = resolveConfig({ argv });
    } catch (err) {
      if (err instanceof ConfigError) {
        console.error(`rtcstack serve: bad configuration:\n  ${err.problems.join('\n  ')}`);
        return 2;
      }
      throw err;
    }
    if (resolved.help) {
      console.log(usage());
      return 0;
    }
    const config = resolved.config;
    const log = createLogger('serve', { level: config.logLevel });
    let handle: Awaited<ReturnType<typeof startServe>>;
    try {
      handle = await startServe(config, { log });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      log.error('cannot start', { err: e.message, code: e.code });
      console.error(`rtcstack serve: cannot start: ${e.message}`);
      return 1;
    }
    if (!config.open && config.apiKey === undefined) {
      log.warn(
        'rooms need join tokens; mint them with `rtcstack token --secret ...` (or pass --api-key for POST /api/token)',
      );
    }
    console.error(`rtcstack serve: open ${handle.url}/?room=demo  (dashboard ${handle.url}/dashboard)`);
    return new Promise<number>((resolve) => {
      const stop = (signal: string): void => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        log.info('shutting down', { signal });
        handle.close().then(
          () => resolve(0),
          (err: Error) => {
            log.error('shutdown failed', { err: err.message });
            resolve(1);
          },
        );
      };
      const onInt = (): void => stop('SIGINT');
      const onTerm = (): void => stop('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
    });
  },
};
