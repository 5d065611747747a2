import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../core/random.js';
import type { RtpPacket } from '../rtp/packet.js';
import { PacketHistory } from './send-history.js';

const between = (r: SeededRandom, lo: number, hi: number): number => lo + r.int(hi - lo + 1);

function packet(r: SeededRandom, seq: number): RtpPacket {
  const withProfile = r.float() < 0.5;
  return {
    marker: r.float() < 0.5,
    payloadType: between(r, 0, 127),
    sequenceNumber: seq,
    timestamp: between(r, 0, 2 ** 32 - 1),
    ssrc: between(r, 1, 2 ** 32 - 1),
    csrcs: r.float() < 0.2 ? [between(r, 0, 2 ** 32 - 1)] : [],
    ...(withProfile && { extensionProfile: r.float() < 0.5 ? 0xbede : 0x1000 }),
    extensions: withProfile ? [{ id: between(r, 1, 14), data: Uint8Array.of(between(r, 0, 255)) }] : [],
    ...(r.float() < 0.1 && { extensionData: Uint8Array.of(1, 2, 3, 4) }),
    payload: new Uint8Array(between(r, 0, 40)).map(() => between(r, 0, 255)),
    paddingSize: r.float() < 0.1 ? between(r, 1, 255) : 0,
  };
}

test('PacketHistory gives back every field of the last `size` packets, across a sequence wrap', () => {
  const r = new SeededRandom(7);
  const h = new PacketHistory(16);
  const sent: RtpPacket[] = [];
  for (let i = 0; i < 40; i++) {
    const p = packet(r, (65520 + i) & 0xffff);
    h.add(p);
    sent.push(p);
  }
  for (const [i, p] of sent.entries()) {
    const got = h.get(p.sequenceNumber);
    if (i < sent.length - 16) assert.equal(got, undefined, `packet ${p.sequenceNumber} evicted`);
    else {
      assert.deepEqual(got, p);
      assert.equal(got!.payload, p.payload, 'the payload is the same view, not a copy');
    }
  }
  // A slot reused by another sequence number does not answer for the old one.
  assert.equal(h.get((65520 + 39 - 16) & 0xffff), undefined);
  assert.equal(h.get(12345), undefined);
  assert.throws(() => new PacketHistory(12), RangeError);
});

test('PacketHistory.addForwarded: header fields kept, payload, CSRCs and raw extensions from the source', () => {
  const r = new SeededRandom(9);
  const h = new PacketHistory(16);
  // Sources: (ssrc, seq) -> the packet a forwarded one was made from.
  const sources = new Map<string, RtpPacket>();
  const source = (ssrc: number, seq: number): RtpPacket | undefined => sources.get(`${ssrc}/${seq}`);
  const sent: RtpPacket[] = [];
  for (let i = 0; i < 40; i++) {
    const from = packet(r, between(r, 0, 0xffff));
    const srcSsrc = between(r, 1, 2 ** 32 - 1);
    sources.set(`${srcSsrc}/${from.sequenceNumber}`, from);
    // Ours: our header fields over the source's payload, CSRCs, extension profile and raw block.
    const p: RtpPacket = {
      ...packet(r, (65520 + i) & 0xffff),
      csrcs: from.csrcs,
      payload: from.payload,
      paddingSize: 0,
      ...(from.extensionProfile !== undefined ? { extensionProfile: from.extensionProfile } : {}),
    };
    const ours = { ...p } as { -readonly [K in keyof RtpPacket]: RtpPacket[K] };
    delete ours.extensionData;
    if (from.extensionProfile === undefined) delete ours.extensionProfile;
    if (from.extensionData !== undefined) ours.extensionData = from.extensionData;
    h.addForwarded(ours, srcSsrc, from.sequenceNumber);
    sent.push(ours);
  }
  for (const [i, p] of sent.entries()) {
    const got = h.get(p.sequenceNumber, source);
    if (i < sent.length - 16) assert.equal(got, undefined, `packet ${p.sequenceNumber} evicted`);
    else {
      assert.deepEqual(got, p);
      assert.equal(h.get(p.sequenceNumber), undefined, 'nothing without the source');
    }
  }
  // The source no longer has it: no answer.
  sources.clear();
  assert.equal(h.get(sent.at(-1)!.sequenceNumber, source), undefined);
  // A plain add over a forwarded slot keeps its own references again.
  const plain = packet(r, sent.at(-1)!.sequenceNumber);
  h.add(plain);
  assert.deepEqual(h.get(plain.sequenceNumber), plain);
});
