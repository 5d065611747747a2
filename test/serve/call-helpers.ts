/** Helpers for the Chromium call-page tests. */
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Page } from 'playwright-core';
import type { CallSnapshot } from '../../src/client/call.js';
import { SystemClock } from '../../src/core/clock.js';
import { createLogger, type Logger, silentLogger } from '../../src/core/log.js';
import type { ServeConfig } from '../../src/server/config.js';
import { loadWebAssets } from '../../src/server/http/web-assets.js';
import { type ServeDeps, type ServeHandle, startServe } from '../../src/server/serve.js';
import { type ChromiumHandle, launchChromium } from '../helpers/chromium.js';
import { testConfig } from './helpers.js';

export const ARTIFACTS = join(process.cwd(), 'artifacts', 'serve');

let assets: Awaited<ReturnType<typeof loadWebAssets>> | undefined;

/**
 * The server's info log of one test file, kept with the artifacts (artifacts/serve/NAME.log): when a
 * call misbehaves on a loaded CI machine, joins, resumes and heartbeats show what happened.
 */
export function artifactLogger(name: string): Logger {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${name}.log`);
  return createLogger('serve', { level: 'info', write: (line) => appendFileSync(file, `${line}\n`) });
}

/** A real `rtcstack serve` (system clock, bundled web app) on a random port. */
export async function startCallServer(
  over: Partial<ServeConfig> = {},
  log: Logger = silentLogger,
  /** An SFU of the test's own (hooks, options) instead of the one serve makes. */
  sfu?: ServeDeps['sfu'],
): Promise<ServeHandle> {
  assets ??= await loadWebAssets(silentLogger);
  return startServe(testConfig({ heartbeatIntervalMs: 15_000, ...over }), {
    clock: new SystemClock(),
    log,
    assets,
    ...(over.turn ? {} : { startTurn: async () => undefined }),
    ...(sfu && { sfu }),
  });
}

export interface CallFixture {
  /** The serve (running from the enclosing describe's `before` to its `after`). */
  readonly server: ServeHandle;
  readonly browser: ChromiumHandle;
  /** Pages the tests open that the fixture closes after the suite. */
  readonly pages: Page[];
}

/**
 * A call server (startCallServer) and a Chromium for the enclosing describe: started in its
 * `before`, closed in its `after` with the pages left in `pages`. `config` as a function is read
 * in `before` (after hooks registered earlier ran: a directory made there). `log`: keep the
 * server's info log with the artifacts under that name; `sfu`: the test's own SFU; `skip`: start
 * nothing (a prerequisite of the tests is missing).
 */
export function withCall(
  config: Partial<ServeConfig> | (() => Partial<ServeConfig>) = {},
  o: { readonly log?: string; readonly sfu?: () => ServeDeps['sfu']; readonly skip?: boolean } = {},
): CallFixture {
  const call = { pages: [] as Page[] } as { server: ServeHandle; browser: ChromiumHandle; pages: Page[] };
  before(async () => {
    if (o.skip) return;
    const over = typeof config === 'function' ? config() : config;
    call.server = await startCallServer(over, o.log ? artifactLogger(o.log) : silentLogger, o.sfu?.());
    call.browser = await launchChromium();
  });
  after(async () => {
    for (const p of call.pages) await p.close().catch(() => {});
    await call.browser?.close();
    await call.server?.close();
  });
  return call;
}

export async function openCall(
  browser: ChromiumHandle,
  base: string,
  room: string,
  name: string,
  extra = '',
): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${base}/?room=${room}&name=${name}&video=240x180&fps=12&stats=1000${extra}`);
  await page.evaluate(() => window.rtcstackCall.ready);
  return page;
}

export function snapshot(page: Page): Promise<CallSnapshot> {
  return page.evaluate(() => window.rtcstackCall.snapshot());
}

/**
 * Polls a page's snapshot until `pred` holds. The limit is a safety net against hangs (a broken
 * call fails with the last snapshot in the message), not a timing assertion.
 */
export async function waitSnap(
  page: Page,
  pred: (s: CallSnapshot) => boolean,
  what: string,
  limitMs = 120_000,
): Promise<CallSnapshot> {
  const end = Date.now() + limitMs;
  let last: CallSnapshot | undefined;
  for (;;) {
    last = await snapshot(page);
    if (pred(last)) return last;
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}; last snapshot: ${JSON.stringify(last).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Polls every page's snapshot until `pred(snapshot, page index)` holds on each (waitSnap, whose
 * limit is a safety net, not a timing), printing every page's links if one does not get there.
 * Snapshots in page order.
 */
export function waitAllPages(
  pages: readonly Page[],
  pred: (s: CallSnapshot, i: number) => boolean,
  what: string,
  limitMs?: number,
): Promise<CallSnapshot[]> {
  return dumpOnFailure(
    pages,
    Promise.all(pages.map((p, i) => waitSnap(p, (s) => pred(s, i), `${what} (page ${i})`, limitMs))),
  );
}

/** Every page sees all the others connected with video frames decoding. */
export function waitMeshConnected(pages: Page[]): Promise<CallSnapshot[]> {
  const n = pages.length - 1;
  return waitAllPages(
    pages,
    (s) =>
      s.peers.length === n && s.peers.every((x) => x.connectionState === 'connected' && x.framesDecoded > 0),
    `connected to ${n} peers with video`,
    // Generous: on a loaded 2-core machine a glare, an offer retry and an ICE restart can all
    // happen before a 4-page mesh settles.
    240_000,
  );
}

/** On failure, prints a one-line summary of every link of every page (the other side of a stuck link). */
export async function dumpOnFailure<T>(pages: readonly Page[], p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    for (const [i, page] of pages.entries()) {
      const s = await snapshot(page).catch(() => undefined);
      if (!s) continue;
      for (const x of s.peers) {
        console.error(
          `page ${i} ${s.name}(${s.peerId}) -> ${x.name}(${x.id}): ${x.connectionState}/${x.iceConnectionState}/${x.signalingState} neg=${x.negotiations} rb=${x.rollbacks} ign=${x.ignoredOffers} restarts=${x.iceRestarts} retries=${x.offerRetries} making=${x.makingOffer} frames=${x.framesDecoded} err=${x.lastError}`,
        );
        if (x.connectionState !== 'connected' || x.signalingState !== 'stable')
          for (const ev of x.events ?? []) console.error(`    ${ev}`);
      }
      console.error(`page ${i} ${s.name}: signaling ${s.signalingState}, resumes ${s.resumes}`);
      if (s.errors.length) console.error(`page ${i} last errors: ${JSON.stringify(s.errors.slice(-6))}`);
    }
    throw err;
  }
}

/** framesDecoded of every link on every page grows past `before`. */
export function waitFramesGrow(pages: Page[], before: CallSnapshot[], what: string): Promise<CallSnapshot[]> {
  return waitAllPages(
    pages,
    (s, i) =>
      s.peers.length === before[i]!.peers.length &&
      s.peers.every(
        (x) => x.framesDecoded > (before[i]!.peers.find((b) => b.id === x.id)?.framesDecoded ?? 0) + 10,
      ),
    what,
  );
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}
