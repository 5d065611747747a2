/**
 * The lean protect/unprotect path (keystream computed ahead per stream, HMAC from precomputed pads,
 * packets carved from slabs) gives the same bytes as the straightforward constructions.
 */
import assert from 'node:assert/strict';
import { createCipheriv, createHmac } from 'node:crypto';
import { test } from 'node:test';
import { toHex } from '../core/bytes.js';
import { SeededRandom } from '../core/random.js';
import { AesCmKeystream, AesCmStream } from './aes-cm.js';
import { HmacSha1 } from './hmac-sha1.js';
import { SRTP_PROFILES, SrtpContext, type SrtpProfileName } from './index.js';
import { PacketSlab, SLAB_HEADROOM } from './packet-slab.js';

const xor = (a: Uint8Array, b: Uint8Array): Uint8Array => a.map((x, i) => x ^ b[i]!);
const bytes = (r: SeededRandom, n: number): Uint8Array => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r.int(256);
  return b;
};

/** RFC 3711 §4.1.1 keystream of one packet through an aes-128-ctr cipher (the reference). */
function referenceKeystream(
  key: Uint8Array,
  salt: Uint8Array,
  ssrc: number,
  index: number,
  n: number,
): Uint8Array {
  const iv = new Uint8Array(16);
  iv.set(salt);
  const dv = new DataView(iv.buffer);
  dv.setUint32(4, dv.getUint32(4) ^ ssrc);
  dv.setUint16(8, dv.getUint16(8) ^ Math.floor(index / 2 ** 32));
  dv.setUint32(10, dv.getUint32(10) ^ (index >>> 0));
  return new Uint8Array(createCipheriv('aes-128-ctr', key, iv).update(new Uint8Array(n)));
}

/** A protecting and an unprotecting context of profile `name` on one random master key. */
function contextPair(r: SeededRandom, name: SrtpProfileName): { tx: SrtpContext; rx: SrtpContext } {
  const p = SRTP_PROFILES[name];
  const master = { key: bytes(r, p.keyLength), salt: bytes(r, p.saltLength) };
  return { tx: new SrtpContext(p, master), rx: new SrtpContext(p, master) };
}

/** A seeded AES-CM stream (random key and salt) and a slab to write its packets into. */
function streamSetup(seed: number, ssrc: number) {
  const r = new SeededRandom(seed);
  const key = bytes(r, 16);
  const salt = bytes(r, 14);
  return {
    r,
    key,
    salt,
    stream: new AesCmStream(new AesCmKeystream(key), salt, ssrc),
    slab: new PacketSlab(),
  };
}

test('AesCmStream matches per-packet AES-CTR for in-order, lossy, reordered, late and long packets', () => {
  const ssrc = 0xdeadbeef;
  const { r, key, salt, stream, slab } = streamSetup(9, ssrc);
  let index = 65_530; // crosses a sequence wrap
  for (let i = 0; i < 600; i++) {
    const roll = r.int(20);
    if (roll === 0)
      index += 1 + r.int(40); // loss
    else if (roll === 1)
      index -= 1 + r.int(30); // late packet
    else if (roll === 2)
      index = 2 ** 40 + r.int(1000); // far jump (high index bits)
    else index++;
    const n = roll === 3 ? 5000 + r.int(3000) : r.int(1400);
    const at = slab.reserve(n + 3) + (roll === 4 ? 1 : 0); // sometimes unaligned
    slab.bytes.fill(0, at, at + n);
    stream.apply(index, slab.bytes, slab.words, at, n);
    assert.equal(
      toHex(slab.bytes.subarray(at, at + n)),
      toHex(referenceKeystream(key, salt, ssrc, index, n)),
      `packet ${i} index ${index} length ${n}`,
    );
  }
});

test('AesCmStream.decryptInto writes header and payload XOR keystream into the keystream, each index once', () => {
  const ssrc = 0x01020304;
  const { r, key, salt, stream, slab } = streamSetup(21, ssrc);
  const held: [Uint8Array, string][] = [];
  let index = 65_520;
  let fast = 0;
  for (let i = 0; i < 500; i++) {
    const roll = r.int(20);
    if (roll === 0) index += 1 + r.int(40);
    else if (roll === 1) index -= 1 + r.int(30);
    else if (roll !== 2) index++; // roll 2: the same index again
    const h = 12 + 4 * r.int(roll === 3 ? 30 : 14); // up to 128 bytes: some longer than HEADER_ROOM
    const n = roll === 4 ? 5000 + r.int(500) : r.int(1300);
    const at = slab.reserve(h + n, h) + h;
    const src = slab.bytes;
    const pkt = bytes(r, h + n);
    src.set(pkt, at - h);
    const want =
      toHex(pkt.subarray(0, h)) + toHex(xor(pkt.subarray(h), referenceKeystream(key, salt, ssrc, index, n)));
    const o = stream.decryptInto(index, src, slab.words, at, h, n);
    if (h > 64 || n === 0 || n > 4096) assert.equal(o, -1, 'header past the room, empty or long');
    if (o >= 0) {
      fast++;
      const out = stream.bytes.subarray(o, o + h + n);
      assert.equal(toHex(out), want, `packet ${i} index ${index}`);
      assert.equal(toHex(src.subarray(at - h, at + n)), toHex(pkt), 'the source is left as it was');
      held.push([out, want]);
      assert.equal(stream.decryptInto(index, src, slab.words, at, h, n), -1, 'an index is decrypted once');
    } else {
      // Also late packets and indices already decrypted (a repeat, or in-order ones after a late one).
      assert.equal(toHex(src.subarray(at - h, at + n)), toHex(pkt), 'nothing touched');
      stream.apply(index, src, slab.words, at, n); // the caller's fallback: in place
      assert.equal(toHex(src.subarray(at - h, at + n)), want, `packet ${i} index ${index} in place`);
    }
  }
  assert.ok(fast > 200, `packets decrypted into the keystream (${fast} of 500)`);
  for (const [out, want] of held) assert.equal(toHex(out), want, 'earlier packets stay intact');
});

test('unprotectRtp: headers of every length, late, lost and long packets, all outputs kept', () => {
  const r = new SeededRandom(23);
  for (const name of ['SRTP_AES128_CM_HMAC_SHA1_80', 'SRTP_AES128_CM_HMAC_SHA1_32'] as SrtpProfileName[]) {
    const { tx, rx } = contextPair(r, name);
    const plain: Uint8Array[] = [];
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 400; i++) {
      const ext = r.int(3) === 0 ? 0 : 1 + r.int(r.int(4) === 0 ? 40 : 8); // extension words, some past 64 bytes of header
      const h = 12 + (ext ? 4 + 4 * ext : 0);
      const pkt = bytes(r, h + (r.int(30) === 0 ? 4100 + r.int(900) : r.int(1300)));
      pkt[0] = 0x80 | (ext ? 0x10 : 0);
      pkt[2] = (65_400 + i) >> 8;
      pkt[3] = (65_400 + i) & 0xff;
      pkt.set([0, 0, 0, 9], 8);
      if (ext) pkt.set([0xbe, 0xde, 0, ext], 12);
      plain.push(pkt);
      sent.push(tx.protectRtp(pkt));
    }
    const out: (Uint8Array | undefined)[] = [];
    for (let i = 0; i < sent.length; i++) {
      if (r.int(10) === 0) continue; // lost, or late: delivered below
      out[i] = rx.unprotectRtp(sent[i]!);
    }
    for (let i = 0; i < sent.length; i++)
      if (!out[i] && i > sent.length - 100) out[i] = rx.unprotectRtp(sent[i]!);
    for (let i = 0; i < sent.length; i++)
      if (out[i]) assert.equal(toHex(out[i]!), toHex(plain[i]!), `${name} packet ${i}`);
    assert.throws(() => rx.unprotectRtp(sent[sent.length - 1]!), /replayed/);
  }
});

test('HmacSha1 with headroom equals createHmac', () => {
  const r = new SeededRandom(3);
  const key = bytes(r, 20);
  const h = new HmacSha1(key);
  for (const n of [0, 1, 55, 56, 64, 119, 1200, 5000]) {
    const buf = new Uint8Array(SLAB_HEADROOM + n);
    const msg = bytes(r, n);
    buf.set(msg, SLAB_HEADROOM);
    const want = createHmac('sha1', key).update(msg).digest('hex');
    assert.equal(toHex(h.digestWithHeadroom(buf, SLAB_HEADROOM, SLAB_HEADROOM + n)), want);
    assert.equal(toHex(h.digest(msg)), want);
    const tag = new Uint8Array(12).fill(0xee);
    h.tagInto(buf, SLAB_HEADROOM, SLAB_HEADROOM + n, tag, 1, 10);
    assert.equal(toHex(tag), `ee${want.slice(0, 20)}ee`, 'tagInto writes the first 10 bytes only');
    assert.ok(h.verify(buf, SLAB_HEADROOM, SLAB_HEADROOM + n, tag, 1, 10));
    for (const flip of [1, 10]) {
      tag[flip]! ^= 0x01;
      assert.equal(
        h.verify(buf, SLAB_HEADROOM, SLAB_HEADROOM + n, tag, 1, 10),
        false,
        `byte ${flip} flipped`,
      );
      tag[flip]! ^= 0x01;
    }
    assert.equal(toHex(buf.subarray(SLAB_HEADROOM)), toHex(msg), 'message untouched');
  }
  assert.throws(() => h.digestWithHeadroom(new Uint8Array(10), 5, 10), RangeError);
});

test('packets from slabs stay intact while later packets fill new slabs', () => {
  const r = new SeededRandom(5);
  for (const name of Object.keys(SRTP_PROFILES) as SrtpProfileName[]) {
    const { tx, rx } = contextPair(r, name);
    const sent: Uint8Array[] = [];
    const plain: Uint8Array[] = [];
    const out: Uint8Array[] = [];
    for (let i = 0; i < 300; i++) {
      const pkt = bytes(r, 12 + r.int(1300));
      pkt[0] = 0x80;
      pkt[2] = i >> 8;
      pkt[3] = i & 0xff;
      pkt.set([0, 0, 0, 1 + (i % 3)], 8);
      plain.push(pkt.slice());
      sent.push(tx.protectRtp(pkt));
      assert.equal(toHex(pkt), toHex(plain[i]!), 'input untouched');
    }
    // Unprotect in a shuffled order within the replay window (keystream batches refill and skip).
    const order: number[] = [];
    for (let base = 0; base < sent.length; base += 16) {
      const block = Array.from({ length: Math.min(16, sent.length - base) }, (_, i) => base + i);
      for (let i = block.length - 1; i > 0; i--) {
        const j = r.int(i + 1);
        [block[i], block[j]] = [block[j]!, block[i]!];
      }
      order.push(...block);
    }
    for (const i of order) out[i] = rx.unprotectRtp(sent[i]!);
    for (let i = 0; i < plain.length; i++)
      assert.equal(toHex(out[i]!), toHex(plain[i]!), `${name} packet ${i}`);
    // RTCP through the same slabs.
    const rtcp = Uint8Array.of(0x81, 201, 0, 7, 0, 0, 0, 1, ...bytes(r, 24));
    assert.equal(toHex(rx.unprotectRtcp(tx.protectRtcp(rtcp))), toHex(rtcp));
  }
});

test('protectRtpWith (serialized straight into the output) gives the bytes protectRtp gives', () => {
  const r = new SeededRandom(11);
  for (const name of Object.keys(SRTP_PROFILES) as SrtpProfileName[]) {
    const p = SRTP_PROFILES[name];
    const master = { key: bytes(r, p.keyLength), salt: bytes(r, p.saltLength) };
    const a = new SrtpContext(p, master);
    const b = new SrtpContext(p, master);
    const rx = new SrtpContext(p, master);
    // protectRtp writes AES-CM packets into the keystream (protectRtpWith in place in the slab):
    // every packet kept, headers past the keystream's header room and long packets included.
    const kept: [Uint8Array, string][] = [];
    for (let i = 0; i < 200; i++) {
      const ext = r.int(3) === 0 ? 0 : 1 + r.int(r.int(5) === 0 ? 30 : 6); // extension words
      const csrcs = r.int(4) === 0 ? r.int(3) : 0;
      const h = 12 + 4 * csrcs + (ext ? 4 + 4 * ext : 0);
      const pkt = bytes(r, h + (r.int(25) === 0 ? 4100 + r.int(500) : r.int(1300)));
      pkt[0] = 0x80 | (ext ? 0x10 : 0) | csrcs;
      pkt[2] = (65_500 + i) >> 8; // crosses a sequence wrap (rollover counter)
      pkt[3] = (65_500 + i) & 0xff;
      pkt.set([0, 0, 0, 1 + (i % 2)], 8);
      if (ext) pkt.set([0xbe, 0xde, 0, ext], 12 + 4 * csrcs);
      const want = a.protectRtp(pkt);
      const got = b.protectRtpWith(pkt, pkt.length, h, (v, out, at) => out.set(v, at));
      assert.equal(toHex(got), toHex(want), `${name} packet ${i}`);
      assert.equal(toHex(rx.unprotectRtp(got)), toHex(pkt));
      kept.push([want, toHex(got)]);
    }
    for (const [out, hex] of kept) assert.equal(toHex(out), hex, `${name}: kept packets stay intact`);
  }
});

test('PacketSlab.release gives back only the latest reservation, once', () => {
  const slab = new PacketSlab();
  const a = slab.reserve(100, 12);
  const va = slab.view(a, 100);
  assert.equal(slab.release(va), true);
  assert.equal(slab.reserve(100, 12), a, 'the next reservation reuses the bytes');
  const vb = slab.view(a, 100);
  const c = slab.reserve(50);
  assert.ok(c >= a + 100 + SLAB_HEADROOM);
  assert.equal(slab.release(vb), false, 'not the latest reservation');
  assert.ok(slab.reserve(10) > c, 'nothing given back');
  const d = slab.reserve(10);
  const vd = slab.view(d, 10);
  assert.equal(slab.release(vd), true);
  assert.equal(slab.release(vd), false, 'a second release');
  assert.equal(slab.release(new Uint8Array(10)), false, 'a view of another buffer');
  // A reservation that opened a new slab gives back to that slab's start.
  const big = slab.reserve(60_000);
  const first = slab.bytes;
  assert.equal(slab.release(slab.view(big, 60_000)), true);
  assert.equal(slab.reserve(60_000), big);
  assert.equal(slab.bytes, first);
});

for (const name of ['SRTP_AES128_CM_HMAC_SHA1_80', 'SRTP_AEAD_AES_128_GCM'] as SrtpProfileName[]) {
  test(`${name}: releaseProtected reuses a sent packet's bytes; unreleased and unprotected packets stay intact`, () => {
    const profile = SRTP_PROFILES[name];
    const r = new SeededRandom(4);
    const key = { key: bytes(r, profile.keyLength), salt: bytes(r, profile.saltLength) };
    const tx = new SrtpContext(profile, key);
    const rx = new SrtpContext(profile, key);
    const rtp = (seq: number, n: number): Uint8Array => {
      const p = bytes(r, n);
      p[0] = 0x80;
      p[1] = 96;
      p[2] = seq >> 8;
      p[3] = seq & 0xff;
      return p;
    };
    // Sent and released at once (a socket that settled): each packet in the previous one's bytes.
    let prev: Uint8Array | undefined;
    const plain: [Uint8Array, Uint8Array][] = [];
    const write = (v: Uint8Array, out: Uint8Array, at: number): void => out.set(v, at);
    for (let seq = 0; seq < 50; seq++) {
      const p = rtp(seq, 100 + r.int(1100));
      const out = tx.protectRtpWith(p, p.length, 12, write);
      if (prev) {
        assert.equal(out.buffer, prev.buffer);
        assert.equal(out.byteOffset, prev.byteOffset);
      }
      const got = rx.unprotectRtp(out);
      assert.deepEqual(got, p);
      plain.push([got, p]);
      assert.equal(tx.releaseProtected(out), true);
      prev = out;
    }
    // What unprotect returned lives apart from what protect reuses.
    for (const [got, p] of plain) assert.deepEqual(got, p);
    // Held packets (a socket that queued them): never released, each keeps its bytes.
    const held: [Uint8Array, Uint8Array][] = [];
    for (let seq = 50; seq < 120; seq++) {
      const p = rtp(seq, 100 + r.int(1100));
      held.push([seq % 2 ? tx.protectRtp(p) : tx.protectRtpWith(p, p.length, 12, write), p]);
      // An older packet cannot be given back, even by mistake.
      if (held.length > 1) assert.equal(tx.releaseProtected(held[held.length - 2]![0]), false);
    }
    for (const [out, p] of held) assert.deepEqual(rx.unprotectRtp(out), p);
  });
}
