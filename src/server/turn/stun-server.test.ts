/** The STUN server on real loopback UDP and TCP sockets. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock, SystemClock } from '../../core/clock.js';
import type { TcpConnection, TransportAddress, UdpSocket } from '../../core/net.js';
import { nodeNetwork } from '../../core/net-node.js';
import { attr, read } from '../../stun/attributes.js';
import { METHOD } from '../../stun/constants.js';
import {
  createMessage,
  isStunMessage,
  type ParsedStunMessage,
  parseStunMessage,
} from '../../stun/message.js';
import { serializeStunMessage } from '../../stun/serialize.js';
import { newTransactionId, StunTransactions } from '../../stun/transactions.js';
import { StunServer } from './stun-server.js';

/** A UDP client: transactions over a real socket, plus a log of every datagram received. */
async function udpClient() {
  const sock: UdpSocket = await nodeNetwork.bindUdp({ address: '127.0.0.1' });
  const clock = new SystemClock({ unref: true });
  const tx = new StunTransactions({
    clock,
    send: (b, to) => sock.send(b, to),
    defaults: { rto: 100 },
  });
  const received: { msg: ParsedStunMessage; from: TransportAddress }[] = [];
  sock.onMessage = (data, from) => {
    const msg = parseStunMessage(new Uint8Array(data));
    received.push({ msg, from });
    tx.handle(msg, from);
  };
  return {
    sock,
    tx,
    received,
    close: () => {
      tx.close();
      sock.close();
    },
  };
}

function bindingRequest(attrs: ReturnType<typeof attr.software>[] = []) {
  return createMessage(METHOD.BINDING, 'request', newTransactionId(), attrs);
}

test('UDP Binding on loopback', async () => {
  const server = await StunServer.start({ network: nodeNetwork, listeningIp: '127.0.0.1', listeningPort: 0 });
  const c = await udpClient();
  try {
    const r = await c.tx.request(bindingRequest(), server.address, { serialize: { fingerprint: true } });
    assert.equal(r.message.cls, 'success');
    assert.deepEqual(read.xorMappedAddress(r.message), c.sock.local);
    assert.equal(read.software(r.message), 'rtcstack');
    assert.ok(r.message.fingerprintOffset > 0);
    // One answer per request the client sent (a retransmission on a loaded machine is answered too).
    assert.ok(
      server.counters.answered >= 1 && server.counters.answered <= 7,
      `answered ${server.counters.answered}`,
    );
  } finally {
    c.close();
    server.close();
  }
});

test('RFC 5780 on 127.0.0.1 + 127.0.0.2: OTHER-ADDRESS, RESPONSE-ORIGIN, CHANGE-REQUEST', async () => {
  const server = await StunServer.start({
    network: nodeNetwork,
    listeningIp: '127.0.0.1',
    listeningPort: 0,
    altIp: '127.0.0.2',
    altPort: 0,
  });
  const c = await udpClient();
  try {
    const alt = server.alternateAddress!;
    assert.equal(alt.address, '127.0.0.2');
    const r1 = await c.tx.request(bindingRequest(), server.address);
    assert.deepEqual(read.otherAddress(r1.message), alt);
    assert.deepEqual(read.responseOrigin(r1.message), server.address);
    assert.deepEqual(r1.from, server.address);
    const both = await c.tx.request(
      bindingRequest([attr.changeRequest({ changeIp: true, changePort: true })]),
      server.address,
    );
    assert.deepEqual(both.from, alt);
    assert.deepEqual(read.responseOrigin(both.message), alt);
    const port = await c.tx.request(
      bindingRequest([attr.changeRequest({ changeIp: false, changePort: true })]),
      server.address,
    );
    assert.deepEqual(port.from, { address: '127.0.0.1', port: alt.port });
    // Requests to the alternate endpoints are answered from them, with mirrored OTHER-ADDRESS.
    const r4 = await c.tx.request(bindingRequest(), alt);
    assert.deepEqual(r4.from, alt);
    assert.deepEqual(read.otherAddress(r4.message), server.address);
    assert.deepEqual(read.xorMappedAddress(r4.message), c.sock.local);
  } finally {
    c.close();
    server.close();
  }
});

test('bad datagrams are dropped and counted; the server keeps serving', async () => {
  const server = await StunServer.start({ network: nodeNetwork, listeningIp: '127.0.0.1', listeningPort: 0 });
  const c = await udpClient();
  try {
    const good = serializeStunMessage(bindingRequest([attr.software('x')]), { fingerprint: true });
    const badFp = good.slice();
    badFp[badFp.length - 2]! ^= 0xff;
    c.sock.send(badFp, server.address);
    c.sock.send(good.subarray(0, good.length - 4), server.address);
    c.sock.send(new Uint8Array(2000), server.address);
    c.sock.send(new Uint8Array([1, 2, 3]), server.address);
    c.sock.send(
      serializeStunMessage(createMessage(METHOD.BINDING, 'success', newTransactionId())),
      server.address,
    );
    // Datagrams on loopback arrive in order: once this one is answered, the others were handled.
    const r = await c.tx.request(bindingRequest(), server.address);
    assert.equal(r.message.cls, 'success');
    assert.equal(c.received.length, 1);
    const n = server.counters;
    assert.equal(n.badFingerprint, 1);
    assert.equal(n.notRequest, 1);
    assert.equal(n.malformed + n.notStun, 3);
    // One answer per request the client sent (a retransmission on a loaded machine is answered too).
    assert.ok(n.answered >= 1 && n.answered <= 7, `answered ${n.answered}`);
  } finally {
    c.close();
    server.close();
  }
});

async function tcpClient(to: TransportAddress) {
  const conn: TcpConnection = await nodeNetwork.connectTcp(to);
  const chunks: Uint8Array[] = [];
  let closed = false;
  let wake: (() => void) | undefined;
  conn.onData = (d) => {
    chunks.push(new Uint8Array(d));
    wake?.();
  };
  conn.onClose = () => {
    closed = true;
    wake?.();
  };
  const bytes = (): Uint8Array => Buffer.concat(chunks);
  /** Wait (event-driven, no sleeping) until `n` STUN messages arrived or the connection closed. */
  const messages = async (n: number): Promise<ParsedStunMessage[]> => {
    for (;;) {
      const out: ParsedStunMessage[] = [];
      const all = bytes();
      let at = 0;
      while (all.length - at >= 20) {
        const len = 20 + ((all[at + 2]! << 8) | all[at + 3]!);
        if (all.length - at < len) break;
        out.push(parseStunMessage(all.subarray(at, at + len)));
        at += len;
      }
      if (out.length >= n || closed) return out;
      await new Promise<void>((r) => (wake = r));
    }
  };
  const waitClosed = async (): Promise<void> => {
    while (!closed) await new Promise<void>((r) => (wake = r));
  };
  return { conn, messages, waitClosed, isClosed: () => closed };
}

test('TCP: partial and coalesced reads', async () => {
  const server = await StunServer.start({ network: nodeNetwork, listeningIp: '127.0.0.1', listeningPort: 0 });
  const c = await tcpClient(server.address);
  try {
    const a = serializeStunMessage(bindingRequest([attr.software('one')]), { fingerprint: true });
    const b = serializeStunMessage(bindingRequest(), { fingerprint: true });
    const d = serializeStunMessage(bindingRequest([attr.padding(30)]));
    // a split into 1-byte writes, then b and d coalesced into one write.
    for (let i = 0; i < a.length; i++) c.conn.write(a.subarray(i, i + 1));
    c.conn.write(Buffer.concat([b, d]));
    const msgs = await c.messages(3);
    assert.equal(msgs.length, 3);
    assert.deepEqual(
      msgs.map((m) => Buffer.from(m.transactionId).toString('hex')),
      [a, b, d].map((x) => Buffer.from(x.subarray(8, 20)).toString('hex')),
    );
    for (const m of msgs) {
      assert.equal(m.cls, 'success');
      assert.equal(read.xorMappedAddress(m)?.port, c.conn.local.port);
      assert.ok(isStunMessage(m.raw));
    }
  } finally {
    c.conn.close();
    server.close();
  }
});

test('TCP: garbage and oversized frames close the connection and are counted', async () => {
  const server = await StunServer.start({
    network: nodeNetwork,
    listeningIp: '127.0.0.1',
    listeningPort: 0,
    maxTcpBuffered: 1024,
  });
  try {
    const g = await tcpClient(server.address);
    g.conn.write(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]));
    await g.waitClosed();
    const o = await tcpClient(server.address);
    // A STUN header announcing 4000 bytes: more than the 1 KiB cap.
    const big = new Uint8Array(24);
    big.set([0x00, 0x01, 0x0f, 0xa0, 0x21, 0x12, 0xa4, 0x42]);
    o.conn.write(big);
    await o.waitClosed();
    assert.equal(server.counters.tcpFramingErrors, 2);
    // Still serving.
    const ok = await tcpClient(server.address);
    ok.conn.write(serializeStunMessage(bindingRequest()));
    assert.equal((await ok.messages(1))[0]?.cls, 'success');
    ok.conn.close();
  } finally {
    server.close();
  }
});

test('TCP: an idle connection is closed after the idle timeout (manual clock)', async () => {
  const clock = new ManualClock();
  const server = await StunServer.start({
    network: nodeNetwork,
    listeningIp: '127.0.0.1',
    listeningPort: 0,
    udp: false,
    clock,
    tcpIdleTimeoutMs: 30_000,
  });
  try {
    const c = await tcpClient(server.address);
    // Activity keeps it open: a request, then 29 s of virtual time, then another request.
    c.conn.write(serializeStunMessage(bindingRequest()));
    await c.messages(1);
    clock.advance(29_000);
    c.conn.write(serializeStunMessage(bindingRequest()));
    assert.equal((await c.messages(2)).length, 2);
    assert.equal(c.isClosed(), false);
    clock.advance(30_000);
    await c.waitClosed();
    assert.equal(server.counters.tcpIdleClosed, 1);
    assert.equal(server.tcpConnections, 0);
    assert.equal(clock.activeTimers, 0);
  } finally {
    server.close();
  }
});

test('UDP and TCP Binding over IPv6 loopback', async () => {
  const server = await StunServer.start({ network: nodeNetwork, listeningIp: '::1', listeningPort: 0 });
  const sock = await nodeNetwork.bindUdp({ address: '::1' });
  const tx = new StunTransactions({
    clock: new SystemClock({ unref: true }),
    send: (b, to) => sock.send(b, to),
  });
  sock.onMessage = (d, from) => tx.handle(parseStunMessage(new Uint8Array(d)), from);
  try {
    const r = await tx.request(bindingRequest(), server.address, { rto: 100 });
    assert.deepEqual(read.xorMappedAddress(r.message), { address: '::1', port: sock.local.port });
    const c = await tcpClient(server.address);
    c.conn.write(serializeStunMessage(bindingRequest()));
    const [m] = await c.messages(1);
    assert.deepEqual(read.xorMappedAddress(m!), { address: '::1', port: c.conn.local.port });
    c.conn.close();
  } finally {
    tx.close();
    sock.close();
    server.close();
  }
});
