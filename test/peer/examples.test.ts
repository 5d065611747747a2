/**
 * The examples/ folder stays true: the file-transfer example runs (through the package root,
 * `import ... from 'rtcstack'`, which resolves to the built dist/ of this checkout) and reports a
 * matching SHA-256.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

test('examples/file-transfer.ts moves a file byte-identical over a data channel', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtcs-example-'));
  try {
    const file = join(dir, 'payload.bin');
    writeFileSync(file, randomBytes(1024 * 1024 + 17));
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/file-transfer.ts', file], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 0, `exit ${r.status}: ${r.stderr}`);
    assert.match(r.stdout, /^1048593 bytes in /m);
    assert.match(r.stdout, /sha-256 matches/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
