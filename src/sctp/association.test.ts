import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../core/random.js';
import { SctpAssociation } from './association.js';
import { parsePacket } from './packet.js';
import { connect, finish, pair } from './test-pair.js';

function payload(rnd: SeededRandom, n: number): Uint8Array {
  return rnd.bytes(n);
}

test('simultaneous open (both send INIT) and passive open both establish, negotiating extensions', async () => {
  const p = pair();
  await connect(p, true);
  assert.equal(p.A.assoc.interleaving, true);
  assert.equal(p.A.assoc.zeroChecksum, true);
  finish(p);
  const q = pair({}, 2, {}, { interleaving: false, zeroChecksum: false });
  await connect(q, false);
  assert.equal(q.A.assoc.interleaving, false);
  assert.equal(q.B.assoc.zeroChecksum, false);
  assert.equal(q.A.assoc.zeroChecksum, false, 'B did not offer zero checksum');
  finish(q);
});

test('the handshake survives loss of INIT, INIT ACK and COOKIE packets', async () => {
  for (const seed of [7, 8, 9]) {
    const p = pair({ loss: 0.3 }, seed);
    await connect(p);
    finish(p);
  }
  const p = pair({ loss: 0.3 }, 10);
  await connect(p, false);
  finish(p);
});

for (const interleaving of [true, false]) {
  test(`reliable ordered delivery is byte-identical under 20% loss, reordering and duplication (I-DATA ${interleaving})`, async () => {
    const p = pair({ loss: 0.2, reorder: 0.3, jitter: 30, duplicate: 0.1 }, 42, { interleaving });
    await connect(p);
    const rnd = new SeededRandom(99);
    const sent: Uint8Array[][] = [[], []];
    for (let i = 0; i < 150; i++) {
      const stream = i % 2;
      const size = 1 + rnd.int(i % 10 === 0 ? 70_000 : 3000);
      const d = payload(rnd, size);
      sent[stream]!.push(d);
      p.A.assoc.send(stream, 53, d);
    }
    const total = 150;
    const ok = await p.clock.runUntil(() => p.B.got.length === total, 600_000);
    assert.ok(ok, `received ${p.B.got.length}/${total}`);
    for (const s of [0, 1]) {
      const got = p.B.got.filter((m) => m.stream === s).map((m) => m.data);
      assert.equal(got.length, sent[s]!.length);
      for (let i = 0; i < got.length; i++) assert.deepEqual(got[i], sent[s]![i], `stream ${s} message ${i}`);
    }
    assert.ok(p.A.assoc.fullStats.retransmissions > 0);
    assert.equal(p.A.assoc.state, 'established');
    finish(p);
  });
}

test('reliable unordered fragmented messages all arrive intact under loss and reordering', async () => {
  for (const interleaving of [true, false]) {
    const p = pair({ loss: 0.2, reorder: 0.3, jitter: 30, duplicate: 0.05 }, 21, { interleaving });
    await connect(p);
    const rnd = new SeededRandom(5);
    const sent = new Map<number, Uint8Array>();
    for (let i = 0; i < 40; i++) {
      const d = rnd.bytes(4 + rnd.int(20_000));
      d[0] = i;
      sent.set(i, d);
      p.A.assoc.send(i % 3, 53, d, { unordered: true });
    }
    assert.ok(await p.clock.runUntil(() => p.B.got.length === 40, 600_000), `got ${p.B.got.length}`);
    for (const m of p.B.got) {
      assert.equal(m.unordered, true);
      assert.deepEqual(m.data, sent.get(m.data[0]!));
    }
    finish(p);
  }
});

test('unordered maxRetransmits: 0 loses messages but never stalls', async () => {
  const p = pair({ loss: 0.2, reorder: 0.2 }, 5);
  await connect(p);
  for (let i = 0; i < 400; i++) {
    const d = new Uint8Array(200).fill(i & 0xff);
    p.A.assoc.send(3, 53, d, { unordered: true, maxRetransmits: 0 });
    if (i % 20 === 0) await p.clock.advanceAsync(10);
  }
  await p.clock.runUntil(() => false, 20_000);
  const n = p.B.got.length;
  assert.ok(n < 400 && n > 200, `delivered ${n}`);
  assert.ok(p.A.assoc.fullStats.abandonedMessages > 0);
  assert.equal(p.A.assoc.fullStats.retransmissions, 0, 'nothing retransmitted');
  // the association keeps going: a reliable message afterwards arrives
  p.net.options = {};
  p.A.assoc.send(4, 51, new Uint8Array([1]));
  assert.ok(await p.clock.runUntil(() => p.B.got.some((m) => m.stream === 4), 10_000));
  finish(p);
});

test('ordered maxRetransmits: 0 skips lost messages in order (FORWARD-TSN) without stalling', async () => {
  for (const interleaving of [true, false]) {
    const p = pair({ loss: 0.25 }, 11, { interleaving });
    await connect(p);
    for (let i = 0; i < 300; i++) {
      const d = new Uint8Array(i % 7 === 0 ? 3000 : 100).fill(i & 0xff);
      d[0] = i & 0xff;
      d[1] = i >> 8;
      p.A.assoc.send(5, 53, d, { maxRetransmits: 0 });
      if (i % 10 === 0) await p.clock.advanceAsync(5);
    }
    await p.clock.runUntil(() => false, 20_000);
    const idx = p.B.got.map((m) => m.data[0]! | (m.data[1]! << 8));
    assert.ok(idx.length > 100 && idx.length < 300, `got ${idx.length}`);
    for (let i = 1; i < idx.length; i++) assert.ok(idx[i]! > idx[i - 1]!, 'in order');
    p.net.options = {};
    p.A.assoc.send(5, 53, new Uint8Array([0xee, 0xee]));
    assert.ok(
      await p.clock.runUntil(() => p.B.got.at(-1)?.data[0] === 0xee, 10_000),
      `I-DATA ${interleaving}`,
    );
    finish(p);
  }
});

test('maxPacketLifeTime expires messages that cannot be delivered in time', async () => {
  const p = pair({}, 3);
  await connect(p);
  p.net.down = true;
  for (let i = 0; i < 20; i++) p.A.assoc.send(1, 53, new Uint8Array(500).fill(1), { maxPacketLifeTime: 300 });
  await p.clock.advanceAsync(2500);
  p.net.down = false;
  p.A.assoc.send(1, 53, new Uint8Array([2]), { maxPacketLifeTime: 300 });
  assert.ok(await p.clock.runUntil(() => p.B.got.length > 0, 20_000));
  assert.deepEqual(
    p.B.got.map((m) => m.data[0]),
    [2],
  );
  assert.ok(p.A.assoc.fullStats.abandonedMessages >= 20);
  finish(p);
});

test('with I-DATA a 64 KiB message does not delay small messages on another stream', async () => {
  const arrival = async (interleaving: boolean) => {
    const p = pair({ delay: 10 }, 8, { interleaving, receiveWindow: 1 << 22 });
    await connect(p);
    const order: string[] = [];
    p.B.assoc.on('message', (s) => order.push(s === 1 ? 'big' : 'small'));
    p.A.assoc.send(1, 53, new Uint8Array(65536).fill(7));
    p.A.assoc.send(2, 51, new TextEncoder().encode('hi'));
    assert.ok(await p.clock.runUntil(() => order.length === 2, 20_000));
    finish(p);
    return order;
  };
  assert.deepEqual(await arrival(true), ['small', 'big']);
  assert.deepEqual(await arrival(false), ['big', 'small']);
});

test('association aborts with ERR_SCTP_PEER_UNREACHABLE when the peer vanishes', async () => {
  const p = pair({}, 4);
  await connect(p);
  let err: unknown;
  p.A.assoc.on('close', (e) => (err = e));
  p.net.down = true;
  p.A.assoc.send(1, 53, new Uint8Array(100));
  assert.ok(await p.clock.runUntil(() => p.A.assoc.state === 'closed', 3_600_000));
  assert.equal((err as { code?: string }).code, 'ERR_SCTP_PEER_UNREACHABLE');
  p.B.assoc.close();
  p.clock.advance(100);
  assert.equal(p.clock.activeTimers, 0);
});

test('an idle association notices a vanished peer through heartbeats', async () => {
  const p = pair({}, 6, { heartbeatInterval: 1000 });
  await connect(p);
  await p.clock.advanceAsync(5000);
  assert.equal(p.A.assoc.state, 'established', 'heartbeats answered');
  assert.ok(p.A.assoc.fullStats.srtt !== undefined);
  p.net.down = true;
  assert.ok(await p.clock.runUntil(() => p.A.assoc.state === 'closed', 600_000));
  finish(p);
});

test('ABORT from the peer closes with ERR_SCTP_ABORTED', async () => {
  const p = pair({}, 9);
  await connect(p);
  let err: unknown;
  p.B.assoc.on('close', (e) => (err = e));
  p.A.assoc.abort('bye');
  await p.clock.runUntil(() => p.B.assoc.state === 'closed', 1000);
  assert.equal((err as { code?: string }).code, 'ERR_SCTP_ABORTED');
  finish(p);
});

test('graceful shutdown delivers queued data, then both sides close without error', async () => {
  const p = pair({ loss: 0.1 }, 10);
  await connect(p);
  const errs: unknown[] = [];
  p.A.assoc.on('close', (e) => errs.push(e));
  p.B.assoc.on('close', (e) => errs.push(e));
  for (let i = 0; i < 20; i++) p.A.assoc.send(1, 53, new Uint8Array(5000).fill(i));
  p.A.assoc.shutdown();
  assert.ok(
    await p.clock.runUntil(() => p.A.assoc.state === 'closed' && p.B.assoc.state === 'closed', 120_000),
    `${p.A.assoc.state} ${p.B.assoc.state}`,
  );
  assert.equal(p.B.got.length, 20);
  assert.deepEqual(errs, [undefined, undefined]);
  p.clock.advance(1000);
  assert.equal(p.clock.activeTimers, 0);
});

test('stream reset (RFC 6525) restarts sequence numbers on both sides', async () => {
  for (const interleaving of [true, false]) {
    const p = pair({ loss: 0.1 }, 12, { interleaving });
    await connect(p);
    const resets: number[][] = [];
    const done: number[][] = [];
    p.B.assoc.on('streamReset', (ids) => resets.push(ids));
    p.A.assoc.on('streamResetDone', (ids) => done.push(ids));
    for (let i = 0; i < 5; i++) p.A.assoc.send(1, 53, new Uint8Array([i]));
    p.A.assoc.resetStreams([1]);
    assert.ok(await p.clock.runUntil(() => done.length === 1, 60_000));
    assert.deepEqual(resets, [[1]]);
    assert.equal(p.B.got.length, 5, 'queued messages were sent before the reset');
    p.A.assoc.send(1, 53, new Uint8Array([9]));
    assert.ok(await p.clock.runUntil(() => p.B.got.length === 6, 60_000));
    finish(p);
  }
});

test('delayed SACK: one packet is acked after the delay, two at once, and a reply carries the SACK', async () => {
  const p = pair({ delay: 1 }, 13);
  await connect(p);
  await p.clock.advanceAsync(500);
  const fromB: string[] = [];
  // observe B's packets by wrapping the link's delivery to A
  const origHandle = p.A.assoc.handle.bind(p.A.assoc);
  p.net.attach(0, {
    handle: (pkt) => {
      fromB.push(
        parsePacket(pkt)
          .chunks.map((c) => c.type)
          .join(','),
      );
      origHandle(pkt);
    },
  });
  p.A.assoc.send(1, 53, new Uint8Array(10));
  await p.clock.advanceAsync(50);
  assert.deepEqual(fromB, [], 'SACK delayed');
  await p.clock.advanceAsync(200);
  assert.deepEqual(fromB, ['3']);
  fromB.length = 0;
  p.A.assoc.send(1, 53, new Uint8Array(1100));
  p.A.assoc.send(1, 53, new Uint8Array(1100));
  await p.clock.advanceAsync(5);
  assert.deepEqual(fromB, ['3'], 'second packet acked at once');
  fromB.length = 0;
  await p.clock.advanceAsync(500);
  // request / response: the reply bundles the SACK, no delay
  p.B.assoc.on('message', (stream, _ppid, data) => {
    if (data.length === 3) p.B.assoc.send(stream, 53, new Uint8Array([1]));
  });
  p.A.assoc.send(1, 53, new Uint8Array(3));
  await p.clock.advanceAsync(5);
  assert.deepEqual(fromB, ['3,64']);
  finish(p);
});

test('bufferedAmount drops as data is sent and bufferedAmountLow fires when it crosses the threshold', async () => {
  const p = pair({}, 14);
  await connect(p);
  const low: number[] = [];
  p.A.assoc.on('bufferedAmountLow', (s) => low.push(s));
  p.A.assoc.setBufferedAmountLowThreshold(1, 10_000);
  for (let i = 0; i < 100; i++) p.A.assoc.send(1, 53, new Uint8Array(1000));
  assert.equal(p.A.assoc.bufferedAmount(1), 100_000);
  assert.ok(await p.clock.runUntil(() => p.B.got.length === 100, 60_000));
  assert.equal(p.A.assoc.bufferedAmount(1), 0);
  assert.deepEqual(low, [1]);
  finish(p);
});

test('garbage and corrupted packets are counted and dropped, never thrown', async () => {
  const p = pair({}, 15);
  await connect(p);
  const rnd = new SeededRandom(77);
  for (let i = 0; i < 3000; i++) {
    const pkt = rnd.bytes(rnd.int(200));
    p.A.assoc.handle(pkt);
  }
  assert.ok(p.A.assoc.stats.checksumErrors + p.A.assoc.stats.parseErrors > 2900);
  p.A.assoc.send(1, 53, new Uint8Array([5]));
  assert.ok(await p.clock.runUntil(() => p.B.got.length === 1, 10_000));
  finish(p);
});

test('PLPMTUD probes with padded HEARTBEATs and settles on the largest size the path carries', async () => {
  const p = pair({ mtu: 5000 }, 30, { maxMtu: 16000 }, { maxMtu: 16000 });
  const sizes: number[] = [];
  p.A.assoc.on('mtu', (m) => sizes.push(m));
  await connect(p);
  await p.clock.advanceAsync(30_000);
  assert.equal(p.A.assoc.mtu, 4800, '1200 -> 2400 -> 4800, 9600 is dropped by the path');
  assert.deepEqual(sizes, [2400, 4800], 'an mtu event per confirmed size');
  assert.equal(p.B.assoc.mtu, 4800);
  const d = new SeededRandom(1).bytes(200_000);
  p.A.assoc.send(1, 53, d);
  assert.ok(await p.clock.runUntil(() => p.B.got.length === 1, 60_000));
  assert.deepEqual(p.B.got[0]!.data, d);
  assert.ok(p.A.assoc.stats.packetsSent < 80, `${p.A.assoc.stats.packetsSent} packets for 200 kB`);
  finish(p);
});

test('without maxMtu no probes are sent and packets stay within the configured MTU', async () => {
  const p = pair({ mtu: 1200 }, 31);
  await connect(p);
  await p.clock.advanceAsync(10_000);
  assert.equal(p.A.assoc.mtu, 1200);
  p.A.assoc.send(1, 53, new Uint8Array(50_000));
  assert.ok(await p.clock.runUntil(() => p.B.got.length === 1, 60_000));
  assert.equal(p.net.dropped, 0);
  finish(p);
});

test('zero checksum (RFC 9653): INIT and handshake packets carry CRC32c, data packets carry zero', async () => {
  const p = pair({}, 40);
  const seen: { types: string; checksum: number }[] = [];
  const orig = p.B.assoc.handle.bind(p.B.assoc);
  p.net.attach(1, {
    handle: (pkt) => {
      const types = parsePacket(pkt)
        .chunks.map((c) => c.type)
        .join(',');
      seen.push({ types, checksum: pkt[8]! | pkt[9]! | pkt[10]! | pkt[11]! });
      orig(pkt);
    },
  });
  await connect(p);
  p.A.assoc.send(1, 53, new Uint8Array(100));
  assert.ok(await p.clock.runUntil(() => p.B.got.length === 1));
  assert.notEqual(seen.find((s) => s.types === '1')!.checksum, 0, 'INIT has a CRC');
  assert.equal(seen.find((s) => s.types.includes('64'))!.checksum, 0, 'DATA packets use zero checksum');
  finish(p);
});

test('fuzz: mutated packets fed to a live association never throw and it keeps working', async () => {
  for (const interleaving of [true, false]) {
    const p = pair({}, 41, { interleaving });
    const captured: Uint8Array[] = [];
    const origB = p.B.assoc.handle.bind(p.B.assoc);
    p.net.attach(1, {
      handle: (pkt) => {
        captured.push(pkt.slice());
        origB(pkt);
      },
    });
    await connect(p);
    for (let i = 0; i < 30; i++)
      p.A.assoc.send(i % 3, 53, new Uint8Array(i * 97 + 1), { unordered: i % 2 === 0 });
    p.A.assoc.resetStreams([2]);
    assert.ok(await p.clock.runUntil(() => p.B.got.length >= 20, 60_000));
    const rnd = new SeededRandom(4242);
    const victim = new SctpAssociation({
      clock: p.clock,
      send: () => {},
      random: new SeededRandom(1),
      interleaving,
    });
    for (let i = 0; i < 3000; i++) {
      const pkt = captured[rnd.int(captured.length)]!.slice();
      const flips = 1 + rnd.int(6);
      for (let f = 0; f < flips; f++) pkt[12 + rnd.int(Math.max(1, pkt.length - 12))] = rnd.u32() & 0xff;
      // a zero checksum is accepted (zero checksum offered), so the mutations reach the chunk parsers
      pkt[8] = pkt[9] = pkt[10] = pkt[11] = 0;
      p.B.assoc.handle(pkt);
      victim.handle(pkt);
    }
    victim.close();
    if (p.B.assoc.state === 'established') {
      const before = p.B.got.length;
      p.A.assoc.send(0, 53, new Uint8Array([1]));
      await p.clock.runUntil(() => p.B.got.length > before || p.B.assoc.state !== 'established', 60_000);
    }
    finish(p);
  }
});

test('a window-limited sender fills its packets (no tail-only packets) and the peer SACKs every second one', async () => {
  // 16 KiB messages over 16 KiB packets: each message needs a full packet plus a 52-byte tail. When
  // the peer's window is the limit, the tail must wait for room to share a packet with the next message.
  const p = pair({ delay: 5 }, 21, { mtu: 16384 }, { mtu: 16384, receiveWindow: 256 * 1024 });
  await connect(p);
  const a0 = p.A.assoc.stats.packetsSent;
  const b0 = p.B.assoc.stats.packetsSent;
  const n = 300;
  for (let i = 0; i < n; i++) p.A.assoc.send(1, 53, new Uint8Array(16384).fill(i));
  assert.ok(await p.clock.runUntil(() => p.B.got.length === n, 60_000));
  assert.ok(p.B.got.every((m, i) => m.data.length === 16384 && m.data[0] === (i & 0xff)));
  const data = p.A.assoc.stats.packetsSent - a0;
  const sacks = p.B.assoc.stats.packetsSent - b0;
  assert.ok(data <= n * 1.05, `${data} data packets for ${n} messages of a packet each`);
  assert.ok(sacks <= data * 0.6, `${sacks} SACK packets for ${data} data packets`);
  finish(p);
});
