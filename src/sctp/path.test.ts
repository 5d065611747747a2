import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, finish, pair } from './test-pair.js';

test('raising maxMtu after the handshake starts PLPMTUD; lowering it shrinks new packets at once', async () => {
  const p = pair({ mtu: 9000 }, 40);
  await connect(p);
  await p.clock.advanceAsync(5_000);
  assert.equal(p.A.assoc.mtu, 1200, 'no ceiling yet: no probing');
  p.A.assoc.maxMtu = 16384;
  assert.equal(p.A.assoc.maxMtu, 16384);
  await p.clock.advanceAsync(30_000);
  assert.equal(p.A.assoc.mtu, 4800, '1200 -> 2400 -> 4800; 9600 is dropped by the path');
  assert.equal(p.B.assoc.mtu, 1200, 'the other direction has its own ceiling');
  p.A.assoc.maxMtu = 2000;
  assert.equal(p.A.assoc.mtu, 2000);
  // From now on the path drops anything over 2000 bytes.
  p.net.options = { mtu: 2000 };
  const dropped = p.net.dropped;
  const packets = p.A.assoc.stats.packetsSent;
  p.A.assoc.send(1, 53, new Uint8Array(30_000));
  assert.ok(await p.clock.runUntil(() => p.B.got.length === 1, 60_000));
  assert.equal(p.net.dropped, dropped, 'nothing larger than the new ceiling was sent');
  assert.ok(p.A.assoc.stats.packetsSent - packets >= 15, 'the message went in 2000-byte packets');
  p.A.assoc.maxMtu = 0;
  assert.equal(p.A.assoc.maxMtu, 1200, 'never below the configured mtu');
  assert.equal(p.A.assoc.mtu, 1200);
  finish(p);
});

test('unordered maxRetransmits 0 backs off on loss: a bottleneck queue does not eat most messages', async () => {
  // 2 MB/s bottleneck with a 64 KiB queue (like a socket buffer); the sender offers far more.
  const p = pair({ rate: 2000, buffer: 65536, delay: 2 }, 41);
  await connect(p);
  const total = 3000;
  let sent = 0;
  const pump = () => {
    while (sent < total && p.A.assoc.bufferedAmount(1) < 256 * 1024) {
      p.A.assoc.send(1, 53, new Uint8Array(4000), { unordered: true, maxRetransmits: 0 });
      sent++;
    }
  };
  for (let t = 0; t < 20_000 && sent < total; t += 5) {
    pump();
    await p.clock.advanceAsync(5);
  }
  await p.clock.advanceAsync(5_000);
  const got = p.B.got.length;
  const s = p.A.assoc.fullStats;
  assert.ok(s.abandonedMessages > 0, 'the queue did overflow');
  assert.ok(got > total * 0.9, `delivered ${got} of ${total}; cwnd ${s.cwnd}, ssthresh ${s.ssthresh}`);
  assert.ok(s.ssthresh < 1024 * 1024, `losses lowered ssthresh (${s.ssthresh})`);
  finish(p);
});

test('PLPMTUD probes past the configured size only towards a peer that announced large packets', async () => {
  // B behaves like Chromium or usrsctp: no announcement (and Chromium stops receiving after one
  // packet over ~2 KB, so it must never see a probe).
  const p = pair({}, 42, { maxMtu: 16384 }, { maxMtu: 16384, announceLargePackets: false });
  await connect(p);
  await p.clock.advanceAsync(30_000);
  assert.equal(p.A.assoc.mtu, 1200, 'A never probes towards B');
  assert.equal(p.B.assoc.mtu, 16384, 'B probes towards A, which announced');
  p.A.assoc.send(1, 53, new Uint8Array(100_000));
  assert.ok(await p.clock.runUntil(() => p.B.got.length === 1, 60_000));
  assert.equal(p.A.assoc.mtu, 1200);
  assert.ok(p.A.assoc.stats.packetsSent >= 100_000 / 1200, 'A sent 1200-byte packets');
  finish(p);
});
