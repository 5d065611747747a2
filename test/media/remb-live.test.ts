/**
 * REMB instead of TWCC: when the answer keeps goog-remb but not transport-cc, the receiver runs
 * the GCC estimator itself (abs-send-time as the send clock) and sends REMB; the sender's
 * targetBitrate follows it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MediaStream, MediaStreamTrack } from '../../src/peer/index.js';
import { trickledPair } from '../helpers/trickled-pair.js';
import { waitFor } from '../helpers/wait.js';
import { enableTwcc } from './twcc.js';

test('without transport-cc the receiver sends REMB and the sender target follows it', async () => {
  const { a, b } = trickledPair();
  try {
    const track = new MediaStreamTrack({ kind: 'video' });
    const sender = a.addTrack(track, new MediaStream());
    enableTwcc(a.getTransceivers()[0]!);
    await a.setLocalDescription(await a.createOffer());
    // A peer that does not know transport-cc (as older stacks): drop the extension and feedback.
    const sdp = a
      .localDescription!.sdp.split('\r\n')
      .filter((l) => !/transport-wide-cc|transport-cc/.test(l))
      .join('\r\n');
    assert.match(sdp, /a=rtcp-fb:96 goog-remb/);
    await b.setRemoteDescription({ type: 'offer', sdp });
    enableTwcc(b.getTransceivers()[0]!);
    await b.setLocalDescription(await b.createAnswer());
    assert.doesNotMatch(b.localDescription!.sdp, /transport-cc|transport-wide-cc/);
    assert.match(b.localDescription!.sdp, /goog-remb/);
    await a.setRemoteDescription(b.localDescription!);
    await waitFor(() => a.connectionState === 'connected', 'connected');
    let i = 0;
    while (sender.targetBitrate === undefined && i < 600) {
      const f = new Uint8Array(3000).fill(i & 0xff);
      f[0] = i % 30 === 0 ? 0x10 : 0x11;
      track.writeFrame({ data: f, timestamp: i * 33 });
      i++;
      await new Promise((r) => setTimeout(r, 33));
    }
    assert.ok(sender.targetBitrate !== undefined, 'REMB reached the sender');
    assert.ok(
      sender.targetBitrate >= 30_000 && sender.targetBitrate <= 10_000_000,
      `${sender.targetBitrate}`,
    );
  } finally {
    a.close();
    b.close();
  }
});
