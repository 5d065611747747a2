/**
 * DTLS side by side: rtcstack's DtlsEndpoint against werift's DtlsClient/DtlsServer, both in one
 * process over an in-memory link (no sockets, so only the DTLS code is measured).
 *
 * - handshakes/s: full DTLS 1.2 handshakes with ECDSA P-256 certificates, one after another
 *   (rtcstack with HelloVerifyRequest and mutual authentication, werift with its defaults);
 * - records: 1200-byte application records from client to server: encrypt on one side, decrypt
 *   on the other (AES-128-GCM), records/s and MB/s; plus rtcstack's seal-only and open-only rates.
 *
 * - floor: what node:crypto alone costs per record, one AES-128-GCM Cipheriv and one Decipheriv per
 *   record (node:crypto cannot re-IV a cipher object, and an AEAD tag needs one), with no DTLS
 *   around it: the most any DTLS over node:crypto can reach, also as a ratio to werift.
 *
 * Record rates are given per second of wall time and per second of this process's CPU time
 * (process.cpuUsage); on a shared, loaded machine the CPU-time ratio is the steadier one.
 * Median of the rounds; ratios rtcstack / werift. rtcstack's DTLS 1.3 figures follow (werift has no 1.3).
 *
 * - robustness: handshakes completed over a link that drops 10% of datagrams (seeded), 20 s limit.
 *
 *   npm run bench -- dtls [-- --rounds 3 --handshakes 40 --records 50000 --lossTrials 10 --loss 0.1]
 *   (--handshakes 0 and --lossTrials 0 measure records only)
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import { DtlsClient, DtlsServer } from 'werift';
import { SystemClock } from '../src/core/clock.js';
import { SeededRandom } from '../src/core/random.js';
import { certificateToPem, type DtlsCertificate, generateCertificate } from '../src/dtls/certificate.js';
import { TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 } from '../src/dtls/cipher-suites.js';
import { DtlsEndpoint, type DtlsVersion } from '../src/dtls/endpoint.js';
import { TLS_AES_128_GCM_SHA256 } from '../src/dtls/record13.js';

interface Options {
  rounds: number;
  handshakes: number;
  records: number;
  /** Handshake attempts per stack over a lossy link. */
  lossTrials: number;
  /** Loss rate of that link. */
  loss: number;
}

function options(): Options {
  const o: Options = { rounds: 3, handshakes: 40, records: 50_000, lossTrials: 10, loss: 0.1 };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const k = a[i]!.replace(/^--/, '') as keyof Options;
    const v = Number(a[++i]);
    if (!(k in o) || !Number.isFinite(v)) throw new Error(`bad option ${a[i - 1]}`);
    o[k] = v;
  }
  return o;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Link loss for the robustness comparison: 0 except while `underLoss` runs. */
let lossRate = 0;
const lossRandom = new SeededRandom(42);
const lossy = (): boolean => lossRate > 0 && lossRandom.float() < lossRate;

/** Handshakes over a link dropping `rate` of datagrams: successes within `timeoutMs`, median time. */
async function underLoss(
  rate: number,
  trials: number,
  timeoutMs: number,
  connect: () => Promise<{ close(): void }>,
): Promise<{ ok: number; medianMs: number }> {
  lossRate = rate;
  const times: number[] = [];
  let ok = 0;
  for (let i = 0; i < trials; i++) {
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    const attempt = connect();
    const p = await Promise.race([attempt, timeout]);
    clearTimeout(timer);
    if (p) {
      ok++;
      times.push(performance.now() - t0);
      p.close();
    } else void attempt.then((x) => x.close()).catch(() => {});
  }
  lossRate = 0;
  return { ok, medianMs: times.length ? median(times) : Number.NaN };
}
const RECORD = 1200;
const payload = new Uint8Array(RECORD).fill(0x5a);

/** Records per second of wall time and of this process's CPU time. */
interface Rate {
  wall: number;
  cpu: number;
}

/** Time `n` iterations of a loop (sync or async) by wall clock and by CPU time. */
async function rate(n: number, loop: () => void | Promise<void>): Promise<Rate> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await loop();
  const c = process.cpuUsage(c0);
  return { wall: n / ((performance.now() - t0) / 1000), cpu: n / ((c.user + c.system) / 1e6) };
}

/** node:crypto alone: seal and open a 1200-byte AES-128-GCM record, one cipher object each. */
async function cryptoFloor(n: number): Promise<Rate> {
  const key = createSecretKey(randomBytes(16));
  const nonce = randomBytes(12);
  const aad = randomBytes(13);
  const opts = { authTagLength: 16 } as const;
  return rate(n, () => {
    for (let i = 0; i < n; i++) {
      nonce[11] = i & 0xff;
      const c = createCipheriv('aes-128-gcm', key, nonce, opts);
      c.setAAD(aad);
      const ct = c.update(payload);
      c.final();
      const tag = c.getAuthTag();
      const d = createDecipheriv('aes-128-gcm', key, nonce, opts);
      d.setAAD(aad);
      d.setAuthTag(tag);
      d.update(ct);
      d.final();
    }
  });
}

// ---------- rtcstack ----------

interface Pair {
  c: DtlsEndpoint;
  s: DtlsEndpoint;
  /** When set, the client's datagrams are collected here instead of delivered. */
  link: { capture: Uint8Array[] | null };
  close(): void;
}

/** Two endpoints whose datagrams are delivered on the next macrotask (like a socket). */
async function rtcstackPair(
  a: DtlsCertificate,
  b: DtlsCertificate,
  versions: DtlsVersion[] = ['1.2'],
): Promise<Pair> {
  const clock = new SystemClock({ unref: true });
  const link: Pair['link'] = { capture: null };
  let c!: DtlsEndpoint;
  let s!: DtlsEndpoint;
  const deliver = (to: () => DtlsEndpoint, capture: boolean) => (d: Uint8Array) => {
    if (capture && link.capture) {
      link.capture.push(d);
      return;
    }
    if (lossy()) return;
    const copy = Uint8Array.from(d);
    setImmediate(() => to().handle(copy));
  };
  c = new DtlsEndpoint({
    role: 'client',
    clock,
    certificate: a,
    remoteFingerprints: b.getFingerprints(),
    cipherSuites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256],
    versions,
    send: deliver(() => s, true),
  });
  s = new DtlsEndpoint({
    role: 'server',
    clock,
    certificate: b,
    remoteFingerprints: a.getFingerprints(),
    versions,
    send: deliver(() => c, false),
  });
  const up = new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (c.state === 'connected' && s.state === 'connected') resolve();
    };
    c.on('connected', check);
    s.on('connected', check);
    c.on('error', reject);
    s.on('error', reject);
  });
  s.start();
  c.start();
  await up;
  return {
    c,
    s,
    link,
    close() {
      c.close();
      s.close();
    },
  };
}

async function rtcstackHandshakes(
  n: number,
  a: DtlsCertificate,
  b: DtlsCertificate,
  versions: DtlsVersion[] = ['1.2'],
): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) (await rtcstackPair(a, b, versions)).close();
  return n / ((performance.now() - t0) / 1000);
}

/** Synchronous loop: the client seals a record, the server opens it. */
async function rtcstackRecords(
  n: number,
  a: DtlsCertificate,
  b: DtlsCertificate,
  versions: DtlsVersion[] = ['1.2'],
): Promise<Rate> {
  const p = await rtcstackPair(a, b, versions);
  let got = 0;
  p.s.on('data', () => got++);
  const out: Uint8Array[] = [];
  p.link.capture = out;
  const r = await rate(n, () => {
    for (let i = 0; i < n; i++) {
      p.c.send(payload);
      p.s.handle(out.pop()!);
    }
  });
  if (got !== n) throw new Error(`rtcstack delivered ${got}/${n}`);
  p.close();
  return r;
}

async function rtcstackSealOpen(
  n: number,
  a: DtlsCertificate,
  b: DtlsCertificate,
): Promise<{ seal: number; open: number }> {
  const p = await rtcstackPair(a, b);
  const sealed: Uint8Array[] = [];
  p.link.capture = sealed;
  let t0 = performance.now();
  for (let i = 0; i < n; i++) p.c.send(payload);
  const seal = n / ((performance.now() - t0) / 1000);
  let got = 0;
  p.s.on('data', () => got++);
  t0 = performance.now();
  for (const d of sealed) p.s.handle(d);
  const open = n / ((performance.now() - t0) / 1000);
  if (got !== n) throw new Error(`rtcstack opened ${got}/${n}`);
  p.close();
  return { seal, open };
}

// ---------- werift ----------

interface WeriftLink {
  onData: (d: Buffer) => void;
  peer?: WeriftLink;
  sync: boolean;
  type: string;
  address: { address: string; port: number; family: string };
  closed: boolean;
  send(d: Buffer): Promise<void>;
  close(): Promise<void>;
}

function weriftLink(): [WeriftLink, WeriftLink] {
  const mk = (): WeriftLink => ({
    onData: () => {},
    sync: false,
    type: 'udp',
    address: { address: '127.0.0.1', port: 0, family: 'IPv4' },
    closed: false,
    async send(d: Buffer) {
      const peer = this.peer!;
      if (lossy()) return;
      if (this.sync) peer.onData(d);
      else {
        const copy = Buffer.from(d);
        setImmediate(() => peer.onData(copy));
      }
    },
    async close() {},
  });
  const a = mk();
  const b = mk();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

async function weriftPair(pem: { cert: string; key: string }) {
  const [ta, tb] = weriftLink();
  const signatureHash = { hash: 4, signature: 3 }; // sha256, ecdsa
  // biome-ignore lint/suspicious/noExplicitAny: werift's DTLS types are not exported from its root typings
  const server = new (DtlsServer as any)({
    transport: tb,
    cert: pem.cert,
    key: pem.key,
    signatureHash,
    certificateRequest: true,
    extendedMasterSecret: true,
  });
  // biome-ignore lint/suspicious/noExplicitAny: as above
  const client = new (DtlsClient as any)({
    transport: ta,
    cert: pem.cert,
    key: pem.key,
    signatureHash,
    extendedMasterSecret: true,
  });
  const up = new Promise<void>((resolve) => client.onConnect.once(() => resolve()));
  await client.connect();
  await up;
  return { client, server, ta, tb };
}

async function weriftHandshakes(n: number, pem: { cert: string; key: string }): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const p = await weriftPair(pem);
    p.client.close();
    p.server.close();
  }
  return n / ((performance.now() - t0) / 1000);
}

async function weriftRecords(n: number, pem: { cert: string; key: string }): Promise<Rate> {
  const p = await weriftPair(pem);
  p.ta.sync = true;
  let got = 0;
  p.server.onData.subscribe(() => got++);
  const buf = Buffer.from(payload);
  const r = await rate(n, async () => {
    for (let i = 0; i < n; i++) await p.client.send(buf);
  });
  if (got !== n) throw new Error(`werift delivered ${got}/${n}`);
  p.client.close();
  p.server.close();
  return r;
}

// ---------- run ----------

const o = options();
const [a, b] = await Promise.all([generateCertificate(), generateCertificate()]);
const pem = certificateToPem(a);

const mb = (recs: number): string => ((recs * RECORD) / 1e6).toFixed(1);
const hs = { ours: [] as number[], werift: [] as number[] };
const recs = { ours: [] as Rate[], werift: [] as Rate[], floor: [] as Rate[] };
const seal: number[] = [];
const hs13: number[] = [];
const recs13: Rate[] = [];
const open: number[] = [];

for (let r = 0; r < o.rounds; r++) {
  if (o.handshakes > 0) {
    hs.ours.push(await rtcstackHandshakes(o.handshakes, a, b));
    hs.werift.push(await weriftHandshakes(Math.max(5, Math.floor(o.handshakes / 2)), pem));
    hs13.push(await rtcstackHandshakes(o.handshakes, a, b, ['1.3']));
  }
  recs.ours.push(await rtcstackRecords(o.records, a, b));
  recs.werift.push(await weriftRecords(Math.max(1000, Math.floor(o.records / 5)), pem));
  recs.floor.push(await cryptoFloor(o.records));
  recs13.push(await rtcstackRecords(o.records, a, b, ['1.3']));
  const so = await rtcstackSealOpen(o.records, a, b);
  seal.push(so.seal);
  open.push(so.open);
}

const row = (name: string, ours: number, theirs: number, unit: string): void => {
  console.log(
    `${name.padEnd(34)} rtcstack ${ours.toFixed(0).padStart(9)} ${unit}   werift ${theirs.toFixed(0).padStart(9)} ${unit}   ratio ${(ours / theirs).toFixed(2)}x`,
  );
};
const wall = (xs: Rate[]): number => median(xs.map((x) => x.wall));
const cpu = (xs: Rate[]): number => median(xs.map((x) => x.cpu));
console.log(`DTLS 1.2, ECDHE-ECDSA-AES128-GCM-SHA256, ${o.rounds} rounds, median`);
if (o.handshakes > 0) row('handshakes', median(hs.ours), median(hs.werift), 'hs/s');
row(`records ${RECORD} B (encrypt+decrypt)`, wall(recs.ours), wall(recs.werift), 'rec/s');
console.log(
  `${''.padEnd(34)} rtcstack ${mb(wall(recs.ours)).padStart(9)} MB/s    werift ${mb(wall(recs.werift)).padStart(9)} MB/s`,
);
row('  per CPU second', cpu(recs.ours), cpu(recs.werift), 'rec/s');
console.log(
  `node:crypto floor (1 Cipheriv + 1 Decipheriv per record, no DTLS): ${wall(recs.floor).toFixed(0)} rec/s, ${cpu(recs.floor).toFixed(0)} per CPU second = ${(cpu(recs.floor) / cpu(recs.werift)).toFixed(2)}x werift at most; rtcstack reaches ${((100 * cpu(recs.ours)) / cpu(recs.floor)).toFixed(0)}% of it`,
);
console.log(
  `rtcstack seal only                 ${median(seal).toFixed(0)} rec/s (${mb(median(seal))} MB/s); open only ${median(open).toFixed(0)} rec/s (${mb(median(open))} MB/s)`,
);
console.log(
  `rtcstack DTLS 1.3 (TLS_AES_128_GCM_SHA256, HRR cookie): ${o.handshakes > 0 ? `${median(hs13).toFixed(0)} hs/s; ` : ''}records ${wall(recs13).toFixed(0)} rec/s (${mb(wall(recs13))} MB/s), ${cpu(recs13).toFixed(0)} per CPU second`,
);

if (o.lossTrials > 0) {
  const ourLoss = await underLoss(o.loss, o.lossTrials, 20_000, () => rtcstackPair(a, b));
  const weriftLoss = await underLoss(o.loss, o.lossTrials, 20_000, async () => {
    const p = await weriftPair(pem);
    return {
      close() {
        p.client.close();
        p.server.close();
      },
    };
  });
  console.log(
    `handshakes over a link dropping ${(o.loss * 100).toFixed(0)}% (20 s limit): rtcstack ${ourLoss.ok}/${o.lossTrials} (median ${ourLoss.medianMs.toFixed(0)} ms), werift ${weriftLoss.ok}/${o.lossTrials} (median ${weriftLoss.medianMs.toFixed(0)} ms)`,
  );
}
// werift leaves retransmission timers of abandoned handshakes behind.
process.exit(0);
