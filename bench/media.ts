/**
 * Media side by side: rtcstack's SRTP against werift's SrtpSession, and RTP parse/serialize against
 * werift's RtpPacket (no sockets).
 *
 * - SRTP protect+unprotect: 1200-byte RTP packets (12-byte header, 1188-byte payload), protected by
 *   one side and unprotected by the other, for SRTP_AES128_CM_HMAC_SHA1_80 and SRTP_AEAD_AES_128_GCM,
 *   with the node:crypto floor: what the crypto calls alone cost per packet with no SRTP around
 *   them (AES-CM: one ECB call per 16 packets' keystream and two one-shot SHA-1 hashes per side;
 *   GCM: one Cipheriv and one Decipheriv per packet, as node:crypto cannot re-IV a cipher object):
 *   the most any SRTP over node:crypto can reach, also as a ratio to werift. For GCM that floor is
 *   about x2 werift, so 5x is out of reach there with node:crypto.
 *
 *   Measured two ways. (1) Each implementation (and the floor) in a child process of its own
 *   (bench/_media-srtp-child.ts), rounds in turn (the order rotates), so that neither runs inside
 *   the other's heap: in one process werift's garbage (it allocates several Buffers per packet;
 *   ~60 scavenges per 160,000 pairs against rtcstack's ~20) is collected during rtcstack's rounds
 *   too (measured: rtcstack's rounds 0-15% slower beside werift than alone, within this machine's
 *   noise), and a deployment runs one of them. The children do the same work: the same packets
 *   (same generator, same count), keys from the same keying material, fresh sessions every round,
 *   the same warm-up rounds before the timed ones. rtcstack has two rows:
 *   - "sender API" (the row for the target): what a real rtcstack sender runs per packet
 *     (MediaSession as a packet leaves the pacer): protectRtpWith serializes the parsed packet
 *     straight into the protected output, as werift's encrypt(payload, header) serializes too; the
 *     output's memory is given back (releaseProtected) once the bytes were taken, here when the
 *     receiving side's unprotectRtp returned (it copies them), as the real sender does when its
 *     socket had handed them to the kernel before send returned (core/net.ts sendSettled; a send
 *     that queues keeps the memory). Unprotect's output is fresh memory, as a receiver keeps it.
 *   - "fresh output" (the earlier row, kept): protectRtp of the packet's bytes (a copy, no
 *     serialization), every output fresh memory, as for a caller that keeps what it protected.
 *   Measured (session 7): giving the memory back saves nothing measurable here (in one process,
 *   protect-only and protect+unprotect rounds within 0.05 us either way): slab memory is cheap;
 *   serializing costs ~0.1 us more than copying bytes.
 *   Session 8: two child processes per implementation (`--processes`, default 2; round r of an
 *   implementation runs in its child r mod 2, 10 rounds in all), and each child reports the
 *   collections of each round (mark-compacts, GC pause ms), printed per process beside its median.
 *   Why: the same work in two processes of one implementation differed by up to 50% (two
 *   rtcstack-send children in one run: 8.0 and 12.3 us per pair), so one process per row made each
 *   row one draw. The sender row's gap to the fresh row (0.2-3.5 us in every run, ~0 in one
 *   process: its serialization costs ~0.05 us more than the fresh row's copy) goes with runs of
 *   major GC in the child: every sender child here ran 0.4-0.6 mark-compacts a round, 5 of 6 fresh
 *   children none. It is the process's heap, not work per packet: the same rounds in esbuild-bundled
 *   children (no tsx loader in the heap) turned it round (fresh children 13-20 mark-compacts in 11
 *   rounds, sender children 2), a capped young generation (`--max-semi-space-size=4`) removed it,
 *   and a child in such a run pays ~1-2 us per pair more. Same work and rounds per implementation.
 *   Each reply carries the round's wall time and the process's CPU time (all threads, GC helpers
 *   included): on this shared 2-core machine the wall clock of a round mostly measures the
 *   scheduler, the CPU time what the work cost. Median [min..max] per pair, and the
 *   ratio per round (the two rounds of a pair run back to back). Session 9 (no change to what is
 *   measured): rtcstack's unprotect writes each packet into the stream's keystream memory (the ECB
 *   call's output, fresh memory per 16 packets, kept by whoever holds the packet) instead of fresh
 *   slab memory. (protectRtp of the "fresh output" row the same way measured slower in these child
 *   processes, 4 of 4 runs, though faster in one process, so it stays in the slab.) (2) The
 *   earlier form, kept: all
 *   three interleaved in this process ("one process" rows), plus rtcstack's protect-only and
 *   unprotect-only rates.
 * - AES-CM keystream strategies (why src/srtp/aes-cm.ts computes consecutive packets' keystream
 *   ahead with one reused ECB cipher);
 * - RTP parse and serializeInto, packets/s;
 * - the full receive path (unprotect, parse, receive statistics, NACK tracking, jitter buffer, VP8);
 * - the send pacer's CPU cost per packet (frames of 10 packets through the Pacer on a ManualClock at
 *   a rate that queues them, timers included), beside an SRTP protect.
 *
 * Median of the rounds; ratios rtcstack / werift.
 *
 *   npm run bench -- media [-- --rounds 5 --packets 20000 --childRounds 10 --processes 2]
 */
import { fork } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { RtpPacket as WeriftRtpPacket } from 'werift';
import { ManualClock } from '../src/core/clock.js';
import {
  JitterBuffer,
  NackGenerator,
  type PacedPacket,
  Pacer,
  ReceiveStatistics,
} from '../src/interceptor/index.js';
import { Vp8Depacketizer, Vp8Packetizer } from '../src/media/payload/index.js';
import { parseRtp, type RtpPacket, serializeRtp, serializeRtpInto } from '../src/rtp/index.js';
import {
  AesCmKeystream,
  AesCmStream,
  exporterLength,
  SRTP_PROFILES,
  type SrtpProfileName,
  SrtpSession,
} from '../src/srtp/index.js';
import {
  CHILD_ENV,
  type RoundReply,
  rtpPacket,
  type SrtpImpl,
  srtpRound,
  WARM_UP_ROUNDS,
} from './_media-srtp-child.js';

interface Options {
  rounds: number;
  packets: number;
  /** Rounds of the own-process SRTP comparison (per implementation, over all its processes). */
  childRounds: number;
  /** Child processes per implementation in the own-process SRTP comparison. */
  processes: number;
}
function options(): Options {
  const o: Options = { rounds: 5, packets: 20_000, childRounds: 10, processes: 2 };
  const a = process.argv.slice(2).filter((x) => x !== '--');
  for (let i = 0; i < a.length; i++) {
    const k = a[i]!.replace(/^--/, '') as keyof Options;
    const v = Number(a[++i]);
    if (!(k in o) || !Number.isFinite(v)) throw new Error(`bad option ${a[i - 1]}`);
    o[k] = v;
  }
  return o;
}

const opts = options();
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(11);
const N = Math.min(opts.packets, 60_000);

const packets = Array.from({ length: N }, (_, i) => rtpPacket(i));

/** Runs `fn` (which processes N packets) `rounds` times after a warm-up; returns packets/s (median). */
function rate(fn: () => void): number {
  fn();
  const xs: number[] = [];
  for (let r = 0; r < opts.rounds; r++) {
    const t = performance.now();
    fn();
    xs.push(N / ((performance.now() - t) / 1000));
  }
  return median(xs);
}

/**
 * Rounds of `a` and `b` alternate (a, b, a, b, ...) so that load from other processes on this
 * shared machine falls on both alike; returns each one's median packets/s.
 */
function interleaved(a: () => void, b: () => void): [number, number] {
  const [x, y] = interleavedAll([a, b]);
  return [x!, y!];
}

function interleavedAll(fns: readonly (() => void)[]): number[] {
  for (const fn of fns) fn();
  const xs = fns.map(() => [] as number[]);
  for (let r = 0; r < opts.rounds; r++) {
    fns.forEach((fn, i) => {
      const t = performance.now();
      fn();
      xs[i]!.push(N / ((performance.now() - t) / 1000));
    });
  }
  return xs.map(median);
}

const results: [string, number, number][] = [];
const floors: string[] = [];

const CHILD_FILE = fileURLToPath(new URL('./_media-srtp-child.ts', import.meta.url));
const SRTP_IMPLS: readonly SrtpImpl[] = ['rtcstack', 'rtcstack-send', 'werift', 'floor'];

/** A round's reply, with the index of the child process (of its implementation) that ran it. */
type ChildRound = RoundReply & { readonly process: number };

/**
 * The SRTP comparison with each implementation in processes of its own (see the header):
 * `opts.processes` children per implementation, rounds in turn (the order of the implementations
 * rotates each round, and round r of an implementation runs in its child r mod processes), each
 * reply the round's wall and CPU time in ms and its collections.
 */
async function ownProcesses(name: SrtpProfileName, material: Uint8Array): Promise<ChildRound[][]> {
  const hex = Buffer.from(material).toString('hex');
  const P = Math.max(1, opts.processes);
  // Child k runs implementation k % SRTP_IMPLS.length.
  const children = Array.from({ length: P * SRTP_IMPLS.length }, (_, k) =>
    fork(CHILD_FILE, [SRTP_IMPLS[k % SRTP_IMPLS.length]!, name, String(N), hex], {
      env: { ...process.env, [CHILD_ENV]: '1' },
    }),
  );
  const next = (k: number): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const c = children[k]!;
      const onExit = (code: number | null): void =>
        reject(new Error(`${SRTP_IMPLS[k % SRTP_IMPLS.length]} child exited (${code})`));
      c.once('exit', onExit);
      c.once('message', (m) => {
        c.off('exit', onExit);
        resolve(m);
      });
    });
  await Promise.all(children.map((_, k) => next(k)));
  const replies = SRTP_IMPLS.map(() => [] as ChildRound[]);
  for (let r = 0; r < opts.childRounds; r++) {
    for (let j = 0; j < SRTP_IMPLS.length; j++) {
      const i = (r + j) % SRTP_IMPLS.length;
      const k = (r % P) * SRTP_IMPLS.length + i;
      const reply = next(k);
      children[k]!.send('round');
      replies[i]!.push({ ...((await reply) as RoundReply), process: r % P });
    }
  }
  await Promise.all(
    children.map(
      (c) =>
        new Promise((resolve) => {
          c.once('exit', resolve);
          c.send('exit');
        }),
    ),
  );
  return replies;
}

/** Median [min..max] of `xs`, each shown by `show`. */
const spread = (xs: readonly number[], show = (x: number): string => x.toFixed(2)): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `${show(median(s))} [${show(s[0]!)}..${show(s[s.length - 1]!)}]`;
};

for (const name of ['SRTP_AES128_CM_HMAC_SHA1_80', 'SRTP_AEAD_AES_128_GCM'] as SrtpProfileName[]) {
  const profile = SRTP_PROFILES[name];
  const material = new Uint8Array(randomBytes(exporterLength(profile)));

  // Own processes: rtcstack, werift and the node:crypto floor each in a child.
  const [ours, send, theirs, floor] = (await ownProcesses(name, material)) as [
    ChildRound[],
    ChildRound[],
    ChildRound[],
    ChildRound[],
  ];
  console.log(
    `  ${name}, each in processes of its own (${opts.processes} each; ${opts.childRounds} rounds in turn after ${WARM_UP_ROUNDS} warm-up; median [min..max]):`,
  );
  const perPair = (xs: readonly RoundReply[], k: 'cpuMs' | 'wallMs'): number[] =>
    xs.map((x) => (1000 * x[k]) / N);
  /** Per child process: its median CPU us/pair, its mark-compacts and GC pause ms per round. */
  const perProcess = (xs: readonly ChildRound[]): string =>
    Array.from({ length: Math.max(1, opts.processes) }, (_, p) => {
      const mine = xs.filter((x) => x.process === p);
      if (mine.length === 0) return '-';
      const majors = mine.reduce((a, x) => a + x.majorGcs, 0) / mine.length;
      const gcMs = mine.reduce((a, x) => a + x.gcMs, 0) / mine.length;
      return `${median(perPair(mine, 'cpuMs')).toFixed(2)} us (${majors.toFixed(1)} mark-compacts, GC ${gcMs.toFixed(1)} ms a round)`;
    }).join('; ');
  const rows = [
    ['rtcstack sender', send, 'sender API'],
    ['rtcstack fresh', ours, 'fresh output'],
  ] as const;
  for (const [label, xs] of [...rows, ['werift', theirs], ['node:crypto floor', floor]] as const) {
    console.log(
      `    ${label.padEnd(18)} us/pair: CPU ${spread(perPair(xs, 'cpuMs'))}, wall ${spread(perPair(xs, 'wallMs'))}`,
    );
    console.log(`    ${''.padEnd(18)} per process, CPU: ${perProcess(xs)}`);
  }
  for (const k of ['cpuMs', 'wallMs'] as const) {
    const t = median(perPair(theirs, k));
    const f = median(perPair(floor, k));
    const what = k === 'cpuMs' ? 'CPU time' : 'wall time';
    for (const [label, xs, row] of rows) {
      const o = median(perPair(xs, k));
      const roundRatios = xs.map((x, r) => theirs[r]![k] / x[k]);
      results.push([`SRTP ${name}, own processes, ${row}, ${what}`, 1e6 / o, 1e6 / t]);
      console.log(
        `    ${what}, ${label}: werift/rtcstack x${(t / o).toFixed(2)} (per round ${spread(roundRatios, (x) => `x${x.toFixed(2)}`)}); rtcstack reaches ${((100 * f) / o).toFixed(0)}% of the floor`,
      );
    }
    console.log(
      `    ${what}: floor x${(t / f).toFixed(2)} werift at most${t / f < 5 ? ' (5x is out of reach over node:crypto)' : ''}`,
    );
  }

  // One process (the earlier form of this row, kept): rtcstack, werift and the floor interleaved.
  const [o, t, f] = interleavedAll([
    srtpRound('rtcstack', name, material, packets),
    srtpRound('werift', name, material, packets),
    srtpRound('floor', name, material, packets),
  ]) as [number, number, number];
  results.push([`SRTP protect+unprotect ${name}, one process`, o, t]);
  floors.push(
    `  node:crypto floor ${name} (crypto calls only, no SRTP; one process): ${fmt(f)} pkt/s = x${(f / t).toFixed(2)} werift at most; rtcstack reaches ${((100 * o) / f).toFixed(0)}% of it`,
  );
  let protectedPackets: Uint8Array[] = [];
  const protectRate = rate(() => {
    const s = SrtpSession.fromKeyingMaterial(profile, material, 'client');
    protectedPackets = packets.map((p) => s.protectRtp(p));
  });
  const unprotectRate = rate(() => {
    const r = SrtpSession.fromKeyingMaterial(profile, material, 'server');
    for (const p of protectedPackets) r.unprotectRtp(p);
  });
  console.log(
    `  ${name}: rtcstack protect-only ${fmt(protectRate)} pkt/s, unprotect-only ${fmt(unprotectRate)} pkt/s`,
  );
}

// AES-CM keystream: consecutive packets' keystream computed ahead in one ECB call (AesCmStream),
// one reused ECB cipher per packet, a new CTR cipher per packet.
{
  const key = new Uint8Array(randomBytes(16));
  const iv = new Uint8Array(16);
  const ks = new AesCmKeystream(key);
  // The payload at an 8-byte boundary, as PacketSlab places it.
  const buf = new Uint8Array(1208);
  const words = new BigUint64Array(buf.buffer);
  const stream = new AesCmStream(ks, new Uint8Array(14), 1);
  let index = 0;
  const [batched] = interleaved(
    () => {
      for (let i = 0; i < N; i++) stream.apply(index++, buf, words, 16, 1188);
    },
    () => {},
  );
  const [reused, perPacket] = interleaved(
    () => {
      for (let i = 0; i < N; i++) {
        iv[11] = i & 0xff;
        ks.apply(iv, buf, 12, 1200);
      }
    },
    () => {
      for (let i = 0; i < N; i++) {
        iv[11] = i & 0xff;
        const c = createCipheriv('aes-128-ctr', key, iv);
        buf.set(c.update(buf.subarray(12)), 12);
      }
    },
  );
  console.log(
    `  AES-CM keystream 1188 B: computed ahead ${fmt(batched)} pkt/s, reused ECB per packet ${fmt(reused)} pkt/s, CTR cipher per packet ${fmt(perPacket)} pkt/s (x${(batched / perPacket).toFixed(2)})`,
  );
}

// RTP parse / serialize.
{
  const withExt: RtpPacket = {
    ...parseRtp(packets[0]!),
    extensions: [
      { id: 1, data: Uint8Array.of(0x30) },
      { id: 3, data: Uint8Array.of(1, 2, 3) },
      { id: 5, data: Uint8Array.of(0, 7) },
    ],
  };
  const bytes = serializeRtp(withExt);
  const wb = Buffer.from(bytes);
  const [ourParse, theirParse] = interleaved(
    () => {
      for (let i = 0; i < N; i++) parseRtp(bytes);
    },
    () => {
      for (let i = 0; i < N; i++) WeriftRtpPacket.deSerialize(wb);
    },
  );
  results.push(['RTP parse (1200 B, 3 extensions)', ourParse, theirParse]);
  const parsedOurs = parseRtp(bytes);
  const out = new Uint8Array(1500);
  const theirPkt = WeriftRtpPacket.deSerialize(Buffer.from(bytes));
  const [ourSer, theirSer] = interleaved(
    () => {
      for (let i = 0; i < N; i++) serializeRtpInto(parsedOurs, out, 0);
    },
    () => {
      for (let i = 0; i < N; i++) theirPkt.serialize();
    },
  );
  results.push(['RTP serialize (serializeInto vs serialize)', ourSer, theirSer]);
}

// Full receive path: SRTP unprotect, RTP parse, receive statistics, NACK tracking, jitter buffer
// with VP8 depacketization and frame assembly (what RTCRtpReceiver does per packet).
{
  const profile = SRTP_PROFILES.SRTP_AES128_CM_HMAC_SHA1_80;
  const material = new Uint8Array(randomBytes(exporterLength(profile)));
  const packetizer = new Vp8Packetizer();
  const stream: Uint8Array[] = [];
  const tx = SrtpSession.fromKeyingMaterial(profile, material, 'client');
  let seq = 0;
  for (let f = 0; stream.length < N; f++) {
    const frame = new Uint8Array(f % 60 === 0 ? 20_000 : 5_000).fill(f & 0xff);
    frame[0] = f % 60 === 0 ? 0x10 : 0x11;
    const payloads = packetizer.packetize(frame, 1100);
    payloads.forEach((payload, i) => {
      const pkt = serializeRtp({
        marker: i === payloads.length - 1,
        payloadType: 96,
        sequenceNumber: seq++ & 0xffff,
        timestamp: (f * 3000) >>> 0,
        ssrc: 0x1234,
        csrcs: [],
        extensions: [{ id: 4, data: Uint8Array.of(0x30) }],
        payload,
        paddingSize: 0,
      });
      stream.push(tx.protectRtp(pkt));
    });
  }
  const packetsIn = stream.slice(0, N);
  let frames = 0;
  const full = rate(() => {
    const rx = SrtpSession.fromKeyingMaterial(profile, material, 'server');
    const stats = new ReceiveStatistics(0x1234, 90000);
    const nack = new NackGenerator();
    const jb = new JitterBuffer({ reader: new Vp8Depacketizer(), onFrame: () => frames++ });
    let now = 0;
    for (const d of packetsIn) {
      const p = parseRtp(rx.unprotectRtp(d));
      const ext = stats.onPacket(p.sequenceNumber, p.timestamp, d.length, p.payload.length, now);
      nack.onPacket(ext, now);
      jb.push(ext, p, now);
      now += 0.2;
    }
    jb.poll(now + 1000);
  });
  console.log(
    `  full receive path (unprotect, parse, stats, NACK, jitter buffer, VP8 frames): ${fmt(full)} pkt/s (${frames} frames assembled)`,
  );
}

// Pacer: every packet queued behind a frame's first and released by the pacer's timer.
{
  const profile = SRTP_PROFILES.SRTP_AES128_CM_HMAC_SHA1_80;
  const tx = SrtpSession.fromKeyingMaterial(profile, new Uint8Array(exporterLength(profile)), 'client');
  const items: PacedPacket[] = Array.from({ length: 10 }, () => ({ size: 1200, ssrc: 1, cls: 'video' }));
  let out = 0;
  const paced = rate(() => {
    const clock = new ManualClock();
    const pacer = new Pacer<PacedPacket>({ clock, send: () => out++ });
    // 10 packets a frame, 30 frames/s: 2.9 Mbit/s, paced at 2.5 x 1.5 Mbit/s.
    pacer.bitrate = 1_500_000;
    for (let i = 0; i < N; i += 10) {
      for (const p of items) pacer.enqueue(p);
      clock.advance(33);
    }
    pacer.close();
  });
  const protect = rate(() => {
    for (const p of packets) tx.protectRtp(p);
  });
  console.log(
    `  pacer (queue + timer release, ManualClock): ${fmt(paced)} pkt/s = ${(1e9 / paced).toFixed(0)} ns/packet; SRTP AES-CM protect ${(1e9 / protect).toFixed(0)} ns/packet (pacer = ${((100 * protect) / paced).toFixed(1)}% of it)`,
  );
}

console.log(`\n${'benchmark'.padEnd(66)} ${'rtcstack'.padStart(11)} ${'werift'.padStart(11)}  ratio`);
for (const [name, ours, theirs] of results) {
  console.log(`${name.padEnd(66)} ${fmt(ours)} ${fmt(theirs)}  x${(ours / theirs).toFixed(2)}   (packets/s)`);
}
for (const f of floors) console.log(f);
