/**
 * The web app's files: HTML and CSS from web/, and the two scripts (call page, dashboard) bundled
 * from web/*.ts and src/client/ with esbuild's API when the server starts, so a fresh clone needs
 * no build step. Without esbuild (an install without dev dependencies) it serves web/dist/, which
 * `rtcstack serve --bundle-only` or a release build writes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../core/log.js';

export interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

/** URL path -> file under web/. */
const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard': { file: 'dashboard.html', type: 'text/html; charset=utf-8' },
  '/assets/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};
const SCRIPTS: Record<string, string> = {
  '/assets/call.js': 'call.ts',
  '/assets/dashboard.js': 'dashboard.ts',
};
const JS = 'text/javascript; charset=utf-8';

/** The package root (where package.json names rtcstack), from src/ or dist/src/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'rtcstack') return dir;
      } catch {
        // keep looking
      }
    }
    dir = dirname(dir);
  }
  throw new Error('cannot find the rtcstack package root');
}

async function bundle(webDir: string): Promise<Map<string, Buffer>> {
  const esbuild = await import('esbuild');
  const out = new Map<string, Buffer>();
  const result = await esbuild.build({
    entryPoints: Object.fromEntries(
      Object.entries(SCRIPTS).map(([, f]) => [f.replace(/\.ts$/, ''), join(webDir, f)]),
    ),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    outdir: '/out',
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  for (const f of result.outputFiles) out.set(`/assets/${f.path.split('/').pop()}`, Buffer.from(f.contents));
  return out;
}

export async function loadWebAssets(log: Logger, root = packageRoot()): Promise<Map<string, Asset>> {
  const webDir = join(root, 'web');
  const assets = new Map<string, Asset>();
  for (const [path, { file, type }] of Object.entries(STATIC)) {
    assets.set(path, { type, body: readFileSync(join(webDir, file)) });
  }
  let scripts: Map<string, Buffer> | undefined;
  try {
    const t0 = performance.now();
    scripts = await bundle(webDir);
    log.debug('web app bundled', { ms: Math.round(performance.now() - t0) });
  } catch (err) {
    const dist = join(webDir, 'dist');
    if (!existsSync(join(dist, 'call.js'))) {
      throw new Error(
        `cannot bundle the web app (${(err as Error).message}) and web/dist/ has no prebuilt copy`,
      );
    }
    log.warn('esbuild unavailable, serving web/dist', { err: (err as Error).message });
    scripts = new Map(
      Object.keys(SCRIPTS).map((p) => [p, readFileSync(join(dist, p.slice('/assets/'.length)))]),
    );
  }
  for (const [path, body] of scripts) assets.set(path, { type: JS, body });
  return assets;
}

/** Writes the bundles to web/dist/ (for installs without esbuild). */
export async function writeWebDist(root = packageRoot()): Promise<string[]> {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const webDir = join(root, 'web');
  const dist = join(webDir, 'dist');
  mkdirSync(dist, { recursive: true });
  const written: string[] = [];
  for (const [path, body] of await bundle(webDir)) {
    const f = join(dist, path.slice('/assets/'.length));
    writeFileSync(f, body);
    written.push(f);
  }
  return written;
}
