import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { collect, drive } from '../../../test/helpers/vnet.js';
import { ManualClock } from '../clock.js';
import type { TcpConnection } from '../net.js';
import { SeededRandom } from '../random.js';
import { TCP_CONNECT_TIMEOUT_MS, VirtualNetwork, type VirtualNetworkError } from './index.js';

function world() {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock });
  return { clock, net };
}

describe('virtual host as a Network', () => {
  test('interfaces: loopback plus one per address', () => {
    const { net } = world();
    const h = net.host('h', { addresses: ['203.0.113.1', '2001:db8::1'] });
    assert.deepEqual(h.interfaces(), [
      { name: 'lo', address: '127.0.0.1', family: 'IPv4', internal: true },
      { name: 'eth0', address: '203.0.113.1', family: 'IPv4', internal: false },
      { name: 'eth1', address: '2001:db8::1', family: 'IPv6', internal: false },
    ]);
    net.close();
  });

  test('bindUdp: ephemeral ports, EADDRINUSE, EADDRNOTAVAIL', async () => {
    const { net } = world();
    const h = net.host('h', { address: '203.0.113.1' });
    const a = await h.bindUdp();
    const b = await h.bindUdp();
    assert.equal(a.local.port, 49152);
    assert.equal(b.local.port, 49153);
    assert.deepEqual(a.local, { address: '0.0.0.0', port: 49152 });
    await assert.rejects(h.bindUdp({ port: 49152 }), (e: VirtualNetworkError) => e.code === 'EADDRINUSE');
    await assert.rejects(
      h.bindUdp({ address: '203.0.113.1', port: 49152 }),
      (e: VirtualNetworkError) => e.code === 'EADDRINUSE',
    );
    await assert.rejects(
      h.bindUdp({ address: '203.0.113.9' }),
      (e: VirtualNetworkError) => e.code === 'EADDRNOTAVAIL',
    );
    a.close();
    const c = await h.bindUdp({ address: '203.0.113.1', port: 49152 });
    assert.deepEqual(c.local, { address: '203.0.113.1', port: 49152 });
    b.close();
    c.close();
    net.assertNoOpenSockets();
    net.close();
  });

  test('a closed socket stops receiving; drops are counted', async () => {
    const { clock, net } = world();
    const a = net.host('a');
    const b = net.host('b');
    const sa = await a.bindUdp();
    const sb = await b.bindUdp({ port: 7 });
    const got = collect(sb, clock);
    const to = { address: b.addresses[0]!, port: 7 };
    sa.send(new Uint8Array([1]), to);
    sa.send(new Uint8Array([2]), to);
    clock.advance(0);
    sb.close();
    assert.equal(sb.closed, true);
    sa.send(new Uint8Array([3]), to);
    clock.advance(0);
    assert.equal(got.length, 2);
    assert.equal(net.stats.udp.dropped['no-socket'], 1);
    assert.equal(b.stats.delivered, 2);
    assert.equal(sb.send(new Uint8Array([4]), to), false, 'a closed socket cannot send');
    sa.close();
    net.close();
  });

  test('loopback and own addresses are delivered on the host, via the clock', async () => {
    const { clock, net } = world();
    const h = net.host('h', { address: '203.0.113.1' });
    const s1 = await h.bindUdp({ port: 1000 });
    const s2 = await h.bindUdp({ port: 2000 });
    const got = collect(s2, clock);
    s1.send(new Uint8Array([1]), { address: '127.0.0.1', port: 2000 });
    s1.send(new Uint8Array([2]), { address: '203.0.113.1', port: 2000 });
    assert.equal(got.length, 0);
    clock.advance(0);
    assert.deepEqual(
      got.map((g) => g.from),
      [
        { address: '127.0.0.1', port: 1000 },
        { address: '203.0.113.1', port: 1000 },
      ],
    );
    net.close();
  });

  test('IPv6 hosts talk over IPv6; a wildcard IPv4 socket cannot reach an IPv6 address', async () => {
    const { clock, net } = world();
    const a = net.host('a', { addresses: ['203.0.113.1', '2001:db8::1'] });
    const b = net.host('b', { address: '2001:db8::2' });
    const s6 = await a.bindUdp({ family: 'IPv6' });
    const s4 = await a.bindUdp();
    const sb = await b.bindUdp({ family: 'IPv6', port: 5 });
    const got = collect(sb, clock);
    assert.equal(s6.send(new Uint8Array([6]), { address: '2001:db8::2', port: 5 }), true);
    assert.equal(s4.send(new Uint8Array([4]), { address: '2001:db8::2', port: 5 }), false);
    clock.advance(0);
    assert.deepEqual(got[0]?.from, { address: '2001:db8::1', port: s6.local.port });
    assert.equal(got.length, 1);
    net.close();
  });

  test('a handler exception surfaces (a receive loop bug must not be silent)', async () => {
    const { clock, net } = world();
    const a = net.host('a');
    const b = net.host('b');
    const sa = await a.bindUdp();
    const sb = await b.bindUdp();
    sb.onMessage = () => {
      throw new Error('bug');
    };
    sa.send(new Uint8Array(1), { address: b.addresses[0]!, port: sb.local.port });
    assert.throws(() => clock.advance(0), /bug/);
    net.close();
  });

  test('assertNoOpenSockets lists what is open; close() closes everything and cancels in-flight packets', async () => {
    const { clock, net } = world();
    const nat = net.nat('n', { preset: 'symmetric' });
    const h = nat.host('h');
    const server = net.host('s', { address: '203.0.113.5' });
    const s = await h.bindUdp({ port: 1234 });
    const l = await server.listenTcp({ port: 80 });
    s.send(new Uint8Array(10), { address: '203.0.113.5', port: 9 });
    assert.throws(
      () => net.assertNoOpenSockets(),
      /2 socket\(s\) left open:\n {2}h: udp 0\.0\.0\.0:1234\n {2}s: tcp listener 0\.0\.0\.0:80/,
    );
    assert.ok(net.inFlight > 0);
    net.close();
    assert.equal(net.inFlight, 0);
    assert.equal(clock.activeTimers, 0);
    assert.equal(s.closed, true);
    net.assertNoOpenSockets();
    void l;
  });
});

describe('TCP on the virtual network', () => {
  async function echoServer(net: VirtualNetwork, port = 443) {
    const server = net.host('server', { address: '203.0.113.1' });
    const listener = await server.listenTcp({ port });
    const accepted: TcpConnection[] = [];
    listener.onConnection = (c) => {
      accepted.push(c);
      c.onData = (d) => c.write(d);
    };
    return { server, listener, accepted };
  }

  test('connect through a NAT, a large echo arrives intact and in order, close reaches the peer', async () => {
    const { clock, net } = world();
    const { listener, accepted } = await echoServer(net);
    const nat = net.nat('home', { preset: 'symmetric', address: '198.51.100.1' });
    const client = nat.host('client', { link: { delay: 15, jitter: 10, bandwidth: 5_000_000 } });
    const conn = await drive(clock, client.connectTcp({ address: '203.0.113.1', port: 443 }));
    assert.equal(conn.local.address, '10.1.0.2');
    assert.equal(accepted.length, 1);
    assert.equal(accepted[0]!.remote.address, '198.51.100.1', 'the server sees the NAT');
    const payload = new SeededRandom(3).bytes(200_000);
    const chunks: Uint8Array[] = [];
    let n = 0;
    conn.onData = (d) => {
      chunks.push(d.slice());
      n += d.length;
    };
    for (let i = 0; i < payload.length; i += 7000) conn.write(payload.subarray(i, i + 7000));
    assert.ok(await clock.runUntil(() => n === payload.length, 60_000));
    assert.deepEqual(Buffer.concat(chunks), Buffer.from(payload));
    assert.equal(nat.mappings('tcp').length, 1);
    let serverClosed = false;
    let clientClosed = false;
    accepted[0]!.onClose = () => {
      serverClosed = true;
    };
    conn.onClose = () => {
      clientClosed = true;
    };
    conn.close();
    assert.ok(await clock.runUntil(() => serverClosed && clientClosed, 1000));
    assert.equal(accepted[0]!.closed, true);
    listener.close();
    net.assertNoOpenSockets();
    net.close();
    assert.equal(clock.activeTimers, 0);
  });

  test('no listener: ECONNREFUSED', async () => {
    const { clock, net } = world();
    net.host('server', { address: '203.0.113.1' });
    const c = net.host('c');
    await assert.rejects(
      drive(clock, c.connectTcp({ address: '203.0.113.1', port: 81 })),
      (e: VirtualNetworkError) => e.code === 'ECONNREFUSED',
    );
    net.close();
  });

  test('a host behind a NAT cannot be reached unsolicited: ETIMEDOUT', async () => {
    const { clock, net } = world();
    const nat = net.nat('home', { preset: 'fullCone' });
    const inside = nat.host('inside');
    const l = await inside.listenTcp({ port: 22 });
    const outside = net.host('outside');
    const t0 = clock.now();
    await assert.rejects(
      drive(clock, outside.connectTcp({ address: nat.publicAddress, port: 22 })),
      (e: VirtualNetworkError) => e.code === 'ETIMEDOUT',
    );
    assert.equal(clock.now() - t0, TCP_CONNECT_TIMEOUT_MS);
    assert.equal(net.stats.tcp.dropped['nat-no-mapping'], 1);
    l.close();
    net.assertNoOpenSockets();
    net.close();
  });

  test('TCP is never lost even on a lossy link', async () => {
    const { clock, net } = world();
    const { listener } = await echoServer(net);
    const c = net.host('c', { link: { loss: 0.5, duplicate: 0.5, reorder: 0.5 } });
    const conn = await drive(clock, c.connectTcp({ address: '203.0.113.1', port: 443 }));
    const got: number[] = [];
    conn.onData = (d) => got.push(...d);
    for (let i = 0; i < 100; i++) conn.write(new Uint8Array([i]));
    await clock.runUntil(() => got.length === 100, 1000);
    assert.deepEqual(
      got,
      Array.from({ length: 100 }, (_, i) => i),
    );
    conn.close();
    listener.close();
    await clock.runUntil(() => false, 10);
    net.assertNoOpenSockets();
    net.close();
  });
});

test('tap: every packet on the wire, payload included, with where it was seen', async () => {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock });
  const nat = net.nat('n', { preset: 'fullCone', address: '198.51.100.1' });
  const a = nat.host('a');
  const b = net.host('b', { address: '203.0.113.9' });
  const seen: string[] = [];
  net.tap = (event, p, at) =>
    seen.push(`${event} ${at} ${p.src.address}:${p.src.port} ${new TextDecoder().decode(p.data)}`);
  const sa = await a.bindUdp({ port: 1111 });
  const sb = await b.bindUdp({ port: 2222 });
  sb.onMessage = () => {};
  sa.send(new TextEncoder().encode('secret?'), { address: '203.0.113.9', port: 2222 });
  clock.advance(0);
  assert.deepEqual(seen, ['send a 10.1.0.2:1111 secret?', 'deliver b 198.51.100.1:1111 secret?']);
  net.close();
});
