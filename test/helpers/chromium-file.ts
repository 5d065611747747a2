/**
 * One Chromium for a whole test file, the way most browser tests want it: launched in the file's
 * `before` (not when the test's prerequisites are missing: `needs(...)` said skip), closed in its
 * `after`, with an optional empty page origin on http://127.0.0.1 (getUserMedia needs a secure
 * context). Call it at module level:
 *
 *     const opts = needs(PREREQS.chromium);
 *     const chromium = chromiumForFile(opts, { origin: true });
 *     test('...', opts, async () => { const page = await chromium.browser.newPage(); ... });
 */
import { after, before } from 'node:test';
import { startBlankOrigin } from './blank-origin.js';
import { type ChromiumHandle, type LaunchOptions, launchChromium } from './chromium.js';

export interface FileChromium {
  /** The browser; throws when read while it is not running (skipped file, or before `before`). */
  readonly browser: ChromiumHandle;
  /** `http://127.0.0.1:PORT/` of an empty page (only with `origin: true`). */
  readonly origin: string;
}

export function chromiumForFile(
  prereq: { readonly skip?: string | boolean },
  o: { readonly origin?: boolean; readonly launch?: LaunchOptions } = {},
): FileChromium {
  let browser: ChromiumHandle | undefined;
  let blank: { origin: string; close: () => void } | undefined;
  before(async () => {
    if (prereq.skip) return;
    browser = await launchChromium(o.launch);
    if (o.origin) blank = await startBlankOrigin();
  });
  after(async () => {
    await browser?.close();
    blank?.close();
  });
  return {
    get browser(): ChromiumHandle {
      if (!browser)
        throw new Error('Chromium is not running here (prerequisite missing, or read before `before`)');
      return browser;
    },
    get origin(): string {
      if (!blank) throw new Error('no page origin: ask chromiumForFile(..., { origin: true })');
      return blank.origin;
    },
  };
}
