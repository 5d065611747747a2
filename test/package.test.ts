/**
 * The package as a dependency: `npm pack` ships the built JavaScript, the CLI and the web app
 * (not the tests), and a project that depends on rtcstack can import it by name and run the CLI.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve('.');

test('npm pack ships dist, the CLI and the web app, not the tests', () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const files = (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  for (const need of [
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'dist/src/cli/main.js',
    'bin/rtcstack',
    'package.json',
    'README.md',
  ]) {
    assert.ok(files.includes(need), `package contains ${need}`);
  }
  assert.ok(!files.some((f) => f.startsWith('test/') || f.endsWith('.test.js')), 'no tests in the package');
  assert.ok(!files.some((f) => f.startsWith('src/')), 'sources are not needed at run time');
});

test('a project depending on rtcstack imports the W3C API by name and runs the CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtcs-consumer-'));
  try {
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'consumer', type: 'module', dependencies: { rtcstack: '*' } }),
    );
    mkdirSync(join(dir, 'node_modules'));
    // As npm links a local dependency; its own dependencies resolve from the package's node_modules.
    symlinkSync(ROOT, join(dir, 'node_modules', 'rtcstack'));
    writeFileSync(
      join(dir, 'main.js'),
      [
        "import { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate } from 'rtcstack';",
        'const pc = new RTCPeerConnection();',
        'console.log(typeof RTCSessionDescription, typeof RTCIceCandidate, pc.signalingState);',
        'pc.close();',
      ].join('\n'),
    );
    const r = spawnSync(process.execPath, ['main.js'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'function function stable');
    const cli = spawnSync(
      process.execPath,
      [join(dir, 'node_modules', 'rtcstack', 'bin', 'rtcstack'), 'version'],
      {
        cwd: dir,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout.trim(), /^\d+\.\d+\.\d+$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
