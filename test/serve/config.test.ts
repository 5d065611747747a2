/** `rtcstack serve` configuration: precedence, validation, and the CLI's exit codes. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { ConfigError, resolveConfig, type ServeConfig } from '../../src/server/config.js';
import { verifyJoinToken } from '../../src/server/signaling/tokens.js';

const dir = mkdtempSync(join(tmpdir(), 'rtcs-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function resolve(argv: string[], env: Record<string, string> = {}): ServeConfig {
  const r = resolveConfig({ argv, env });
  assert.equal(r.help, false);
  return (r as { config: ServeConfig }).config;
}

function problems(argv: string[], env: Record<string, string> = {}): string[] {
  try {
    resolveConfig({ argv, env });
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

test('embedded defaults: loopback, 8080, open rooms, generated secrets', () => {
  const c = resolve([]);
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.httpPort, 8080);
  assert.equal(c.open, true);
  assert.equal(c.turnCredentialTtl, 1800);
  assert.ok(c.secret.length >= 40);
  assert.ok(c.turnSecret.length >= 40);
  assert.notEqual(c.secret, c.turnSecret);
  assert.notEqual(resolve([]).secret, c.secret, 'a fresh secret per start');
});

test('precedence: flags > env > config file > defaults', () => {
  const file = join(dir, 'a.json');
  writeFileSync(
    file,
    JSON.stringify({ httpPort: 1111, host: '0.0.0.0', turnSecret: 'from-file', resumeWindowSec: 5 }),
  );
  const fileOnly = resolve(['--config', file]);
  assert.equal(fileOnly.httpPort, 1111);
  assert.equal(fileOnly.turnSecret, 'from-file');
  assert.equal(fileOnly.open, false, 'not loopback: rooms need tokens by default');
  const withEnv = resolve(['--config', file], {
    RTCSTACK_HTTP_PORT: '2222',
    RTCSTACK_TURN_SECRET: 'from-env',
  });
  assert.equal(withEnv.httpPort, 2222);
  assert.equal(withEnv.turnSecret, 'from-env');
  assert.equal(withEnv.resumeWindowSec, 5);
  const withFlags = resolve(['--config', file, '--http-port', '3333', '--turn-secret=from-flag'], {
    RTCSTACK_HTTP_PORT: '2222',
    RTCSTACK_TURN_SECRET: 'from-env',
  });
  assert.equal(withFlags.httpPort, 3333);
  assert.equal(withFlags.turnSecret, 'from-flag');
  // The config file can also come from the environment.
  assert.equal(resolve([], { RTCSTACK_CONFIG: file }).httpPort, 1111);
});

test('open mode: default by address, --dev/--open force it, --open=false turns it off', () => {
  assert.equal(resolve(['--host', '0.0.0.0']).open, false);
  assert.equal(resolve(['--host', '0.0.0.0', '--dev']).open, true);
  assert.equal(resolve(['--host', '0.0.0.0', '--open']).open, true);
  assert.equal(resolve(['--open=false']).open, false);
  assert.equal(resolve([], { RTCSTACK_OPEN: 'no' }).open, false);
});

test('lists: --ice-url repeats, env takes a comma list', () => {
  assert.deepEqual(resolve(['--ice-url', 'stun:a:1', '--ice-url', 'stun:b:2']).iceUrls, [
    'stun:a:1',
    'stun:b:2',
  ]);
  assert.deepEqual(resolve([], { RTCSTACK_ICE_URLS: 'stun:a:1, turn:b:2' }).iceUrls, [
    'stun:a:1',
    'turn:b:2',
  ]);
});

test('bad flags, env and files: every problem named at once', () => {
  const p = problems(['--http-port', '70000', '--log-level', 'loud', '--nope', '--host'], {
    RTCSTACK_TURN_TTL: '5',
  });
  assert.equal(p.length, 5, p.join('\n'));
  assert.ok(p.some((x) => /--http-port: expected a port/.test(x)));
  assert.ok(p.some((x) => /--log-level: expected error, warn, info or debug/.test(x)));
  assert.ok(p.some((x) => /unknown flag '--nope'/.test(x)));
  assert.ok(p.some((x) => /--host: needs a value/.test(x)));
  assert.ok(p.some((x) => /env RTCSTACK_TURN_TTL: expected a whole number in \[60/.test(x)));
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"httpPort": "eighty", "colour": "blue"}');
  const q = problems(['--config', bad]);
  assert.ok(q.some((x) => /httpPort: expected a port/.test(x)));
  assert.ok(q.some((x) => /unknown key 'colour'/.test(x)));
  writeFileSync(bad, '{not json');
  assert.match(problems(['--config', bad])[0]!, /not valid JSON/);
  assert.match(problems(['--config', join(dir, 'missing.json')])[0]!, /cannot read \(ENOENT\)/);
  assert.match(problems(['--ice-url', 'http://x'])[0]!, /must start with stun:/);
});

test('rtcstack serve: bad flags exit with 2 before anything starts; --help exits 0', async () => {
  const errors: string[] = [];
  const orig = console.error;
  console.error = (...a: unknown[]) => errors.push(a.join(' '));
  try {
    assert.equal(await main(['serve', '--http-port', 'abc']), 2);
    assert.match(errors.join('\n'), /--http-port: expected a port number/);
  } finally {
    console.error = orig;
  }
  const logs: string[] = [];
  const origLog = console.log;
  console.log = (...a: unknown[]) => logs.push(a.join(' '));
  try {
    assert.equal(await main(['serve', '--help']), 0);
    assert.match(logs.join('\n'), /--http-port V/);
  } finally {
    console.log = origLog;
  }
});

test('rtcstack token: mints a token the server accepts; no secret is exit 2', async () => {
  const out: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => out.push(a.join(' '));
  const origErr = console.error;
  const errs: string[] = [];
  console.error = (...a: unknown[]) => errs.push(a.join(' '));
  const saved = process.env.RTCSTACK_SECRET;
  delete process.env.RTCSTACK_SECRET;
  try {
    assert.equal(
      await main(['token', '--room', 'demo', '--ttl', '60', '--secret', 'abc', '--name', 'ann']),
      0,
    );
    const r = verifyJoinToken('abc', out[0]!, Date.now());
    assert.ok(r.ok);
    assert.equal(r.claims.room, 'demo');
    assert.equal(r.claims.name, 'ann');
    assert.ok(Math.abs(r.claims.exp - (Date.now() / 1000 + 60)) < 5);
    const file = join(dir, 'secret.json');
    writeFileSync(file, JSON.stringify({ secret: 'from-file' }));
    assert.equal(await main(['token', '--room', 'demo', '--config', file, '--json']), 0);
    const j = JSON.parse(out[1]!) as { token: string };
    assert.ok(verifyJoinToken('from-file', j.token, Date.now()).ok);
    assert.equal(await main(['token', '--room', 'demo']), 2);
    assert.match(errs.join('\n'), /no secret/);
    assert.equal(await main(['token', '--room', 'bad room', '--secret', 'x']), 2);
    assert.equal(await main(['token', '--secret', 'x']), 2);
    assert.equal(await main(['token', '--room', 'r', '--ttl', '0', '--secret', 'x']), 2);
    // The shared flag conventions (src/cli/flags.ts): unknown, repeated, valueless, stray arguments.
    errs.length = 0;
    assert.equal(await main(['token', '--room', 'r', '--secret', 'x', '--bogus', '1']), 2);
    assert.equal(await main(['token', '--room', 'r', '--room', 's', '--secret', 'x']), 2);
    assert.equal(await main(['token', '--room', 'r', '--secret']), 2);
    assert.equal(await main(['token', '--room=r', '--secret=x', 'extra']), 2);
    assert.equal(await main(['token', '--room=r', '--secret=x', '--json=yes']), 2);
    assert.match(errs.join('\n'), /unknown flag '--bogus'/);
    assert.match(errs.join('\n'), /--room: given twice/);
    assert.match(errs.join('\n'), /--secret: needs a value/);
    assert.match(errs.join('\n'), /unexpected argument 'extra'/);
    assert.match(errs.join('\n'), /--json: takes no value/);
    assert.equal(await main(['token', '--room=r', '--secret=x', '--ttl=90']), 0);
    const ttl90 = verifyJoinToken('x', out.at(-1)!, Date.now());
    assert.ok(ttl90.ok && Math.abs(ttl90.claims.exp - (Date.now() / 1000 + 90)) < 5);
    // nat-check refuses bad flags before touching the network.
    errs.length = 0;
    assert.equal(await main(['nat-check', 'stun:127.0.0.1:9', 'stun:127.0.0.1:10']), 2);
    assert.equal(await main(['nat-check', '--rto', '5', 'stun:127.0.0.1:9']), 2);
    assert.equal(await main(['nat-check', '--local-ip', 'nope', 'stun:127.0.0.1:9']), 2);
    assert.equal(await main(['nat-check', '--rto=x', 'stun:127.0.0.1:9']), 2);
    assert.match(errs.join('\n'), /one server only/);
    assert.match(errs.join('\n'), /--rto: 10-10000 ms/);
    assert.match(errs.join('\n'), /--local-ip: not an IP address/);
    assert.match(errs.join('\n'), /--rto: a whole number/);
  } finally {
    console.log = orig;
    console.error = origErr;
    if (saved !== undefined) process.env.RTCSTACK_SECRET = saved;
  }
});

test('rtcstack serve as a process: starts, serves, exits 0 on SIGTERM and on SIGINT', async () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const child = spawn(
      process.execPath,
      ['bin/rtcstack', 'serve', '--http-port', '0', '--turn=false', '--log-level', 'info'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /"url":"(http:\/\/[^"]+)"/.exec(stderr);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    const res = await fetch(`${url}/healthz`);
    assert.equal(res.status, 200);
    const page = await (await fetch(`${url}/`)).text();
    assert.match(page, /rtcstack call/);
    const js = await fetch(`${url}/assets/call.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', (c) => resolve(c));
      child.kill(signal);
    });
    assert.equal(code, 0, stderr);
    assert.match(stderr, /"msg":"stopped"/);
    for (const line of stderr.split('\n').filter((l) => l.startsWith('{'))) JSON.parse(line);
  }
});
