/**
 * The relay's own UDP sockets on 127.0.0.1, in direct mode (native handle) and on dgram's public
 * API: datagrams both ways with the sender's address, a reused output buffer that every datagram
 * leaves with its own bytes, IPv6, and a closed socket that drops.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TransportAddress, UdpSocket } from '../../core/net.js';
import { NodeNetwork } from '../../core/net-node.js';
import { directUdp, hasReusableSend, OutputBuffer, RelayNetwork } from './udp-node.js';

function collect(sock: UdpSocket, want: number): Promise<{ data: number[]; from: TransportAddress }[]> {
  const got: { data: number[]; from: TransportAddress }[] = [];
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`got ${got.length} of ${want} datagrams`)), 5000);
    sock.onMessage = (data, from) => {
      got.push({ data: [...data], from: { address: from.address, port: from.port } });
      if (got.length === want) {
        clearTimeout(t);
        resolve(got);
      }
    };
  });
}

for (const direct of [true, false]) {
  test(`relay UDP sockets (${direct ? 'direct' : 'dgram API'}): datagrams with their sender, a reused buffer`, async () => {
    const net = new RelayNetwork(new NodeNetwork(), { direct });
    const a = await net.bindUdp({ address: '127.0.0.1' });
    const b = await net.bindUdp({ address: '127.0.0.1', recvBufferSize: 1 << 20 });
    try {
      assert.equal((a as unknown as { direct: boolean }).direct, direct && directUdp);
      assert.ok(hasReusableSend(a));
      const n = 200;
      const arriving = collect(b, n);
      const out = new OutputBuffer(64);
      for (let i = 0; i < n; i++) {
        const buf = out.take(3, a);
        buf[0] = i;
        buf[1] = i ^ 0xff;
        buf[2] = 7;
        assert.ok(a.send(buf.subarray(0, 3), b.local));
      }
      const got = await arriving;
      got.sort((x, y) => x.data[0]! - y.data[0]!);
      for (let i = 0; i < n; i++) {
        assert.deepEqual(got[i]!.data, [i, i ^ 0xff, 7]);
        assert.deepEqual(got[i]!.from, a.local);
      }
      assert.equal(a.sendQueued(), false);
      // And back.
      const back = collect(a, 1);
      b.send(new Uint8Array([1, 2, 3]), a.local);
      assert.deepEqual(await back, [{ data: [1, 2, 3], from: b.local }]);
      // A closed socket drops.
      a.close();
      assert.equal(a.closed, true);
      assert.equal(a.send(new Uint8Array([1]), b.local), false);
    } finally {
      a.close();
      b.close();
    }
  });

  test(`relay UDP sockets (${direct ? 'direct' : 'dgram API'}): IPv6 loopback`, async () => {
    const net = new RelayNetwork(new NodeNetwork(), { direct });
    const a = await net.bindUdp({ address: '::1', family: 'IPv6' });
    const b = await net.bindUdp({ address: '::1', family: 'IPv6' });
    try {
      const arriving = collect(b, 1);
      a.send(new Uint8Array([6]), b.local);
      assert.deepEqual(await arriving, [{ data: [6], from: { address: '::1', port: a.local.port } }]);
    } finally {
      a.close();
      b.close();
    }
  });
}
