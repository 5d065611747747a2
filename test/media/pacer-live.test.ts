/**
 * The pacer in the live send path between two rtcstack peers: a keyframe written at once leaves
 * spread out (queued behind the burst allowance, released by the pacer's timer), audio written
 * meanwhile goes out at once, every packet carries its transport-wide sequence number in send
 * order, and the frames arrive whole.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MediaStream, MediaStreamTrack, type ReceivedFrame } from '../../src/peer/index.js';
import { trickledPair } from '../helpers/trickled-pair.js';
import { waitFor } from '../helpers/wait.js';
import { enableTwcc } from './twcc.js';

test('live pacer: a keyframe leaves paced, audio is not held behind it, frames arrive whole', async () => {
  const { a, b } = trickledPair();
  try {
    const video = new MediaStreamTrack({ kind: 'video' });
    const audio = new MediaStreamTrack({ kind: 'audio' });
    const stream = new MediaStream();
    a.addTrack(video, stream);
    a.addTrack(audio, stream);
    for (const t of a.getTransceivers()) enableTwcc(t);
    const sent: { seq: number; size: number; at: number }[] = [];
    a.observeTransportCc({ sent: (seq, size, at) => sent.push({ seq, size, at }), feedback: () => {} });
    const frames: ReceivedFrame[] = [];
    const audioFrames: ReceivedFrame[] = [];
    b.ontrack = (e) => e.track.on('frame', (f) => (e.track.kind === 'video' ? frames : audioFrames).push(f));
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription!);
    for (const t of b.getTransceivers()) enableTwcc(t);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription!);
    await waitFor(() => a.connectionState === 'connected' && b.connectionState === 'connected', 'connected');
    // 60 kB keyframe (VP8 frame tag: keyframe bit clear), ~55 packets.
    const key = new Uint8Array(60_000).fill(7);
    key[0] = 0x10;
    video.writeFrame({ data: key, timestamp: 0 });
    const atOnce = sent.length;
    // Before any feedback the estimate is the 300 kbit/s start: paced at 750 kbit/s, a 5 ms burst
    // allowance lets about one packet go at once.
    assert.ok(atOnce >= 1 && atOnce <= 3, `${atOnce} packets left at once`);
    audio.writeFrame({ data: new Uint8Array(80).fill(1), timestamp: 0 });
    assert.equal(sent.length, atOnce + 1, 'the audio packet went out at once, ahead of the queued video');
    await waitFor(() => frames.length === 1 && audioFrames.length === 1, 'the keyframe and the audio frame');
    assert.equal(frames[0]!.data.length, key.length);
    assert.ok(frames[0]!.keyframe);
    assert.ok(sent.length >= 50);
    const seqs = sent.map((s) => s.seq);
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], (seqs[i - 1]! + 1) & 0xffff);
    // Send times (stamped as packets leave the pacer) are spread, not one burst.
    const video0 = sent.filter((_, i) => i !== atOnce);
    assert.ok(video0.at(-1)!.at > video0[0]!.at, 'released over time');
  } finally {
    a.close();
    b.close();
  }
});
