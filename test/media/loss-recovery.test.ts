/**
 * NACK + RTX under loss between two rtcstack peers on the virtual network (ManualClock): the
 * sender's socket drops 5% of its RTP datagrams (seeded); the receiver NACKs, the sender answers
 * over RTX (RFC 4588), and every frame arrives intact. With retransmission made impossible (RTX
 * dropped, 20% loss), the receiver's jitter buffer gives up, sends a PLI, and the sender's track
 * sees 'keyframerequest'.
 *
 * Virtual time, not loopback and real timers: on a loaded machine a stalled process reads like a
 * slow path. It was seen failing with packetsLost -1: a NACK sent again before the first RTX was
 * read, both RTX arrived and the duplicate counted as received (RFC 3550 allows that); a stall
 * past the jitter buffer's 300 ms could as well give a gap up before its RTX was read. The clip is
 * made `repeatable` (libvpx's realtime mode gives other frames on a busy machine): the same
 * packets meet the same seeded losses on every run.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Network } from '../../src/core/net.js';
import { SeededRandom } from '../../src/core/random.js';
import { parseIvf } from '../../src/media/container/ivf.js';
import { MediaStreamTrack, type ReceivedFrame } from '../../src/peer/index.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import { isRtpDatagram, sendHookNetwork } from '../helpers/send-hook.js';
import { negotiate } from '../helpers/trickled-pair.js';
import { virtualPair } from '../helpers/virtual-pair.js';
import { makeVideoClip } from './ffmpeg.js';

/** A network whose sockets drop outgoing RTP (not RTCP, not STUN/DTLS) when `drop(pt)` says so. */
function lossyNetwork(base: Network, drop: (payloadType: number) => boolean): Network {
  // Padding (P bit: the congestion controller's probes) passes, and draws no lot.
  return sendHookNetwork(
    base,
    (data) => isRtpDatagram(data) && ((data[0] ?? 0) & 0x20) === 0 && drop((data[1] ?? 0) & 0x7f),
  );
}

test(
  '5% RTP loss: NACK/RTX repairs every frame; unrepairable loss ends in a PLI and a keyframe request',
  needs(PREREQS.ffmpeg),
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'rtcs-loss-'));
    const rnd = new SeededRandom(4585);
    let noRepair = false;
    let dropped = 0;
    const { clock, a, b, connected, close } = virtualPair({
      seed: 4585,
      // 5% of everything; while `noRepair`, every RTX packet (PT 97) and 20% of the rest.
      wrapA: (host) =>
        lossyNetwork(host, (pt) => {
          const d = noRepair ? pt === 97 || rnd.float() < 0.2 : rnd.float() < 0.05;
          if (d) dropped++;
          return d;
        }),
    });
    let timersLeft = -1;
    try {
      makeVideoClip('vp8', join(dir, 'v.ivf'), { frames: 120, gop: 1000, size: '640x480', repeatable: true });
      const clip = parseIvf(readFileSync(join(dir, 'v.ivf')));
      const track = new MediaStreamTrack({ kind: 'video' });
      let keyframeRequests = 0;
      track.on('keyframerequest', () => keyframeRequests++);
      a.addTransceiver(track, { direction: 'sendonly' });
      const got: ReceivedFrame[] = [];
      b.ontrack = (e) => e.track.on('frame', (f) => got.push(f));
      await negotiate(a, b);
      await connected();
      for (const [i, f] of clip.frames.entries()) {
        track.writeFrame({ data: f.data, timestamp: (i * 1000) / 30 });
        await clock.advanceAsync(10);
      }
      await clock.runUntil(() => got.length === clip.frames.length, 30_000);
      assert.equal(got.length, clip.frames.length, 'all frames');
      for (const [i, f] of got.entries())
        assert.deepEqual(Buffer.from(f.data), Buffer.from(clip.frames[i]!.data));
      const out = [...(await a.getStats()).values()].find((s) => s.type === 'outbound-rtp')!;
      const inb = [...(await b.getStats()).values()].find((s) => s.type === 'inbound-rtp')!;
      t.diagnostic(
        `dropped ${dropped}, NACKs ${out.nackCount}, RTX sent ${out.retransmittedPacketsSent}, received ${inb.retransmittedPacketsReceived}, lost ${inb.packetsLost}`,
      );
      assert.ok(dropped > 5, `dropped ${dropped}`);
      assert.ok((out.nackCount as number) > 0 && (out.retransmittedPacketsSent as number) >= dropped * 0.5);
      assert.ok((inb.retransmittedPacketsReceived as number) > 0);
      assert.equal(inb.packetsLost, 0, 'nothing lost after repair');
      assert.equal(keyframeRequests, 0);

      // No repair possible: RTX dropped, 20% of media lost, until a keyframe request shows up.
      noRepair = true;
      for (let i = 0; i < 60 && keyframeRequests === 0; i++) {
        track.writeFrame({ data: clip.frames[1 + i]!.data, timestamp: 4000 + i * 33 });
        await clock.advanceAsync(33);
      }
      noRepair = false;
      await clock.runUntil(() => keyframeRequests > 0, 5000);
      assert.ok(keyframeRequests > 0, 'a keyframe request (PLI)');
      const inb2 = [...(await b.getStats()).values()].find((s) => s.type === 'inbound-rtp')!;
      assert.ok((inb2.pliCount as number) >= 1);
    } finally {
      timersLeft = await close();
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(timersLeft, 0, 'timers left after close');
  },
);
