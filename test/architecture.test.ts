/**
 * Keeps the layering of ARCHITECTURE.md true: each layer imports only core and the layers it is
 * allowed to, and there is no import cycle between modules.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';

const SRC = 'src';
const BELOW_PEER = [
  'core',
  'stun',
  'turn',
  'ice',
  'dtls',
  'srtp',
  'rtp',
  'rtcp',
  'interceptor',
  'sctp',
  'datachannel',
  'sdp',
  'media',
];
/** layer -> layers it may import (besides itself). */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  stun: ['core'],
  turn: ['core', 'stun'],
  ice: ['core', 'stun', 'turn'],
  dtls: ['core'],
  srtp: ['core'],
  rtp: ['core'],
  rtcp: ['core', 'rtp'],
  interceptor: ['core', 'rtp', 'rtcp'],
  sctp: ['core'],
  datachannel: ['core', 'sctp'],
  sdp: ['core'],
  media: ['core', 'rtp', 'rtcp'],
  peer: BELOW_PEER,
  /** The signaling protocol's frame types, shared by the server, the browser client and the CLI. */
  protocol: [],
  server: [...BELOW_PEER, 'peer', 'protocol'],
  client: ['protocol'],
  cli: [...BELOW_PEER, 'peer', 'server', 'protocol'],
  '.': [...BELOW_PEER, 'peer'],
};

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.ts$/.test(name) && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

function layerOf(file: string): string {
  const rel = relative(SRC, file).split('/');
  return rel.length === 1 ? '.' : rel[0]!;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const spec = m[1] ?? m[2]!;
    if (!spec.startsWith('.')) continue;
    out.push(normalize(join(dirname(file), spec.replace(/\.js$/, '.ts'))));
  }
  return out;
}

const files = walk(SRC, []);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

test('every relative import resolves to a source file', () => {
  const known = new Set(files);
  const missing: string[] = [];
  for (const [f, deps] of graph) for (const d of deps) if (!known.has(d)) missing.push(`${f} -> ${d}`);
  assert.deepEqual(missing, []);
});

test('layers import only the layers below them', () => {
  const bad: string[] = [];
  for (const [f, deps] of graph) {
    const from = layerOf(f);
    const allowed = ALLOWED[from];
    if (!allowed) {
      bad.push(`${f}: unknown layer '${from}' (add it to ARCHITECTURE and this test)`);
      continue;
    }
    for (const d of deps) {
      const to = layerOf(d);
      if (to !== from && !allowed.includes(to)) bad.push(`${f} (${from}) imports ${d} (${to})`);
    }
  }
  assert.deepEqual(bad, []);
});

test('the browser client and the protocol it shares import no Node built-ins', () => {
  const bad: string[] = [];
  for (const f of files) {
    if (layerOf(f) !== 'client' && layerOf(f) !== 'protocol') continue;
    if (/from\s*['"]node:|from\s*['"](fs|net|dgram|crypto|os|path)['"]/.test(readFileSync(f, 'utf8')))
      bad.push(f);
  }
  assert.deepEqual(bad, []);
});

test('no import cycles between modules', () => {
  const state = new Map<string, 1 | 2>();
  const cycles: string[] = [];
  const stack: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 1);
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      const s = state.get(d);
      if (s === 1) cycles.push([...stack.slice(stack.indexOf(d)), d].join(' -> '));
      else if (s === undefined && graph.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, 2);
  };
  for (const f of files) if (!state.has(f)) visit(f);
  assert.deepEqual(cycles, []);
});
