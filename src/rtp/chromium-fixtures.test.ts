/**
 * Real RTP from Chromium 156 (fake camera and microphone, Opus and VP8), decrypted by our SRTP in
 * src/srtp/chromium.test.ts and saved with RTCS_WRITE_FIXTURES=1: parse, extensions, round trip.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fromHex, toHex } from '../core/bytes.js';
import {
  EXT_ABS_SEND_TIME,
  EXT_AUDIO_LEVEL,
  EXT_MID,
  EXT_TRANSPORT_CC,
  EXT_VIDEO_ORIENTATION,
  findExtension,
  parseAbsSendTime,
  parseAudioLevel,
  parseRtp,
  parseSdesExtension,
  parseTransportCc,
  parseVideoOrientation,
  serializeRtp,
} from './index.js';

const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/chromium-rtp.json', import.meta.url), 'utf8'),
) as {
  sdp: string;
  packets: string[];
};
const extmap = new Map<string, number>();
for (const m of fixture.sdp.matchAll(/a=extmap:(\d+) (\S+)/g)) extmap.set(m[2]!, Number(m[1]));
const id = (uri: string): number => {
  const v = extmap.get(uri);
  assert.ok(v !== undefined, uri);
  return v;
};

test('Chromium RTP packets parse, carry the negotiated extensions and re-serialize byte for byte', () => {
  const packets = fixture.packets.map((h) => fromHex(h));
  assert.ok(packets.length >= 100);
  const mids = new Set<string>();
  const twcc: number[] = [];
  const bySsrc = new Map<number, number[]>();
  let orientation = 0;
  let levels = 0;
  for (const bytes of packets) {
    const p = parseRtp(bytes);
    assert.equal(toHex(serializeRtp(p)), toHex(bytes));
    assert.equal(p.extensionProfile, 0xbede, 'Chromium uses one-byte extensions here');
    assert.ok([111, 96].includes(p.payloadType), `payload type ${p.payloadType}`);
    const mid = findExtension(p, id(EXT_MID));
    if (mid) mids.add(parseSdesExtension(mid));
    twcc.push(parseTransportCc(findExtension(p, id(EXT_TRANSPORT_CC))!));
    assert.ok(parseAbsSendTime(findExtension(p, id(EXT_ABS_SEND_TIME))!) >= 0);
    const level = findExtension(p, id(EXT_AUDIO_LEVEL));
    if (p.payloadType === 111 && level) {
      assert.ok(parseAudioLevel(level).level <= 127);
      levels++;
    }
    const cvo = findExtension(p, id(EXT_VIDEO_ORIENTATION));
    if (cvo) {
      assert.equal(parseVideoOrientation(cvo).rotation, 0, 'the fake camera is upright');
      orientation++;
    }
    bySsrc.set(p.ssrc, [...(bySsrc.get(p.ssrc) ?? []), p.sequenceNumber]);
  }
  assert.deepEqual([...mids].sort(), ['0', '1']);
  assert.ok(levels > 10);
  assert.ok(orientation > 0, 'video orientation on key frames');
  // Transport-wide sequence numbers count every packet of both streams.
  const sorted = [...twcc].sort((a, b) => a - b);
  assert.equal(sorted[sorted.length - 1]! - sorted[0]!, sorted.length - 1);
  // Per SSRC, RTP sequence numbers increase by one in arrival order (loopback: no reordering).
  for (const seqs of bySsrc.values())
    for (let i = 1; i < seqs.length; i++) assert.equal((seqs[i]! - seqs[i - 1]! + 65536) % 65536, 1);
});
