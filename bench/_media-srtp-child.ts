/**
 * Child process for bench/media.ts: one SRTP implementation (rtcstack, werift, or the node:crypto
 * floor) in a process of its own, so that its heap, garbage and JIT state are its own. The parent
 * forks one child per implementation and asks them for rounds in turn over IPC; a child idles
 * (blocked on IPC) while another runs.
 *
 * Every child builds the same packets (the same generator, the same count) and keys from the same
 * keying material (sent by the parent), and runs the same warm-up rounds before the timed ones. A
 * round creates fresh sessions on both sides and protects then unprotects every packet, as the
 * in-process rows of the bench do; its reply holds the round's wall time, the CPU time of the
 * whole process (all threads: GC helper threads included), and the garbage collections that ran
 * during the round (count of mark-compacts, pause time of all collections).
 *
 *   argv: <impl: rtcstack | werift | floor> <profile name> <packets> <keying material, hex>
 */
import * as nodeCrypto from 'node:crypto';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { RtpPacket as WeriftRtpPacket, SrtpSession as WeriftSrtpSession } from 'werift';
import { parseRtp, rtpPacketSize, serializeRtpInto } from '../src/rtp/packet.js';
import { SRTP_PROFILES, type SrtpProfileName, SrtpSession, splitKeyingMaterial } from '../src/srtp/index.js';

/**
 * rtcstack: protectRtp of the packet's bytes, each output fresh memory (kept, as by a caller that
 * holds it). rtcstack-send: what MediaSession does as a packet leaves: protectRtpWith serializes
 * the parsed packet straight into the protected output, and the output's memory is given back
 * (releaseProtected) once the bytes were taken: here once the receiving side's unprotectRtp
 * returned (it copies them), as the real sender does once its socket handed them to the kernel
 * before send returned. werift: encrypt(payload, header) of parsed packets (it serializes too).
 */
export type SrtpImpl = 'rtcstack' | 'rtcstack-send' | 'werift' | 'floor';
/** Warm-up rounds every child runs before it reports ready. */
export const WARM_UP_ROUNDS = 2;
export interface RoundReply {
  readonly wallMs: number;
  readonly cpuMs: number;
  /** Mark-compact (major) collections that ended during the round. */
  readonly majorGcs: number;
  /** Pause time of every collection that ended during the round, ms. */
  readonly gcMs: number;
}

/** RTP packet `seq` of the benchmark: 12-byte header, 1188-byte payload. */
export function rtpPacket(seq: number): Uint8Array {
  const p = new Uint8Array(1200);
  p[0] = 0x80;
  p[1] = 96;
  p[2] = (seq >> 8) & 0xff;
  p[3] = seq & 0xff;
  new DataView(p.buffer).setUint32(4, (seq * 3000) >>> 0);
  new DataView(p.buffer).setUint32(8, 0x1234abcd);
  for (let i = 12; i < p.length; i++) p[i] = (i * 31) & 0xff;
  return p;
}

type OneShotHash = (algorithm: string, data: Uint8Array, encoding: 'latin1') => string;
const oneShotHash = (nodeCrypto as unknown as { hash?: OneShotHash }).hash;

/**
 * node:crypto alone for `n` packets of 1200 bytes, protected and unprotected, with no SRTP around
 * it (AES-CM: one ECB call per 16 packets' keystream and two one-shot SHA-1 hashes per side; GCM:
 * one Cipheriv and one Decipheriv per packet, as node:crypto cannot re-IV a cipher object).
 */
export function cryptoFloor(aead: boolean, n: number): () => void {
  const key = new Uint8Array(randomBytes(16));
  const iv = new Uint8Array(randomBytes(12));
  const aad = new Uint8Array(12);
  const body = new Uint8Array(1188);
  if (aead) {
    return () => {
      for (let i = 0; i < n; i++) {
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
    for (let i = 0; i < n; i++) {
      for (let side = 0; side < 2; side++) {
        if (i % 16 === 0) ecb.update(blocks);
        hash('sha1', inner, 'latin1');
        hash('sha1', outer, 'latin1');
      }
    }
  };
}

/** One round's work (fresh sessions, protect + unprotect of every packet) for `impl`. */
export function srtpRound(
  impl: SrtpImpl,
  name: SrtpProfileName,
  material: Uint8Array,
  packets: readonly Uint8Array[],
): () => void {
  const profile = SRTP_PROFILES[name];
  if (impl === 'floor') return cryptoFloor(profile.aead, packets.length);
  if (impl === 'rtcstack') {
    return () => {
      const a = SrtpSession.fromKeyingMaterial(profile, material, 'client');
      const b = SrtpSession.fromKeyingMaterial(profile, material, 'server');
      for (const p of packets) b.unprotectRtp(a.protectRtp(p));
    };
  }
  if (impl === 'rtcstack-send') {
    const parsed = packets.map((p) => parseRtp(p));
    return () => {
      const a = SrtpSession.fromKeyingMaterial(profile, material, 'client');
      const b = SrtpSession.fromKeyingMaterial(profile, material, 'server');
      for (const p of parsed) {
        const n = rtpPacketSize(p);
        const out = a.protectRtpWith(p, n, n - p.payload.length - p.paddingSize, serializeRtpInto);
        b.unprotectRtp(out);
        a.releaseProtected(out);
      }
    };
  }
  const weriftProfile = (profile.aead ? 7 : 1) as 1;
  const keys = (role: 'client' | 'server') => {
    const l = splitKeyingMaterial(profile, material, role);
    return {
      localMasterKey: Buffer.from(l.local.key),
      localMasterSalt: Buffer.from(l.local.salt),
      remoteMasterKey: Buffer.from(l.remote.key),
      remoteMasterSalt: Buffer.from(l.remote.salt),
    };
  };
  const parsed = packets.map((p) => WeriftRtpPacket.deSerialize(Buffer.from(p)));
  return () => {
    const a = new WeriftSrtpSession({ keys: keys('client'), profile: weriftProfile });
    const b = new WeriftSrtpSession({ keys: keys('server'), profile: weriftProfile });
    for (const p of parsed) b.decrypt(a.encrypt(p.payload, p.header));
  };
}

/** Set in a child's environment by bench/media.ts. */
export const CHILD_ENV = 'RTCSTACK_MEDIA_SRTP_CHILD';

if (process.env[CHILD_ENV] === '1' && process.send) {
  const [impl, name, count, hex] = process.argv.slice(2) as [SrtpImpl, SrtpProfileName, string, string];
  const packets = Array.from({ length: Number(count) }, (_, i) => rtpPacket(i));
  const round = srtpRound(impl, name, new Uint8Array(Buffer.from(hex, 'hex')), packets);
  for (let i = 0; i < WARM_UP_ROUNDS; i++) round();
  let majorGcs = 0;
  let gcMs = 0;
  const gcs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMs += e.duration;
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++;
    }
  });
  gcs.observe({ entryTypes: ['gc'] });
  process.on('message', (m: string) => {
    if (m !== 'round') {
      gcs.disconnect();
      process.disconnect();
      return;
    }
    // Entries of collections before the round were delivered while this child idled.
    const [m0, g0] = [majorGcs, gcMs];
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    round();
    const wallMs = performance.now() - t0;
    const c = process.cpuUsage(c0);
    // GC entries reach observers two immediates later (native callback, then the observer queue).
    const reply = (): void => {
      process.send!({
        wallMs,
        cpuMs: (c.user + c.system) / 1000,
        majorGcs: majorGcs - m0,
        gcMs: gcMs - g0,
      } satisfies RoundReply);
    };
    setImmediate(() => setImmediate(reply));
  });
  process.send('ready');
}
