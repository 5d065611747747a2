/**
 * What the SFU's SVC forwarding parses: the VP9 payload descriptor (layer indices, U/D/Z, the
 * scalability structure) and the AV1 dependency descriptor with its template structure; round
 * trips through our serializers and seeded fuzzing (random and mutated bytes: a value or
 * ParseError, never another exception), also through SvcSource.inspect (never throws).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ParseError } from '../../src/core/errors.js';
import { SeededRandom } from '../../src/core/random.js';
import {
  parseVp9Descriptor,
  serializeVp9Descriptor,
  type Vp9Descriptor,
} from '../../src/media/payload/vp9.js';
import {
  type Dti,
  parseDependencyDescriptor,
  serializeDependencyDescriptor,
  type TemplateStructure,
  withActiveDecodeTargets,
} from '../../src/rtp/dependency-descriptor.js';
import type { RtpPacket } from '../../src/rtp/packet.js';
import { SvcSource } from '../../src/server/sfu/svc-layers.js';
import { AV1_STRUCTURE, Av1SvcPublisher, DD_EXT, Vp9SvcPublisher } from './svc-synthetic.js';

function randomVp9(r: SeededRandom): Vp9Descriptor {
  const flexible = r.int(2) === 1;
  const predicted = r.int(2) === 1;
  const layered = r.int(3) > 0;
  const ss = r.int(3);
  const n = 1 + r.int(8);
  return {
    interPicturePredicted: predicted,
    flexible,
    beginningOfFrame: r.int(2) === 1,
    endOfFrame: r.int(2) === 1,
    notUpperReference: r.int(2) === 1,
    ...(r.int(2) === 1 && { pictureId: r.int(0x8000) }),
    ...(layered && {
      temporalId: r.int(8),
      spatialId: r.int(8),
      switchingUp: r.int(2) === 1,
      interLayerDependency: r.int(2) === 1,
      ...(!flexible && { tl0PicIdx: r.int(256) }),
    }),
    pDiffs: flexible && predicted ? Array.from({ length: 1 + r.int(3) }, () => r.int(128)) : [],
    ...(ss === 1 && { spatialLayers: n }),
    ...(ss === 2 && {
      spatialLayers: n,
      resolutions: Array.from({ length: n }, () => ({ width: r.int(0x10000), height: r.int(0x10000) })),
    }),
  };
}

test('VP9 descriptor: random descriptors round-trip through serializeVp9Descriptor', () => {
  const r = new SeededRandom(9);
  for (let i = 0; i < 3000; i++) {
    const d = randomVp9(r);
    const header = serializeVp9Descriptor(d);
    const payload = new Uint8Array(header.length + 5);
    payload.set(header);
    const parsed = parseVp9Descriptor(payload);
    assert.equal(parsed.headerSize, header.length);
    assert.deepEqual(parsed.descriptor, d);
  }
  // The bits land where RFC 9628 §4.2 puts them: TID|U|SID|D.
  const one = serializeVp9Descriptor({
    interPicturePredicted: true,
    flexible: false,
    beginningOfFrame: true,
    endOfFrame: false,
    notUpperReference: false,
    temporalId: 2,
    spatialId: 1,
    switchingUp: true,
    interLayerDependency: true,
    tl0PicIdx: 7,
    pDiffs: [],
  });
  assert.deepEqual([...one], [0x68, (2 << 5) | 0x10 | (1 << 1) | 1, 7]);
});

function randomStructure(r: SeededRandom): TemplateStructure {
  const dt = 1 + r.int(6);
  const templates: TemplateStructure['templates'][number][] = [];
  let s = 0;
  let t = 0;
  const count = 1 + r.int(10);
  for (let i = 0; i < count; i++) {
    if (i > 0) {
      const step = r.int(3);
      if (step === 1) t++;
      else if (step === 2) {
        s++;
        t = 0;
      }
    }
    templates.push({ spatialId: s, temporalId: t, dtis: [], fdiffs: [], chainFdiffs: [] });
  }
  const chainCount = r.int(dt + 1);
  const full = templates.map((x) => ({
    ...x,
    dtis: Array.from({ length: dt }, () => r.int(4) as Dti),
    fdiffs: Array.from({ length: r.int(3) }, () => 1 + r.int(16)),
    chainFdiffs: Array.from({ length: chainCount }, () => r.int(16)),
  }));
  const decodeTargetLayers = Array.from({ length: dt }, (_, d) => {
    let ms = 0;
    let mt = 0;
    for (const x of full)
      if (x.dtis[d] !== 0) {
        ms = Math.max(ms, x.spatialId);
        mt = Math.max(mt, x.temporalId);
      }
    return { spatialId: ms, temporalId: mt };
  });
  return {
    templateIdOffset: r.int(64),
    decodeTargetCount: dt,
    templates: full,
    chainCount,
    decodeTargetProtectedBy: chainCount > 0 ? Array.from({ length: dt }, () => r.int(chainCount)) : [],
    decodeTargetLayers,
    ...(r.int(2) === 1 && {
      resolutions: Array.from({ length: s + 1 }, () => ({
        width: 1 + r.int(0xffff),
        height: 1 + r.int(0xffff),
      })),
    }),
  };
}

test('dependency descriptor: random structures and frames round-trip through the serializer', () => {
  const r = new SeededRandom(10);
  for (let i = 0; i < 800; i++) {
    const structure = randomStructure(r);
    const key = {
      startOfFrame: r.int(2) === 1,
      endOfFrame: r.int(2) === 1,
      templateId: (structure.templateIdOffset + r.int(structure.templates.length)) % 64,
      frameNumber: r.int(0x10000),
      structure,
    };
    const parsedKey = parseDependencyDescriptor(serializeDependencyDescriptor(key));
    assert.deepEqual(parsedKey.structure, structure);
    assert.equal(parsedKey.activeDecodeTargets, 2 ** structure.decodeTargetCount - 1);
    const index = (key.templateId + 64 - structure.templateIdOffset) % 64;
    assert.deepEqual(parsedKey.frame, structure.templates[index]);
    // A later frame described by the structure in force, with some decode targets switched off.
    const active = r.int(2 ** structure.decodeTargetCount);
    const delta = {
      startOfFrame: true,
      endOfFrame: false,
      templateId: (structure.templateIdOffset + r.int(structure.templates.length)) % 64,
      frameNumber: r.int(0x10000),
      activeDecodeTargets: active,
    };
    const parsed = parseDependencyDescriptor(serializeDependencyDescriptor(delta, structure), structure);
    assert.equal(parsed.activeDecodeTargets, active);
    assert.equal(parsed.frameNumber, delta.frameNumber);
    assert.deepEqual(
      parsed.frame,
      structure.templates[(delta.templateId + 64 - structure.templateIdOffset) % 64],
    );
    // Mandatory fields only: 3 bytes.
    assert.equal(
      serializeDependencyDescriptor({ ...delta, activeDecodeTargets: undefined } as never).length,
      3,
    );
  }
});

test('dependency descriptor: frames with custom DTIs, fdiffs and chains; active decode targets set by the SFU keep every other field', () => {
  const r = new SeededRandom(12);
  for (let i = 0; i < 800; i++) {
    const structure = randomStructure(r);
    const dtCount = structure.decodeTargetCount;
    const templateId = (structure.templateIdOffset + r.int(structure.templates.length)) % 64;
    const template = structure.templates[(templateId + 64 - structure.templateIdOffset) % 64]!;
    const custom = {
      ...(r.int(2) === 1 && { dtis: Array.from({ length: dtCount }, () => r.int(4) as Dti) }),
      // Sizes 1 to 3 (4, 8 and 12 bits), and none at all.
      ...(r.int(2) === 1 && {
        fdiffs: Array.from({ length: r.int(4) }, () => 1 + r.int([16, 256, 4096][r.int(3)]!)),
      }),
      ...(r.int(2) === 1 && { chainFdiffs: Array.from({ length: structure.chainCount }, () => r.int(256)) }),
    };
    const keyframe = r.int(3) === 0;
    const sent = r.int(3) === 0 ? r.int(2 ** dtCount) : undefined;
    const d = {
      startOfFrame: r.int(2) === 1,
      endOfFrame: r.int(2) === 1,
      templateId,
      frameNumber: r.int(0x10000),
      ...(keyframe && { structure }),
      ...(sent !== undefined && { activeDecodeTargets: sent }),
    };
    const bytes = serializeDependencyDescriptor(d, structure, custom);
    const parsed = parseDependencyDescriptor(bytes, structure);
    const frame = {
      spatialId: template.spatialId,
      temporalId: template.temporalId,
      dtis: custom.dtis ?? template.dtis,
      fdiffs: custom.fdiffs ?? template.fdiffs,
      chainFdiffs: custom.chainFdiffs ?? template.chainFdiffs,
    };
    assert.deepEqual(parsed.frame, frame);
    assert.equal(parsed.frameNumber, d.frameNumber);
    // The SFU's mask, ANDed with the sender's where it sent one.
    const mask = r.int(2 ** dtCount);
    const rewritten = withActiveDecodeTargets(bytes, structure, mask);
    const again = parseDependencyDescriptor(rewritten, keyframe ? undefined : structure);
    const { activeDecodeTargets: _a, ...rest } = again;
    const { activeDecodeTargets: _b, ...restBefore } = keyframe ? parseDependencyDescriptor(bytes) : parsed;
    assert.deepEqual(rest, restBefore, 'every field but the mask unchanged');
    const senderMask = sent !== undefined ? sent : 2 ** dtCount - 1;
    assert.equal(again.activeDecodeTargets, (mask & senderMask) >>> 0);
    assert.ok(rewritten.length <= bytes.length + 1 + Math.ceil(dtCount / 8), 'no stray bytes');
  }
  // Without a structure known nothing can be written: the bytes come back as they were.
  const bare = serializeDependencyDescriptor({
    startOfFrame: true,
    endOfFrame: true,
    templateId: 1,
    frameNumber: 9,
  });
  assert.equal(withActiveDecodeTargets(bare, undefined, 1), bare);
  // Malformed bytes: a typed error.
  assert.throws(() => withActiveDecodeTargets(Uint8Array.of(0x80, 1), AV1_STRUCTURE, 1), ParseError);
});

test('SVC parsers fuzzed: random and mutated VP9 descriptors, dependency descriptors and RTP packets', () => {
  const r = new SeededRandom(11);
  const seeds: Uint8Array[] = [];
  for (let i = 0; i < 50; i++) seeds.push(Uint8Array.of(...serializeVp9Descriptor(randomVp9(r)), 1, 2, 3));
  const dd: Uint8Array[] = [];
  for (let i = 0; i < 50; i++) {
    const s = randomStructure(r);
    dd.push(
      serializeDependencyDescriptor({
        startOfFrame: true,
        endOfFrame: true,
        templateId: s.templateIdOffset,
        frameNumber: i,
        structure: s,
      }),
    );
  }
  const vp9 = new Vp9SvcPublisher(1, 0, 0);
  const av1 = new Av1SvcPublisher(2, 0, 0);
  const packets: RtpPacket[] = [];
  for (let i = 0; i < 8; i++)
    packets.push(...vp9.nextPicture().map((p) => p.packet), ...av1.nextPicture().map((p) => p.packet));
  const mutate = (from: readonly Uint8Array[]): Uint8Array => {
    if (r.int(4) === 0) return r.bytes(r.int(40));
    const input = Uint8Array.from(from[r.int(from.length)]!);
    for (let k = 0; k < 1 + r.int(3); k++) if (input.length > 0) input[r.int(input.length)] = r.u32() & 0xff;
    return r.int(4) === 0 ? input.subarray(0, r.int(input.length + 1)) : input;
  };
  const expectParse = (f: () => unknown): number => {
    try {
      f();
      return 1;
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      return 0;
    }
  };
  let ok = 0;
  const vp9Source = new SvcSource('vp9');
  const av1Source = new SvcSource('av1', DD_EXT);
  for (let i = 0; i < 4000; i++) {
    ok += expectParse(() => parseVp9Descriptor(mutate(seeds)));
    expectParse(() => parseDependencyDescriptor(mutate(dd)));
    expectParse(() => parseDependencyDescriptor(mutate(dd), AV1_STRUCTURE));
    // The SFU's reader never throws: a value or undefined (forward whole).
    const p = packets[r.int(packets.length)]!;
    const payload = mutate([p.payload]);
    const ext = p.extensions[0] ? [{ id: DD_EXT, data: mutate([p.extensions[0].data]) }] : [];
    const q = { ...p, payload, extensions: ext };
    vp9Source.inspect(q, 100, i);
    av1Source.inspect(q, 100, i);
  }
  assert.ok(ok > 1000, `${ok} VP9 descriptors parsed`);
  assert.ok(vp9Source.malformed > 0 && av1Source.malformed > 0);
});
