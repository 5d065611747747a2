/**
 * Diagnostics for the Chromium SFU tests, so that one failure tells the story of a stuck page:
 * a once-a-second trace of what the SFU does for every subscriber (its downlink estimate and
 * probes, and per video track the layer targeted and fed, a keyframe awaited, PLIs, packets sent),
 * and what each page's inbound-rtp says of each peer's video.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { PAUSED } from '../../src/server/sfu/layer-selector.js';
import type { Room } from '../../src/server/sfu/room.js';
import { ARTIFACTS } from '../serve/call-helpers.js';

const k = (bps: number): string => `${Math.round(bps / 1000)}k`;
const short = (id: string): string => id.slice(0, 5);

/** One line on `subscriberId`: its estimate, and per video track what it is fed. */
export function describeSubscriber(room: Room, subscriberId: string): string {
  const bw = room.bandwidthOf(subscriberId);
  const bwe = room.estimatorOf(subscriberId);
  const est = bw ? `${k(bw.effective)} ${bw.source}` : '?';
  const probe = bwe
    ? ` cc ${k(bwe.cc.targetBitrate)} acked ${k(bwe.cc.ackedBitrate ?? 0)} qd ${Math.round(bwe.queuingDelay)}ms loss ${Math.round(bwe.cc.lossFraction * 100)}% floor ${k(bwe.floor)} fb ${bwe.feedbacks} probes ${bwe.probes}/${bwe.failedProbes} failed${bwe.probing ? ' PROBING' : ''}`
    : '';
  const video = room
    .downTracksOf(subscriberId)
    .filter((d) => d.track.kind === 'video')
    .map((d) => {
      const layer = (i: number): string => (i === PAUSED ? 'P' : String(i));
      const s = d.stats;
      return `${short(d.track.publisherId)} ${layer(d.current)}->${layer(d.target)}${d.switchPending ? ' K?' : ''} sent ${s.packetsSent} pli ${s.plisReceived} sw ${s.layerSwitches}`;
    });
  return `${short(subscriberId)}: est ${est}${probe} | ${video.join(' | ')}`;
}

/** One line on `publisherId`'s video layers as the SFU receives them. */
export function describePublisher(room: Room, publisherId: string, now = performance.now()): string {
  const v = room.tracksOf(publisherId).find((t) => t.kind === 'video');
  if (!v) return `${short(publisherId)}: no video`;
  const layers = v.layers.map((l) =>
    l.ssrc === undefined
      ? `${l.rid ?? '-'} none`
      : `${l.rid ?? '-'} ${k(l.meter.bitrate(now))} last ${Math.round(now - l.lastPacketAt)}ms ago, ${l.keyframesSeen} keyframes, asked ${Math.round(now - l.lastKeyframeRequestAt)}ms ago`,
  );
  return `${short(publisherId)} publishes: ${layers.join('; ')}`;
}

/**
 * Samples every subscriber of `room()` every `periodMs`, keeping a line when what it is fed or its
 * probing changed (and every tenth sample regardless), the last `keep` lines.
 */
export class SfuTrace {
  readonly lines: string[] = [];
  readonly #last = new Map<string, string>();
  readonly #t0 = performance.now();
  readonly #timer: NodeJS.Timeout;
  #n = 0;

  constructor(
    readonly room: () => Room | undefined,
    periodMs = 1000,
    readonly keep = 600,
  ) {
    this.#timer = setInterval(() => this.#sample(), periodMs);
    this.#timer.unref();
  }

  #sample(): void {
    const room = this.room();
    if (!room) return;
    const now = performance.now();
    const t = `+${((now - this.#t0) / 1000).toFixed(1)}s`;
    this.#n++;
    for (const id of room.participantIds) {
      const key = room
        .downTracksOf(id)
        .map((d) => `${d.current}/${d.target}`)
        .join(',');
      const bwe = room.estimatorOf(id);
      const state = `${key} ${bwe?.probes}/${bwe?.failedProbes}/${bwe?.probing}`;
      if (this.#last.get(id) === state && this.#n % 10 !== 0) continue;
      this.#last.set(id, state);
      this.lines.push(`${t} ${describeSubscriber(room, id)}`);
    }
    if (this.lines.length > this.keep) this.lines.splice(0, this.lines.length - this.keep);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** The trace, then the room's state now (subscribers and publishers). */
  text(): string[] {
    const room = this.room();
    const out = this.lines.map((l) => `trace ${l}`);
    for (const id of room?.participantIds ?? [])
      out.push(`now ${describeSubscriber(room!, id)}`, `now ${describePublisher(room!, id)}`);
    return out;
  }

  print(): void {
    for (const l of this.text()) console.error(l);
  }

  /** Keeps the trace with the artifacts (artifacts/serve/NAME.trace), also when the test passed. */
  save(name: string): void {
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, `${name}.trace`), `${this.text().join('\n')}\n`);
  }
}

export interface InboundVideo {
  readonly packetsReceived: number;
  readonly framesDecoded: number;
  readonly keyFramesDecoded: number;
  readonly freezeCount: number;
  readonly nackCount: number;
  readonly pliCount: number;
  readonly frameWidth: number;
}

/**
 * What `page` receives of each peer's video (its tile's track), from the inbound-rtp of the page's
 * peer connections kept in window.__rtcsPcs (openKeptPage).
 */
export function inboundVideo(page: Page): Promise<Record<string, InboundVideo>> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __rtcsPcs?: RTCPeerConnection[] }).__rtcsPcs ?? [];
    const byTrack = new Map<string, InboundVideo>();
    for (const pc of pcs) {
      if (pc.connectionState === 'closed') continue;
      // biome-ignore lint/suspicious/noExplicitAny: RTCStats entries are loosely typed dictionaries
      (await pc.getStats()).forEach((s: any) => {
        if (s.type !== 'inbound-rtp' || s.kind !== 'video' || !s.trackIdentifier) return;
        byTrack.set(s.trackIdentifier, {
          packetsReceived: s.packetsReceived ?? 0,
          framesDecoded: s.framesDecoded ?? 0,
          keyFramesDecoded: s.keyFramesDecoded ?? 0,
          freezeCount: s.freezeCount ?? 0,
          nackCount: s.nackCount ?? 0,
          pliCount: s.pliCount ?? 0,
          frameWidth: s.frameWidth ?? 0,
        });
      });
    }
    const out: Record<string, InboundVideo> = {};
    for (const fig of document.querySelectorAll<HTMLElement>('#grid figure[data-peer]')) {
      const track = (fig.querySelector('video')?.srcObject as MediaStream | null)?.getVideoTracks()[0];
      const s = track && byTrack.get(track.id);
      if (s) out[fig.dataset.peer!] = s;
    }
    return out;
  });
}

/** Prints every page's inbound video per peer (a failure's page side). */
export async function printInbound(pages: readonly Page[], names: readonly string[]): Promise<void> {
  for (const [i, p] of pages.entries()) {
    const ins = await inboundVideo(p).catch(() => ({}) as Record<string, InboundVideo>);
    for (const [peer, s] of Object.entries(ins))
      console.error(
        `page ${i} ${names[i] ?? ''} <- ${short(peer)}: packets ${s.packetsReceived} frames ${s.framesDecoded} keyframes ${s.keyFramesDecoded} freezes ${s.freezeCount} nacks ${s.nackCount} plis ${s.pliCount} width ${s.frameWidth}`,
      );
  }
}
