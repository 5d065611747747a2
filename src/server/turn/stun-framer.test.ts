import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../../core/random.js';
import { attr } from '../../stun/attributes.js';
import { METHOD } from '../../stun/constants.js';
import { createMessage } from '../../stun/message.js';
import { serializeStunMessage } from '../../stun/serialize.js';
import { StreamFramer } from './stun-framer.js';

const r = new SeededRandom(4571);

function stun(n: number): Uint8Array {
  return serializeStunMessage(
    createMessage(METHOD.BINDING, 'request', r.bytes(12), [attr.software('x'.repeat(n))]),
    { fingerprint: true },
  );
}
function channelData(len: number): { wire: Uint8Array; frame: Uint8Array } {
  const frame = new Uint8Array(4 + len);
  frame.set([0x40, 0x01, len >> 8, len & 0xff]);
  frame.set(r.bytes(len), 4);
  const wire = new Uint8Array(4 + ((len + 3) & ~3)); // padded to 4 over streams (RFC 8656 §12.5)
  wire.set(frame);
  return { wire, frame };
}

test('any chunking of a stream of STUN and ChannelData gives back the same frames', () => {
  for (let round = 0; round < 200; round++) {
    const frames: Uint8Array[] = [];
    const wire: Uint8Array[] = [];
    for (let i = 0; i < 1 + r.int(6); i++) {
      if (r.float() < 0.5) {
        const m = stun(r.int(40));
        frames.push(m);
        wire.push(m);
      } else {
        const c = channelData(r.int(50));
        frames.push(c.frame);
        wire.push(c.wire);
      }
    }
    const all = Buffer.concat(wire);
    const f = new StreamFramer();
    const got: Uint8Array[] = [];
    for (let at = 0; at < all.length; ) {
      const n = 1 + r.int(30);
      const { frames: out, error } = f.push(all.subarray(at, at + n));
      assert.equal(error, undefined);
      got.push(...out.map((o) => o.bytes));
      at += n;
    }
    assert.deepEqual(
      got.map((g) => Buffer.from(g).toString('hex')),
      frames.map((g) => Buffer.from(g).toString('hex')),
    );
    assert.equal(f.buffered, 0);
  }
});

test('fuzz: random bytes never throw; errors are reported and stick', () => {
  for (let i = 0; i < 5000; i++) {
    const f = new StreamFramer(2048);
    let failed = false;
    for (let k = 0; k < 5; k++) {
      const { error } = f.push(r.bytes(r.int(100)));
      if (failed) assert.ok(error);
      if (error) failed = true;
      assert.ok(f.buffered <= 2048);
    }
  }
});

test('a frame announced bigger than the cap fails at once, before the bytes arrive', () => {
  const f = new StreamFramer(100);
  const { error } = f.push(new Uint8Array([0x00, 0x01, 0x01, 0x00]));
  assert.match(error ?? '', /exceeds the cap/);
  assert.match(new StreamFramer().push(new Uint8Array([0x80, 0, 0, 0])).error ?? '', /unexpected first byte/);
  assert.match(
    new StreamFramer().push(new Uint8Array([0x00, 0x01, 0x00, 0x05])).error ?? '',
    /multiple of 4/,
  );
});
