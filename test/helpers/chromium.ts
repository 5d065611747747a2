/**
 * Launches Debian's Chromium through playwright-core for browser tests (never `npx playwright
 * install`). One browser per test file, a fresh context (page) per test:
 *
 *     const browser = await launchChromium();
 *     const page = await browser.newPage();     // its own context
 *     ...
 *     await browser.close();                     // closes everything, kills leftovers by PID
 *
 * Flags from TESTING.md: headless=new, no sandbox/GPU/QUIC/background traffic, fake camera and mic
 * with auto-granted permission (so host candidates are real addresses, not mDNS names), loopback
 * ICE candidates allowed. A route guard lets pages load only http://127.0.0.1 and ws://127.0.0.1.
 * `launchPersistentContext` gets its own fresh user-data dir (the first argument, not a flag).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const BASE_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const MEDIA_FLAGS = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];
/** Without it Chromium gathers no loopback candidate. */
export const LOOPBACK_ICE_FLAGS = ['--allow-loopback-in-peer-connection'];

export interface LaunchOptions {
  /** Extra Chromium switches. */
  readonly args?: string[];
  /** Features to disable, merged into Playwright's own single --disable-features switch. */
  readonly disableFeatures?: string[];
  readonly media?: boolean;
  readonly loopbackIce?: boolean;
  /** Allowed URL prefixes (default http://127.0.0.1 and ws://127.0.0.1). */
  readonly allow?: string[];
  /** Print page console lines (also with PAGE_LOG=1). */
  readonly pageLog?: boolean;
}

export interface ChromiumHandle {
  /** The persistent default context (first user-data dir). */
  readonly context: BrowserContext;
  readonly userDataDir: string;
  /** A page in a fresh context of its own (isolated storage), guarded like the rest. */
  newPage(): Promise<Page>;
  /** Requests the guard refused (a test can assert there were none). */
  readonly blocked: string[];
  close(): Promise<void>;
}

let pwFeatures: string[] | undefined;
/** Playwright's default --disable-features list, read from its bundle once. */
function playwrightDisabledFeatures(): string[] {
  if (pwFeatures) return pwFeatures;
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('playwright-core/package.json'));
  const bundle = readFileSync(join(root, 'lib/coreBundle.js'), 'utf8');
  const start = bundle.indexOf('disabledFeatures = [');
  const end = bundle.indexOf('].filter(Boolean)', start);
  pwFeatures =
    start < 0 || end < 0
      ? []
      : [...bundle.slice(start, end).matchAll(/^\s*"([A-Za-z0-9_]+)",?/gm)].map((m) => m[1]!);
  return pwFeatures;
}

function pidsForProfile(userDataDir: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(userDataDir)) out.push(Number(d));
    } catch {
      // process went away
    }
  }
  return out;
}

export async function launchChromium(options: LaunchOptions = {}): Promise<ChromiumHandle> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'rtcs-chromium-'));
  const args = [
    ...BASE_FLAGS,
    ...(options.media === false ? [] : MEDIA_FLAGS),
    ...(options.loopbackIce === false ? [] : LOOPBACK_ICE_FLAGS),
    ...(options.args ?? []),
  ];
  const launch: Parameters<typeof chromium.launchPersistentContext>[1] = {
    executablePath: CHROMIUM_PATH,
    headless: false, // --headless=new is in args; Playwright's headless adds the old mode
    args,
  };
  if (options.disableFeatures?.length) {
    const pw = playwrightDisabledFeatures();
    launch.ignoreDefaultArgs = [`--disable-features=${pw.join(',')}`];
    args.push(`--disable-features=${[...pw, ...options.disableFeatures].join(',')}`);
  }
  const allow = options.allow ?? ['http://127.0.0.1', 'ws://127.0.0.1'];
  const blocked: string[] = [];
  const log = options.pageLog ?? Boolean(process.env.PAGE_LOG);
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, launch);
  } catch (err) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw err;
  }
  const guard = async (ctx: BrowserContext): Promise<void> => {
    await ctx.route(
      () => true,
      (route) => {
        const u = route.request().url();
        if (allow.some((p) => u.startsWith(p)) || u.startsWith('data:') || u.startsWith('blob:'))
          return route.continue();
        blocked.push(u);
        return route.abort('blockedbyclient');
      },
    );
    // Only disallowed WebSocket URLs are routed (and closed); allowed ones connect directly, not
    // through a Playwright proxy (a proxied socket answers the server's pings itself and adds a
    // hop through the test process).
    await ctx.routeWebSocket(
      (url) => !allow.some((p) => url.href.startsWith(p)),
      (ws) => {
        blocked.push(ws.url());
        ws.close({ code: 1008, reason: 'blocked by test guard' });
      },
    );
  };
  await guard(context);
  const browser: Browser | null = context.browser();
  const extra: BrowserContext[] = [];
  const watch = (page: Page): Page => {
    // Playwright's 30 s default for actions is short on a loaded 2-core CI machine running
    // several browsers; tests keep their own safety nets for what they wait on.
    page.setDefaultTimeout(120_000);
    page.on('pageerror', (e) => console.error(`[pageerror] ${e.message}`));
    if (log) page.on('console', (m) => console.log(`[page] ${m.text()}`));
    return page;
  };
  let closed = false;
  return {
    context,
    userDataDir,
    blocked,
    async newPage() {
      // A persistent launch has one context; a browser handle (when there is one) can make more.
      if (browser) {
        const ctx = await browser.newContext();
        extra.push(ctx);
        await guard(ctx);
        return watch(await ctx.newPage());
      }
      return watch(await context.newPage());
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const ctx of extra) await ctx.close().catch(() => {});
      await context.close().catch(() => {});
      for (const pid of pidsForProfile(userDataDir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
