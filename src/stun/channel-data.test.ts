import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ParseError } from '../core/errors.js';
import { SeededRandom } from '../core/random.js';
import {
  CHANNEL_NUMBER_MAX,
  CHANNEL_NUMBER_MIN,
  isChannelDataByte,
  isValidChannelNumber,
  padTo4,
  parseChannelData,
  serializeChannelData,
  streamFrameLength,
} from './channel-data.js';

test('channel-data: round trip, with and without padding', () => {
  for (const len of [0, 1, 2, 3, 4, 5, 100, 1000]) {
    const data = new Uint8Array(len).map((_, i) => i * 7);
    const plain = serializeChannelData({ channel: 0x4001, data });
    assert.equal(plain.length, 4 + len);
    const padded = serializeChannelData({ channel: 0x4fff, data }, { pad: true });
    assert.equal(padded.length, 4 + padTo4(len));
    assert.equal(padded.length % 4, 0);
    for (const [bytes, ch] of [
      [plain, 0x4001],
      [padded, 0x4fff],
    ] as const) {
      const m = parseChannelData(bytes);
      assert.equal(m.channel, ch);
      assert.deepEqual([...m.data], [...data]);
      // The data is a view into the input, not a copy.
      assert.equal(m.data.buffer, bytes.buffer);
    }
  }
});

test('channel-data: wire layout matches RFC 8656 §12.4', () => {
  const b = serializeChannelData({ channel: 0x4abc, data: new Uint8Array([1, 2, 3]) }, { pad: true });
  assert.deepEqual([...b], [0x4a, 0xbc, 0x00, 0x03, 1, 2, 3, 0]);
});

test('channel-data: rejects bad channel numbers and short data with ParseError', () => {
  assert.throws(() => parseChannelData(new Uint8Array([0x3f, 0xff, 0, 0])), ParseError);
  assert.throws(() => parseChannelData(new Uint8Array([0x50, 0x00, 0, 0])), ParseError);
  assert.throws(() => parseChannelData(new Uint8Array([0x40, 0x00, 0, 5, 1, 2])), ParseError);
  assert.throws(() => parseChannelData(new Uint8Array([0x40])), ParseError);
  assert.equal(isValidChannelNumber(CHANNEL_NUMBER_MIN), true);
  assert.equal(isValidChannelNumber(CHANNEL_NUMBER_MAX), true);
  assert.equal(isValidChannelNumber(CHANNEL_NUMBER_MAX + 1), false);
  assert.equal(isValidChannelNumber(CHANNEL_NUMBER_MIN - 1), false);
  assert.equal(isChannelDataByte(0x40), true);
  assert.equal(isChannelDataByte(0x4f), true);
  assert.equal(isChannelDataByte(0x50), false);
  assert.equal(isChannelDataByte(0x00), false);
});

test('channel-data: stream frame lengths for STUN, ChannelData and garbage', () => {
  const stun = new Uint8Array([0x00, 0x01, 0x00, 0x08]);
  assert.equal(streamFrameLength(stun, 0, true), 28);
  assert.equal(streamFrameLength(new Uint8Array([0x00, 0x01, 0x00, 0x07]), 0, true), -1);
  const cd = new Uint8Array([0x40, 0x00, 0x00, 0x05]);
  assert.equal(streamFrameLength(cd, 0, true), 12);
  assert.equal(streamFrameLength(cd, 0, false), 9);
  assert.equal(streamFrameLength(new Uint8Array([0x80, 0, 0, 0]), 0, true), -1);
  assert.equal(streamFrameLength(new Uint8Array([0x7f, 0, 0, 1]), 0, true), -1);
  assert.equal(streamFrameLength(new Uint8Array([0x7f, 0, 0, 1]), 0, true, true), 8);
});

test('channel-data: fuzz (random and mutated bytes give a value or a ParseError)', () => {
  const rnd = new SeededRandom(0xcdcd);
  const seed = serializeChannelData({ channel: 0x4123, data: new Uint8Array(37).fill(9) }, { pad: true });
  for (let i = 0; i < 20_000; i++) {
    let input: Uint8Array;
    if (i % 2 === 0) {
      input = rnd.bytes(rnd.int(48));
    } else {
      input = seed.slice(0, rnd.int(seed.length + 1));
      for (let k = rnd.int(4); k >= 0; k--) if (input.length) input[rnd.int(input.length)] = rnd.u32() & 0xff;
    }
    try {
      const m = parseChannelData(input);
      assert.ok(isValidChannelNumber(m.channel));
      assert.ok(m.data.length + 4 <= input.length);
      const again = parseChannelData(serializeChannelData(m));
      assert.deepEqual([...again.data], [...m.data]);
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
    }
  }
});
