import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes a coturn config file in `dir`: the given lines, plus the files one instance must not share
 * with instances started concurrently (user database, pid file, log) and no CLI or DTLS listener.
 * Start it with `turnserver -c <path>`: with `-c`, Debian's /etc/turnserver.conf (which turns
 * RFC 5780 off) is not read. The log goes to `<dir>/turnserver.log`.
 */
export function writeCoturnConf(dir: string, lines: readonly string[]): string {
  const file = join(dir, 'turnserver.conf');
  writeFileSync(
    file,
    [
      ...lines,
      'no-dtls',
      'no-cli',
      `userdb=${join(dir, 'turndb')}`,
      `pidfile=${join(dir, 'turnserver.pid')}`,
      `log-file=${join(dir, 'turnserver.log')}`,
      'simple-log',
      '',
    ].join('\n'),
  );
  return file;
}
