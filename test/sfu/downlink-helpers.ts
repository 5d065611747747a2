/**
 * Helpers for the Chromium tests of a limited subscriber (test/sfu/downlink-*.test.ts): pages that
 * keep their RTCPeerConnections for getStats, what a page decodes from each peer, and whether that
 * follows the layers the SFU feeds it.
 */
import type { Page } from 'playwright-core';
import type { Room } from '../../src/server/sfu/room.js';
import type { ChromiumHandle } from '../helpers/chromium.js';
import { waitSfuRoomSettled } from './call-sfu-helpers.js';

/** Polls `cond` every 250 ms; the limit is a safety net against hangs, not a timing assertion. */
export async function poll(
  cond: () => boolean | Promise<boolean>,
  what: () => string,
  limitMs: number,
): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * An init script keeping the page's RTCPeerConnections in window.__rtcsPcs. A string: a function
 * from a test file would carry tsx's helpers, which the page does not have.
 */
const KEEP_PEER_CONNECTIONS = `(() => {
  const Native = window.RTCPeerConnection;
  const pcs = (window.__rtcsPcs = []);
  window.RTCPeerConnection = class extends Native {
    constructor(config) {
      super(config);
      pcs.push(this);
    }
  };
})();`;

/** Opens the call page (room, name, camera size) with its peer connections kept for decodedWidths. */
export async function openKeptPage(
  newPage: () => Promise<Page>,
  base: string,
  room: string,
  name: string,
  video: string,
): Promise<Page> {
  const page = await newPage();
  await page.addInitScript({ content: KEEP_PEER_CONNECTIONS });
  await page.goto(`${base}/?room=${room}&name=${name}&video=${video}&fps=15&stats=1000`, {
    timeout: 120_000,
  });
  await page.evaluate(() => window.rtcstackCall.ready);
  return page;
}

/** What `page` decodes from each peer: inbound-rtp frameWidth of the video its tile shows (0: none yet). */
export function decodedWidths(page: Page): Promise<Record<string, number>> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __rtcsPcs: RTCPeerConnection[] }).__rtcsPcs;
    const byTrack = new Map<string, number>();
    for (const pc of pcs) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach(
        (s: { type: string; kind?: string; trackIdentifier?: string; frameWidth?: number }) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video' && s.trackIdentifier && s.frameWidth)
            byTrack.set(s.trackIdentifier, s.frameWidth);
        },
      );
    }
    const out: Record<string, number> = {};
    for (const fig of document.querySelectorAll<HTMLElement>('#grid figure[data-peer]')) {
      const track = (fig.querySelector('video')?.srcObject as MediaStream | null)?.getVideoTracks()[0];
      out[fig.dataset.peer!] = track ? (byTrack.get(track.id) ?? 0) : 0;
    }
    return out;
  });
}

/** Frames decoded on `page` per peer. */
export function framesDecoded(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() =>
    Object.fromEntries(window.rtcstackCall.snapshot().peers.map((p) => [p.id, p.framesDecoded])),
  );
}

/**
 * Opens three call pages in `room` (ann and bob publish 1280x720: layers q 320x180, h 640x360,
 * f 1280x720; cat 320x180, one layer) into `keep`, waits until the SFU room has settled, and
 * returns it seen as a LimitedRoom with cat the page to limit.
 */
export async function openLimitedRoom(
  browser: ChromiumHandle,
  base: string,
  room: string,
  sfuRoom: () => Room,
  keep: Page[],
): Promise<LimitedRoom> {
  const open = async (name: string, video: string): Promise<Page> => {
    const page = await openKeptPage(() => browser.newPage(), base, room, name, video);
    keep.push(page);
    return page;
  };
  const [a, b, limited] = [
    await open('ann', '1280x720'),
    await open('bob', '1280x720'),
    await open('cat', '320x180'),
  ];
  const snaps = await waitSfuRoomSettled(
    [a, b, limited],
    'in SFU mode, publishing, decoding both others',
    240_000,
  );
  const [ida, idb, idl] = snaps.map((s) => s.peerId) as [string, string, string];
  return new LimitedRoom(sfuRoom(), { a, b, limited }, { a: ida, b: idb, limited: idl });
}

/**
 * A room of two simulcast publishers (`a`, `b`: each decodes the other unlimited) and a subscriber
 * `limited`, seen from the SFU (layers, rates, the down tracks) and from the pages (what they decode).
 */
export class LimitedRoom {
  constructor(
    readonly room: Room,
    readonly pages: { a: Page; b: Page; limited: Page },
    readonly ids: { a: string; b: string; limited: string },
  ) {}

  /** `subscriber`'s video down tracks of the two publishers. */
  downs(subscriber: string): ReturnType<Room['downTracksOf']> {
    const { a, b } = this.ids;
    return this.room
      .downTracksOf(subscriber)
      .filter((d) => d.track.kind === 'video' && (d.track.publisherId === a || d.track.publisherId === b));
  }
  /** The layer the SFU feeds `subscriber` of `publisher`'s video (-1: paused or none). */
  layerTo(subscriber: string, publisher: string): number {
    return (
      this.room
        .downTracksOf(subscriber)
        .find((d) => d.track.kind === 'video' && d.track.publisherId === publisher)?.current ?? -1
    );
  }
  /**
   * Every page is fed a higher layer of both publishers (Chromium's upload estimates and the SFU's
   * downlink estimates ramp up first).
   */
  waitAllHigh(): Promise<void> {
    return poll(
      () =>
        this.downs(this.ids.limited).length === 2 &&
        this.downs(this.ids.limited).every((d) => d.current > 0) &&
        this.othersHigh(),
      () => `every page on a higher layer: ${this.describe()}`,
      180_000,
    );
  }

  /** The publishers feed each other a higher layer than their lowest. */
  othersHigh(): boolean {
    return this.layerTo(this.ids.a, this.ids.b) > 0 && this.layerTo(this.ids.b, this.ids.a) > 0;
  }
  /** The limited page is fed (and asked for) the lowest layer of both publishers. */
  limitedOnLow(): boolean {
    return this.downs(this.ids.limited).every((d) => d.target === 0 && d.current === 0);
  }
  /** Measured bitrate of `layer` of a down track's source. */
  rate(d: ReturnType<Room['downTracksOf']>[number], layer: number): number {
    return d.track.layers[layer]?.meter.bitrate(performance.now()) ?? 0;
  }
  active(d: ReturnType<Room['downTracksOf']>[number], layer: number): boolean {
    const l = d.track.layers[layer];
    return l?.ssrc !== undefined && performance.now() - l.lastPacketAt < 1000;
  }
  /**
   * A per-track rate between every publisher's q and h with margins (at least `low` x every q, at
   * most `high` x every h; `toward` 0 takes the lower bound, 1 the upper, on a log scale), or
   * undefined when they are too close.
   */
  between(low = 1.25, high = 0.85, toward = 0.5): number | undefined {
    const d = this.downs(this.ids.limited);
    if (d.length !== 2 || !d.every((x) => this.active(x, 0) && this.active(x, 1) && this.rate(x, 0) > 0))
      return undefined;
    const lo = low * Math.max(...d.map((x) => this.rate(x, 0)));
    const hi = high * Math.min(...d.map((x) => this.rate(x, 1)));
    return lo * 1.1 < hi ? lo * (hi / lo) ** toward : undefined;
  }
  /**
   * `between` over `ms` of steady readings (sampled every 250 ms: the largest q and the smallest h
   * seen), so a layer just started or a passing dip of Chromium's encoder does not set the budget.
   */
  async steadyBetween(
    low: number,
    high: number,
    toward: number,
    limitMs: number,
    ms = 3000,
  ): Promise<number> {
    let samples: [number, number][] = [];
    let found: number | undefined;
    await poll(
      () => {
        const d = this.downs(this.ids.limited);
        if (this.between(low, high) === undefined) samples = [];
        else
          samples.push([
            Math.max(...d.map((x) => this.rate(x, 0))),
            Math.min(...d.map((x) => this.rate(x, 1))),
          ]);
        if (samples.length < ms / 250) return false;
        samples = samples.slice(-ms / 250);
        const lo = low * Math.max(...samples.map((x) => x[0]));
        const hi = high * Math.min(...samples.map((x) => x[1]));
        found = lo * 1.1 < hi ? lo * (hi / lo) ** toward : undefined;
        return found !== undefined;
      },
      () => `q and h of both publishers steadily far enough apart: ${this.describe()}`,
      limitMs,
    );
    return found!;
  }

  /** The publishers' layers as the SFU measures them, and what each page is fed, for messages. */
  describe(): string {
    const { a, b, limited } = this.ids;
    const bw = (id: string): string => {
      const x = this.room.bandwidthOf(id);
      return x ? `${Math.round(x.effective / 1000)}k (${x.source})` : '?';
    };
    const layers = this.downs(limited)
      .map(
        (d) =>
          `${d.track.publisherId}: ${d.track.layers.map((l, i) => `${l.rid} ${Math.round(this.rate(d, i) / 1000)}k${this.active(d, i) ? '' : ' (idle)'}`).join(', ')}; limited page on ${d.current}->${d.target}`,
      )
      .join(' | ');
    return `${layers}; limited page's budget ${bw(limited)}, ${a} on ${this.layerTo(a, b)} of ${b} at ${bw(a)}, ${b} on ${this.layerTo(b, a)} of ${a} at ${bw(b)}`;
  }

  /**
   * Per publisher, at one moment: the width the limited page decodes and the layer the SFU feeds
   * it, and the same for the other publisher's page.
   */
  async views(): Promise<View[]> {
    const { a, b, limited } = this.ids;
    const [wa, wb, wl] = await Promise.all(
      [this.pages.a, this.pages.b, this.pages.limited].map(decodedWidths),
    );
    return [a, b].map((x) => ({
      publisher: x,
      limited: wl![x] ?? 0,
      limitedLayer: this.layerTo(limited, x),
      other: (x === a ? wb : wa)![x] ?? 0,
      otherLayer: this.layerTo(x === a ? b : a, x),
    }));
  }

  /**
   * The limited page decodes the low layer of each publisher (half as wide or less than what the
   * other page decodes of it at the same moment, as the SFU's layers say), and keeps decoding.
   */
  async waitDecodingLow(): Promise<View[]> {
    const framesAt = await framesDecoded(this.pages.limited);
    let views: View[] = [];
    await poll(
      async () => {
        views = await this.views();
        const f = await framesDecoded(this.pages.limited);
        return views.every(
          (v) =>
            v.limitedLayer === 0 &&
            v.otherLayer > 0 &&
            agrees(v) &&
            f[v.publisher]! > framesAt[v.publisher]! + 10,
        );
      },
      () =>
        `the limited page decoding the low layers, the others higher ones: ${showViews(views)}; ${this.describe()}`,
      60_000,
    );
    return views;
  }

  /** The limit is gone: the limited page is fed and decodes a higher layer of each publisher again. */
  async waitBackUp(limitMs: number): Promise<View[]> {
    await poll(
      () => this.downs(this.ids.limited).every((d) => d.current > 0),
      () => `the limited page back on a higher layer: ${this.describe()}`,
      limitMs,
    );
    let views: View[] = [];
    await poll(
      async () => (views = await this.views()).every((v) => v.limitedLayer > 0 && agrees(v)),
      () => `the limited page decoding the higher layers again: ${showViews(views)}; ${this.describe()}`,
      60_000,
    );
    return views;
  }
}

export interface View {
  readonly publisher: string;
  readonly limited: number;
  readonly limitedLayer: number;
  readonly other: number;
  readonly otherLayer: number;
}

/**
 * What the pages decode follows the layers the SFU feeds them: each layer step doubles the width
 * (the call page's encodings scale by 4, 2 and 1, also when Chromium scales its input down under
 * CPU load).
 */
export const agrees = (v: View): boolean =>
  v.limited > 0 &&
  v.other > 0 &&
  v.limitedLayer >= 0 &&
  v.otherLayer >= 0 &&
  Math.abs((v.limited * 2 ** (v.otherLayer - v.limitedLayer)) / v.other - 1) <= 0.25;

export const showViews = (vs: readonly View[]): string =>
  vs.map((v) => `limited ${v.limited}/${v.limitedLayer} other ${v.other}/${v.otherLayer}`).join(', ');
