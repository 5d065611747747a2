/**
 * SDP side by side: parse and serialize Chromium 156 descriptions (audio+video+data channel with 8
 * candidates per section, and a simulcast offer) with rtcstack and werift's SessionDescription;
 * plus parseCandidate against werift's candidateFromSdp. Median of interleaved rounds.
 *
 *   npm run bench -- sdp [-- --rounds 5 --iterations 2000]
 */
import { readFileSync } from 'node:fs';
import { candidateFromSdp, SessionDescription } from 'werift';
import { parseCandidate } from '../src/sdp/candidate.js';
import { parseSdp } from '../src/sdp/parse.js';
import { serializeSdp } from '../src/sdp/serialize.js';

const o = { rounds: 5, iterations: 2000 };
const a = process.argv.slice(2).filter((x) => x !== '--');
for (let i = 0; i < a.length; i++) {
  const k = a[i]!.replace(/^--/, '') as keyof typeof o;
  const v = Number(a[++i]);
  if (!(k in o) || !Number.isFinite(v)) throw new Error(`bad option ${a[i - 1]}`);
  o[k] = v;
}
const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(11);

function interleaved(fa: () => void, fb: () => void, n: number): [number, number] {
  fa();
  fb();
  const xa: number[] = [];
  const xb: number[] = [];
  for (let r = 0; r < o.rounds; r++) {
    for (const [fn, xs] of [
      [fa, xa],
      [fb, xb],
    ] as const) {
      const t = performance.now();
      fn();
      xs.push(n / ((performance.now() - t) / 1000));
    }
  }
  return [median(xa), median(xb)];
}

const fixture = (name: string): string =>
  readFileSync(new URL(`../src/sdp/fixtures/${name}`, import.meta.url), 'utf8');
const rows: [string, number, number][] = [];
const N = o.iterations;
for (const name of ['chromium-av-dc-offer.sdp', 'chromium-simulcast-offer.sdp']) {
  const text = fixture(name);
  rows.push([
    `parse ${name}`,
    ...interleaved(
      () => {
        for (let i = 0; i < N; i++) parseSdp(text);
      },
      () => {
        for (let i = 0; i < N; i++) SessionDescription.parse(text);
      },
      N,
    ),
  ]);
  const ours = parseSdp(text);
  const theirs = SessionDescription.parse(text);
  rows.push([
    `serialize ${name}`,
    ...interleaved(
      () => {
        for (let i = 0; i < N; i++) serializeSdp(ours);
      },
      () => {
        for (let i = 0; i < N; i++) theirs.string;
      },
      N,
    ),
  ]);
}
const cand =
  'candidate:1154014180 1 udp 2122194687 127.0.0.1 46881 typ host generation 0 network-id 3 network-cost 50';
const M = N * 20;
rows.push([
  'parseCandidate (Chromium host candidate)',
  ...interleaved(
    () => {
      for (let i = 0; i < M; i++) parseCandidate(cand);
    },
    () => {
      for (let i = 0; i < M; i++) candidateFromSdp(cand);
    },
    M,
  ),
]);

console.log(`\n${'benchmark'.padEnd(52)} ${'rtcstack'.padStart(11)} ${'werift'.padStart(11)}  ratio`);
for (const [name, ours, theirs] of rows) {
  console.log(
    `${name.padEnd(52)} ${fmt(ours)} ${fmt(theirs)}  x${(ours / theirs).toFixed(2)}   (per second)`,
  );
}
