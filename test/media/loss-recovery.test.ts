/**
 * NACK + RTX under loss between two rtcstack peers on loopback: the sender's socket drops 5% of
 * its RTP datagrams (seeded); the receiver NACKs, the sender answers over RTX (RFC 4588), and every
 * frame arrives intact. With retransmission made impossible (RTX dropped, 20% loss), the
 * receiver's jitter buffer gives up, sends a PLI, and the sender's track sees 'keyframerequest'.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Network, UdpSocket } from '../../src/core/net.js';
import { nodeNetwork } from '../../src/core/net-node.js';
import { SeededRandom } from '../../src/core/random.js';
import { parseIvf } from '../../src/media/container/ivf.js';
import { MediaStreamTrack, type ReceivedFrame, RTCPeerConnection } from '../../src/peer/index.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import { waitFor } from '../helpers/wait.js';
import { makeVideoClip } from './ffmpeg.js';

/** A network whose sockets drop outgoing RTP (not RTCP, not STUN/DTLS) when `drop(pt)` says so. */
function lossyNetwork(drop: (payloadType: number) => boolean): Network {
  const base = nodeNetwork as Network;
  return new Proxy(base, {
    get(target, prop, receiver) {
      if (prop !== 'bindUdp') return Reflect.get(target, prop, receiver);
      return async (...args: Parameters<Network['bindUdp']>): Promise<UdpSocket> => {
        const s = await target.bindUdp(...args);
        const send = s.send.bind(s);
        s.send = (data, to) => {
          const b0 = data[0] ?? 0;
          const pt = data[1] ?? 0;
          const rtp = b0 >= 128 && b0 <= 191 && !(pt >= 192 && pt <= 223);
          // Padding (P bit: the congestion controller's probes) passes, and draws no lot.
          if (rtp && (b0 & 0x20) === 0 && drop(pt & 0x7f)) return true;
          return send(data, to);
        };
        return s;
      };
    },
  });
}

test(
  '5% RTP loss: NACK/RTX repairs every frame; unrepairable loss ends in a PLI and a keyframe request',
  needs(PREREQS.ffmpeg),
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtcs-loss-'));
    const rnd = new SeededRandom(4585);
    let noRepair = false;
    let dropped = 0;
    const a = new RTCPeerConnection(
      {},
      {
        includeLoopback: true,
        ipv6: false,
        // 5% of everything; while `noRepair`, every RTX packet (PT 97) and 20% of the rest.
        network: lossyNetwork((pt) => {
          const d = noRepair ? pt === 97 || rnd.float() < 0.2 : rnd.float() < 0.05;
          if (d) dropped++;
          return d;
        }),
      },
    );
    const b = new RTCPeerConnection({}, { includeLoopback: true, ipv6: false });
    try {
      makeVideoClip('vp8', join(dir, 'v.ivf'), { frames: 120, gop: 1000, size: '640x480' });
      const clip = parseIvf(readFileSync(join(dir, 'v.ivf')));
      a.onicecandidate = (e) => void b.addIceCandidate(e.candidate ?? undefined).catch(() => {});
      b.onicecandidate = (e) => void a.addIceCandidate(e.candidate ?? undefined).catch(() => {});
      const track = new MediaStreamTrack({ kind: 'video' });
      let keyframeRequests = 0;
      track.on('keyframerequest', () => keyframeRequests++);
      a.addTransceiver(track, { direction: 'sendonly' });
      const got: ReceivedFrame[] = [];
      b.ontrack = (e) => e.track.on('frame', (f) => got.push(f));
      await a.setLocalDescription(await a.createOffer());
      await b.setRemoteDescription(a.localDescription!);
      await b.setLocalDescription(await b.createAnswer());
      await a.setRemoteDescription(b.localDescription!);
      await waitFor(
        () => a.connectionState === 'connected' && b.connectionState === 'connected',
        'connected',
      );
      for (const [i, f] of clip.frames.entries()) {
        track.writeFrame({ data: f.data, timestamp: (i * 1000) / 30 });
        await new Promise((r) => setTimeout(r, 10));
      }
      await waitFor(
        () => got.length === clip.frames.length,
        `all frames (${got.length}/${clip.frames.length})`,
      );
      for (const [i, f] of got.entries())
        assert.deepEqual(Buffer.from(f.data), Buffer.from(clip.frames[i]!.data));
      const out = [...(await a.getStats()).values()].find((s) => s.type === 'outbound-rtp')!;
      const inb = [...(await b.getStats()).values()].find((s) => s.type === 'inbound-rtp')!;
      assert.ok(dropped > 5, `dropped ${dropped}`);
      assert.ok((out.nackCount as number) > 0 && (out.retransmittedPacketsSent as number) >= dropped * 0.5);
      assert.ok((inb.retransmittedPacketsReceived as number) > 0);
      assert.equal(inb.packetsLost, 0, 'nothing lost after repair');
      assert.equal(keyframeRequests, 0);

      // No repair possible: RTX dropped, 20% of media lost, until a keyframe request shows up.
      noRepair = true;
      for (let i = 0; i < 60 && keyframeRequests === 0; i++) {
        track.writeFrame({ data: clip.frames[1 + i]!.data, timestamp: 4000 + i * 33 });
        await new Promise((r) => setTimeout(r, 33));
      }
      noRepair = false;
      await waitFor(() => keyframeRequests > 0, 'a keyframe request (PLI)', 5000);
      const inb2 = [...(await b.getStats()).values()].find((s) => s.type === 'inbound-rtp')!;
      assert.ok((inb2.pliCount as number) >= 1);
    } finally {
      a.close();
      b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
