/**
 * Real RTCP from Chromium 156 (decrypted by our SRTCP in src/srtp/chromium.test.ts, saved with
 * RTCS_WRITE_FIXTURES=1): compound SR + SDES parse and re-serialize byte for byte.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fromHex, toHex } from '../core/bytes.js';
import { parseRtcp, SDES_CNAME, serializeRtcp } from './index.js';

const fixture = JSON.parse(
  readFileSync(new URL('../rtp/fixtures/chromium-rtcp.json', import.meta.url), 'utf8'),
) as {
  packets: string[];
};

test('Chromium RTCP compounds: SR first, SDES with CNAME, exact round trip', () => {
  assert.ok(fixture.packets.length > 0);
  const cnames = new Set<string>();
  for (const hex of fixture.packets) {
    const bytes = fromHex(hex);
    const packets = parseRtcp(bytes);
    assert.equal(toHex(serializeRtcp(packets)), hex);
    assert.ok(packets[0]?.type === 'sr' || packets[0]?.type === 'rr', 'a compound starts with a report');
    for (const p of packets) {
      if (p.type === 'sr') {
        assert.ok(p.ntpSeconds > 3_900_000_000, 'NTP seconds since 1900');
        assert.ok(p.packetCount > 0 && p.octetCount > 0);
      }
      if (p.type === 'sdes')
        for (const c of p.chunks) for (const i of c.items) if (i.type === SDES_CNAME) cnames.add(i.value);
    }
  }
  assert.equal(cnames.size, 1, 'one CNAME for both streams');
});
