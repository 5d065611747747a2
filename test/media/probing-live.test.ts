/**
 * Probing between two rtcstack peers on loopback: the sender's application writes far less than
 * the path carries; the congestion controller's probes run through the media session's pacer as
 * padding-only RTX packets, the receiver's TWCC feedback on them lifts the target well past
 * 1.5 x what the application sends, and the receiver discards the padding (frames intact, none twice).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MediaStream, MediaStreamTrack } from '../../src/peer/index.js';
import { negotiate, trickledPair } from '../helpers/trickled-pair.js';
import { waitFor } from '../helpers/wait.js';

test('probes (RTX padding-only packets through the pacer) lift the target above what a slow application sends', async () => {
  const { a, b } = trickledPair();
  try {
    const track = new MediaStreamTrack({ kind: 'video' });
    const sender = a.addTrack(track, new MediaStream());
    let probePackets = 0;
    let probeBytes = 0;
    let bytes = 0;
    a.observeTransportCc({
      sent: (_seq, size, _now, cluster) => {
        if (cluster < 0) bytes += size;
        if (cluster >= 0) {
          probePackets++;
          probeBytes += size;
        }
      },
      feedback: () => {},
    });
    const received: number[] = [];
    b.ontrack = (e) => e.track.on('frame', (f) => received.push(f.timestamp));
    await negotiate(a, b);
    await waitFor(() => a.connectionState === 'connected' && b.connectionState === 'connected', 'connected');
    // ~64 kbit/s: 8 frames a second of 1000 bytes, until the target has gone past 1 Mbit/s.
    let i = 0;
    while (((sender.targetBitrate ?? 0) < 1_000_000 || i < 20) && i < 400) {
      const f = new Uint8Array(1000).fill(i & 0xff);
      f[0] = i % 30 === 0 ? 0x10 : 0x11;
      track.writeFrame({ data: f, timestamp: i * 11_250 });
      i++;
      await new Promise((r) => setTimeout(r, 125));
    }
    assert.ok(
      (sender.targetBitrate ?? 0) >= 1_000_000,
      `target ${sender.targetBitrate} after ${i} frames (${probePackets} probe packets)`,
    );
    assert.ok(probePackets >= 5, `${probePackets} packets in probe clusters`);
    // The application's own rate stayed tiny: the lift came from probes, not from media.
    assert.ok(probeBytes > 1000 * 5, `${probeBytes} probe bytes`);
    await waitFor(() => received.length >= Math.min(i, 10), `frames received: ${received.length} of ${i}`);
    assert.equal(new Set(received).size, received.length, 'no frame delivered twice');
    // Padding on request: 400 kbit/s held up for a second while the application writes ~64 kbit/s
    // (bytes outside probe clusters).
    const writeFor = async (ms: number): Promise<number> => {
      const from = bytes;
      for (let t = 0; t < ms; t += 125) {
        const f = new Uint8Array(1000).fill(i & 0xff);
        f[0] = 0x11;
        track.writeFrame({ data: f, timestamp: i++ * 11_250 });
        await new Promise((r) => setTimeout(r, 125));
      }
      return bytes - from;
    };
    const plain = await writeFor(1000);
    a.setPaddingBitrate(400_000);
    const padded = await writeFor(1000);
    a.setPaddingBitrate(0);
    // 400 kbit/s for 1 s is 50 kB, media included (late timers on a loaded box make up only 20 ms).
    assert.ok(padded > 1.5 * plain && padded >= 25_000, `${padded} bytes with padding, ${plain} without`);
    const dropped = b.droppedDatagrams();
    assert.equal(
      dropped.rtpParse + dropped.srtpAuth + dropped.srtpReplay + dropped.srtpMalformed,
      0,
      JSON.stringify(dropped),
    );
  } finally {
    a.close();
    b.close();
  }
});
