/**
 * Benchmark runner: `npm run bench -- <name> [<name> ...]` runs bench/<name>.ts, each in its own
 * process (so one benchmark's sockets and heap do not colour the next). With no name it runs every
 * bench/*.ts. Arguments after `--` go to the benchmarks: `npm run bench -- stun -- --seconds 2`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const split = argv.indexOf('--');
const names = (split >= 0 ? argv.slice(0, split) : argv).filter((a) => !a.startsWith('-'));
const passThrough = split >= 0 ? argv.slice(split + 1) : argv.filter((a) => a.startsWith('-'));

if (argv.includes('--list') || argv.includes('--help')) {
  console.log('usage: npm run bench [-- <name> ...] [-- <args for the benchmarks>]\n\nbenchmarks:');
  for (const f of all()) console.log(`  ${f}`);
  process.exit(0);
}

function all(): string[] {
  return readdirSync(here)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.test.ts') && !f.startsWith('_'))
    .map((f) => f.slice(0, -3))
    .sort();
}

const chosen = names.length ? names : all();
const results: { name: string; status: number; seconds: number }[] = [];
for (const name of chosen) {
  const file = join(here, `${name}.ts`);
  if (!existsSync(file)) {
    console.error(`bench: no benchmark '${name}' (bench/${name}.ts); have: ${all().join(', ')}`);
    process.exit(2);
  }
  console.log(`\n=== bench ${name} ===`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', file, ...passThrough], { stdio: 'inherit' });
  results.push({ name, status: r.status ?? 1, seconds: (performance.now() - t0) / 1000 });
}
if (results.length > 1) {
  console.log('\n=== summary ===');
  for (const r of results)
    console.log(
      `  ${r.name.padEnd(24)} ${r.status === 0 ? 'ok' : `exit ${r.status}`}  ${r.seconds.toFixed(1)} s`,
    );
}
process.exit(results.every((r) => r.status === 0) ? 0 : 1);
