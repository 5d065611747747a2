/**
 * The SFU on rtcstack's own peer connections, over loopback UDP: a publisher's VP8 + Opus reach
 * every subscriber through the server (pub connection answered by the SFU, sub connections offered
 * by it), a late joiner gets an offer with what is published, keyframe requests travel upstream,
 * and a leaving publisher's tracks are renegotiated away.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/core/log.js';
import { MediaStreamTrack, type ReceivedFrame, RTCPeerConnection } from '../../src/peer/index.js';
import type { ServerMessage } from '../../src/protocol/signaling.js';
import { registerSfuMetrics } from '../../src/server/sfu/figures.js';
import { SfuServer } from '../../src/server/sfu/sfu-server.js';
import { waitFor } from '../helpers/wait.js';

const OPTS = { includeLoopback: true, ipv6: false };

/** A Node participant: a publishing and a subscribing connection, driven by the SFU's messages. */
class NodeClient {
  pub: RTCPeerConnection | undefined;
  sub: RTCPeerConnection | undefined;
  readonly frames = new Map<string, ReceivedFrame[]>();
  readonly offers: ServerMessage[] = [];
  constructor(
    readonly id: string,
    readonly sfu: SfuServer,
    /** Agree to transport-cc on the subscribing connection (the SFU offers it; Chromium agrees). */
    readonly transportCc = false,
  ) {}

  async publish(tracks: MediaStreamTrack[]): Promise<void> {
    const pc = new RTCPeerConnection({}, OPTS);
    this.pub = pc;
    pc.onicecandidate = (e) => {
      if (e.candidate)
        this.sfu.handle('r', this.id, {
          v: 1,
          type: 'sfu-candidate',
          pc: 'pub',
          candidate: e.candidate.toJSON() as never,
        });
    };
    for (const t of tracks) pc.addTransceiver(t, { direction: 'sendonly' });
    // The data channels ride the same (bundled) connection, as the browser client's do.
    pc.createDataChannel('chat', { negotiated: true, id: 0 });
    await pc.setLocalDescription(await pc.createOffer());
    this.sfu.handle('r', this.id, { v: 1, type: 'sfu-offer', pc: 'pub', sdp: pc.localDescription!.sdp });
  }

  async onMessage(m: ServerMessage): Promise<void> {
    if (m.type === 'sfu-answer') await this.pub!.setRemoteDescription({ type: 'answer', sdp: m.sdp });
    else if (m.type === 'sfu-candidate')
      await (m.pc === 'pub' ? this.pub : this.sub)?.addIceCandidate(m.candidate).catch(() => {});
    else if (m.type === 'sfu-offer') {
      this.offers.push(m);
      if (!this.sub) {
        const pc = new RTCPeerConnection({}, OPTS);
        this.sub = pc;
        pc.onicecandidate = (e) => {
          if (e.candidate)
            this.sfu.handle('r', this.id, {
              v: 1,
              type: 'sfu-candidate',
              pc: 'sub',
              candidate: e.candidate.toJSON() as never,
            });
        };
        pc.ontrack = (e) => {
          const from = `${e.streams[0]?.id ?? '?'}/${e.track.kind}`;
          e.track.on('frame', (f) => {
            const list = this.frames.get(from) ?? [];
            list.push(f);
            this.frames.set(from, list);
          });
        };
      }
      await this.sub.setRemoteDescription({ type: 'offer', sdp: m.sdp });
      // transport-cc is on by default: a client that does not agree stops it.
      for (const t of this.sub.getTransceivers())
        t.setHeaderExtensionsToNegotiate(
          t.getHeaderExtensionsToNegotiate().map(
            (e) =>
              ({
                ...e,
                direction: this.transportCc || !/transport-wide/.test(e.uri) ? 'sendrecv' : 'stopped',
              }) as const,
          ),
        );
      await this.sub.setLocalDescription(await this.sub.createAnswer());
      this.sfu.handle('r', this.id, {
        v: 1,
        type: 'sfu-answer',
        pc: 'sub',
        sdp: this.sub.localDescription!.sdp,
      });
    }
  }

  got(from: string, kind: string): ReceivedFrame[] {
    return this.frames.get(`${from}/${kind}`) ?? [];
  }

  close(): void {
    this.pub?.close();
    this.sub?.close();
  }
}

test('SFU on rtcstack peer connections: publish once, every subscriber receives, late join, leave', async () => {
  const sfu = new SfuServer({ log: silentLogger, peerOptions: OPTS, twcc: true });
  const clients = new Map<string, NodeClient>();
  const queue: Promise<void>[] = [];
  let chain = Promise.resolve();
  sfu.attach({
    send: (_room, peerId, msg) => {
      const targets =
        peerId === undefined ? [...clients.values()] : [clients.get(peerId)].filter((c) => c !== undefined);
      for (const c of targets) {
        // In order per server, as one WebSocket would deliver them.
        chain = chain.then(() => c.onMessage(msg)).catch(() => {});
        queue.push(chain);
      }
    },
  });
  const add = (id: string, transportCc = false): NodeClient => {
    const c = new NodeClient(id, sfu, transportCc);
    clients.set(id, c);
    return c;
  };
  const a = add('A');
  const b = add('B', true);
  const c = add('C');
  const video = new MediaStreamTrack({ kind: 'video' });
  const audio = new MediaStreamTrack({ kind: 'audio' });
  let keyNext = true;
  let keyRequests = 0;
  video.on('keyframerequest', () => {
    keyRequests++;
    keyNext = true;
  });
  const sent: Uint8Array[] = [];
  let frameNo = 0;
  const timer = setInterval(() => {
    const key = keyNext || frameNo % 60 === 0;
    keyNext = false;
    const data = new Uint8Array(2500 + (frameNo % 7) * 100).fill(frameNo & 0xff);
    data[0] = key ? 0x10 : 0x11;
    sent.push(data);
    video.writeFrame({ data, timestamp: frameNo * 33 });
    audio.writeFrame({ data: Uint8Array.of(0xfc, frameNo & 0xff, 1, 2, 3), timestamp: frameNo * 33 });
    frameNo++;
  }, 33);
  try {
    sfu.openRoom('r', ['A', 'B', 'C']);
    await a.publish([video, audio]);
    await waitFor(
      () => b.got('A', 'video').length > 20 && c.got('A', 'video').length > 20,
      'video at B and C',
    );
    await waitFor(
      () => b.got('A', 'audio').length > 20 && c.got('A', 'audio').length > 20,
      'audio at B and C',
    );
    assert.ok(keyRequests >= 1, 'the SFU asked the publisher for a keyframe to start the subscribers');
    for (const sub of [b, c]) {
      const frames = sub.got('A', 'video');
      assert.equal(frames[0]!.keyframe, true, 'a subscriber starts at a keyframe');
      // Frames arrive intact and in order: each equals one we sent, and later ones later.
      let at = -1;
      for (const f of frames) {
        const i = sent.findIndex((s, k) => k > at && Buffer.from(s).equals(Buffer.from(f.data)));
        assert.ok(i > at, 'a sent frame, in order');
        at = i;
      }
      assert.equal(
        sub.got('B', 'video').length + sub.got('C', 'video').length,
        0,
        'nothing from non-publishers',
      );
    }
    // Figures for the dashboard and /metrics: one room, one publisher, two subscribers fed layer 0.
    const fig = sfu.figures();
    assert.equal(fig.rooms.length, 1);
    assert.equal(fig.publishers, 1);
    assert.equal(fig.subscribers, 2);
    assert.ok(fig.totals.forwardedPackets > 80 && fig.totals.forwardedBytes > fig.totals.forwardedPackets);
    const bFig = fig.rooms[0]!.participants.find((p) => p.id === 'B')!;
    assert.equal(bFig.subscribedTracks, 2);
    assert.deepEqual(
      bFig.videoLayers.map((l) => [l.publisher, l.layer]),
      [['A', 0]],
    );
    assert.ok(bFig.forwardedBitrate > 0 && bFig.estimatedBandwidth > 0);
    // B agreed to transport-cc: its downlink estimate is built from its TWCC feedback; C did not.
    await waitFor(
      () => sfu.figures().rooms[0]!.participants.find((p) => p.id === 'B')!.twccFeedback > 5,
      "B's TWCC feedback at the SFU",
    );
    const bTwcc = sfu.figures().rooms[0]!.participants.find((p) => p.id === 'B')!;
    assert.equal(bTwcc.estimateSource, 'twcc');
    // One controller per leg: B's estimator reads the controller of B's subscribing connection,
    // which starts at the room's initial bandwidth (C's never got feedback: still there).
    const bBwe = sfu.room('r')!.estimatorOf('B')!;
    assert.ok(bBwe.shared);
    assert.equal(bBwe.cc, sfu.connections('r', 'B').sub!.congestionController);
    assert.equal(sfu.connections('r', 'C').sub!.congestionController.targetBitrate, 2_000_000);
    const cFig = fig.rooms[0]!.participants.find((p) => p.id === 'C')!;
    assert.equal(cFig.twccFeedback, 0);
    assert.equal(cFig.estimateSource, 'initial');
    const registry = new Registry();
    registerSfuMetrics(registry, () => sfu.figures());
    const text = await registry.metrics();
    assert.match(text, /^rtcstack_sfu_rooms 1$/m);
    assert.match(text, /^rtcstack_sfu_publishers 1$/m);
    assert.match(text, /^rtcstack_sfu_subscribers 2$/m);
    assert.match(text, /^rtcstack_sfu_subscriber_layers\{layer="0"\} 2$/m);
    const fwd = Number(/^rtcstack_sfu_forwarded_packets_total (\d+)$/m.exec(text)?.[1]);
    assert.ok(fwd >= fig.totals.forwardedPackets, `forwarded packets counter ${fwd}`);
    assert.match(text, /^rtcstack_sfu_estimated_bandwidth_bps\{room="r",peer="B"\} \d+/m);
    assert.match(text, /^rtcstack_sfu_twcc_feedback\{room="r",peer="B"\} [1-9]\d*$/m);
    const offer = b.offers[0]!;
    assert.ok(offer.type === 'sfu-offer' && offer.tracks.every((t) => t.peerId === 'A'));
    const room = sfu.room('r')!;
    assert.equal(room.tracksOf('A').length, 2);
    // A late joiner gets an offer for what is published and receives it.
    const d = add('D');
    sfu.addPeer('r', 'D');
    await waitFor(() => d.got('A', 'video').length > 10, 'video at the late joiner');
    assert.equal(d.got('A', 'video')[0]!.keyframe, true);
    // C leaves: nothing more is sent to it; B keeps receiving.
    sfu.removePeer('r', 'C');
    c.close();
    const nb = b.got('A', 'video').length;
    await waitFor(() => b.got('A', 'video').length > nb + 10, 'B keeps receiving');
    // The publisher leaves: subscribers are offered again without its tracks.
    const offersB = b.offers.length;
    sfu.removePeer('r', 'A');
    await waitFor(() => b.offers.length > offersB, 'renegotiation after the publisher left');
    assert.equal(room.tracksOf('A').length, 0);
    await Promise.all(queue);
    // Counters survive the room: closed, it is gone from the gauges but not from the totals.
    const before = sfu.figures().totals.forwardedPackets;
    sfu.closeRoom('r');
    const after = sfu.figures();
    assert.equal(after.rooms.length, 0);
    assert.equal(after.totals.forwardedPackets, before);
  } finally {
    clearInterval(timer);
    sfu.close();
    for (const cl of clients.values()) cl.close();
  }
});
