/**
 * Helpers for the Chromium call-page tests of SFU mode (test/sfu/call-sfu-*.test.ts): a serve that
 * puts rooms of three in SFU mode (so three light pages suffice), and waits on what every page
 * decodes from whom.
 */
import type { Page } from 'playwright-core';
import type { CallSnapshot } from '../../src/client/call.js';
import { silentLogger } from '../../src/core/log.js';
import type { ServeConfig } from '../../src/server/config.js';
import type { ServeHandle } from '../../src/server/serve.js';
import type { SfuServer } from '../../src/server/sfu/sfu-server.js';
import { type CallFixture, startCallServer, waitAllPages, withCall } from '../serve/call-helpers.js';

/** Rooms switch to the SFU at three participants and stay there down to one. */
const SFU_AT_THREE = { sfuSwitchAt: 3, sfuBackAt: 1 } as const;

export function startSfuCallServer(over: Partial<ServeConfig> = {}, sfu?: SfuServer): Promise<ServeHandle> {
  return startCallServer({ ...SFU_AT_THREE, ...over }, silentLogger, sfu);
}

/**
 * withCall for SFU rooms (as startSfuCallServer: SFU mode from three participants); `sfu` makes
 * the test's own SFU (hooks, options) instead of serve's.
 */
export function withSfuCall(
  over: Partial<ServeConfig> | (() => Partial<ServeConfig>) = {},
  sfu?: () => SfuServer,
): CallFixture {
  return withCall(() => ({ ...SFU_AT_THREE, ...(typeof over === 'function' ? over() : over) }), { sfu });
}

export const sfuOf = (server: ServeHandle): SfuServer => server.sfu as SfuServer;

/** Frames decoded on `page` from peer `id` in `s` (0 when the page has no such peer). */
export const framesFrom = (s: CallSnapshot, id: string): number =>
  s.peers.find((p) => p.id === id)?.framesDecoded ?? 0;

/**
 * Every page is in SFU mode and decodes video from exactly `ids(page)`, each more than `after`
 * frames (per page and peer, default 0) plus `margin`.
 */
export function waitDecodingAll(
  pages: Page[],
  ids: (i: number) => string[],
  what: string,
  after: (i: number, id: string) => number = () => 0,
  margin = 0,
): Promise<CallSnapshot[]> {
  return waitAllPages(
    pages,
    (s, i) => {
      const want = ids(i);
      return (
        s.mode === 'sfu' &&
        s.peers.length === want.length &&
        want.every((id) => {
          const x = s.peers.find((y) => y.id === id);
          return x?.connectionState === 'connected' && x.framesDecoded > after(i, id) + margin;
        })
      );
    },
    what,
  );
}

/**
 * Every page is in SFU mode, connected to all the other pages and decoding each (and, with
 * `publishing`, sending video of its own): a room's first settled state, before the peer ids are
 * known. Snapshots in page order.
 */
export function waitSfuRoomSettled(
  pages: Page[],
  what: string,
  timeoutMs: number,
  publishing = true,
): Promise<CallSnapshot[]> {
  const n = pages.length - 1;
  return waitAllPages(
    pages,
    (s) =>
      s.mode === 'sfu' &&
      s.peers.length === n &&
      s.peers.every((x) => x.connectionState === 'connected' && x.framesDecoded > 0) &&
      (!publishing || (s.outboundVideoStreams ?? 0) >= 1),
    what,
    timeoutMs,
  );
}

/** waitDecodingAll, then every page's frames from every peer grow by 10 more (video goes on). */
export async function waitKeepDecoding(
  pages: Page[],
  ids: (i: number) => string[],
  what: string,
): Promise<CallSnapshot[]> {
  const first = await waitDecodingAll(pages, ids, what);
  return waitDecodingAll(pages, ids, `${what}: and keep decoding`, (i, id) => framesFrom(first[i]!, id), 10);
}

/** The other pages' peer ids, given each page's own id. */
export const othersOf =
  (selfIds: string[]) =>
  (i: number): string[] =>
    selfIds.filter((_, j) => j !== i);

/** Tiles the call page shows for remote peers (their data-peer ids). */
export function tileIds(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('#grid figure[data-peer]')].map((f) => f.dataset.peer!),
  );
}
