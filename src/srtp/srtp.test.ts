import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromHex, toHex } from '../core/bytes.js';
import { ParseError, ProtocolError } from '../core/errors.js';
import { SeededRandom } from '../core/random.js';
import {
  AesCmKeystream,
  deriveSessionKeys,
  exporterLength,
  ReplayWindow,
  SRTP_PROFILES,
  SrtpContext,
  type SrtpProfileName,
  SrtpSession,
  splitKeyingMaterial,
} from './index.js';

/** Byte-for-byte equality (Buffer and Uint8Array alike). */
const eqBytes = (a: Uint8Array, b: Uint8Array, msg?: string): void => assert.equal(toHex(a), toHex(b), msg);

const CM80 = SRTP_PROFILES.SRTP_AES128_CM_HMAC_SHA1_80;
const CM32 = SRTP_PROFILES.SRTP_AES128_CM_HMAC_SHA1_32;
const GCM128 = SRTP_PROFILES.SRTP_AEAD_AES_128_GCM;
const GCM256 = SRTP_PROFILES.SRTP_AEAD_AES_256_GCM;
const ALL = Object.keys(SRTP_PROFILES) as SrtpProfileName[];

// RFC 3711 Appendix B.3 master key and salt (also libsrtp's srtp_validate key).
const B3_MASTER = {
  key: fromHex('E1F97A0D3E018BE0D64FA32C06DE4139'),
  salt: fromHex('0EC675AD498AFEEBB6960B3AABE6'),
};

test('RFC 3711 B.2: AES-CM keystream', () => {
  const ks = new AesCmKeystream(fromHex('2B7E151628AED2A6ABF7158809CF4F3C'));
  const iv = fromHex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000');
  const buf = new Uint8Array(0xff02 * 16);
  ks.apply(iv, buf, 0, buf.length);
  assert.equal(
    toHex(buf.subarray(0, 48)).toUpperCase(),
    'E03EAD0935C95E80E166B16DD92B4EB4D23513162B02D0F72A43A2FE4A5F97AB41E95B3BB0A2E8DD477901E4FCA894C0',
  );
  assert.equal(
    toHex(buf.subarray(0xfeff * 16)).toUpperCase(),
    'EC8CDF7398607CB0F2D21675EA9EA1E4362B7C3C6773516318A077D7FC5073AE6A2CC3787889374FBEB4C81B17BA6C44',
  );
  // Unaligned start (byte path) gives the same stream.
  const odd = new Uint8Array(49);
  ks.apply(iv, odd, 1, 49);
  eqBytes(odd.subarray(1), buf.subarray(0, 48));
});

test('RFC 3711 B.3: key derivation', () => {
  const { rtp } = deriveSessionKeys(CM80, B3_MASTER);
  assert.equal(toHex(rtp.encryptionKey).toUpperCase(), 'C61E7A93744F39EE10734AFE3FF7A087');
  assert.equal(toHex(rtp.salt).toUpperCase(), '30CBBC08863D8C85D49DB34A9AE1');
  assert.equal(toHex(rtp.authKey).toUpperCase(), 'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4');
});

// libsrtp srtp_validate(): SSRC 0xcafebabe, seq 0x1234, the B.3 master key.
const LIBSRTP_RTP = fromHex(`800f1234decafbadcafebabe${'ab'.repeat(16)}`);
const LIBSRTP_SRTP = fromHex('800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb');
const LIBSRTP_RTCP = fromHex(`81c8000bcafebabe${'ab'.repeat(16)}`);
const LIBSRTP_SRTCP = fromHex('81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001993e08cd54d6c1230798');

test('AES_CM_128_HMAC_SHA1_80 and _32 packets match libsrtp', () => {
  eqBytes(new SrtpContext(CM80, B3_MASTER).protectRtp(LIBSRTP_RTP), LIBSRTP_SRTP);
  eqBytes(new SrtpContext(CM80, B3_MASTER).unprotectRtp(LIBSRTP_SRTP), LIBSRTP_RTP);
  eqBytes(new SrtpContext(CM32, B3_MASTER).protectRtp(LIBSRTP_RTP), LIBSRTP_SRTP.subarray(0, 32));
  eqBytes(new SrtpContext(CM32, B3_MASTER).unprotectRtp(LIBSRTP_SRTP.subarray(0, 32)), LIBSRTP_RTP);
  eqBytes(new SrtpContext(CM80, B3_MASTER).protectRtcp(LIBSRTP_RTCP), LIBSRTP_SRTCP);
  eqBytes(new SrtpContext(CM80, B3_MASTER).unprotectRtcp(LIBSRTP_SRTCP), LIBSRTP_RTCP);
  // SRTCP keeps the 80-bit tag under the _32 profile (RFC 5764 §4.1.2).
  eqBytes(new SrtpContext(CM32, B3_MASTER).protectRtcp(LIBSRTP_RTCP), LIBSRTP_SRTCP);
});

// RFC 7714 §16-17: stated with session keys.
const GCM_SALT = fromHex('517569642070726f2071756f');
const gcmContext = (profile: typeof GCM128, key: string): SrtpContext => {
  const k = { encryptionKey: fromHex(key), salt: GCM_SALT, authKey: new Uint8Array(0) };
  return new SrtpContext(profile, { rtp: k, rtcp: k });
};
const KEY128 = '000102030405060708090a0b0c0d0e0f';
const KEY256 = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const GCM_RTP = fromHex(
  '8040f17b8041f8d35501a0b247616c6c696120657374206f6d6e69732064697669736120696e207061727465732074726573',
);
const GCM_RTCP = fromHex(
  '81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61deadbeefdeadbeefdeadbeefdeadbeefdeadbeef',
);
const VECTORS = [
  {
    profile: GCM128,
    key: KEY128,
    srtp: '8040f17b8041f8d35501a0b2f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36de3adf8833899d7f27beb16a9152cf765ee4390cce',
    srtcp:
      '81c8000d4d61727363e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda4ce09b4686303ded0bb9275bc84aa45896cf4d2fc5abf87245d9eade800005d4',
  },
  {
    profile: GCM256,
    key: KEY256,
    srtp: '8040f17b8041f8d35501a0b232b1de78a822fe12ef9f78fa332e33aab18012389a58e2f3b50b2a0276ffae0f1ba63799b87b7aa3db36dfffd6b0f9bb7878d7a76c13',
    srtcp:
      '81c8000d4d617273d50ae4d1f5ce5d304ba297e47d470c282c3ece5dbffe0a50a2eaa5c1110555be8415f658c61de0476f1b6fad1d1eb30c4446839f57ff6f6cb26ac3be800005d4',
  },
];

test('RFC 7714 §16: AEAD_AES_128_GCM and AEAD_AES_256_GCM SRTP', () => {
  for (const v of VECTORS) {
    assert.equal(toHex(gcmContext(v.profile, v.key).protectRtp(GCM_RTP)), v.srtp, v.profile.name);
    eqBytes(gcmContext(v.profile, v.key).unprotectRtp(fromHex(v.srtp)), GCM_RTP);
  }
});

test('RFC 7714 §17: SRTCP encrypted (index 0x5d4) and authenticated-only', () => {
  for (const v of VECTORS) {
    eqBytes(gcmContext(v.profile, v.key).unprotectRtcp(fromHex(v.srtcp)), GCM_RTCP);
    const sender = gcmContext(v.profile, v.key);
    for (let i = 1; i < 0x5d4; i++) sender.protectRtcp(GCM_RTCP);
    assert.equal(toHex(sender.protectRtcp(GCM_RTCP)), v.srtcp, v.profile.name);
  }
  const tagOnly = fromHex(
    '81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61deadbeefdeadbeefdeadbeefdeadbeefdeadbeef841dd9683dd78ec92ae58790125f62b3000005d4',
  );
  eqBytes(gcmContext(GCM128, KEY128).unprotectRtcp(tagOnly), GCM_RTCP);
});

function rtp(
  seq: number,
  ssrc = 0x11223344,
  payload = 64,
  opts: { csrcs?: number; ext?: boolean } = {},
): Uint8Array {
  const cc = opts.csrcs ?? 0;
  const ext = opts.ext ? 8 : 0;
  const p = new Uint8Array(12 + cc * 4 + ext + payload);
  p[0] = 0x80 | (opts.ext ? 0x10 : 0) | cc;
  p[1] = 96;
  p[2] = seq >> 8;
  p[3] = seq & 0xff;
  new DataView(p.buffer).setUint32(4, seq * 3000);
  new DataView(p.buffer).setUint32(8, ssrc);
  if (opts.ext) p.set([0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0], 12 + cc * 4);
  for (let i = 12 + cc * 4 + ext; i < p.length; i++) p[i] = (i * 7 + seq) & 0xff;
  return p;
}

function pair(name: SrtpProfileName): [SrtpSession, SrtpSession] {
  const p = SRTP_PROFILES[name];
  const material = new Uint8Array(exporterLength(p)).map((_, i) => (i * 31 + 7) & 0xff);
  return [
    SrtpSession.fromKeyingMaterial(p, material, 'client'),
    SrtpSession.fromKeyingMaterial(p, material, 'server'),
  ];
}

test('protect/unprotect round trips for every profile, with CSRCs and extensions', () => {
  for (const name of ALL) {
    const [a, b] = pair(name);
    for (const [i, pkt] of [
      rtp(1),
      rtp(2, 5, 1200, { csrcs: 2, ext: true }),
      rtp(3, 5, 0),
      rtp(4, 5, 1),
    ].entries()) {
      const s = a.protectRtp(pkt);
      assert.equal(s.length, pkt.length + SRTP_PROFILES[name].rtpTagLength);
      if (pkt.length > 20)
        assert.notEqual(toHex(s.subarray(0, pkt.length)), toHex(pkt), `${name} ${i} encrypted`);
      eqBytes(b.unprotectRtp(s), pkt, `${name} ${i}`);
    }
    const rtcp = new Uint8Array(52).map((_, i) => i);
    rtcp.set([0x81, 200, 0, 12, 0xde, 0xad, 0xbe, 0xef]);
    for (let i = 0; i < 3; i++) eqBytes(a.unprotectRtcp(b.protectRtcp(rtcp)), rtcp, name);
  }
});

test('keying material split: client key | server key | client salt | server salt', () => {
  const m = new Uint8Array(exporterLength(CM80)).map((_, i) => i);
  const { local, remote } = splitKeyingMaterial(CM80, m, 'client');
  assert.deepEqual([local.key[0], remote.key[0], local.salt[0], remote.salt[0]], [0, 16, 32, 46]);
  assert.equal(local.salt.length, 14);
  const s = splitKeyingMaterial(GCM256, new Uint8Array(88), 'server');
  assert.equal(s.local.key.length, 32);
  assert.equal(s.remote.salt.length, 12);
  assert.throws(() => splitKeyingMaterial(CM80, new Uint8Array(10), 'client'), RangeError);
});

const isCode = (code: string, message?: RegExp) => (e: unknown) =>
  e instanceof ProtocolError && e.code === code && (!message || message.test(e.message));

test('tampered packets fail authentication', () => {
  for (const name of ALL) {
    const [a, b] = pair(name);
    const s = a.protectRtp(rtp(10));
    for (const at of [2, 20, s.length - 1]) {
      const bad = Uint8Array.from(s);
      bad[at]! ^= 1;
      assert.throws(() => b.unprotectRtp(bad), isCode('ERR_SRTP_AUTH_FAILED'), `${name} byte ${at}`);
    }
    eqBytes(b.unprotectRtp(s), rtp(10), 'the good packet still passes after failures');
    const c = b.protectRtcp(new Uint8Array(28).fill(0x81));
    const bad = Uint8Array.from(c);
    bad[12]! ^= 0x80;
    assert.throws(() => a.unprotectRtcp(bad), isCode('ERR_SRTP_AUTH_FAILED'), name);
    const p = SRTP_PROFILES[name];
    const wrong = new SrtpContext(p, {
      key: new Uint8Array(p.keyLength).fill(1),
      salt: new Uint8Array(p.saltLength),
    });
    // The message names the packet (built out of line, see srtpError in context.ts).
    assert.throws(
      () => wrong.unprotectRtp(a.protectRtp(rtp(11))),
      isCode('ERR_SRTP_AUTH_FAILED', /^srtp: bad tag \(seq 11, ssrc 287454020\)$/),
    );
  }
});

test('replayed and too-old packets are rejected, reordered ones accepted', () => {
  for (const name of ALL) {
    const [a, b] = pair(name);
    const pkts = Array.from({ length: 300 }, (_, i) => a.protectRtp(rtp(1000 + i)));
    b.unprotectRtp(pkts[5]!);
    b.unprotectRtp(pkts[3]!); // late but inside the window
    assert.throws(
      () => b.unprotectRtp(pkts[5]!),
      isCode('ERR_SRTP_REPLAY', /replayed packet \(index 1005, ssrc 287454020\)/),
    );
    assert.throws(() => b.unprotectRtp(pkts[3]!), isCode('ERR_SRTP_REPLAY'));
    b.unprotectRtp(pkts[299]!);
    assert.throws(
      () => b.unprotectRtp(pkts[6]!),
      isCode('ERR_SRTP_REPLAY', /left of the replay window \(index 1006,/),
      'left of the 128-packet window',
    );
    b.unprotectRtp(pkts[200]!);
    const r1 = a.protectRtcp(new Uint8Array(8).fill(0x80));
    b.unprotectRtcp(r1);
    assert.throws(() => b.unprotectRtcp(r1), isCode('ERR_SRTP_REPLAY'));
  }
  const w = new ReplayWindow(64);
  w.accept(100);
  assert.equal(w.check(100), 'replay');
  assert.equal(w.check(37), 'ok');
  assert.equal(w.check(36), 'old');
  w.accept(1000);
  assert.equal(w.check(999), 'ok');
  assert.equal(w.check(100), 'old');
});

test('replay window agrees with a set of seen indices (power-of-two and other sizes, 48-bit indices)', () => {
  const r = new SeededRandom(3711);
  for (const size of [64, 96, 128, 160, 1024]) {
    for (const base of [0, 2 ** 32 - 500, 2 ** 47]) {
      const w = new ReplayWindow(size);
      const seen = new Set<number>();
      let top = -1;
      for (let i = 0; i < 3000; i++) {
        // Mostly forward steps, some late, some repeated, some jumps.
        const pick = r.int(10);
        const index =
          top < 0 || pick < 5
            ? base + Math.max(top - base, 0) + 1 + r.int(3)
            : pick < 9
              ? top - r.int(size + 40)
              : top + r.int(3 * size);
        if (index < base) continue;
        const want = top >= 0 && top - index >= size ? 'old' : seen.has(index) ? 'replay' : 'ok';
        assert.equal(w.check(index), want, `size ${size}, index ${index}, top ${top}`);
        if (want === 'ok') {
          w.accept(index);
          seen.add(index);
          top = Math.max(top, index);
        }
      }
    }
  }
});

test('rollover counter across the 65535 wrap, with reordering around it', () => {
  for (const name of ALL) {
    const [a, b] = pair(name);
    const seqs = [65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2, 3];
    const prot = seqs.map((s) => a.protectRtp(rtp(s)));
    // Deliver 0 and 1 before 65535 and 65534 (late packets from before the wrap).
    for (const i of [0, 1, 2, 3, 6, 7, 5, 4, 8, 9])
      eqBytes(b.unprotectRtp(prot[i]!), rtp(seqs[i]!), `${name} seq ${seqs[i]}`);
    assert.equal(b.remote.receiveRoc(0x11223344), 1);
    // A full second cycle.
    let roc1 = 0;
    for (let s = 4; s < 65536 + 2000; s += 1000) {
      b.unprotectRtp(a.protectRtp(rtp(s & 0xffff)));
      roc1 = b.remote.receiveRoc(0x11223344)!;
    }
    assert.equal(roc1, 2);
  }
});

test('fuzz: random and mutated input gives a packet, ParseError or ProtocolError', () => {
  const rnd = new SeededRandom(3711);
  for (const name of ALL) {
    const [a, b] = pair(name);
    const good = [
      a.protectRtp(rtp(7, 9, 100, { ext: true, csrcs: 1 })),
      a.protectRtcp(new Uint8Array(40).fill(0x81)),
    ];
    for (let i = 0; i < 2000; i++) {
      let input: Uint8Array;
      if (i % 2 === 0) input = rnd.bytes(rnd.int(80));
      else {
        input = Uint8Array.from(good[rnd.int(2)]!);
        for (let k = 0; k < 1 + rnd.int(3); k++) input[rnd.int(input.length)] = rnd.u32() & 0xff;
        input = input.subarray(0, rnd.int(input.length + 1));
      }
      for (const f of [() => b.unprotectRtp(input), () => b.unprotectRtcp(input)]) {
        try {
          f();
        } catch (e) {
          if (!(e instanceof ParseError || e instanceof ProtocolError)) throw e;
        }
      }
    }
  }
});

test('interop with werift: packets protected by each side unprotect on the other', async () => {
  const w = (await import('werift')) as unknown as {
    SrtpSession: new (c: unknown) => { encrypt(p: Buffer, h: unknown): Buffer; decrypt(b: Buffer): Buffer };
    SrtcpSession: new (c: unknown) => { encrypt(p: Buffer): Buffer; decrypt(b: Buffer): Buffer };
    RtpPacket: { deSerialize(b: Buffer): { header: unknown; payload: Buffer } };
  };
  for (const [name, id] of [
    ['SRTP_AES128_CM_HMAC_SHA1_80', 1],
    ['SRTP_AEAD_AES_128_GCM', 7],
  ] as const) {
    const p = SRTP_PROFILES[name];
    const material = new Uint8Array(exporterLength(p)).map((_, i) => (i * 13 + 1) & 0xff);
    const ours = SrtpSession.fromKeyingMaterial(p, material, 'client');
    const { local, remote } = splitKeyingMaterial(p, material, 'server');
    const keys = {
      localMasterKey: Buffer.from(local.key),
      localMasterSalt: Buffer.from(local.salt),
      remoteMasterKey: Buffer.from(remote.key),
      remoteMasterSalt: Buffer.from(remote.salt),
    };
    const theirs = new w.SrtpSession({ keys, profile: id });
    const theirsRtcp = new w.SrtcpSession({ keys, profile: id });
    for (const seq of [100, 101, 102]) {
      const pkt = rtp(seq, 0xabc, 300);
      eqBytes(
        new Uint8Array(theirs.decrypt(Buffer.from(ours.protectRtp(pkt)))),
        pkt,
        `${name} ours -> werift`,
      );
      const parsed = w.RtpPacket.deSerialize(Buffer.from(pkt));
      eqBytes(
        ours.unprotectRtp(theirs.encrypt(parsed.payload, parsed.header)),
        pkt,
        `${name} werift -> ours`,
      );
    }
    const rtcp = new Uint8Array(32).map((_, i) => i);
    rtcp.set([0x80, 201, 0, 7, 0, 0, 0x0a, 0xbc]);
    eqBytes(
      new Uint8Array(theirsRtcp.decrypt(Buffer.from(ours.protectRtcp(rtcp)))),
      rtcp,
      `${name} rtcp ours -> werift`,
    );
    eqBytes(ours.unprotectRtcp(theirsRtcp.encrypt(Buffer.from(rtcp))), rtcp, `${name} rtcp werift -> ours`);
  }
});
