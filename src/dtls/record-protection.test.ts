/**
 * Record protection round trips for every bulk cipher (DTLS 1.2 suites and DTLS 1.3 suites) through
 * the record layer. The protections reuse nonce, additional-data and scratch buffers from record to
 * record, so these tests check that no sealed record aliases one of them, that records open out of
 * order, and that a record failing authentication leaves the state usable for the next one.
 */
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { test } from 'node:test';
import { SeededRandom } from '../core/random.js';
import { CIPHER_SUITES, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 } from './cipher-suites.js';
import {
  CONTENT_ALERT,
  CONTENT_APPLICATION_DATA,
  CONTENT_HANDSHAKE,
  DTLS_1_2,
  RECORD_HEADER_LENGTH,
} from './constants.js';
import { RecordLayer } from './record-layer.js';
import { makeProtection } from './record-protection.js';
import { Protection13, SUITES13 } from './record13.js';

interface Case {
  name: string;
  epoch: number;
  /** A writer and a reader sharing keys for `epoch`. */
  layers(): { w: RecordLayer; r: RecordLayer };
}

const rnd = new SeededRandom(7);
const bytes = (n: number): Uint8Array => rnd.bytes(n);

/** One 1.2 suite per bulk cipher (the authentication half does not change the record layer). */
const CASES: Case[] = [
  ...[...new Map(CIPHER_SUITES.map((s) => [s.cipher, s])).values()].map(
    (s): Case => ({
      name: `DTLS 1.2 ${s.cipher}`,
      epoch: 1,
      layers() {
        const key = bytes(s.keyLength);
        const iv = bytes(s.fixedIvLength);
        const mac = bytes(s.macLength);
        const w = new RecordLayer();
        const r = new RecordLayer();
        w.installWrite(1, makeProtection(s, key, iv, mac));
        r.installRead(1, makeProtection(s, key, iv, mac));
        return { w, r };
      },
    }),
  ),
  ...SUITES13.map(
    (s): Case => ({
      name: `DTLS 1.3 ${s.name}`,
      epoch: 3,
      layers() {
        const secret = bytes(s.hash === 'sha384' ? 48 : 32);
        const w = new RecordLayer();
        const r = new RecordLayer();
        w.installWrite(3, new Protection13(s, secret, 3));
        r.installRead(3, new Protection13(s, secret, 3));
        return { w, r };
      },
    }),
  ),
];

const TYPES = [CONTENT_APPLICATION_DATA, CONTENT_HANDSHAKE, CONTENT_ALERT];

for (const c of CASES) {
  test(`${c.name}: sealed records are independent of each other and open out of order`, () => {
    const { w, r } = c.layers();
    const n = 96;
    const sent = Array.from({ length: n }, (_, i) => ({
      type: TYPES[i % TYPES.length]!,
      // Empty, odd-sized and full-MTU records, with runs of equal length (where a reused output
      // buffer would show).
      data: bytes(i === 0 ? 0 : i % 4 < 2 ? 1200 : 1 + rnd.int(300)),
    }));
    const sealed: Uint8Array[] = [];
    const snapshots: Uint8Array[] = [];
    for (const s of sent) {
      const rec = w.seal(s.type, c.epoch, s.data);
      sealed.push(rec);
      snapshots.push(Uint8Array.from(rec));
    }
    // Sealing later records must not have changed earlier ones (no shared output buffers).
    for (let i = 0; i < n; i++)
      assert.deepEqual(Uint8Array.from(sealed[i]!), snapshots[i], `record ${i} changed`);
    // Open in blocks of 32 in reverse order (inside the 64-record replay window).
    const order: number[] = [];
    for (let b = 0; b < n; b += 32) for (let i = Math.min(n, b + 32) - 1; i >= b; i--) order.push(i);
    for (const i of order) {
      const recs = r.parse(sealed[i]!);
      assert.equal(recs.length, 1);
      const o = r.open(recs[0]!);
      assert.ok(o, `record ${i} did not open`);
      assert.equal(o.type, sent[i]!.type);
      assert.deepEqual(Uint8Array.from(o.data), sent[i]!.data);
      assert.equal(o.epoch, c.epoch);
      assert.equal(o.seq, i);
    }
    // Each record once: a replay is dropped.
    assert.equal(r.open(r.parse(sealed[n - 1]!)[0]!), undefined);
    assert.equal(r.stats.replays, 1);
    assert.equal(r.stats.badRecords, 0);
  });

  test(`${c.name}: a tampered record does not open and the next genuine one still does`, () => {
    const { w, r } = c.layers();
    let bad = 0;
    for (let i = 0; i < 24; i++) {
      const data = bytes(64 + i);
      const rec = w.seal(CONTENT_APPLICATION_DATA, c.epoch, data);
      if (i % 2 === 1) {
        // Flip one bit anywhere in the record from the sequence number on. Not flipped: the
        // framing (content type or unified-header flags, version, length), which makes another
        // record or none, and the 1.2 epoch, which would name the unprotected epoch 0.
        const forged = Uint8Array.from(rec);
        const framing = c.epoch === 3 ? [0, 3, 4] : [0, 1, 2, 3, 4, 11, 12];
        let at = rnd.int(forged.length);
        while (framing.includes(at)) at = rnd.int(forged.length);
        forged[at] = forged[at]! ^ (1 << rnd.int(8));
        const recs = r.parse(forged);
        if (recs.length === 1 && r.open(recs[0]!) === undefined) bad++;
        else assert.fail(`forged record ${i} (bit at byte ${at}) was accepted`);
      }
      const o = r.open(r.parse(rec)[0]!);
      assert.ok(o, `genuine record ${i} did not open after a forged one`);
      assert.deepEqual(Uint8Array.from(o.data), data);
    }
    assert.equal(bad, 12);
  });
}

test('DTLS 1.2 AES-GCM record: the RFC 5288 layout (nonce = salt + epoch + sequence, 13-byte AAD)', () => {
  const s = CIPHER_SUITES.find((x) => x.id === TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)!;
  const key = bytes(16);
  const salt = bytes(4);
  const w = new RecordLayer();
  w.installWrite(2, makeProtection(s, key, salt, new Uint8Array(0)));
  for (let i = 0; i < 3; i++) w.seal(CONTENT_APPLICATION_DATA, 2, new Uint8Array(1)); // advance to seq 3
  const data = bytes(100);
  const rec = w.seal(CONTENT_APPLICATION_DATA, 2, data);
  // Independently: epoch 2, sequence 3.
  const seqNum = Uint8Array.of(0, 2, 0, 0, 0, 0, 0, 3);
  const nonce = Buffer.concat([salt, seqNum]);
  const aad = Buffer.concat([seqNum, Uint8Array.of(CONTENT_APPLICATION_DATA, 0xfe, 0xfd, 0, 100)]);
  const c = createCipheriv('aes-128-gcm', key, nonce, { authTagLength: 16 });
  c.setAAD(aad);
  const body = Buffer.concat([c.update(data), c.final(), c.getAuthTag()]);
  const header = Uint8Array.of(CONTENT_APPLICATION_DATA, DTLS_1_2 >> 8, DTLS_1_2 & 0xff, ...seqNum, 0, 124);
  assert.deepEqual(Buffer.from(rec), Buffer.concat([header, seqNum, body]));
  assert.equal(rec.length, RECORD_HEADER_LENGTH + 8 + 100 + 16);
});
