/**
 * `rtcstack <command> [flags]`. Each command lives in its own module and is loaded on demand, so
 * `rtcstack turn` does not load the web app and `rtcstack nat-check` starts fast.
 */
import { readFileSync } from 'node:fs';

export interface Command {
  readonly summary: string;
  /** Returns the process exit code. */
  run(argv: string[]): Promise<number>;
}

/** Command name -> summary and loader. Each command module exports `command: Command`. */
const BUILTIN: Record<string, { summary: string; load: () => Promise<Command> }> = {
  turn: {
    summary: 'STUN/TURN server (STUN Binding, RFC 5780 NAT discovery with --alt-ip)',
    load: async () => (await import('./commands/turn.js')).command,
  },
  'nat-check': {
    summary: 'find out what your NAT does and whether calls need TURN (RFC 5780)',
    load: async () => (await import('./commands/nat-check.js')).command,
  },
  serve: {
    summary: 'signaling, call page, dashboard, metrics and STUN/TURN in one process',
    load: async () => (await import('./commands/serve.js')).command,
  },
  token: {
    summary: 'mint a signed join token for a room',
    load: async () => (await import('./commands/token.js')).command,
  },
  record: {
    summary: "join a room and record each participant's video and audio to WebM",
    load: async () => (await import('./commands/record.js')).command,
  },
  play: {
    summary: 'join a room and send a video (IVF/H.264) and/or Opus file to everyone',
    load: async () => (await import('./commands/play.js')).command,
  },
};

function version(): string {
  // src/cli/main.ts and dist/src/cli/main.js both find the package.json above them.
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as {
        name?: string;
        version: string;
      };
      if (pkg.name === 'rtcstack') return pkg.version;
    } catch {
      // try the next level up
    }
  }
  return 'unknown';
}

function usage(): string {
  const lines = ['usage: rtcstack <command> [flags]', '', 'commands:'];
  for (const [name, c] of Object.entries(BUILTIN)) lines.push(`  ${name.padEnd(12)} ${c.summary}`);
  lines.push(
    `  ${'version'.padEnd(12)} print the version`,
    '',
    'rtcstack <command> --help shows the flags of a command.',
  );
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(usage());
    return name ? 0 : 1;
  }
  if (name === 'version' || name === '--version') {
    console.log(version());
    return 0;
  }
  const load = BUILTIN[name]?.load;
  if (!load) {
    console.error(`rtcstack: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const cmd = await load();
  return cmd.run(rest);
}

export { BUILTIN as commands };
