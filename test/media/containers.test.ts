import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ParseError } from '../../src/core/errors.js';
import { SeededRandom } from '../../src/core/random.js';
import {
  avcConfigFromAnnexB,
  ivfCodec,
  keyframeSize,
  OggOpusWriter,
  oggCrc,
  opusPacketSamples,
  parseIvf,
  parseOgg,
  parseOggOpus,
  serializeIvf,
  splitAccessUnits,
  WebmWriter,
} from '../../src/media/container/index.js';
import { isKeyframe } from '../../src/media/payload/index.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import { decodeErrors, makeOpusClip, makeVideoClip, probeFrames } from './ffmpeg.js';

const dir = mkdtempSync(join(tmpdir(), 'rtcs-media-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function writeTo(file: string): { sink: (c: Uint8Array) => void; done: () => void } {
  const chunks: Uint8Array[] = [];
  return { sink: (c) => chunks.push(c), done: () => writeFileSync(file, Buffer.concat(chunks)) };
}

for (const codec of ['vp8', 'vp9', 'av1'] as const) {
  test(
    `IVF ${codec} from ffmpeg: read, keyframes, write back as IVF and WebM; ffprobe decodes all frames`,
    needs(PREREQS.ffmpeg),
    () => {
      const src = join(dir, `${codec}.ivf`);
      // libvpx clips are repeatable (the same bytes each run): keyframes exactly where forced.
      const repeatable = codec !== 'av1';
      makeVideoClip(codec, src, { frames: 40, gop: 20, repeatable });
      const { header, frames } = parseIvf(readFileSync(src));
      assert.equal(ivfCodec(header.fourcc), codec);
      assert.equal(frames.length, 40);
      const keys = frames.map((f) => isKeyframe(codec, f.data));
      const at = keys.flatMap((k, i) => (k ? [i] : []));
      if (repeatable) assert.deepEqual(at, [0, 20]);
      else assert.ok(keys[0] && at.length >= 2 && at.length <= 4, `keyframes at ${at}`);
      const ivfOut = join(dir, `${codec}-out.ivf`);
      writeFileSync(ivfOut, serializeIvf(header, frames));
      assert.equal(probeFrames(ivfOut).frames, 40);
      const webm = join(dir, `${codec}.webm`);
      const w = writeTo(webm);
      const writer = new WebmWriter(w.sink, [{ codec, width: header.width, height: header.height }]);
      const msPerTick = (1000 * header.timebaseScale) / header.timebaseRate;
      for (const [i, f] of frames.entries()) writer.writeFrame(1, f.timestamp * msPerTick, f.data, keys[i]!);
      writer.close();
      w.done();
      const probe = probeFrames(webm);
      assert.equal(probe.codec, codec);
      assert.equal(probe.frames, 40);
      assert.equal(decodeErrors(webm), '');
    },
  );
}

for (const codec of ['vp8', 'vp9'] as const) {
  test(
    `${codec} keyframes declare their picture size (what the WebM recorder writes)`,
    needs(PREREQS.ffmpeg),
    () => {
      const src = join(dir, `${codec}-size.ivf`);
      makeVideoClip(codec, src, { frames: 3, gop: 30, size: '352x144', repeatable: true });
      const { frames } = parseIvf(readFileSync(src));
      assert.deepEqual(keyframeSize(codec, frames[0]!.data), { width: 352, height: 144 });
      assert.equal(keyframeSize(codec, frames[1]!.data), undefined, 'a delta frame declares no size');
      assert.equal(keyframeSize('h264', frames[0]!.data), undefined);
      // Truncated or random bytes: a size or undefined, never an exception.
      const rnd = new SeededRandom(9);
      for (let i = 0; i < 500; i++) {
        const cut = frames[0]!.data.subarray(0, rnd.int(13));
        const noise = rnd.bytes(rnd.int(17));
        for (const b of [cut, noise]) {
          const r = keyframeSize(codec, b);
          assert.ok(r === undefined || (r.width > 0 && r.height > 0));
        }
      }
    },
  );
}

test(
  'H264 Annex-B from ffmpeg: access units, avcC, Matroska that ffprobe decodes',
  needs(PREREQS.ffmpeg),
  () => {
    const src = join(dir, 'clip.h264');
    makeVideoClip('h264', src, { frames: 30, gop: 15 });
    const aus = splitAccessUnits(readFileSync(src));
    assert.equal(aus.length, 30);
    assert.equal(isKeyframe('h264', aus[0]!), true);
    assert.equal(isKeyframe('h264', aus[1]!), false);
    const mkv = join(dir, 'h264.mkv');
    const w = writeTo(mkv);
    const writer = new WebmWriter(w.sink, [
      { codec: 'h264', width: 320, height: 240, codecPrivate: avcConfigFromAnnexB(aus[0]!)! },
    ]);
    for (const [i, au] of aus.entries()) writer.writeFrame(1, (i * 1000) / 30, au, isKeyframe('h264', au));
    writer.close();
    w.done();
    assert.deepEqual(probeFrames(mkv), { codec: 'h264', frames: 30 });
  },
);

test(
  'Ogg/Opus from ffmpeg: read packets, write back, ffprobe decodes; Opus into WebM too',
  needs(PREREQS.ffmpeg),
  () => {
    const src = join(dir, 'tone.ogg');
    makeOpusClip(src, 2);
    const { head, packets } = parseOggOpus(readFileSync(src));
    assert.equal(head.channels, 2);
    const samples = packets.reduce((s, p) => s + opusPacketSamples(p), 0);
    assert.ok(Math.abs(samples - 96000) <= 960 * 2, `samples ${samples}`);
    const out = join(dir, 'tone-out.ogg');
    const w = writeTo(out);
    const ogg = new OggOpusWriter(w.sink, { channels: 2, preSkip: head.preSkip });
    for (const p of packets) ogg.write(p);
    ogg.close();
    w.done();
    const probe = probeFrames(out, 'a:0');
    assert.equal(probe.codec, 'opus');
    assert.ok(probe.frames >= packets.length, `${probe.frames} frames`);
    assert.equal(decodeErrors(out), '');
    const webm = join(dir, 'tone.webm');
    const w2 = writeTo(webm);
    const writer = new WebmWriter(w2.sink, [{ codec: 'opus', channels: 2 }]);
    let t = 0;
    for (const p of packets) {
      writer.writeFrame(1, t / 48, p, true);
      t += opusPacketSamples(p);
    }
    writer.close();
    w2.done();
    assert.equal(probeFrames(webm, 'a:0').frames, packets.length);
  },
);

test('Ogg CRC and page parsing: a flipped byte fails the checksum; fuzz gives values or ParseError', () => {
  const chunks: Uint8Array[] = [];
  const w = new OggOpusWriter((c) => chunks.push(c));
  for (let i = 0; i < 5; i++) w.write(Uint8Array.of(0xfc, i, i + 1));
  w.close();
  const file = Buffer.concat(chunks);
  assert.equal(parseOgg(file).length, 2 + 5 + 1);
  assert.equal(oggCrc(new TextEncoder().encode('OggS')), oggCrc(new TextEncoder().encode('OggS')));
  const bad = Uint8Array.from(file);
  bad[40]! ^= 1;
  assert.throws(() => parseOgg(bad), ParseError);
  const rnd = new SeededRandom(3533);
  const ivf = serializeIvf(
    { fourcc: 'VP80', width: 1, height: 1, timebaseRate: 30, timebaseScale: 1, frameCount: 1 },
    [{ timestamp: 0, data: Uint8Array.of(1, 2, 3) }],
  );
  for (const [seed, parse] of [
    [file, parseOgg],
    [ivf, parseIvf],
    [file, parseOggOpus],
  ] as const) {
    for (let i = 0; i < 3000; i++) {
      const input = i % 3 === 0 ? rnd.bytes(rnd.int(80)) : Uint8Array.from(seed);
      if (i % 3) for (let k = 0; k < 1 + rnd.int(3); k++) input[rnd.int(input.length)] = rnd.u32() & 0xff;
      try {
        parse(input);
      } catch (err) {
        if (!(err instanceof ParseError)) throw err;
      }
    }
  }
});
