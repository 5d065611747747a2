/**
 * SFU forwarding core: one publisher (synthetic 3-layer VP8 simulcast + Opus, as
 * test/sfu/synthetic.ts makes it) to N subscribers, N = 10, 50, 200, all given bandwidth for the top
 * layer (about 1.1 Mbps of video each). No network: the path measured is parse -> cache -> keyframe
 * check -> per-subscriber rewrite (SSRC/seq/timestamp) -> the rewritten bytes, plus, in the second
 * row, SRTP protect of every outgoing packet (AES_CM_128_HMAC_SHA1_80), which a real leg also pays,
 * and in the third also the per-subscriber TWCC bookkeeping (a transport-wide sequence number and
 * a send record per packet; no feedback arrives here, so no estimate updates). The fourth row
 * ("sender") takes the path `SfuServer` takes: each forwarded packet becomes an `RtpPacket`
 * (`rewrittenPacket`) written to the subscriber's track, through its RTCRtpSender (our SSRC,
 * sequence, timestamp, header extensions, send history, stats), its connection's MediaSession
 * (pacer, abs-send-time stamp, serialization, SRTP protect, 20 ms RTCP tick: one timer shared by
 * every session on the clock, as in SfuServer), up to the datagram
 * handed to the transport (no socket, no DTLS/ICE around it; transport-cc not negotiated, so the
 * pacer does not hold packets back).
 *
 * The fifth row ("+udp") is the sender row plus the datagram sent: one UDP socket per subscriber,
 * connected to a loopback receiver (Node's dgram send and the kernel's loopback delivery, which the
 * sender's CPU pays on loopback).
 *
 * Prints forwarded packets per CPU second, the fan-out time of one incoming packet (the latency the
 * SFU adds for the last subscriber), and consumers per core at 1 Mbps each, next to mediasoup's
 * published figure of about 500 consumers per core (mediasoup's docs, "scalability": a worker on
 * one core handles ~500 consumers; it includes SRTP and the network, so compare with the SRTP row).
 *
 *   npm run bench -- sfu [-- --seconds 10 --rounds 3]
 *   SFU_BENCH_MODES=sender,udp npm run bench -- sfu   (only some rows: core, srtp, twcc, sender, udp)
 *   SFU_BENCH_N=200 npm run bench -- sfu          (only some N)
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { ManualClock } from '../src/core/clock.js';
import { silentLogger } from '../src/core/log.js';
import { SeededRandom } from '../src/core/random.js';
import { splitSrtpKeyingMaterial } from '../src/dtls/srtp-profiles.js';
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
import { rewriteRtpBytes, rewrittenPacket } from '../src/server/sfu/forwarded.js';
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
  fanoutUs: number[];
}

/** One subscriber's sending side as `SfuServer` has it: a video and an audio sender on a MediaSession. */
interface SenderLeg {
  readonly video: MediaStreamTrack;
  readonly audio: MediaStreamTrack;
  readonly session: MediaSession;
}

function senderLeg(clock: ManualClock, onWire: (d: Uint8Array) => void): SenderLeg {
  const transceiver = (kind: 'audio' | 'video', mid: string) => {
    const sender = new RTCRtpSender(kind, clock, 'bench');
    const t = new RTCRtpTransceiver(kind, sender, new RTCRtpReceiver(kind, clock), 'sendonly', [], () => {});
    t.setMid(mid);
    t.setCurrentDirection('sendonly');
    sender.configure({
      mid,
      codecs: kind === 'video' ? DEFAULT_VIDEO_CODECS : DEFAULT_AUDIO_CODECS,
      extmaps: defaultHeaderExtensions(kind),
    });
    const track = new MediaStreamTrack({ kind });
    sender.setTrack(track);
    return { t, track };
  };
  const v = transceiver('video', '0');
  const a = transceiver('audio', '1');
  const session = new MediaSession({
    clock,
    send: onWire,
    log: silentLogger,
    transceivers: () => [v.t, a.t],
  });
  const profile = SRTP_PROFILES.SRTP_AES128_CM_HMAC_SHA1_80;
  session.start(splitSrtpKeyingMaterial(profile.id, randomBytes(exporterLength(profile)), false));
  return { video: v.track, audio: a.track, session };
}

type Mode = 'core' | 'srtp' | 'twcc' | 'sender' | 'udp';

/**
 * For the "udp" row: one UDP socket per subscriber (as each SFU connection has its own), connected
 * to a loopback receiver, so every datagram also pays Node's send path and the kernel's (the
 * receiver is read only after the timed part; what overflows its buffer the kernel drops).
 */
async function wire(n: number): Promise<{ sockets: Socket[]; close: () => void }> {
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
    sockets,
    close: () => {
      for (const s of sockets) s.close();
      sink.close();
    },
  };
}

/**
 * Media played before the timed part: at least 4 s (layers measured, every subscriber on the top
 * layer), and at small N long enough for about 60,000 forwarded packets, so the timed part finds
 * the process as a running SFU has it (code compiled, young generation grown to its working
 * size); with 4 s only, N = 10 measured half its steady rate (compilation and the collector's
 * start on their threads counted in the timed CPU).
 */
const warmUpSeconds = (n: number): number => Math.max(4, Math.ceil(400 / n));

function run(n: number, seconds: number, mode: Mode, sockets: Socket[] = []): Result {
  const clock = new ManualClock();
  const buf = new Uint8Array(1500);
  const profile = SRTP_PROFILES.SRTP_AES128_CM_HMAC_SHA1_80;
  const sessions = new Map<string, SrtpSession>();
  const legs = new Map<string, SenderLeg>();
  let forwarded = 0;
  let bytes = 0;
  const onWire = (d: Uint8Array): void => {
    forwarded++;
    bytes += d.length;
  };
  const room = new Room('bench', {
    clock,
    random: new SeededRandom(1),
    initialBandwidth: 5_000_000,
    twcc: mode === 'twcc',
    sink: {
      sendRtp: (id, f) => {
        if (mode === 'sender' || mode === 'udp') {
          // As SfuServer's sink: the subscriber's own sender answers NACKs, retransmissions stop here.
          if (f.retransmission) return;
          const leg = legs.get(id)!;
          (f.kind === 'video' ? leg.video : leg.audio).writeRtp(rewrittenPacket(f));
          return;
        }
        const out = rewriteRtpBytes(f, undefined, buf);
        onWire(mode === 'core' ? out : sessions.get(id)!.protectRtp(out));
      },
      sendRtcp: () => {},
    },
  });
  const pub = new SimulcastPublisher(new SeededRandom(2));
  room.join('pub', { rid: RID_EXT, mid: MID_EXT, audioLevel: AUDIO_LEVEL_EXT });
  room.publish('pub', VIDEO_SPEC);
  room.publish('pub', AUDIO_SPEC);
  for (let i = 0; i < n; i++) {
    const id = `s${i}`;
    room.join(id);
    sessions.set(id, SrtpSession.fromKeyingMaterial(profile, randomBytes(exporterLength(profile)), 'server'));
    if (mode === 'sender') legs.set(id, senderLeg(clock, onWire));
    if (mode === 'udp') {
      const socket = sockets[i]!;
      legs.set(
        id,
        senderLeg(clock, (d) => {
          onWire(d);
          socket.send(d);
        }),
      );
    }
  }
  // Warm-up: layers measured, every subscriber on the top layer, JIT warm.
  const play = (list: Timed[], fanout?: number[]): void => {
    for (const p of list) {
      const dt = p.at - clock.now();
      if (dt > 0) clock.advance(dt);
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
  const fanout: number[] = [];
  const cpu0 = process.cpuUsage();
  play(list, fanout);
  const cpu = process.cpuUsage(cpu0);
  room.close();
  for (const leg of legs.values()) leg.session.close();
  return { forwarded, bytes, cpuSec: (cpu.user + cpu.system) / 1e6, fanoutUs: fanout };
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const median = (xs: number[]): number => pct(xs, 50);

const o = options();
console.log(
  `sfu forwarding core: 1 publisher (3-layer VP8 simulcast + Opus), N subscribers on the top layer, ${o.seconds} s of media (at N < 50: ${o.seconds} x 50/N s), median of ${o.rounds}\n`,
);
console.log(
  'N    | SRTP | path   | fwd pkts/s/core | Mbps/core | per-consumer Mbps | consumers/core @1 Mbps | vs mediasoup 500 | fan-out p50 / p99 (us)',
);
for (const n of process.env.SFU_BENCH_N?.split(',').map(Number) ?? [10, 50, 200]) {
  for (const mode of (process.env.SFU_BENCH_MODES?.split(',') ?? [
    'core',
    'srtp',
    'twcc',
    'sender',
  ]) as Mode[]) {
    const rs: Result[] = [];
    // Small N: more seconds, so the timed part is not a fraction of a CPU second.
    const seconds = Math.max(o.seconds, Math.ceil((o.seconds * 50) / n));
    const udp = mode === 'udp' ? await wire(n) : undefined;
    for (let r = 0; r < o.rounds; r++) {
      rs.push(run(n, seconds, mode, udp?.sockets));
      // The receiver drains, the sockets' queues empty, before the next round.
      if (udp) await new Promise((r) => setTimeout(r, 200));
    }
    udp?.close();
    const pps = median(rs.map((r) => r.forwarded / r.cpuSec));
    const mbpsCore = median(rs.map((r) => (r.bytes * 8) / r.cpuSec / 1e6));
    const perConsumer = (rs[0]!.bytes * 8) / seconds / n / 1e6;
    const consumers = mbpsCore / 1;
    const fan = rs.flatMap((r) => r.fanoutUs);
    console.log(
      [
        String(n).padEnd(4),
        (mode === 'core' ? 'no' : 'yes').padEnd(4),
        { core: 'bytes', srtp: 'bytes', twcc: '+twcc', sender: 'sender', udp: '+udp' }[mode].padEnd(6),
        Math.round(pps).toLocaleString('en').padStart(15),
        mbpsCore.toFixed(0).padStart(9),
        perConsumer.toFixed(2).padStart(17),
        Math.round(consumers).toLocaleString('en').padStart(22),
        `${(consumers / MEDIASOUP_CONSUMERS_PER_CORE).toFixed(2)}x`.padStart(16),
        `${pct(fan, 50).toFixed(1)} / ${pct(fan, 99).toFixed(1)}`,
      ].join(' | '),
    );
  }
}
console.log(
  '\nfwd pkts/s/core: packets written per CPU second (user+system) of this process, all its threads (the garbage collector included); consumers/core @1 Mbps: forwarded Mbps per CPU second.',
);
console.log(
  'path: bytes = received bytes patched (SSRC/seq/ts) then protected; +twcc = also per-subscriber TWCC bookkeeping; sender = the SfuServer path (RtpPacket -> RTCRtpSender -> MediaSession pacer, serialize, SRTP); +udp = sender and each datagram sent on a UDP socket per subscriber to a loopback receiver.',
);
console.log(
  'Not included: UDP sends (except in +udp), DTLS/ICE around the datagram, TWCC feedback processing.',
);
