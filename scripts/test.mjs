#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with node:test (TypeScript through tsx).
// `npm test -- stun dtls` runs only files whose path contains one of the words.
// The call-page tests (several Chromium pages against a running serve, under test/serve and
// test/sfu) run after the rest, one file at a time: two of them side by side on a 2-core machine
// starve each other's pages (connections flap, restarts, late frames) and fail for that alone.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('-'));
let files = [...walk('src', []), ...walk('test', [])].sort();
if (filters.length) files = files.filter((f) => filters.some((w) => f.includes(w)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const isCallPageTest = (f) =>
  /^test\/(serve|sfu)\//.test(f.replaceAll('\\', '/')) && /PREREQS\.chromium/.test(readFileSync(f, 'utf8'));
const heavy = files.filter(isCallPageTest);
const rest = files.filter((f) => !heavy.includes(f));
const run = (list, concurrency) => {
  if (list.length === 0) return 0;
  const args = [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-timeout=600000',
    ...flags,
    ...list,
  ];
  return spawnSync(process.execPath, args, { stdio: 'inherit' }).status ?? 1;
};
const first = run(rest, process.env.TEST_CONCURRENCY ?? 2);
const second = run(heavy, 1);
process.exit(first || second);
