/**
 * Structured logging: one JSON object per line on stderr. Levels from RTCSTACK_LOG
 * (error|warn|info|debug; default warn, or info for servers that opt in).
 */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  error(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  child(scope: string): Logger;
}

function envLevel(): LogLevel | undefined {
  const v = process.env.RTCSTACK_LOG;
  return v && v in RANK ? (v as LogLevel) : undefined;
}

export function createLogger(
  scope: string,
  options: { level?: LogLevel; write?: (line: string) => void } = {},
): Logger {
  const level = envLevel() ?? options.level ?? 'warn';
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (RANK[lvl] > RANK[level]) return;
    write(JSON.stringify({ t: new Date().toISOString(), level: lvl, scope, msg, ...fields }));
  };
  return {
    error: (m, f) => emit('error', m, f),
    warn: (m, f) => emit('warn', m, f),
    info: (m, f) => emit('info', m, f),
    debug: (m, f) => emit('debug', m, f),
    child: (s) => createLogger(`${scope}.${s}`, { level, write }),
  };
}

/** A logger that drops everything (default for engines in tests). */
export const silentLogger: Logger = {
  error() {},
  warn() {},
  info() {},
  debug() {},
  child: () => silentLogger,
};
