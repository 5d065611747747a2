/**
 * A Chromium page holding one RTCPeerConnection (`window.pc`) signaled from Node: trickled
 * candidates flow both ways between the page and a Node-side peer connection. Used by every test
 * that pits rtcstack against the browser.
 *
 *     const page = await browserPeer(browser, node, { echo: true });
 *     await node.setLocalDescription();
 *     const answer = await answerInPage(page, node.localDescription!.toJSON());
 */
import type { Page } from 'playwright-core';
import type { RTCIceCandidateInit, RTCPeerConnection } from '../../src/peer/index.js';
import type { ChromiumHandle } from './chromium.js';

export type CandidateInit = { candidate: string; sdpMid: string | null; sdpMLineIndex: number | null } | null;
export type StatsEntry = Record<string, unknown>;

/** The page-side API, typed loosely: it runs in the browser, not against rtcstack's types. */
interface PagePc {
  addIceCandidate(c?: unknown): Promise<void>;
  setRemoteDescription(d: unknown): Promise<void>;
  setLocalDescription(): Promise<void>;
  localDescription: { toJSON(): { type: string; sdp: string } } | null;
  getStats(): Promise<{ forEach(cb: (s: StatsEntry) => void): void }>;
}

export interface BrowserPeerOptions {
  /** RTCConfiguration for the page's connection. */
  readonly config?: unknown;
  /** Echo every message on every channel the page receives: strings as `echo:<text>`, binary as is. */
  readonly echo?: boolean;
  /** Navigate here first (a page that needs an origin, e.g. for getUserMedia). */
  readonly origin?: string;
  /** Called with each candidate the page trickles to Node (after it is handed over). */
  readonly onPageCandidate?: (c: CandidateInit) => void;
}

export async function browserPeer(
  browser: ChromiumHandle,
  node: RTCPeerConnection,
  o: BrowserPeerOptions = {},
): Promise<Page> {
  const page = await browser.newPage();
  if (o.origin) await page.goto(o.origin);
  // tsx compiles functions passed to page.evaluate with esbuild's keepNames helper; define it.
  await page.evaluate('globalThis.__name = (f) => f');
  await page.exposeFunction('toNode', (c: CandidateInit) => {
    o.onPageCandidate?.(c);
    void node.addIceCandidate((c ?? undefined) as RTCIceCandidateInit | undefined).catch(() => {});
  });
  await page.evaluate(
    ({ config, echo }) => {
      const w = window as unknown as Record<string, unknown>;
      type Channel = {
        binaryType: string;
        send(d: unknown): void;
        onmessage: ((e: { data: unknown }) => void) | null;
      };
      type Pc = {
        onicecandidate: ((e: { candidate: { toJSON(): unknown } | null }) => void) | null;
        ondatachannel: ((e: { channel: Channel }) => void) | null;
      };
      const Ctor = (window as unknown as { RTCPeerConnection: new (c?: unknown) => Pc }).RTCPeerConnection;
      const pc = new Ctor(config ?? undefined);
      w.pc = pc;
      pc.onicecandidate = (e) =>
        (w.toNode as (c: unknown) => void)(e.candidate ? e.candidate.toJSON() : null);
      const wire = (ch: Channel): void => {
        ch.binaryType = 'arraybuffer';
        ch.onmessage = (e) => ch.send(typeof e.data === 'string' ? `echo:${e.data}` : e.data);
      };
      w.wire = wire;
      if (echo) pc.ondatachannel = (e) => wire(e.channel);
    },
    { config: o.config ?? null, echo: o.echo ?? false },
  );
  node.onicecandidate = (e) => {
    const c = e.candidate ? e.candidate.toJSON() : null;
    void page
      .evaluate((cand) => {
        const pc = (window as unknown as { pc: PagePc }).pc;
        return pc.addIceCandidate(cand ?? undefined).catch(() => {});
      }, c)
      .catch(() => {
        // The page closed while Node was still trickling (a test's teardown): nothing to deliver to.
      });
  };
  return page;
}

/** Apply `offer` in the page and return its answer. */
export function answerInPage(page: Page, offer: unknown): Promise<{ type: 'answer'; sdp: string }> {
  return page.evaluate(async (o) => {
    const pc = (window as unknown as { pc: PagePc }).pc;
    await pc.setRemoteDescription(o);
    await pc.setLocalDescription();
    return pc.localDescription!.toJSON() as { type: 'answer'; sdp: string };
  }, offer);
}

/** Apply our answer in the page. */
export function acceptAnswerInPage(page: Page, answer: unknown): Promise<void> {
  return page.evaluate(async (a) => {
    await (window as unknown as { pc: PagePc }).pc.setRemoteDescription(a);
  }, answer);
}

/** The page's getStats() as plain objects. */
export function pageStats(page: Page): Promise<StatsEntry[]> {
  return page.evaluate(async () => {
    const report = await (window as unknown as { pc: PagePc }).pc.getStats();
    const out: StatsEntry[] = [];
    report.forEach((s) => {
      out.push({ ...s });
    });
    return out;
  });
}

/** The page's transport stats entry (DTLS version, cipher, role, selected pair id). */
export async function pageTransport(page: Page): Promise<StatsEntry> {
  return (await pageStats(page)).find((s) => s.type === 'transport') ?? {};
}

/** Candidate type of the local side of the pair `stats` says is selected. */
export function selectedLocalCandidateType(stats: readonly StatsEntry[]): unknown {
  const transport = stats.find((s) => s.type === 'transport');
  const pair = stats.find((s) => s.id === transport?.selectedCandidatePairId);
  return stats.find((s) => s.id === pair?.localCandidateId)?.candidateType;
}

export { waitFor } from './wait.js';
