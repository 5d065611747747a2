/**
 * Diagnostic, run by hand (not in the suite; hold the heavy lock): Chromium sends 3-layer simulcast
 * to rtcstack for 30 s while this process's event loop is blocked STALL ms every PERIOD ms (late
 * packet reads, as on an overloaded host), transport-cc on (TCC=1) or stopped (TCC=0). Prints
 * Chromium's availableOutgoingBitrate and per-rid targetBitrate each second (B: limited by
 * bandwidth) and the frames received per rid.
 *
 *   flock /tmp/rtcstack-heavy.lock env STALL=150 PERIOD=500 TCC=1 \
 *     node --import tsx test/interop/media-chromium-stall.manual.ts
 */
import { loadavg } from 'node:os';
import { RTCPeerConnection } from '../../src/peer/index.js';
import { startBlankOrigin } from '../helpers/blank-origin.js';
import { acceptAnswerInPage, browserPeer, pageStats, waitFor } from '../helpers/browser-peer.js';
import { launchChromium } from '../helpers/chromium.js';

const STALL = Number(process.env.STALL ?? 0);
const PERIOD = Number(process.env.PERIOD ?? 500);
const TCC = process.env.TCC !== '0';
const browser = await launchChromium();
const { origin, close } = await startBlankOrigin();
const node = new RTCPeerConnection({}, { includeLoopback: true, ipv6: false });
const page = await browserPeer(browser, node, { origin });
const frames = new Map<string, number>();
node.ontrack = (e) => {
  e.track.on('frame', (f) => frames.set(f.rid ?? '-', (frames.get(f.rid ?? '-') ?? 0) + 1));
};
const offer = await page.evaluate(async () => {
  // biome-ignore lint/suspicious/noExplicitAny: diagnostic page code
  const pc = (window as any).pc;
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
  // biome-ignore lint/suspicious/noExplicitAny: diagnostic page code
  const caps = (RTCRtpSender as any).getCapabilities('video');
  // biome-ignore lint/suspicious/noExplicitAny: diagnostic page code
  t.setCodecPreferences(caps.codecs.filter((c: any) => /VP8|rtx/i.test(c.mimeType)));
  await pc.setLocalDescription();
  return pc.localDescription.toJSON();
});
await node.setRemoteDescription(offer);
if (!TCC)
  for (const t of node.getTransceivers())
    t.setHeaderExtensionsToNegotiate(
      t
        .getHeaderExtensionsToNegotiate()
        .map((e) => ({ ...e, direction: /transport-wide/.test(e.uri) ? 'stopped' : 'sendrecv' }) as const),
    );
await node.setLocalDescription();
await acceptAnswerInPage(page, node.localDescription!.toJSON());
await waitFor(() => node.connectionState === 'connected', 'connected');
const stall = STALL
  ? setInterval(() => {
      const end = performance.now() + STALL;
      while (performance.now() < end) {
        // busy: the event loop reads nothing meanwhile
      }
    }, PERIOD)
  : undefined;
const trace: string[] = [];
for (let s = 0; s < 30; s++) {
  await new Promise((r) => setTimeout(r, 1000));
  const stats = await pageStats(page);
  const tr = stats.find((x) => x.type === 'transport');
  const pair = stats.find((x) => x.id === tr?.selectedCandidatePairId);
  const out = stats
    .filter((x) => x.type === 'outbound-rtp')
    .map(
      (x) =>
        `${x.rid}:${Math.round(Number(x.targetBitrate ?? 0) / 1000)}${x.qualityLimitationReason === 'bandwidth' ? 'B' : ''}`,
    );
  trace.push(`${s}s ${Math.round(Number(pair?.availableOutgoingBitrate ?? 0) / 1000)}k [${out.join(' ')}]`);
}
if (stall) clearInterval(stall);
console.log(
  `STALL ${STALL}/${PERIOD} TCC ${TCC} load ${loadavg()[0]!.toFixed(1)} frames per rid ${JSON.stringify([...frames])}`,
);
console.log(trace.join('\n'));
node.close();
await page.close();
await browser.close();
close();
