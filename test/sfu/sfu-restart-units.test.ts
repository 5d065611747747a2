/**
 * The SFU keeps serving and recovering, on rtcstack's own peer connections over loopback UDP (no
 * browser): A publishes audio, B subscribes.
 * - Junk of every kind sent from A's own address to the SFU's end of A's publishing connection
 *   (RFC 7983 unknown first byte, STUN that does not authenticate, DTLS records that lie or do not
 *   authenticate, RTP/RTCP with bad SRTP tags, a replayed SRTP packet, truncated SRTP) is dropped
 *   and counted by reason on /metrics (rtcstack_sfu_dropped_datagrams_total), kept when A leaves;
 *   B keeps receiving A meanwhile.
 * - ICE restarts: A's restart offer on `pub` (new credentials) is answered with new ones; B's
 *   `sfu-restart` makes the SFU offer `sub` again under new credentials; both connect again and
 *   B receives A's audio again, even after an outage on B's leg that made both ends lose it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { createLogger } from '../../src/core/log.js';
import type { TransportAddress } from '../../src/core/net.js';
import { NodeNetwork } from '../../src/core/net-node.js';
import { MediaStreamTrack, RTCPeerConnection } from '../../src/peer/index.js';
import type { ServerMessage } from '../../src/protocol/signaling.js';
import { registerSfuMetrics } from '../../src/server/sfu/figures.js';
import { SfuServer } from '../../src/server/sfu/sfu-server.js';
import type { SfuClientMessage } from '../../src/server/signaling/protocol.js';
import { until } from '../serve/helpers.js';
import { OutageNetwork } from './outage-network.js';

const ROOM = 'r';

/** A Node participant on a leg of its own (OutageNetwork), driven by the SFU's messages. */
class Client {
  pub: RTCPeerConnection | undefined;
  sub: RTCPeerConnection | undefined;
  readonly leg = new OutageNetwork(new NodeNetwork());
  audioFrames = 0;
  /** Answers the SFU sent on `pub`. */
  readonly pubAnswers: string[] = [];
  /** Candidates gathered but not sent yet (offerPubWithCandidates). */
  held: SfuClientMessage[] | undefined;
  /** The last SRTP (not SRTCP) datagram this client sent (for a replay). */
  lastSrtp: Uint8Array | undefined;

  constructor(
    readonly id: string,
    readonly sfu: SfuServer,
  ) {
    this.leg.tap = (d) => {
      if (d[0]! >> 6 === 2 && (d[1]! < 192 || d[1]! > 223)) this.lastSrtp = d.slice();
    };
  }

  #newPc(which: 'pub' | 'sub'): RTCPeerConnection {
    const pc = new RTCPeerConnection({}, { includeLoopback: true, ipv6: false, network: this.leg });
    pc.onicecandidate = (e) => {
      if (!e.candidate) return;
      const m = { v: 1, type: 'sfu-candidate', pc: which, candidate: e.candidate.toJSON() as never } as const;
      if (this.held) this.held.push(m);
      else this.sfu.handle(ROOM, this.id, m);
    };
    return pc;
  }

  async publish(track: MediaStreamTrack): Promise<void> {
    const pc = this.#newPc('pub');
    this.pub = pc;
    pc.addTransceiver(track, { direction: 'sendonly' });
    pc.createDataChannel('chat', { negotiated: true, id: 0 });
    await this.offerPub();
  }

  /** (Re-)offer the publishing connection (after restartIce(): a restart offer). */
  async offerPub(): Promise<void> {
    const pc = this.pub!;
    await pc.setLocalDescription(await pc.createOffer());
    this.sfu.handle(ROOM, this.id, { v: 1, type: 'sfu-offer', pc: 'pub', sdp: pc.localDescription!.sdp });
  }

  /**
   * Offer the publishing connection with all its candidates right behind the offer, in one go (as
   * a busy server gets a browser's restart offer and its trickled candidates before it has taken
   * the offer).
   */
  async offerPubWithCandidates(): Promise<void> {
    const pc = this.pub!;
    this.held = [];
    await pc.setLocalDescription(await pc.createOffer());
    await until(() => pc.iceGatheringState === 'complete', 'candidates gathered', 10_000);
    const held = this.held;
    this.held = undefined;
    this.sfu.handle(ROOM, this.id, { v: 1, type: 'sfu-offer', pc: 'pub', sdp: pc.localDescription!.sdp });
    for (const m of held) this.sfu.handle(ROOM, this.id, m);
  }

  async onMessage(m: ServerMessage): Promise<void> {
    if (m.type === 'sfu-answer') {
      this.pubAnswers.push(m.sdp);
      if (this.pub?.signalingState === 'have-local-offer')
        await this.pub.setRemoteDescription({ type: 'answer', sdp: m.sdp });
    } else if (m.type === 'sfu-candidate')
      await (m.pc === 'pub' ? this.pub : this.sub)?.addIceCandidate(m.candidate).catch(() => {});
    else if (m.type === 'sfu-offer') {
      if (!this.sub) {
        const pc = this.#newPc('sub');
        this.sub = pc;
        pc.ontrack = (e) => {
          if (e.track.kind === 'audio') e.track.on('frame', () => this.audioFrames++);
        };
      }
      await this.sub.setRemoteDescription({ type: 'offer', sdp: m.sdp });
      await this.sub.setLocalDescription(await this.sub.createAnswer());
      this.sfu.handle(ROOM, this.id, {
        v: 1,
        type: 'sfu-answer',
        pc: 'sub',
        sdp: this.sub.localDescription!.sdp,
      });
    }
  }

  close(): void {
    this.pub?.close();
    this.sub?.close();
  }
}

/** The selected pair of `pc`: its local address and the remote one. */
async function selectedPair(
  pc: RTCPeerConnection,
): Promise<{ local: TransportAddress; remote: TransportAddress }> {
  const stats = new Map<string, Record<string, unknown>>();
  (await pc.getStats()).forEach((x) => {
    stats.set(String(x.id), x);
  });
  const pair = [...stats.values()].find((x) => x.type === 'candidate-pair' && x.selected);
  const l = stats.get(String(pair?.localCandidateId));
  const r = stats.get(String(pair?.remoteCandidateId));
  assert.ok(l && r, 'a selected pair');
  return {
    local: { address: String(l.address), port: Number(l.port) },
    remote: { address: String(r.address), port: Number(r.port) },
  };
}

const ufragOf = (pc: RTCPeerConnection | null | undefined, which: 'local' | 'remote'): string | undefined =>
  /^a=ice-ufrag:(\S+)/m.exec(
    (which === 'local' ? pc?.localDescription : pc?.remoteDescription)?.sdp ?? '',
  )?.[1];

describe('SFU keeps serving and recovering (rtcstack peers, loopback)', { timeout: 120_000 }, () => {
  // The SFU's warnings (a candidate it could not use, ...), for the restart test.
  const warnings: string[] = [];
  const log = createLogger('sfu', { level: 'warn', write: (line) => warnings.push(line) });
  const sfu = new SfuServer({ log, peerOptions: { includeLoopback: true, ipv6: false } });
  const registry = new Registry();
  registerSfuMetrics(registry, () => sfu.figures());
  const a = new Client('A', sfu);
  const b = new Client('B', sfu);
  const clients = new Map([
    ['A', a],
    ['B', b],
  ]);
  const audio = new MediaStreamTrack({ kind: 'audio' });
  let timer: ReturnType<typeof setInterval> | undefined;
  let chain = Promise.resolve();

  /** rtcstack_sfu_dropped_datagrams_total by reason, as /metrics shows it. */
  async function dropped(): Promise<Map<string, number>> {
    const text = await registry.metrics();
    const out = new Map<string, number>();
    for (const m of text.matchAll(/^rtcstack_sfu_dropped_datagrams_total\{reason="([a-z_]+)"\} (\d+)$/gm))
      out.set(m[1]!, Number(m[2]));
    return out;
  }

  before(async () => {
    sfu.attach({
      send: (_room, peerId, msg) => {
        for (const c of peerId === undefined ? clients.values() : [clients.get(peerId)])
          if (c) chain = chain.then(() => c.onMessage(msg)).catch(() => {});
      },
    });
    let n = 0;
    timer = setInterval(() => {
      audio.writeFrame({ data: Uint8Array.of(0xfc, n & 0xff, 1, 2, 3), timestamp: n * 20 });
      n++;
    }, 20);
    sfu.openRoom(ROOM, ['A', 'B']);
    await a.publish(audio);
    await until(() => b.audioFrames > 20, 'B receives A’s audio through the SFU', 30_000);
  });

  after(() => {
    clearInterval(timer);
    a.close();
    b.close();
    sfu.close();
  });

  test('junk from a participant’s own address is dropped and counted by reason; B keeps receiving', async () => {
    const server = sfu.connections(ROOM, 'A').pub!;
    const { local: sfuEnd } = await selectedPair(server);
    const { local: aEnd } = await selectedPair(a.pub!);
    const sock = a.leg.sockets.find((s) => s.local.port === aEnd.port)!;
    assert.ok(sock, 'A’s socket of the selected pair');
    // A packet A really sent (before the junk below goes through the same tap).
    const replay = a.lastSrtp;
    assert.ok(replay, 'an SRTP packet A sent, to replay');
    const start = await dropped();
    assert.equal(start.size, 11, `every reason is on /metrics: ${[...start.keys()].join(' ')}`);
    const send = (d: Uint8Array) => sock.send(d, sfuEnd);
    const rnd = (n: number) => new Uint8Array(randomBytes(n));
    const framesBefore = b.audioFrames;
    for (let i = 0; i < 5; i++) {
      // RFC 7983: a first byte no protocol owns.
      send(Uint8Array.of(0xff, ...rnd(40)));
      // STUN Binding request for someone else's ufrag, integrity that cannot verify.
      send(stunJunk());
      // DTLS application data whose length lies; and one that does not authenticate.
      send(Uint8Array.of(23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9 + i, 0x10, 0x00, ...rnd(20)));
      send(Uint8Array.of(23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 1, i, 0, 48, ...rnd(48)));
      // RTP and RTCP with random payloads: no valid SRTP/SRTCP tag.
      send(Uint8Array.of(0x80, 111, ...rnd(2), ...rnd(4), ...rnd(4), ...rnd(120)));
      send(Uint8Array.of(0x80, 200, 0, 12, ...rnd(4), ...rnd(52)));
      // SRTP too short to hold a header and a tag.
      send(Uint8Array.of(0x80, 111, 0, 1, 0));
      // A packet A really sent, again: a replay.
      send(replay);
    }
    const rose = (m: Map<string, number>, reason: string) => (m.get(reason) ?? 0) - (start.get(reason) ?? 0);
    let now = start;
    await until(
      async () => {
        now = await dropped();
        return ['demux', 'ice', 'srtp_auth', 'srtp_replay', 'srtp_malformed'].every((r) => rose(now, r) >= 5);
      },
      'the counters rise',
      10_000,
    ).catch((err) => {
      throw new Error(`${err}: ${JSON.stringify(Object.fromEntries(now))}`);
    });
    // Records that lie about their length; records of an epoch without keys (DTLS 1.3 protects
    // data under epoch 3) or with a bad tag.
    assert.ok(rose(now, 'dtls_malformed') >= 5, JSON.stringify(Object.fromEntries(now)));
    assert.ok(
      rose(now, 'dtls_bad_record') + rose(now, 'dtls_unknown_epoch') >= 5,
      JSON.stringify(Object.fromEntries(now)),
    );
    assert.equal(rose(now, 'rtp_parse'), 0, 'nothing decrypted to an unparsable packet');
    // Nothing broke: the connection is up and A's audio still reaches B.
    assert.equal(server.connectionState, 'connected');
    await until(() => b.audioFrames > framesBefore + 50, 'B keeps receiving A', 15_000);
  });

  test('ICE restarts on pub (client offer) and sub (sfu-restart), also after an outage on the leg', async () => {
    const server = sfu.connections(ROOM, 'A').pub!;
    const pubUfrag = ufragOf(server, 'local');
    // A restarts its publishing connection: the SFU answers under new credentials.
    a.pub!.restartIce();
    const answers = a.pubAnswers.length;
    await a.offerPubWithCandidates();
    // The same offer again at once (as a client re-sends it after a signaling outage): answered
    // in turn, the second time with the same answer, not spoiled by the first still in progress.
    sfu.handle(ROOM, 'A', { v: 1, type: 'sfu-offer', pc: 'pub', sdp: a.pub!.localDescription!.sdp });
    await until(() => a.pubAnswers.length === answers + 2, 'both offers answered');
    assert.equal(a.pubAnswers.at(-1), a.pubAnswers.at(-2), 'the repeated offer gets the same answer');
    await until(() => ufragOf(server, 'local') !== pubUfrag, 'the SFU answers the restart offer');
    assert.notEqual(ufragOf(server, 'remote'), undefined);
    await until(
      () => a.pub!.connectionState === 'connected' && server.connectionState === 'connected',
      'pub connected again',
    );
    // A's candidates of the new generation, sent while the SFU was still taking the restart offer,
    // were applied after it (not refused as another generation's).
    assert.deepEqual(
      warnings.filter((w) => w.includes('candidate failed')),
      [],
      'no candidate refused',
    );
    // An outage on B's leg, then B asks for a restart of its subscribing connection.
    const subServer = sfu.connections(ROOM, 'B').sub!;
    const subUfrag = ufragOf(subServer, 'local');
    b.leg.dark = true;
    // The outage holds until both ends have lost something the other sent: A's audio to B, and
    // B's own RTCP or consent checks to the SFU.
    await until(() => b.leg.droppedIn > 0 && b.leg.droppedOut > 0, 'datagrams lost both ways on B’s leg');
    const framesDark = b.audioFrames;
    sfu.handle(ROOM, 'B', { v: 1, type: 'sfu-restart', pc: 'sub' });
    await until(() => ufragOf(b.sub, 'remote') !== subUfrag, 'the SFU re-offers sub under new credentials');
    assert.ok(b.leg.dropped > 0, 'the outage dropped datagrams');
    b.leg.dark = false;
    await until(
      () => b.sub!.connectionState === 'connected' && subServer.connectionState === 'connected',
      'sub connected again',
      30_000,
    );
    await until(() => b.audioFrames > framesDark + 50, 'B receives A’s audio again', 30_000);
    const fig = sfu.figures();
    const restarts = (id: string) => fig.rooms[0]!.participants.find((p) => p.id === id)!.iceRestarts;
    assert.equal(restarts('A'), 1, 'one restart of A’s pub');
    assert.equal(restarts('B'), 1, 'one restart of B’s sub');
    assert.match(await registry.metrics(), /^rtcstack_sfu_ice_restarts_total 2$/m);
    // Counters of a participant who leaves stay on /metrics.
    const before = await dropped();
    sfu.removePeer(ROOM, 'A');
    assert.deepEqual(await dropped(), before, 'dropped counts kept after A left');
    assert.match(await registry.metrics(), /^rtcstack_sfu_ice_restarts_total 2$/m);
  });
});

/** A STUN Binding request with a USERNAME that is not ours and a MESSAGE-INTEGRITY that cannot verify. */
function stunJunk(): Uint8Array {
  const user = Buffer.from('junk:xxxxxxxx');
  const pad = Buffer.alloc((4 - (user.length % 4)) % 4);
  const attrs = Buffer.concat([
    Buffer.from([0x00, 0x06, 0x00, user.length]),
    user,
    pad,
    Buffer.from([0x00, 0x08, 0x00, 0x14]),
    randomBytes(20),
  ]);
  const head = Buffer.alloc(20);
  head.writeUInt16BE(0x0001, 0);
  head.writeUInt16BE(attrs.length, 2);
  head.writeUInt32BE(0x2112a442, 4);
  randomBytes(12).copy(head, 8);
  return new Uint8Array(Buffer.concat([head, attrs]));
}
