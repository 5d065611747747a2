/**
 * Media side by side: rtcstack's SRTP against werift's SrtpSession, and RTP parse/serialize against
 * werift's RtpPacket, in one process (no sockets).
 *
 * - SRTP protect+unprotect: 1200-byte RTP packets (12-byte header, 1188-byte payload), protected by
 *   one side and unprotected by the other, for SRTP_AES128_CM_HMAC_SHA1_80 and SRTP_AEAD_AES_128_GCM;
 *   plus rtcstack's protect-only and unprotect-only rates, and the node:crypto floor: what the
 *   crypto calls alone cost per packet with no SRTP around them (AES-CM: one ECB call per 16
 *   packets' keystream and two one-shot SHA-1 hashes per side; GCM: one Cipheriv and one
 *   Decipheriv per packet, as node:crypto cannot re-IV a cipher object): the most any SRTP over
 *   node:crypto can reach, also as a ratio to werift;
 * - AES-CM keystream strategies (why src/srtp/aes-cm.ts computes consecutive packets' keystream
 *   ahead with one reused ECB cipher);
 * - RTP parse and serializeInto, packets/s;
 * - the full receive path (unprotect, parse, receive statistics, NACK tracking, jitter buffer, VP8);
 * - the send pacer's CPU cost per packet (frames of 10 packets through the Pacer on a ManualClock at
 *   a rate that queues them, timers included), beside an SRTP protect.
 *
 * Median of the rounds; ratios rtcstack / werift.
 *
 *   npm run bench -- media [-- --rounds 5 --packets 20000]
 */
import * as nodeCrypto from 'node:crypto';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { RtpPacket as WeriftRtpPacket, SrtpSession as WeriftSrtpSession } from 'werift';
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
  splitKeyingMaterial,
} from '../src/srtp/index.js';

interface Options {
  rounds: number;
  packets: number;
}
function options(): Options {
  const o: Options = { rounds: 5, packets: 20_000 };
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

function rtpPacket(seq: number): Uint8Array {
  const p = new Uint8Array(1200);
  p[0] = 0x80;
  p[1] = 96;
  p[2] = seq >> 8;
  p[3] = seq & 0xff;
  new DataView(p.buffer).setUint32(4, seq * 3000);
  new DataView(p.buffer).setUint32(8, 0x1234abcd);
  for (let i = 12; i < p.length; i++) p[i] = (i * 31) & 0xff;
  return p;
}
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

type OneShotHash = (algorithm: string, data: Uint8Array, encoding: 'latin1') => string;
const oneShotHash = (nodeCrypto as unknown as { hash?: OneShotHash }).hash;

/** node:crypto alone for N packets of 1200 bytes, protected and unprotected (see the header). */
function cryptoFloor(aead: boolean): () => void {
  const key = new Uint8Array(randomBytes(16));
  const iv = new Uint8Array(randomBytes(12));
  const aad = new Uint8Array(12);
  const body = new Uint8Array(1188);
  if (aead) {
    return () => {
      for (let i = 0; i < N; i++) {
        const c = createCipheriv('aes-128-gcm', key, iv, { authTagLength: 16 });
        c.setAAD(aad);
        const ct = c.update(body);
        c.final();
        const tag = c.getAuthTag();
        const d = createDecipheriv('aes-128-gcm', key, iv, { authTagLength: 16 });
        d.setAAD(aad);
        d.setAuthTag(tag);
        d.update(ct);
        d.final();
      }
    };
  }
  const ecb = createCipheriv('aes-128-ecb', key, null);
  ecb.setAutoPadding(false);
  const blocks = new Uint8Array(16 * 1200);
  const inner = new Uint8Array(64 + 1204);
  const outer = new Uint8Array(84);
  const hash =
    oneShotHash ?? ((_: string, d: Uint8Array) => nodeCrypto.createHash('sha1').update(d).digest('binary'));
  return () => {
    for (let i = 0; i < N; i++) {
      for (let side = 0; side < 2; side++) {
        if (i % 16 === 0) ecb.update(blocks);
        hash('sha1', inner, 'latin1');
        hash('sha1', outer, 'latin1');
      }
    }
  };
}

const results: [string, number, number][] = [];
const floors: string[] = [];

for (const [name, weriftProfile] of [
  ['SRTP_AES128_CM_HMAC_SHA1_80', 1],
  ['SRTP_AEAD_AES_128_GCM', 7],
] as [SrtpProfileName, number][]) {
  const profile = SRTP_PROFILES[name];
  const material = new Uint8Array(randomBytes(exporterLength(profile)));
  const c = splitKeyingMaterial(profile, material, 'client');
  const keys = (l: typeof c) => ({
    localMasterKey: Buffer.from(l.local.key),
    localMasterSalt: Buffer.from(l.local.salt),
    remoteMasterKey: Buffer.from(l.remote.key),
    remoteMasterSalt: Buffer.from(l.remote.salt),
  });
  const parsed = packets.map((p) => WeriftRtpPacket.deSerialize(Buffer.from(p)));
  const ours = (): void => {
    const a = SrtpSession.fromKeyingMaterial(profile, material, 'client');
    const b = SrtpSession.fromKeyingMaterial(profile, material, 'server');
    for (const p of packets) b.unprotectRtp(a.protectRtp(p));
  };
  const theirs = (): void => {
    const a = new WeriftSrtpSession({ keys: keys(c), profile: weriftProfile as 1 });
    const b = new WeriftSrtpSession({
      keys: keys(splitKeyingMaterial(profile, material, 'server')),
      profile: weriftProfile as 1,
    });
    for (const p of parsed) b.decrypt(a.encrypt(p.payload, p.header));
  };
  const [o, t, floor] = interleavedAll([ours, theirs, cryptoFloor(profile.aead)]) as [number, number, number];
  results.push([`SRTP protect+unprotect ${name}`, o, t]);
  floors.push(
    `  node:crypto floor ${name} (crypto calls only, no SRTP): ${fmt(floor)} pkt/s = x${(floor / t).toFixed(2)} werift at most; rtcstack reaches ${((100 * o) / floor).toFixed(0)}% of it`,
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

console.log(`\n${'benchmark'.padEnd(52)} ${'rtcstack'.padStart(11)} ${'werift'.padStart(11)}  ratio`);
for (const [name, ours, theirs] of results) {
  console.log(`${name.padEnd(52)} ${fmt(ours)} ${fmt(theirs)}  x${(ours / theirs).toFixed(2)}   (packets/s)`);
}
for (const f of floors) console.log(f);
