import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromHex, toHex } from '../core/bytes.js';
import { ParseError } from '../core/errors.js';
import { SeededRandom } from '../core/random.js';
import { type DcepMessage, parseDcep, serializeDcep } from './dcep.js';

test('DATA_CHANNEL_OPEN has the RFC 8832 layout and round-trips', () => {
  const open: DcepMessage = {
    type: 'open',
    ordered: false,
    reliability: 'rexmit',
    reliabilityParameter: 3,
    priority: 256,
    label: 'chat',
    protocol: 'x',
  };
  const wire = serializeDcep(open);
  assert.equal(toHex(wire), '03810100' + '00000003' + '0004' + '0001' + '63686174' + '78');
  assert.deepEqual(parseDcep(wire), open);
  for (const m of [
    { ...open, ordered: true, reliability: 'reliable', reliabilityParameter: 0, label: 'ünï', protocol: '' },
    { ...open, reliability: 'timed', reliabilityParameter: 1500 },
    { type: 'ack' },
  ] as DcepMessage[]) {
    assert.deepEqual(parseDcep(serializeDcep(m)), m);
  }
  assert.deepEqual(parseDcep(fromHex('02')), { type: 'ack' });
});

test('fuzz: DCEP parser returns a value or throws ParseError', () => {
  const rnd = new SeededRandom(8832);
  const valid = serializeDcep({
    type: 'open',
    ordered: true,
    reliability: 'timed',
    reliabilityParameter: 9,
    priority: 0,
    label: 'label',
    protocol: 'proto',
  });
  let ok = 0;
  for (let i = 0; i < 10000; i++) {
    let b = i % 2 ? rnd.bytes(rnd.int(30)) : valid.slice();
    if (i % 2 === 0) {
      b[rnd.int(b.length)] = rnd.u32() & 0xff;
      if (rnd.int(3) === 0) b = b.subarray(0, rnd.int(b.length));
    }
    try {
      parseDcep(b);
      ok++;
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
    }
  }
  assert.ok(ok > 100);
});
