/**
 * Chromium as the offerer sending its camera to rtcstack (the answerer, ICE-controlled). Chromium
 * may pick a pair whose paths our own pairing would not have formed (on one host: our loopback
 * base with its non-loopback address); media must keep flowing on it, not stop after a second.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RTCPeerConnection } from '../../src/peer/index.js';
import { acceptAnswerInPage, browserPeer, waitFor } from '../helpers/browser-peer.js';
import { chromiumForFile } from '../helpers/chromium-file.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import { waitConnected } from '../helpers/wait.js';

const opts = needs(PREREQS.chromium);
const chromium = chromiumForFile(opts, { origin: true });

test('Chromium offers its camera, rtcstack answers: video frames keep arriving', opts, async () => {
  const node = new RTCPeerConnection({}, { includeLoopback: true, ipv6: false });
  const page = await browserPeer(chromium.browser, node, { origin: chromium.origin });
  try {
    let frames = 0;
    let keyframes = 0;
    node.ontrack = (e) => {
      e.track.on('frame', (f: { keyframe?: boolean }) => {
        frames++;
        if (f.keyframe) keyframes++;
      });
    };
    const offer = await page.evaluate(async () => {
      type Pc = {
        addTrack(t: unknown, s: unknown): void;
        setLocalDescription(): Promise<void>;
        localDescription: { toJSON(): unknown };
      };
      const pc = (window as unknown as { pc: Pc }).pc;
      const media = await navigator.mediaDevices.getUserMedia({
        video: { width: 320, height: 240 },
        audio: false,
      });
      for (const t of media.getTracks()) pc.addTrack(t, media);
      await pc.setLocalDescription();
      return pc.localDescription.toJSON();
    });
    await node.setRemoteDescription(offer as { type: 'offer'; sdp: string });
    await node.setLocalDescription();
    await acceptAnswerInPage(page, node.localDescription!.toJSON());
    await waitConnected(node);
    // Well past the first second, where media used to stop.
    await waitFor(() => frames >= 60, `60 video frames (have ${frames})`, 60_000);
    assert.ok(keyframes >= 1, 'the stream starts with a keyframe');
  } finally {
    node.close();
    await page.close();
  }
});
