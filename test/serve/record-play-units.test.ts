/**
 * `rtcstack record` / `rtcstack play` without a browser: flag parsing (errors before anything
 * starts), the progress line, media sources, and the Node participant negotiating through a real
 * in-process `rtcstack serve` with another Node participant (perfect negotiation, glare, tracks,
 * frames recorded to WebM), and leaving a room that goes into SFU mode.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { parsePlayArgs } from '../../src/cli/commands/play.js';
import { parseRecordArgs } from '../../src/cli/commands/record.js';
import { splitFlags } from '../../src/cli/flags.js';
import {
  type MediaSource,
  openIvfStream,
  openSource,
  type TimedFrame,
} from '../../src/cli/participant/media-source.js';
import { Participant } from '../../src/cli/participant/participant.js';
import { Player } from '../../src/cli/participant/player.js';
import { formatProgress, ProgressLine } from '../../src/cli/participant/progress.js';
import { RoomRecorder, safeName } from '../../src/cli/participant/room-recorder.js';
import { signalingUrl } from '../../src/cli/participant/signaling.js';
import { SystemClock } from '../../src/core/clock.js';
import { serializeIvf } from '../../src/media/container/ivf.js';
import type { ServeHandle } from '../../src/server/serve.js';
import type { SfuBackend } from '../../src/server/signaling/sfu-backend.js';
import { waitFor } from '../helpers/wait.js';
import { startTestServer } from './helpers.js';

const URL_FLAGS = ['--url', 'ws://127.0.0.1:9', '--room', 'r1'];

describe('record/play flags', () => {
  test('record: defaults, --flag=value, and each error named', () => {
    const ok = parseRecordArgs([...URL_FLAGS, '--duration=2.5', '--out', '/tmp/x', '--name', 'rec one']);
    assert.ok(typeof ok !== 'string');
    assert.equal(ok.url, 'ws://127.0.0.1:9/ws');
    assert.equal(ok.room, 'r1');
    assert.equal(ok.durationSec, 2.5);
    assert.equal(ok.out, '/tmp/x');
    assert.equal(ok.name, 'rec one');
    const d = parseRecordArgs(URL_FLAGS);
    assert.ok(typeof d !== 'string');
    assert.equal(d.name, 'recorder');
    assert.equal(d.durationSec, undefined);
    const bad: [string[], RegExp][] = [
      [['--room', 'r'], /--url is required/],
      [['--url', 'ws://h:1'], /--room is required/],
      [['--url', 'ftp://h', '--room', 'r'], /--url: needs ws/],
      [['--url', 'nope', '--room', 'r'], /--url: not a URL/],
      [[...URL_FLAGS, '--room', 'x'], /--room: given twice/],
      [['--url', 'ws://h:1', '--room', 'a b'], /--room: 1-64 characters/],
      [[...URL_FLAGS, '--duration', '0'], /--duration: seconds/],
      [[...URL_FLAGS, '--duration', 'soon'], /--duration: seconds/],
      [[...URL_FLAGS, '--duration'], /--duration: needs a value/],
      [[...URL_FLAGS, '--loop'], /unknown flag '--loop'/],
      [[...URL_FLAGS, 'file.ivf'], /unexpected argument 'file.ivf'/],
      [[...URL_FLAGS, '--name', 'x'.repeat(65)], /--name: at most 64/],
      [[...URL_FLAGS, '--name', 'a\u0007b'], /no control characters/],
    ];
    for (const [argv, re] of bad) {
      const r = parseRecordArgs(argv);
      assert.equal(typeof r, 'string', argv.join(' '));
      assert.match(r as string, re);
    }
  });

  test('play: files, --loop, --fps, and each error named', () => {
    const ok = parsePlayArgs(['a.ivf', ...URL_FLAGS, 'b.ogg', '--loop', '--fps', '25']);
    assert.ok(typeof ok !== 'string');
    assert.deepEqual(ok.files, ['a.ivf', 'b.ogg']);
    assert.equal(ok.loop, true);
    assert.equal(ok.fps, 25);
    assert.equal(ok.name, 'player');
    const stdin = parsePlayArgs(['-', ...URL_FLAGS]);
    assert.ok(typeof stdin !== 'string');
    assert.deepEqual(stdin.files, ['-']);
    const bad: [string[], RegExp][] = [
      [URL_FLAGS, /no FILE/],
      [['a', 'b', 'c', ...URL_FLAGS], /at most two files/],
      [['-', '-', ...URL_FLAGS], /stdin\) can be given once/],
      [['-', '--loop', ...URL_FLAGS], /--loop cannot repeat a stream/],
      [['a.ivf', '--fps', '0', ...URL_FLAGS], /--fps: a frame rate/],
      [['a.ivf', '--loop=yes', ...URL_FLAGS], /--loop: takes no value/],
      [['a.ivf', '--out', 'x', ...URL_FLAGS], /unknown flag '--out'/],
    ];
    for (const [argv, re] of bad) assert.match(parsePlayArgs(argv) as string, re, argv.join(' '));
  });

  test('split: -- ends the flags, http:// URLs become the /ws endpoint, safe file names', () => {
    const a = splitFlags(['--x', '1', '--', '--y'], ['--x'], []);
    assert.ok(typeof a !== 'string');
    assert.deepEqual(a.positionals, ['--y']);
    assert.equal((signalingUrl('https://example.org') as URL).href, 'wss://example.org/ws');
    assert.equal((signalingUrl('ws://h:1/custom') as URL).href, 'ws://h:1/custom');
    assert.equal(safeName('Ann Lee/../x'), 'Ann_Lee_.._x');
    assert.equal(safeName('...'), 'peer');
  });
});

describe('progress line', () => {
  const figures = {
    seconds: 3.25,
    participants: 2,
    connected: 1,
    videoFrames: 90,
    audioFrames: 150,
    bytes: 2048,
  };
  test('format', () => {
    assert.equal(
      formatProgress('record', figures),
      'record 3.3s  participants 1/2  video 90 frames  audio 150 frames  2.0 KiB',
    );
    assert.match(
      formatProgress('play', { ...figures, bytes: 5 * 1024 * 1024, note: 'pass 2' }),
      /5\.0 MiB {2}pass 2$/,
    );
  });
  test('a terminal gets one line rewritten; a file gets a line per period', () => {
    const tty: string[] = [];
    const p = new ProgressLine({ isTTY: true, write: (s) => tty.push(s) }, 5000);
    p.update('a', 0);
    p.update('b', 100);
    p.message('hello');
    assert.deepEqual(tty, ['\r\x1b[2Ka', '\r\x1b[2Kb', '\r\x1b[2Khello\n']);
    const log: string[] = [];
    const q = new ProgressLine({ isTTY: false, write: (s) => log.push(s) }, 5000);
    q.update('a', 0);
    q.update('b', 4999);
    q.update('c', 5000);
    q.finish('done');
    assert.deepEqual(log, ['a\n', 'c\n', 'done\n']);
  });
});

describe('media sources', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rtcs-play-src-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const ivfHeader = {
    fourcc: 'VP80',
    width: 16,
    height: 16,
    timebaseRate: 30,
    timebaseScale: 1,
    frameCount: 3,
  };
  const ivfFrames = [0, 1, 2].map((i) => ({ timestamp: i, data: Uint8Array.of(i ? 1 : 0, i, 0, 0) }));

  async function collect(src: MediaSource, loop: boolean, max: number): Promise<TimedFrame[]> {
    const out: TimedFrame[] = [];
    for await (const f of src.frames(loop)) {
      out.push(f);
      if (out.length >= max) break;
    }
    return out;
  }

  test('IVF file: times from the timebase; a loop shifts each pass by the duration', async () => {
    const file = join(dir, 'a.ivf');
    writeFileSync(file, serializeIvf(ivfHeader, ivfFrames));
    const src = openSource(file, { fps: 30 });
    assert.equal(src.kind, 'video');
    assert.equal(src.codec, 'vp8');
    const once = await collect(src, false, 100);
    assert.deepEqual(
      once.map((f) => Math.round(f.ms)),
      [0, 33, 67],
    );
    const looped = await collect(src, true, 7);
    assert.deepEqual(
      looped.map((f) => [Math.round(f.ms), f.pass]),
      [
        [0, 0],
        [33, 0],
        [67, 0],
        [100, 1],
        [133, 1],
        [167, 1],
        [200, 2],
      ],
    );
  });

  test('unreadable, unknown and wrong-codec files are refused with the file named', () => {
    assert.throws(
      () => openSource(join(dir, 'missing.ivf'), { fps: 30 }),
      /missing\.ivf: cannot read \(ENOENT\)/,
    );
    writeFileSync(join(dir, 'x.bin'), 'hello world');
    assert.throws(
      () => openSource(join(dir, 'x.bin'), { fps: 30 }),
      /x\.bin: not an IVF, Ogg\/Opus or H\.264/,
    );
    writeFileSync(join(dir, 'h.ivf'), serializeIvf({ ...ivfHeader, fourcc: 'H264' }, ivfFrames));
    assert.throws(() => openSource(join(dir, 'h.ivf'), { fps: 30 }), /fourcc H264/);
    writeFileSync(join(dir, 't.ivf'), serializeIvf(ivfHeader, ivfFrames).subarray(0, 40));
    assert.throws(() => openSource(join(dir, 't.ivf'), { fps: 30 }), /t\.ivf: ivf: cannot parse/);
  });

  test('IVF stream: the header first (codec), then frames as they arrive, split across chunks', async () => {
    const bytes = serializeIvf({ ...ivfHeader, fourcc: 'VP90' }, ivfFrames);
    const stream = new PassThrough();
    stream.write(bytes.subarray(0, 20));
    const opening = openIvfStream(stream, 'feed');
    stream.write(bytes.subarray(20, 50));
    const src = await opening;
    assert.equal(src.codec, 'vp9');
    for (let i = 50; i < bytes.length; i += 7) stream.write(bytes.subarray(i, i + 7));
    stream.end();
    const frames = await collect(src, false, 100);
    assert.equal(frames.length, 3);
    assert.deepEqual([...frames[2]!.data], [...ivfFrames[2]!.data]);
    await assert.rejects(
      openIvfStream(PassThroughEnded(Buffer.from('DKIF')), 'feed'),
      /feed: the stream ended before/,
    );
  });
});

function PassThroughEnded(data: Uint8Array): PassThrough {
  const s = new PassThrough();
  s.end(data);
  return s;
}

/** A VP8 keyframe header (RFC 6386 §9.1) padded out; receivers here assemble, nobody decodes. */
function vp8Frame(key: boolean, n: number): Uint8Array {
  const b = new Uint8Array(300).fill(n & 0xff);
  b.set(key ? [0x50, 0x01, 0x00, 0x9d, 0x01, 0x2a, 0x10, 0x00, 0x10, 0x00] : [0x51, 0x01, 0x00]);
  return b;
}

/** A synthetic source: 30 fps VP8 (keyframe every 15) or 20 ms Opus packets, endless. */
function synthetic(kind: 'audio' | 'video'): MediaSource {
  return {
    kind,
    codec: kind === 'video' ? 'vp8' : 'opus',
    label: `synthetic ${kind}`,
    async *frames() {
      for (let i = 0; ; i++) {
        if (kind === 'video') yield { data: vp8Frame(i % 15 === 0, i), ms: (i * 1000) / 30 };
        else yield { data: Uint8Array.of(0xfc, 0xff, 0xfe, i & 0xff), ms: i * 20 };
      }
    },
  };
}

const PEER_OPTS = { includeLoopback: true, ipv6: false };

/** A receive-only participant recording to `out` (mesh and SFU). */
function recordingParticipant(server: ServeHandle, room: string, out: string, firstOfferWaitMs?: number) {
  const recorder = new RoomRecorder(out);
  const p = new Participant({
    url: server.wsUrl,
    room,
    name: 'rec',
    peerOptions: PEER_OPTS,
    sfu: true,
    ...(firstOfferWaitMs !== undefined && { firstOfferWaitMs }),
    setup: (pc) => {
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
    },
  });
  p.on('track', (peer, ev, group) => recorder.onTrack(peer, ev, group));
  return { recorder, p };
}

/** A participant sending synthetic VP8 and Opus from its first connection on (mesh and SFU). */
function playingParticipant(server: ServeHandle, room: string, firstOfferWaitMs?: number) {
  const player = new Player([synthetic('video'), synthetic('audio')], false);
  const p = new Participant({
    url: server.wsUrl,
    room,
    name: 'play',
    peerOptions: PEER_OPTS,
    sfu: true,
    publish: (pc) => player.attach(pc),
    ...(firstOfferWaitMs !== undefined && { firstOfferWaitMs }),
    setup: (pc) => player.attach(pc),
  });
  p.on('state', (c, s) => {
    if (s === 'connected' && !(c.kind === 'sfu' && c.pc === 'sub')) void player.start();
  });
  return { player, p };
}

async function stopAll(player: Player, recorder: RoomRecorder, participants: Participant[]): Promise<void> {
  player.stop();
  recorder.close();
  for (const p of participants) await p.close();
}

describe('Node participants through rtcstack serve', () => {
  let server: ServeHandle;
  let dir: string;
  before(async () => {
    server = await startTestServer({ sfu: false }, { clock: new SystemClock() });
    dir = mkdtempSync(join(tmpdir(), 'rtcs-rec-units-'));
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const recorderIn = (room: string, out: string, firstOfferWaitMs?: number) =>
    recordingParticipant(server, room, out, firstOfferWaitMs);
  const playerIn = (room: string, firstOfferWaitMs?: number) =>
    playingParticipant(server, room, firstOfferWaitMs);

  for (const glare of [false, true]) {
    test(`player and recorder connect${glare ? ' offering at once (glare)' : ''}; frames land in a WebM file`, async () => {
      const out = mkdtempSync(join(dir, 'out-'));
      const room = glare ? 'glare' : 'plain';
      // firstOfferWaitMs 0: the polite end does not wait for the other's offer either.
      const wait = glare ? 0 : undefined;
      const { player, p: pp } = playerIn(room, wait);
      const { recorder, p: rp } = recorderIn(room, out, wait);
      try {
        await pp.join();
        await rp.join();
        await waitFor(
          () => recorder.totals().videoFrames > 20 && recorder.totals().audioFrames > 30,
          'frames recorded',
        );
        assert.equal(pp.peers().length, 1);
        assert.equal(rp.peers().length, 1);
        assert.equal(rp.peers()[0]!.peer.name, 'play');
        assert.equal(rp.peers()[0]!.link.pc.connectionState, 'connected');
        // Receive-only: the recorder sends no media; the player receives none.
        const sent = [...(await rp.peers()[0]!.link.pc.getStats()).values()].filter(
          (s) => s.type === 'outbound-rtp',
        );
        assert.equal(sent.length, 0);
        assert.ok(player.figures().videoFrames > 20);
      } finally {
        await stopAll(player, recorder, [pp, rp]);
      }
      const files = readdirSync(out);
      assert.equal(files.length, 1);
      assert.match(files[0]!, /^play-p[A-Za-z0-9_-]+\.webm$/);
      const bytes = readFileSync(join(out, files[0]!));
      assert.deepEqual([...bytes.subarray(0, 4)], [0x1a, 0x45, 0xdf, 0xa3]);
      assert.equal(recorder.recordings[0]!.bytes, bytes.length);
    });
  }

  test('a dropped signaling connection is resumed: same peer id, the media carries on', async () => {
    const out = mkdtempSync(join(dir, 'resume-'));
    const { player, p: pp } = playerIn('resume');
    const { recorder, p: rp } = recorderIn('resume', out);
    try {
      await pp.join();
      await rp.join();
      await waitFor(() => recorder.totals().videoFrames > 10, 'frames recorded');
      const id = rp.peerId;
      const link = rp.peers()[0]!.link;
      rp.signaling.dropConnection();
      await waitFor(() => rp.signaling.resumes === 1, 'resumed');
      assert.equal(rp.peerId, id);
      const before = recorder.totals().videoFrames;
      await waitFor(() => recorder.totals().videoFrames > before + 10, 'frames keep coming');
      assert.equal(rp.peers()[0]!.link, link, 'the same connection');
      assert.equal(pp.peers().length, 1, 'the player never saw us leave');
    } finally {
      await stopAll(player, recorder, [pp, rp]);
    }
  });

  test('leaving: the other participant sees peer-left and closes its link', async () => {
    const { p: a } = recorderIn('leave', dir);
    const { p: b } = recorderIn('leave', dir);
    try {
      await a.join();
      const joined = new Promise((r) => a.once('peer-joined', r));
      await b.join();
      await joined;
      const link = a.peers()[0]!.link;
      const left = new Promise((r) => a.once('peer-left', r));
      await b.close();
      await left;
      assert.equal(a.peers().length, 0);
      assert.equal(link.pc.connectionState, 'closed');
    } finally {
      await a.close();
      await b.close();
    }
  });
});

test('SFU mode: the player publishes through the SFU, the recorder records it from its subscribing connection', async () => {
  const server = await startTestServer(
    { sfu: true, sfuSwitchAt: 2, sfuBackAt: 1 },
    { clock: new SystemClock() },
  );
  const out = mkdtempSync(join(tmpdir(), 'rtcs-rec-sfu-'));
  const { player, p: pp } = playingParticipant(server, 'sfu');
  const { recorder, p: rp } = recordingParticipant(server, 'sfu', out);
  try {
    await pp.join();
    const w = await rp.join();
    assert.equal(w.mode, 'sfu');
    await waitFor(
      () => recorder.totals().videoFrames > 20 && recorder.totals().audioFrames > 30,
      'frames recorded',
      60_000,
    );
    assert.equal(pp.mode, 'sfu');
    assert.deepEqual(rp.counts(), { participants: 1, connected: 1 });
    assert.equal(rp.peers().length, 0, 'no mesh links in SFU mode');
    assert.equal(recorder.recordings.length, 1);
    assert.equal(recorder.recordings[0]!.peer.name, 'play');
    assert.ok(player.figures().videoFrames > 20);
  } finally {
    await stopAll(player, recorder, [pp, rp]);
    await server.close();
  }
  const files = readdirSync(out);
  rmSync(out, { recursive: true, force: true });
  assert.equal(files.length, 1);
  assert.match(files[0]!, /^play-p[A-Za-z0-9_-]+\.webm$/);
});

test('without sfu: true, a room in SFU mode is reported and nothing connects', async () => {
  const sfu: SfuBackend = {
    attach() {},
    openRoom() {},
    closeRoom() {},
    addPeer() {},
    removePeer() {},
    handle() {},
    mute() {},
    close() {},
  };
  const server = await startTestServer(
    {},
    { clock: new SystemClock(), sfu, modePolicy: { switchAt: 2, backAt: 1 } },
  );
  const make = () =>
    new Participant({
      url: server.wsUrl,
      room: 'big',
      setup: () => {},
      peerOptions: { includeLoopback: true },
    });
  const a = make();
  const b = make();
  try {
    const sfuA = new Promise<void>((r) => a.once('sfu', r));
    await a.join();
    assert.equal(a.mode, 'mesh');
    const sfuB = new Promise<void>((r) => b.once('sfu', r));
    const w = await b.join();
    assert.equal(w.mode, 'sfu');
    await Promise.all([sfuA, sfuB]);
    assert.equal(a.peers().length, 0);
    assert.equal(b.peers().length, 0);
  } finally {
    await a.close();
    await b.close();
    await server.close();
  }
});

test('a refused join (token required) rejects with the server code', async () => {
  const server = await startTestServer({ open: false, secret: 'x'.repeat(32) }, { clock: new SystemClock() });
  const p = new Participant({ url: server.wsUrl, room: 'r', setup: () => {} });
  try {
    await assert.rejects(p.join(), /ERR_SIGNALING_TOKEN_REQUIRED/);
  } finally {
    await p.close();
    await server.close();
  }
});
