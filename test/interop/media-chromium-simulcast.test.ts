/**
 * Chromium sends 3-layer simulcast (rids q, h, f at 1/4, 1/2 and full resolution) to rtcstack: each
 * layer arrives as its own stream, its frames carry their rid, and the VP8 keyframes of each layer
 * state a different picture size (so the layers are really separate, not one stream relabeled).
 */
import assert from 'node:assert/strict';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { test } from 'node:test';
import { RTCPeerConnection } from '../../src/peer/index.js';
import { acceptAnswerInPage, browserPeer, pageStats, waitFor } from '../helpers/browser-peer.js';
import { chromiumForFile } from '../helpers/chromium-file.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import { waitConnected } from '../helpers/wait.js';

const opts = needs(PREREQS.chromium);
const chromium = chromiumForFile(opts, { origin: true });

/** Width x height from a VP8 keyframe header (RFC 6386 §9.1), or undefined. */
function vp8Size(frame: Uint8Array): string | undefined {
  if (frame.length < 10 || (frame[0]! & 1) !== 0) return undefined;
  if (frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return undefined;
  const w = (frame[6]! | (frame[7]! << 8)) & 0x3fff;
  const h = (frame[8]! | (frame[9]! << 8)) & 0x3fff;
  return `${w}x${h}`;
}

interface Layer {
  frames: number;
  keyframes: number;
  ssrcs: Set<number>;
  sizes: Set<string>;
}

test(
  'Chromium sends 3-layer simulcast: rtcstack receives rids q, h and f as separate streams',
  opts,
  async (t) => {
    const node = new RTCPeerConnection({}, { includeLoopback: true, ipv6: false });
    const page = await browserPeer(chromium.browser, node, { origin: chromium.origin });
    const layers = new Map<string, Layer>();
    // How late this process reads (transport-cc is on: Chromium's estimator sees it as delay).
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    try {
      node.ontrack = (e) => {
        e.track.on('frame', (f) => {
          const rid = f.rid ?? '(none)';
          let l = layers.get(rid);
          if (!l) layers.set(rid, (l = { frames: 0, keyframes: 0, ssrcs: new Set(), sizes: new Set() }));
          l.frames++;
          l.ssrcs.add(f.ssrc);
          if (f.keyframe) {
            l.keyframes++;
            const size = vp8Size(f.data);
            if (size) l.sizes.add(size);
          }
        });
      };
      const offer = await page.evaluate(async () => {
        type Pc = {
          addTransceiver(t: unknown, init: unknown): { setCodecPreferences(c: unknown[]): void };
          setLocalDescription(): Promise<void>;
          localDescription: { toJSON(): unknown };
        };
        const pc = (window as unknown as { pc: Pc }).pc;
        const media = await navigator.mediaDevices.getUserMedia({
          video: { width: 1280, height: 720 },
          audio: false,
        });
        const t = pc.addTransceiver(media.getVideoTracks()[0], {
          direction: 'sendonly',
          streams: [media],
          sendEncodings: [
            { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 200_000 },
            { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
            { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_200_000 },
          ],
        });
        const caps = (
          RTCRtpSender as unknown as { getCapabilities(k: string): { codecs: { mimeType: string }[] } }
        ).getCapabilities('video');
        t.setCodecPreferences(caps.codecs.filter((c) => /VP8|rtx/i.test(c.mimeType)));
        await pc.setLocalDescription();
        return pc.localDescription.toJSON();
      });
      await node.setRemoteDescription(offer as { type: 'offer'; sdp: string });
      await node.setLocalDescription();
      const answer = node.localDescription!.toJSON();
      assert.match(answer.sdp ?? '', /a=simulcast:recv q;h;f/, 'we accept the three layers');
      await acceptAnswerInPage(page, answer);
      await waitConnected(node);
      const enough = (): boolean =>
        ['q', 'h', 'f'].every(
          (rid) => (layers.get(rid)?.frames ?? 0) >= 30 && (layers.get(rid)?.sizes.size ?? 0) > 0,
        );
      const describe = (): string =>
        JSON.stringify(
          [...layers].map(([rid, l]) => ({ rid, ...l, ssrcs: [...l.ssrcs], sizes: [...l.sizes] })),
        );
      await waitFor(enough, `30 frames and a keyframe on each of q, h, f: ${describe()}`, 60_000);
      const q = layers.get('q')!;
      const h = layers.get('h')!;
      const f = layers.get('f')!;
      assert.equal(layers.has('(none)'), false, `every frame carries its rid: ${describe()}`);
      for (const l of [q, h, f]) assert.equal(l.ssrcs.size, 1, `one SSRC per layer: ${describe()}`);
      assert.equal(new Set([...q.ssrcs, ...h.ssrcs, ...f.ssrcs]).size, 3, 'three different SSRCs');
      const width = (l: Layer): number => Math.max(...[...l.sizes].map((s) => Number(s.split('x')[0])));
      assert.ok(width(q) < width(h) && width(h) < width(f), `widths grow q < h < f: ${describe()}`);
      assert.equal(width(f), 1280, describe());
      t.diagnostic(describe());
      const stats = await pageStats(page);
      const transport = stats.find((s) => s.type === 'transport');
      const pair = stats.find((s) => s.id === transport?.selectedCandidatePairId);
      const ms = (ns: number): string => (ns / 1e6).toFixed(0);
      t.diagnostic(
        `load ${loadavg()[0]!.toFixed(1)}; transport-cc ${/transport-wide-cc/.test(answer.sdp ?? '')}; Chromium availableOutgoingBitrate ${pair?.availableOutgoingBitrate}; our event loop delay p50 ${ms(loop.percentile(50))} p99 ${ms(loop.percentile(99))} max ${ms(loop.max)} ms`,
      );
    } finally {
      loop.disable();
      node.close();
      await page.close();
    }
  },
);
