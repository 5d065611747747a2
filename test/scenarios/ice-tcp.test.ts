/**
 * ICE-TCP (RFC 6544) on the virtual network: with UDP blocked at both hosts, the agents connect
 * over TCP host candidates (active -> passive, RFC 4571 framing) and carry data.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { VirtualNetwork } from '../../src/core/vnet/index.js';
import { frameRfc4571, Rfc4571Deframer } from '../../src/ice/tcp.js';
import { agentPair } from './ice-harness.js';

test('RFC 4571 deframer reassembles frames split anywhere', () => {
  const frames = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(300).fill(7)];
  const stream = new Uint8Array(frames.reduce((n, f) => n + 2 + f.length, 0));
  let at = 0;
  for (const f of frames) {
    stream.set(frameRfc4571(f), at);
    at += 2 + f.length;
  }
  for (const cut of [1, 2, 3, 5, 64, stream.length]) {
    const d = new Rfc4571Deframer();
    const got: number[] = [];
    for (let i = 0; i < stream.length; i += cut)
      d.push(stream.subarray(i, i + cut), (f) => got.push(f.length));
    assert.deepEqual(got, [3, 0, 300], `cut ${cut}`);
  }
});

test('UDP blocked on both hosts: connected over ICE-TCP host candidates', async () => {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock, seed: 91 });
  const ha = net.host('a', { firewall: { dropOutboundUdp: true } });
  const hb = net.host('b', { firewall: { dropOutboundUdp: true } });
  const p = agentPair({ clock, a: ha, b: hb, optsA: { iceTcp: true }, optsB: { iceTcp: true } });
  const lines: string[] = [];
  p.a.on('candidate', (c) => {
    if (c) lines.push(c.attribute);
  });
  assert.ok(await p.settle(120_000));
  assert.ok(
    lines.some((l) => / tcp \d+ \S+ 9 typ host tcptype active/.test(l)),
    lines.join('\n'),
  );
  assert.ok(lines.some((l) => /tcptype passive/.test(l)));
  const sa = p.a.selectedPair!;
  const sb = p.b.selectedPair!;
  assert.equal(sa.local.protocol, 'tcp');
  assert.equal(sb.local.protocol, 'tcp');
  assert.ok(p.a.state === 'connected' || p.a.state === 'completed');
  const got: number[] = [];
  p.b.on('data', (d) => got.push(d.length));
  p.a.on('data', (d) => got.push(d.length));
  p.a.send(new Uint8Array(1200).fill(0x80));
  p.b.send(new Uint8Array(100).fill(0x80));
  await clock.runUntil(() => got.length === 2, 2000);
  assert.deepEqual(
    got.sort((x, y) => x - y),
    [100, 1200],
  );
  await p.close();
  net.close();
  net.assertNoOpenSockets();
});
