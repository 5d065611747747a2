/**
 * SFU forwarding core: one publisher (synthetic 3-layer VP8 simulcast + Opus, as
 * test/sfu/synthetic.ts makes it) to N subscribers, N = 10, 50, 200, all given bandwidth for the top
 * layer (about 1.1 Mbps of video each). No network: the path measured is parse -> cache -> keyframe
 * check -> per-subscriber rewrite (SSRC/seq/timestamp) -> the rewritten bytes, plus, in the second
 * row, SRTP protect of every outgoing packet (AES_CM_128_HMAC_SHA1_80), which a real leg also pays,
 * and in the third also the per-subscriber TWCC bookkeeping (a transport-wide sequence number and
 * a send record per packet; no feedback arrives here, so no estimate updates). The fourth row
 * ("sender") takes the path `SfuServer` takes: each forwarded packet goes to the subscriber's
 * RTCRtpSender (`forwardRtp`: our SSRC, sequence, timestamp, header extensions, one RtpPacket,
 * send history, stats), its connection's MediaSession
 * (pacer, abs-send-time stamp, serialization, SRTP protect, 20 ms RTCP tick: one timer shared by
 * every session on the clock, as in SfuServer), up to the datagram
 * handed to the transport (no socket, no DTLS/ICE around it). Transport-cc is not negotiated on
 * these legs, so the pacer does not hold packets back and no transport-wide sequence number is
 * stamped per packet. SfuServer negotiates it by default (`twcc`) and browsers accept it, so a
 * real leg pays that too: the "+tcc" row is the sender row with it, as SfuServer runs it (the
 * room in `twcc` mode with the transports' own numbering, `transportSequence: 'transport'`; each
 * leg's connection stamps every packet as it leaves the pacer and records it in its congestion
 * controller, which starts at the room's initial bandwidth; the room's estimator reads that
 * controller (Room.useTransportController; the room's probe limit applied to it).
 * Each subscriber sends TWCC feedback every 50 ms (every packet arrived, at its send time: a link
 * without queueing) as an SRTCP datagram into its leg's MediaSession, which unprotects and parses
 * it and feeds it to the connection's controller (which sets the pacer's rate), after which the
 * room's estimator reads the controller's figures to pick layers (until 2026-11-26 the room ran a
 * second controller on the same packets and feedback, as SfuServer then did); making the
 * feedback is the subscribers' work and its CPU is subtracted
 * (their arrival records are kept in a preallocated array until then, so that their garbage does
 * not land in this process's collector time during the forwarding).
 * Its "fwd pkts" count media datagrams only (the probes' RTX padding costs CPU but is not
 * forwarding, as bench/sfu-live.ts counts).
 *
 * The sender row forwards through SfuServer's own sink (`forwardingSink`: the subscriber's sender
 * found by publisher and track id, the publisher's dependency descriptor looked up for video, the
 * track's state checked, the sender's forwardRtp), with the subscribers' senders kept as
 * SfuServer keeps them.
 *
 * The socket rows add the datagram's send, one UDP socket per subscriber (as each SFU connection
 * has its own), each with what it includes and what it leaves out:
 * - "+udp": the sender row, each datagram sent on a socket connected to a loopback receiver
 *   (`send(d)`: Node's dgram path and the kernel's UDP/IP output, plus the kernel's loopback
 *   delivery to the receiving socket, which the sender's CPU pays on loopback and a real server
 *   does not: its subscribers are other machines). The receiver is read only between rounds.
 * - "+sendto": the same with the socket call SfuServer's connections make: core's NodeUdpSocket
 *   (the ICE agent's host base) `send(d, address)` on an unconnected socket, a sendto with a route
 *   lookup per datagram (a connection cannot connect its socket: ICE checks and consent use it).
 * - "driver": "+sendto" to an address routed to an `ifb` device in a network namespace the bench
 *   creates and removes (`rtcs-sfub-<pid>`), timed in a child process started in it with
 *   `ip netns exec`: UDP/IP output, the device's queueing discipline and the driver's transmit,
 *   which frees the packet (ifb drops what tc did not redirect to it; this kernel has no `dummy`
 *   device, which would do the same without a queue). Nothing receives it: what a server pays up
 *   to its NIC's driver, without the NIC's own work (DMA, completion interrupts). Needs root; the
 *   row says it is skipped otherwise.
 * - "floor": the least an SFU leg can do on Node with node:crypto, as a reference for the target: the
 *   "bytes" row (the room's selection and rewrite of the received bytes, SRTP protect) and the
 *   "+sendto" socket call, with nothing of a real leg's sender in between (no sender, send history,
 *   pacer, stats, RTCP or transport-cc; the protected bytes given back once sent, as MediaSession
 *   does). A path that serves real subscribers costs at least this much per packet.
 * - "wire": the floor with our SRTP replaced by node:crypto's own calls for it (one ECB call per
 *   16 packets, two one-shot SHA-1 hashes per packet; no XOR, no tag, none of our SRTP code): what
 *   any SRTP over node:crypto plus Node's dgram sendto would cost at the least, whoever wrote it.
 * None of the rows includes the ICE agent's per-send bookkeeping and DTLS/ICE around the
 * datagram or the publisher's receive path (SRTP unprotect, reads); TWCC feedback processing is
 * only in the +tcc row.
 * Each row prints the CPU per forwarded packet split in user and system (kernel) time.
 *
 * Prints forwarded packets per CPU second, the fan-out time of one incoming packet (the latency the
 * SFU adds for the last subscriber), and consumers per core at 1 Mbps each, next to mediasoup's
 * published figure of about 500 consumers per core (mediasoup's docs, "scalability": a worker on
 * one core handles ~500 consumers; it includes SRTP and the network, so compare with the socket rows).
 *
 *   npm run bench -- sfu [-- --seconds 10 --rounds 3]
 *   SFU_BENCH_MODES=sender,udp npm run bench -- sfu
 *     (only some rows: core, srtp, twcc, sender, tcc, udp, sendto, driver, floor, wire)
 *   SFU_BENCH_N=200 npm run bench -- sfu          (only some N)
 *   SFU_BENCH_GAP_MS=3 [SFU_BENCH_BATCH=4] npm run bench -- sfu
 *     (diagnostic: in the timed rounds the thread sleeps GAP_MS per incoming packet, BATCH packets
 *     back to back per sleep of GAP_MS x BATCH, as a live SFU sleeps between datagrams (the live
 *     bench's publisher sends a packet every ~3 ms); the sleep is not counted as CPU. On this 2-vCPU
 *     VM the same path then costs 2-3x more CPU per packet than back to back (docs/status.md,
 *     session 9): most of the gap between this bench and `sfu-live` at N=50.)
 */
import { spawnSync } from 'node:child_process';
import * as nodeCrypto from 'node:crypto';
import { type Cipher, createCipheriv, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../src/core/clock.js';
import { silentLogger } from '../src/core/log.js';
import { sendSettled, type UdpSocket } from '../src/core/net.js';
import { nodeNetwork } from '../src/core/net-node.js';
import { SeededRandom } from '../src/core/random.js';
import { splitSrtpKeyingMaterial } from '../src/dtls/srtp-profiles.js';
import { TwccRecorder } from '../src/interceptor/twcc-recorder.js';
import {
  DEFAULT_AUDIO_CODECS,
  DEFAULT_VIDEO_CODECS,
  defaultHeaderExtensions,
} from '../src/peer/media-codecs.js';
import { MediaSession } from '../src/peer/media-session.js';
import { MediaStreamTrack } from '../src/peer/media-track.js';
import { RTCRtpReceiver } from '../src/peer/rtp-receiver.js';
import { RTCRtpSender } from '../src/peer/rtp-sender.js';
import { RTCRtpTransceiver } from '../src/peer/rtp-transceiver.js';
import { serializeRtcp } from '../src/rtcp/compound.js';
import { type ForwardingSender, forwardingSink, TrackMap } from '../src/server/sfu/forward-sink.js';
import { rewriteRtpBytes } from '../src/server/sfu/forwarded.js';
import type { PacketCache } from '../src/server/sfu/packet-cache.js';
import { Room } from '../src/server/sfu/room.js';
import { exporterLength, SRTP_PROFILES, SrtpSession } from '../src/srtp/index.js';
import {
  AUDIO_LEVEL_EXT,
  AUDIO_SPEC,
  MID_EXT,
  RID_EXT,
  SimulcastPublisher,
  VIDEO_SPEC,
} from '../test/sfu/synthetic.js';

const MEDIASOUP_CONSUMERS_PER_CORE = 500;
/** What the room assumes of a subscriber's downlink before an estimate (all on the top layer). */
const INITIAL_BANDWIDTH = 5_000_000;

function options(): { seconds: number; rounds: number } {
  const o = { seconds: 10, rounds: 3 };
  const a = process.argv.slice(2).filter((x) => x !== '--');
  for (let i = 0; i < a.length; i++) {
    const k = a[i]!.replace(/^--/, '') as keyof typeof o;
    const v = Number(a[++i]);
    if (!(k in o) || !Number.isFinite(v)) throw new Error(`bad option ${a[i - 1]}`);
    o[k] = v;
  }
  return o;
}

interface Timed {
  at: number;
  bytes: Uint8Array;
}

/** `seconds` of media from `pub`, starting at `start` ms. */
function media(pub: SimulcastPublisher, start: number, seconds: number): Timed[] {
  const out: Timed[] = [];
  for (let t = 0; t < seconds * 1000; t += 1) {
    if (t % 33 === 0) for (const p of pub.videoFrame()) out.push({ at: start + t, bytes: p.bytes });
    if (t % 20 === 0) out.push({ at: start + t, bytes: pub.audioPacket().bytes });
  }
  return out;
}

interface Result {
  forwarded: number;
  bytes: number;
  cpuSec: number;
  userSec: number;
  fanoutUs: number[];
}

/** One subscriber's sending side as `SfuServer` has it: a video and an audio sender on a MediaSession. */
interface SenderLeg {
  /** Its senders' tracks by (publisher, published track id), as `SfuServer` keeps them. */
  readonly senders: TrackMap<ForwardingSender>;
  readonly session: MediaSession;
  /**
   * With transport-cc: the subscriber's TWCC feedback on what the leg sent since the last call, as
   * the SRTCP datagram the subscriber sends (its work: the caller leaves it out of the SFU's time
   * and hands the datagram to `session.handle`).
   */
  readonly feedback?: () => Uint8Array | undefined;
}

/** A leg that negotiated transport-cc, as SfuServer's subscribing connections do by default. */
interface TccLeg {
  readonly room: Room;
  readonly id: string;
  /** The connection's controller starts here (SfuServer: the room's initial bandwidth). */
  readonly initialBitrate: number;
}

function senderLeg(
  clock: ManualClock,
  onWire: (d: Uint8Array) => void,
  trackIds: Ids,
  cache: PacketCache,
  tcc?: TccLeg,
): SenderLeg {
  const transceiver = (kind: 'audio' | 'video', mid: string) => {
    const sender = new RTCRtpSender(kind, clock, 'bench');
    // As SfuServer does: NACKs for forwarded packets from the room's cache, no payload per slot.
    sender.forwardedSource = (ssrc, seq) => cache.packet(ssrc, seq, clock.now());
    const t = new RTCRtpTransceiver(kind, sender, new RTCRtpReceiver(kind, clock), 'sendonly', [], () => {});
    t.setMid(mid);
    t.setCurrentDirection('sendonly');
    sender.configure({
      mid,
      codecs: kind === 'video' ? DEFAULT_VIDEO_CODECS : DEFAULT_AUDIO_CODECS,
      extmaps: defaultHeaderExtensions(kind, tcc !== undefined),
    });
    const track = new MediaStreamTrack({ kind });
    sender.setTrack(track);
    return { t, track, sender };
  };
  const v = transceiver('video', '0');
  const a = transceiver('audio', '1');
  const session = new MediaSession({
    clock,
    send: onWire,
    log: silentLogger,
    transceivers: () => [v.t, a.t],
    ...(tcc && { initialBitrate: tcc.initialBitrate }),
  });
  const profile = SRTP_PROFILES.SRTP_AES128_CM_HMAC_SHA1_80;
  const material = randomBytes(exporterLength(profile));
  session.start(splitSrtpKeyingMaterial(profile.id, material, false));
  const senders = new TrackMap<ForwardingSender>();
  senders.set('pub', trackIds.video, { track: v.track, sender: v.sender });
  senders.set('pub', trackIds.audio, { track: a.track, sender: a.sender });
  if (!tcc) return { senders, session };
  // As SfuServer: the room's estimator reads the connection's controller after each feedback
  // (observeTransportCc's feedback); the stamped packets are the connection's to record.
  tcc.room.useTransportController(tcc.id, session.congestion.controller);
  const arrivals = new TwccRecorder();
  // The subscriber's side: every packet arrives, at its send time (a link without queueing);
  // noted in a preallocated array and recorded when the feedback is made (the recorder's Map is
  // the subscriber's garbage, which would otherwise land in the SFU's collector time here).
  let arrived = new Float64Array(2 * 4096);
  let count = 0;
  session.congestion.observer = {
    // The subscriber's side (its arrivals), not the SFU's.
    sent: (seq, _size, now) => {
      if (2 * count + 2 > arrived.length) {
        const more = new Float64Array(2 * arrived.length);
        more.set(arrived);
        arrived = more;
      }
      arrived[2 * count] = seq;
      arrived[2 * count + 1] = now;
      count++;
    },
    feedback: (fb) => tcc.room.transportFeedback(tcc.id, fb),
  };
  const subscriber = SrtpSession.fromKeyingMaterial(profile, material, 'client');
  const feedback = (): Uint8Array | undefined => {
    for (let i = 0; i < count; i++) arrivals.record(arrived[2 * i]!, arrived[2 * i + 1]!);
    count = 0;
    const fb = arrivals.buildFeedback(0x5eed, v.sender.ssrc);
    return fb && subscriber.protectRtcp(serializeRtcp([fb]));
  };
  return { senders, session, feedback };
}

interface Ids {
  readonly video: string;
  readonly audio: string;
}

type Mode = 'core' | 'srtp' | 'twcc' | 'sender' | 'tcc' | 'udp' | 'sendto' | 'driver' | 'floor' | 'wire';

/** How each subscriber's datagrams leave in the socket rows: one function per subscriber. */
interface Wire {
  readonly senders: readonly ((d: Uint8Array) => void)[];
  close(): void;
}

type OneShotHash = (algorithm: string, data: Uint8Array, encoding: 'latin1') => string;
const oneShotHash = (nodeCrypto as unknown as { hash?: OneShotHash }).hash;

/**
 * The "wire" row's stand-in for SRTP: node:crypto's own calls of an AES_CM_128_HMAC_SHA1_80
 * protect and nothing around them (as bench/media.ts's node:crypto floor): one ECB call for 16
 * packets' keystream per subscriber and two one-shot SHA-1 hashes per packet, over (64 bytes of
 * pad || the packet || ROC) and over opad || inner digest. The bytes are left as they are (no
 * XOR, no tag written): what is sent has the protected packet's length. `packet` must be a view
 * with 64 bytes before it in its buffer.
 */
class CryptoCallsOnly {
  readonly #ecb: Cipher;
  readonly #blocks = new Uint8Array(16 * 1216);
  readonly #outer = new Uint8Array(84);
  #count = 0;

  constructor() {
    this.#ecb = createCipheriv('aes-128-ecb', randomBytes(16), null);
    this.#ecb.setAutoPadding(false);
  }

  /** The datagram a protect of `packet` would give (its length), after the crypto calls. */
  protect(packet: Uint8Array): Uint8Array {
    if (!oneShotHash) throw new Error('the wire row needs crypto.hash (Node >= 20.12)');
    if (this.#count++ % 16 === 0) this.#ecb.update(this.#blocks);
    const b = packet.buffer;
    oneShotHash('sha1', new Uint8Array(b, packet.byteOffset - 64, 64 + packet.length + 4), 'latin1');
    oneShotHash('sha1', this.#outer, 'latin1');
    return new Uint8Array(b, packet.byteOffset, packet.length + 10);
  }
}

/**
 * For the "+udp" row: one UDP socket per subscriber (as each SFU connection has its own), connected
 * to a loopback receiver, so every datagram also pays Node's send path and the kernel's (the
 * receiver is read only after the timed part; what overflows its buffer the kernel drops).
 */
async function connectedWire(n: number): Promise<Wire> {
  const sink = createSocket('udp4');
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
  sink.on('message', () => {});
  const port = sink.address().port;
  const sockets: Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = createSocket('udp4');
    s.on('error', () => {});
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    await new Promise<void>((r) => s.connect(port, '127.0.0.1', r));
    sockets.push(s);
  }
  return {
    senders: sockets.map((s) => (d: Uint8Array) => s.send(d)),
    close: () => {
      for (const s of sockets) s.close();
      sink.close();
    },
  };
}

/**
 * For the "+sendto" and "driver" rows: the socket call `SfuServer`'s connections make (the ICE
 * agent's base is core's NodeUdpSocket: an unconnected dgram socket, `send(d, address)` per
 * datagram, a sendto), one socket per subscriber bound to `local`, sending to `to`.
 */
async function sendtoWire(n: number, local: string, to: { address: string; port: number }): Promise<Wire> {
  const sockets: UdpSocket[] = [];
  for (let i = 0; i < n; i++) sockets.push(await nodeNetwork.bindUdp({ address: local }));
  return {
    senders: sockets.map((s) => (d: Uint8Array) => s.send(d, to)),
    close: () => {
      for (const s of sockets) s.close();
    },
  };
}

/** The loopback receiver of the "+sendto" row (read only between rounds, as in "+udp"). */
async function loopbackSendtoWire(n: number): Promise<Wire> {
  const sink = createSocket('udp4');
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
  sink.on('message', () => {});
  const w = await sendtoWire(n, '127.0.0.1', { address: '127.0.0.1', port: sink.address().port });
  return {
    senders: w.senders,
    close: () => {
      w.close();
      sink.close();
    },
  };
}

/**
 * The "driver" row's network: a namespace with one `ifb` device (up, an address, its subnet
 * routed to it). An ifb device frees every packet transmitted to it that tc did not redirect
 * there, so a datagram sent to another address of that subnet runs the kernel's UDP/IP output,
 * the device's queueing discipline (pfifo_fast, as a NIC has one) and the driver's transmit, and
 * nothing receives it: what a server's send costs up to its NIC's driver. (The `dummy` device,
 * which does the same without a queue, is not in this kernel.) The timed process runs inside it.
 */
const NETNS = `rtcs-sfub-${process.pid}`;
const DRIVER_LOCAL = '10.201.0.1';
const DRIVER_TO = { address: '10.201.0.2', port: 9 };

function ip(...args: string[]): string | undefined {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  return r.status === 0 ? undefined : (r.stderr || r.error?.message || `exit ${r.status}`).trim();
}

/** Creates the namespace; returns why not, if it cannot. */
function driverNetwork(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (ip netns)';
  const err =
    ip('netns', 'add', NETNS) ??
    ip('-n', NETNS, 'link', 'add', 'i0', 'type', 'ifb') ??
    ip('-n', NETNS, 'addr', 'add', `${DRIVER_LOCAL}/24`, 'dev', 'i0') ??
    ip('-n', NETNS, 'link', 'set', 'i0', 'up') ??
    ip('-n', NETNS, 'link', 'set', 'lo', 'up');
  if (err) removeDriverNetwork();
  return err;
}

function removeDriverNetwork(): void {
  spawnSync('ip', ['netns', 'del', NETNS]);
}

/**
 * Media played before the timed part: at least 4 s (layers measured, every subscriber on the top
 * layer), and at small N long enough for about 60,000 forwarded packets, so the timed part finds
 * the process as a running SFU has it (code compiled, young generation grown to its working
 * size); with 4 s only, N = 10 measured half its steady rate (compilation and the collector's
 * start on their threads counted in the timed CPU).
 */
const warmUpSeconds = (n: number): number => Math.max(4, Math.ceil(400 / n));

function run(n: number, seconds: number, mode: Mode, wire?: Wire): Result {
  const clock = new ManualClock();
  const buf = new Uint8Array(1500);
  /** The "wire" row's packet, with room for the HMAC's inner pad before it. */
  const padded = new Uint8Array(64 + 1500).subarray(64);
  const cryptoOnly = new Map<string, CryptoCallsOnly>();
  const profile = SRTP_PROFILES.SRTP_AES128_CM_HMAC_SHA1_80;
  const sessions = new Map<string, SrtpSession>();
  const legs = new Map<string, SenderLeg>();
  /** The "floor" row: each subscriber's socket call, straight after the bytes path. */
  const direct = new Map<string, (d: Uint8Array) => void>();
  let forwarded = 0;
  let bytes = 0;
  const onWire = (d: Uint8Array): void => {
    forwarded++;
    bytes += d.length;
  };
  // Forwarded media only (the "+tcc" row): not the probes' padding on RTX nor RTCP, as
  // bench/sfu-live.ts counts at the subscribers; their CPU is counted.
  const onWireMedia = (d: Uint8Array): void => {
    const pt = d[1]! & 0x7f;
    if (pt !== 96 && pt !== 111) return;
    forwarded++;
    bytes += d.length;
  };
  // The sender rows forward as SfuServer's sink does (its lookups, the sender's forwardRtp).
  const toSenders = forwardingSink(
    (id) => legs.get(id)?.senders,
    () => undefined,
  );
  const room = new Room('bench', {
    clock,
    random: new SeededRandom(1),
    initialBandwidth: INITIAL_BANDWIDTH,
    twcc: mode === 'twcc' || mode === 'tcc',
    // As SfuServer: the legs' transports number their packets and report them to the room.
    ...(mode === 'tcc' && { transportSequence: 'transport' as const }),
    sink: {
      // As SfuServer: the room's probe limit for the subscriber's connection.
      probeLimit: (id, bps) => {
        const leg = legs.get(id);
        if (leg) leg.session.congestion.controller.probeCap = bps;
      },
      sendRtp: (id, f) => {
        if (legs.size > 0) {
          toSenders(id, f);
          return;
        }
        if (mode === 'wire') {
          const d = cryptoOnly.get(id)!.protect(rewriteRtpBytes(f, undefined, padded));
          onWire(d);
          direct.get(id)?.(d);
          return;
        }
        const out = rewriteRtpBytes(f, undefined, buf);
        const srtp = sessions.get(id)!;
        const d = mode === 'core' ? out : srtp.protectRtp(out);
        onWire(d);
        const send = direct.get(id);
        if (!send) return;
        send(d);
        // As MediaSession does: the slab's bytes back once the socket is done with them.
        if (sendSettled(d)) srtp.releaseProtected(d);
      },
      sendRtcp: () => {},
    },
  });
  const pub = new SimulcastPublisher(new SeededRandom(2));
  room.join('pub', { rid: RID_EXT, mid: MID_EXT, audioLevel: AUDIO_LEVEL_EXT });
  const ids = { video: room.publish('pub', VIDEO_SPEC).id, audio: room.publish('pub', AUDIO_SPEC).id };
  for (let i = 0; i < n; i++) {
    const id = `s${i}`;
    room.join(id);
    sessions.set(id, SrtpSession.fromKeyingMaterial(profile, randomBytes(exporterLength(profile)), 'server'));
    if (mode === 'sender') legs.set(id, senderLeg(clock, onWire, ids, room.cache));
    if (mode === 'tcc')
      legs.set(
        id,
        senderLeg(clock, onWireMedia, ids, room.cache, { room, id, initialBitrate: INITIAL_BANDWIDTH }),
      );
    if (mode === 'wire') cryptoOnly.set(id, new CryptoCallsOnly());
    if (wire && (mode === 'floor' || mode === 'wire')) direct.set(id, wire.senders[i]!);
    else if (wire) {
      const send = wire.senders[i]!;
      legs.set(
        id,
        senderLeg(
          clock,
          (d) => {
            onWire(d);
            send(d);
          },
          ids,
          room.cache,
        ),
      );
    }
  }
  // Warm-up: layers measured, every subscriber on the top layer, JIT warm.
  // TWCC feedback from each subscriber every 50 ms (libwebrtc's default interval is 50-250 ms by
  // rate); the CPU spent making it is the subscribers' and is subtracted.
  let nextFeedback = 0;
  let feedbackUs = 0;
  let received = 0;
  const play = (list: Timed[], fanout?: number[]): void => {
    for (const p of list) {
      // SFU_BENCH_GAP_MS: the timed rounds sleep between incoming packets as a live SFU does.
      if (fanout && GAP_MS > 0 && ++received % BATCH === 0) Atomics.wait(idleGate, 0, 0, GAP_MS * BATCH);
      const dt = p.at - clock.now();
      if (dt > 0) clock.advance(dt);
      if (mode === 'tcc' && clock.now() >= nextFeedback) {
        nextFeedback = clock.now() + 50;
        const t0 = process.cpuUsage();
        const fbs = [...legs.values()].map((leg) => leg.feedback?.());
        const t = process.cpuUsage(t0);
        feedbackUs += t.user + t.system;
        for (const [i, leg] of [...legs.values()].entries()) {
          const d = fbs[i];
          if (d) leg.session.handle(d);
        }
      }
      if (fanout) {
        const t0 = performance.now();
        room.handleRtp('pub', p.bytes);
        fanout.push((performance.now() - t0) * 1000);
      } else room.handleRtp('pub', p.bytes);
    }
  };
  play(media(pub, 0, warmUpSeconds(n)));
  const onTop = room.participantIds
    .filter((id) => id !== 'pub')
    .every((id) => room.downTracksOf(id).find((d) => d.track.kind === 'video')?.current === 2);
  if (!onTop) throw new Error('warm-up did not bring every subscriber to the top layer');
  const list = media(pub, clock.now() + 1, seconds);
  forwarded = 0;
  bytes = 0;
  feedbackUs = 0;
  const fanout: number[] = [];
  const cpu0 = process.cpuUsage();
  play(list, fanout);
  const cpu = process.cpuUsage(cpu0);
  room.close();
  for (const leg of legs.values()) leg.session.close();
  return {
    forwarded,
    bytes,
    cpuSec: (cpu.user + cpu.system - feedbackUs) / 1e6,
    userSec: (cpu.user - feedbackUs) / 1e6,
    fanoutUs: fanout,
  };
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const median = (xs: number[]): number => pct(xs, 50);

const PATH: Record<Mode, string> = {
  core: 'bytes',
  srtp: 'bytes',
  twcc: '+twcc',
  sender: 'sender',
  tcc: '+tcc',
  udp: '+udp',
  sendto: '+sendto',
  driver: 'driver',
  floor: 'floor',
  wire: 'wire',
};

async function row(n: number, mode: Mode, o: { seconds: number; rounds: number }): Promise<string> {
  const rs: Result[] = [];
  // Small N: more seconds, so the timed part is not a fraction of a CPU second.
  const seconds = Math.max(o.seconds, Math.ceil((o.seconds * 50) / n));
  const wire =
    mode === 'udp'
      ? await connectedWire(n)
      : mode === 'sendto' || mode === 'floor' || mode === 'wire'
        ? await loopbackSendtoWire(n)
        : mode === 'driver'
          ? await sendtoWire(n, DRIVER_LOCAL, DRIVER_TO)
          : undefined;
  for (let r = 0; r < o.rounds; r++) {
    rs.push(run(n, seconds, mode, wire));
    // The receiver drains, the sockets' queues empty, before the next round.
    if (wire) await new Promise((r) => setTimeout(r, 200));
  }
  wire?.close();
  const pps = median(rs.map((r) => r.forwarded / r.cpuSec));
  const mbpsCore = median(rs.map((r) => (r.bytes * 8) / r.cpuSec / 1e6));
  const perConsumer = (rs[0]!.bytes * 8) / seconds / n / 1e6;
  const consumers = mbpsCore / 1;
  const fan = rs.flatMap((r) => r.fanoutUs);
  const us = (f: (r: Result) => number) => median(rs.map((r) => (f(r) * 1e6) / r.forwarded)).toFixed(1);
  return [
    String(n).padEnd(4),
    (mode === 'core' ? 'no' : 'yes').padEnd(4),
    PATH[mode].padEnd(7),
    Math.round(pps).toLocaleString('en').padStart(15),
    `${us((r) => r.cpuSec)} (${us((r) => r.userSec)} + ${us((r) => r.cpuSec - r.userSec)})`.padStart(19),
    mbpsCore.toFixed(0).padStart(9),
    perConsumer.toFixed(2).padStart(17),
    Math.round(consumers).toLocaleString('en').padStart(22),
    `${(consumers / MEDIASOUP_CONSUMERS_PER_CORE).toFixed(2)}x`.padStart(16),
    `${pct(fan, 50).toFixed(1)} / ${pct(fan, 99).toFixed(1)}`,
  ].join(' | ');
}

/** The driver row of one N, timed in a child process inside the namespace. */
function driverRow(n: number): string {
  const r = spawnSync(
    'ip',
    [
      'netns',
      'exec',
      NETNS,
      process.execPath,
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      ...process.argv.slice(2),
    ],
    {
      encoding: 'utf8',
      env: { ...process.env, SFU_BENCH_MODES: 'driver', SFU_BENCH_N: String(n), SFU_BENCH_IN_NETNS: '1' },
    },
  );
  const line = r.stdout?.split('\n').find((l) => l.startsWith(String(n).padEnd(4)));
  return (
    line ??
    `${String(n).padEnd(4)} | driver row failed: ${(r.stderr || r.error?.message || '').trim().split('\n').at(-1)}`
  );
}

const o = options();
/** SFU_BENCH_GAP_MS / SFU_BENCH_BATCH (see the doc comment): sleeps in the timed rounds. */
const GAP_MS = Number(process.env.SFU_BENCH_GAP_MS ?? 0);
const BATCH = Math.max(1, Math.floor(Number(process.env.SFU_BENCH_BATCH ?? 1)));
/** What the sleeps wait on (Atomics.wait blocks the thread as epoll does, nothing wakes it early). */
const idleGate = new Int32Array(new SharedArrayBuffer(4));
const ns = (process.env.SFU_BENCH_N?.split(',') ?? ['10', '50', '200']).map(Number);
const modes = (process.env.SFU_BENCH_MODES?.split(',') ?? [
  'core',
  'srtp',
  'twcc',
  'sender',
  'tcc',
  'udp',
  'sendto',
  'driver',
  'floor',
  'wire',
]) as Mode[];
if (process.env.SFU_BENCH_IN_NETNS) {
  // The child timing the driver row inside the namespace: its rows only.
  for (const n of ns) console.log(await row(n, 'driver', o));
} else {
  const noDriver = modes.includes('driver') ? driverNetwork() : undefined;
  if (modes.includes('driver')) {
    process.on('exit', removeDriverNetwork);
    for (const sig of ['SIGINT', 'SIGTERM'] as const)
      process.on(sig, () => {
        removeDriverNetwork();
        process.exit(130);
      });
  }
  console.log(
    `sfu forwarding core: 1 publisher (3-layer VP8 simulcast + Opus), N subscribers on the top layer, ${o.seconds} s of media (at N < 50: ${o.seconds} x 50/N s), median of ${o.rounds}${GAP_MS > 0 ? `; timed rounds sleep ${GAP_MS * BATCH} ms every ${BATCH} incoming packet(s) (SFU_BENCH_GAP_MS)` : ''}\n`,
  );
  console.log(
    'N    | SRTP | path    | fwd pkts/s/core | CPU us/pkt (u + s) | Mbps/core | per-consumer Mbps | consumers/core @1 Mbps | vs mediasoup 500 | fan-out p50 / p99 (us)',
  );
  for (const n of ns) {
    for (const mode of modes) {
      if (mode !== 'driver') console.log(await row(n, mode, o));
      else if (noDriver) console.log(`${String(n).padEnd(4)} | driver row skipped: ${noDriver}`);
      else console.log(driverRow(n));
    }
  }
  console.log(
    '\nfwd pkts/s/core: packets written per CPU second (user+system) of this process, all its threads (the garbage collector included); CPU us/pkt: that CPU per forwarded packet, user + system (kernel); consumers/core @1 Mbps: forwarded Mbps per CPU second.',
  );
  console.log(
    'path: bytes = received bytes patched (SSRC/seq/ts) then protected; +twcc = also per-subscriber TWCC bookkeeping; sender = the SfuServer path (its sink: RtpPacket -> RTCRtpSender -> MediaSession pacer, serialize, SRTP), no socket; +tcc = sender with transport-cc as SfuServer negotiates it (stamping, the connection controller read by the room estimator, 50 ms feedback from every subscriber, paced release);',
  );
  console.log(
    '  +udp = sender, each datagram sent on a UDP socket per subscriber connected to a loopback receiver (the kernel delivers to it on our CPU); +sendto = the same with the socket call SfuServer makes (unconnected NodeUdpSocket.send(d, address): a sendto, a route lookup per datagram);',
  );
  console.log(
    '  driver = +sendto to an ifb device in a network namespace, timed in a child inside it: UDP/IP output, queueing discipline, driver transmit, nothing received (what a server pays up to its NIC driver; not the NIC, its interrupts or DMA).',
  );
  console.log(
    '  floor = bytes + the +sendto socket call, nothing of a real leg between them: the least a leg costs here on Node and node:crypto (compare +sendto with it); wire = floor with SRTP replaced by the node:crypto calls alone (ECB per 16 packets, two SHA-1 per packet): the least for any SRTP over node:crypto and dgram.',
  );
  console.log(
    "Not included anywhere: DTLS/ICE around the datagram (the agent's per-send bookkeeping), the publisher's receive path (SRTP unprotect, socket reads); TWCC feedback processing only in +tcc.",
  );
}
