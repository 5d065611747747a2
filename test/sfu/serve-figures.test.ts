/**
 * `rtcstack serve` with its SFU: /metrics carries the SFU's Prometheus metrics and /api/stats (the
 * dashboard's data) its figures, and rooms that switch to SFU mode show up in both.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DashboardData } from '../../src/server/http/http-server.js';
import { startTestServer, TestClient } from '../serve/helpers.js';

test('serve: SFU figures in /metrics and /api/stats', async () => {
  const srv = await startTestServer({ sfuSwitchAt: 2, sfuBackAt: 1 });
  const clients: TestClient[] = [];
  try {
    let metrics = await (await fetch(`${srv.url}/metrics`)).text();
    assert.match(metrics, /^rtcstack_sfu_rooms 0$/m);
    assert.match(metrics, /^rtcstack_sfu_forwarded_packets_total 0$/m);
    let dash = (await (await fetch(`${srv.url}/api/stats`)).json()) as DashboardData;
    assert.deepEqual(dash.sfu?.rooms, []);
    // Two participants: the room switches to SFU mode.
    for (const name of ['ann', 'bob']) {
      const c = await TestClient.open(srv.wsUrl);
      clients.push(c);
      assert.equal((await c.join('fig', { name })).type, 'welcome');
    }
    await clients[0]!.next((m) => m.type === 'mode' && (m as { mode?: string }).mode === 'sfu');
    metrics = await (await fetch(`${srv.url}/metrics`)).text();
    assert.match(metrics, /^rtcstack_sfu_rooms 1$/m);
    dash = (await (await fetch(`${srv.url}/api/stats`)).json()) as DashboardData;
    assert.equal(dash.sfu?.rooms[0]?.name, 'fig');
    assert.equal(dash.sfu?.rooms[0]?.participants.length, 2);
  } finally {
    for (const c of clients) c.ws.close();
    await srv.close();
  }
});
