/**
 * Send-side memory reuse (`noteSendSettled` / `sendSettled`): a socket says it is done with a
 * datagram's bytes only when it is. Each case overwrites the bytes right after the send, as a
 * sender that reuses its memory would, and checks what the receiver got: the original bytes when
 * the socket said settled, the overwritten ones where it (rightly) did not.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ManualClock } from './clock.js';
import { sendSettled, type UdpSocket } from './net.js';
import { nodeNetwork } from './net-node.js';
import { VirtualNetwork } from './vnet/index.js';

/** The next datagram `s` receives. */
function next(s: UdpSocket): Promise<Uint8Array> {
  return new Promise((resolve) => {
    s.onMessage = (d) => resolve(new Uint8Array(d));
  });
}

test('a NodeNetwork send to an IP literal is settled when send returns: overwriting after it changes nothing', async () => {
  const a = await nodeNetwork.bindUdp({ address: '127.0.0.1' });
  const b = await nodeNetwork.bindUdp({ address: '127.0.0.1' });
  try {
    const got = next(b);
    const data = Uint8Array.of(1, 2, 3, 4);
    assert.equal(a.send(data, b.local), true);
    assert.equal(sendSettled(data), true, 'the kernel took the datagram before send returned');
    data.fill(9);
    assert.deepEqual(await got, Uint8Array.of(1, 2, 3, 4));
    assert.equal(sendSettled(data), false, 'the note is consumed');
    const other = Uint8Array.of(5);
    const got2 = next(b);
    a.send(other, b.local);
    assert.equal(sendSettled(data), false, 'only the view the latest send carried');
    assert.deepEqual(await got2, Uint8Array.of(5));
  } finally {
    a.close();
    b.close();
  }
});

test('a NodeNetwork send to a name is not settled: the bytes are read after the lookup', async () => {
  const a = await nodeNetwork.bindUdp({ address: '127.0.0.1' });
  const b = await nodeNetwork.bindUdp({ address: '127.0.0.1' });
  try {
    const got = next(b);
    const data = Uint8Array.of(1, 2, 3, 4);
    a.send(data, { address: 'localhost', port: b.local.port });
    assert.equal(sendSettled(data), false);
    // What reusing the bytes here would have done: dns.lookup answers on a later tick, and the
    // datagram carries what the memory holds then.
    data.fill(9);
    assert.deepEqual(await got, Uint8Array.of(9, 9, 9, 9));
  } finally {
    a.close();
    b.close();
  }
});

test('a NodeNetwork send that libuv queues is not settled', () => {
  // --test-udp-no-try-send: Node skips uv_udp_try_send, so every send becomes a queued libuv
  // request (what EAGAIN from a full socket buffer does): the request holds the bytes.
  const net = pathToFileURL(new URL('./net.js', import.meta.url).pathname).href;
  const netNode = pathToFileURL(new URL('./net-node.js', import.meta.url).pathname).href;
  const script = `
    const { sendSettled } = await import(${JSON.stringify(net)});
    const { nodeNetwork } = await import(${JSON.stringify(netNode)});
    const a = await nodeNetwork.bindUdp({ address: '127.0.0.1' });
    const b = await nodeNetwork.bindUdp({ address: '127.0.0.1' });
    const got = new Promise((r) => { b.onMessage = (d) => r(Array.from(d)); });
    const data = Uint8Array.of(1, 2, 3);
    a.send(data, b.local);
    const settled = sendSettled(data);
    console.log(JSON.stringify({ settled, got: await got }));
    a.close();
    b.close();
  `;
  const out = execFileSync(
    process.execPath,
    ['--test-udp-no-try-send', '--import', 'tsx', '--input-type=module', '-e', script],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.deepEqual(JSON.parse(out.trim().split('\n').pop()!), { settled: false, got: [1, 2, 3] });
});

test('a virtual network send is settled (the host copies the datagram)', async () => {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock });
  const h = net.host('h', { addresses: ['203.0.113.1', '203.0.113.2'] });
  const a = await h.bindUdp({ address: '203.0.113.1' });
  const b = await h.bindUdp({ address: '203.0.113.2' });
  const got = next(b);
  const data = Uint8Array.of(7, 7);
  a.send(data, b.local);
  assert.equal(sendSettled(data), true);
  data.fill(0);
  clock.advance(10);
  assert.deepEqual(await got, Uint8Array.of(7, 7));
  a.close();
  b.close();
  net.close();
});
