/** Pure parts of the browser library, run in Node: stats summaries and file reassembly. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { CHUNK_SIZE, FileReceiver, type FileRecord, sha256Hex } from '../../src/client/file-transfer.js';
import { IceRecovery } from '../../src/client/ice-recovery.js';
import { EMPTY_STATS, pathOf, summarize } from '../../src/client/stats.js';

function report(stats: Record<string, unknown>[]): RTCStatsReport {
  return new Map(stats.map((s) => [s.id as string, s])) as unknown as RTCStatsReport;
}

test('pathOf: the most indirect end names the path', () => {
  assert.equal(pathOf('host', 'host'), 'host');
  assert.equal(pathOf('host', 'prflx'), 'prflx');
  assert.equal(pathOf('srflx', 'prflx'), 'srflx');
  assert.equal(pathOf('relay', 'host'), 'relay');
  assert.equal(pathOf('host', 'relay'), 'relay');
  assert.equal(pathOf(null, null), null);
});

test('summarize: selected pair via the transport, RTT, bitrate and loss over the interval', () => {
  const base = (bytesReceived: number, packetsReceived: number, packetsLost: number, frames: number) =>
    report([
      { id: 'T1', type: 'transport', selectedCandidatePairId: 'CP2' },
      {
        id: 'CP1',
        type: 'candidate-pair',
        localCandidateId: 'L1',
        remoteCandidateId: 'R1',
        nominated: false,
      },
      {
        id: 'CP2',
        type: 'candidate-pair',
        localCandidateId: 'L2',
        remoteCandidateId: 'R1',
        currentRoundTripTime: 0.0234,
        bytesReceived,
        bytesSent: bytesReceived / 2,
      },
      {
        id: 'L1',
        type: 'local-candidate',
        candidateType: 'host',
        address: '10.0.0.1',
        port: 1,
        protocol: 'udp',
      },
      {
        id: 'L2',
        type: 'local-candidate',
        candidateType: 'relay',
        address: '203.0.113.1',
        port: 50000,
        protocol: 'udp',
      },
      {
        id: 'R1',
        type: 'remote-candidate',
        candidateType: 'srflx',
        address: '198.51.100.1',
        port: 4000,
        protocol: 'udp',
      },
      { id: 'V', type: 'inbound-rtp', kind: 'video', framesDecoded: frames, packetsReceived, packetsLost },
      { id: 'A', type: 'inbound-rtp', kind: 'audio', packetsReceived: 50, packetsLost: 0 },
    ]);
  const s1 = summarize(base(100_000, 900, 10, 30), EMPTY_STATS, 1000);
  assert.equal(s1.pathType, 'relay');
  assert.equal(s1.localCandidateType, 'relay');
  assert.equal(s1.remoteCandidateType, 'srflx');
  assert.equal(s1.rttMs, 23.4);
  assert.equal(s1.localAddress, '203.0.113.1:50000 (udp)');
  assert.equal(s1.framesDecoded, 30);
  assert.equal(s1.audioPacketsReceived, 50);
  assert.equal(s1.bitrateInKbps, 0, 'no rate without a previous sample');
  // One second later: 125 000 more bytes = 1000 kbps in, 500 out; 100 more packets, 10 more lost.
  const s2 = summarize(base(225_000, 1000, 20, 60), s1, 2000);
  assert.equal(s2.bitrateInKbps, 1000);
  assert.equal(s2.bitrateOutKbps, 500);
  assert.ok(Math.abs(s2.packetLoss - 10 / 110) < 1e-9);
  assert.equal(s2.framesDecoded, 60);
});

test('summarize: falls back to a nominated succeeded pair; nothing selected gives nulls', () => {
  const s = summarize(
    report([
      {
        id: 'CP',
        type: 'candidate-pair',
        localCandidateId: 'L',
        remoteCandidateId: 'R',
        nominated: true,
        state: 'succeeded',
      },
      { id: 'L', type: 'local-candidate', candidateType: 'host', address: '127.0.0.1', port: 1 },
      { id: 'R', type: 'remote-candidate', candidateType: 'prflx', address: '127.0.0.1', port: 2 },
    ]),
    EMPTY_STATS,
    5,
  );
  assert.equal(s.pathType, 'prflx');
  assert.equal(s.rttMs, null);
  const none = summarize(report([]), EMPTY_STATS, 5);
  assert.equal(none.pathType, null);
  assert.equal(none.framesDecoded, 0);
});

function chunks(data: Uint8Array): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (let o = 0; o < data.length; o += CHUNK_SIZE)
    out.push(data.slice(o, o + CHUNK_SIZE).buffer as ArrayBuffer);
  return out;
}

test('FileReceiver: reassembles, checks size and SHA-256, reports corruption', async () => {
  const data = new Uint8Array(randomBytes(100_000));
  const hash = createHash('sha256').update(data).digest('hex');
  assert.equal(await sha256Hex(data), hash);
  const done: FileRecord[] = [];
  let wake: () => void = () => {};
  const rx = new FileReceiver(
    'p1',
    (r) => {
      done.push(r);
      wake();
    },
    () => {},
  );
  const next = () => new Promise<void>((r) => (wake = r));
  let w = next();
  rx.handle(JSON.stringify({ t: 'start', id: 'f1', name: 'a.bin', size: data.length, sha256: hash }));
  for (const c of chunks(data)) rx.handle(c);
  rx.handle(JSON.stringify({ t: 'end', id: 'f1' }));
  await w;
  assert.equal(done[0]!.ok, true);
  assert.deepEqual(done[0]!.data, data);
  // One flipped byte: same size, wrong hash.
  w = next();
  const bad = data.slice();
  bad[500] = bad[500]! ^ 1;
  rx.handle(JSON.stringify({ t: 'start', id: 'f2', name: 'b.bin', size: data.length, sha256: hash }));
  for (const c of chunks(bad)) rx.handle(c);
  rx.handle(JSON.stringify({ t: 'end', id: 'f2' }));
  await w;
  assert.equal(done[1]!.ok, false);
  assert.match(done[1]!.error ?? '', /mismatch/);
  // More bytes than announced fails at once.
  w = next();
  rx.handle(JSON.stringify({ t: 'start', id: 'f3', name: 'c.bin', size: 10, sha256: hash }));
  rx.handle(new Uint8Array(20).buffer);
  await w;
  assert.equal(done[2]!.ok, false);
  // Garbage control frames and stray bytes are ignored.
  rx.handle('not json');
  rx.handle(new Uint8Array(5).buffer);
  assert.equal(done.length, 3);
});

/** Timers on a hand-driven clock for IceRecovery. */
function fakeTimers() {
  let now = 0;
  const due = new Map<number, { at: number; fn: () => void }>();
  let next = 1;
  return {
    setTimeout: (fn: () => void, ms: number) => {
      due.set(next, { at: now + ms, fn });
      return next++;
    },
    clearTimeout: (h: unknown) => void due.delete(h as number),
    /** Move time on by `ms`, running what falls due in order. */
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const first = [...due.entries()].sort((a, b) => a[1].at - b[1].at)[0];
        if (!first || first[1].at > end) break;
        due.delete(first[0]);
        now = first[1].at;
        first[1].fn();
      }
      now = end;
    },
    get pending() {
      return due.size;
    },
  };
}

test('IceRecovery: failed restarts at once; disconnected only after the grace period', () => {
  const t = fakeTimers();
  let restarts = 0;
  const r = new IceRecovery({ restart: () => restarts++, graceMs: 4000, retryMs: 5000, ...t });
  r.update('connecting');
  r.update('connected');
  r.update('disconnected');
  t.advance(3900);
  assert.equal(restarts, 0, 'a short loss is left alone');
  r.update('connected');
  t.advance(10_000);
  assert.equal(restarts, 0, 'it came back by itself: no restart');
  r.update('disconnected');
  t.advance(4000);
  assert.equal(restarts, 1, 'disconnected for the grace period: restart');
  r.update('connected');
  assert.equal(t.pending, 0, 'connected again: nothing scheduled');
  r.update('failed');
  assert.equal(restarts, 2, 'failed: restart at once');
  assert.equal(r.failures, 1);
  r.close();
  assert.equal(t.pending, 0, 'closed: no timer left');
});

test('IceRecovery: retries with a growing interval until connected, then starts over', () => {
  const t = fakeTimers();
  const at: number[] = [];
  let clock = 0;
  const r = new IceRecovery({
    restart: () => at.push(clock),
    retryMs: 5000,
    maxRetryMs: 20_000,
    setTimeout: t.setTimeout,
    clearTimeout: t.clearTimeout,
  });
  const step = (ms: number) => {
    for (let i = 0; i < ms / 100; i++) {
      clock += 100;
      t.advance(100);
    }
  };
  r.update('connected');
  r.update('failed');
  // A restart under way is not doubled by the failed state it passes through again.
  r.update('connecting');
  r.update('failed');
  step(60_000);
  assert.deepEqual(at, [0, 5000, 15_000, 35_000, 55_000], 'retries after 5, 10, 20, 20 s');
  r.update('connected');
  assert.equal(t.pending, 0);
  r.update('failed');
  step(5000);
  assert.deepEqual(at.slice(5), [60_000, 65_000], 'the interval starts over after a recovery');
  r.update('closed');
  step(60_000);
  assert.equal(at.length, 7, 'closed: no more restarts');
});
