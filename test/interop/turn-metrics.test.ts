/**
 * The TURN server's Prometheus endpoint on real loopback sockets: metric names and values move
 * with real traffic (one Allocate and a refused request), and the registry can be merged.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/core/log.js';
import { TURN_METRICS } from '../../src/server/turn/metrics.js';
import { startTurnServer } from '../../src/server/turn/server.js';
import { attr } from '../../src/stun/attributes.js';
import { METHOD } from '../../src/stun/constants.js';
import { serializeStunMessage } from '../../src/stun/serialize.js';
import { waitFor } from '../helpers/wait.js';

test('turn metrics: Prometheus text on an HTTP port, merged registries', async () => {
  const turn = await startTurnServer({
    listeningIps: ['127.0.0.1'],
    listeningPort: 0,
    tcp: false,
    tls: false,
    users: ['u:p'],
    realm: 'm',
    prometheus: { port: 0, host: '127.0.0.1' },
    logger: silentLogger,
  });
  try {
    // One unauthenticated Allocate: a 401 challenge (not an auth failure) and a parse error.
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const answered = new Promise<void>((r) => s.once('message', () => r()));
    const tid = new Uint8Array(12).fill(1);
    s.send(
      serializeStunMessage({
        method: METHOD.ALLOCATE,
        cls: 'request',
        transactionId: tid,
        attributes: [attr.requestedTransport(17)],
      }),
      turn.ports.udp[0]!,
      '127.0.0.1',
    );
    s.send(new Uint8Array([0x00, 0x01, 0x00, 0x05, 1, 2, 3]), turn.ports.udp[0]!, '127.0.0.1');
    await answered;
    // The malformed datagram went after the Allocate: counted once the server has taken it.
    await waitFor(
      async () =>
        /rtcstack_turn_dropped_total\{reason="parse_error"\} [1-9]/.test(await turn.metrics.metrics()),
      'the malformed datagram counted',
      10_000,
    );
    s.close();
    const res = await fetch(`http://127.0.0.1:${turn.prometheusPort}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    for (const name of Object.values(TURN_METRICS))
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    assert.match(text, /rtcstack_turn_allocations\{transport="udp"\} 0/);
    assert.match(text, /rtcstack_turn_dropped_total\{reason="parse_error"\} 1/);
    assert.equal((await fetch(`http://127.0.0.1:${turn.prometheusPort}/nope`)).status, 404);
    // `rtcstack serve` merges the TURN registry with its own.
    const mine = new Registry();
    const merged = Registry.merge([mine, turn.metrics]);
    assert.match(await merged.metrics(), /rtcstack_turn_relayed_packets_total/);
  } finally {
    await turn.close();
  }
});
