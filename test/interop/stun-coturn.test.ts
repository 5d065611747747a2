/**
 * STUN interop with coturn: its clients (turnutils_stunclient, turnutils_natdiscovery) against our
 * server, and our RFC 5780 discovery and nat-check against its turnserver. Loopback only:
 * 127.0.0.1 and 127.0.0.2 are the two IPs RFC 5780 needs.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SystemClock } from '../../src/core/clock.js';
import type { TransportAddress } from '../../src/core/net.js';
import { nodeNetwork } from '../../src/core/net-node.js';
import { StunServer } from '../../src/server/turn/stun-server.js';
import { attr, read } from '../../src/stun/attributes.js';
import { METHOD } from '../../src/stun/constants.js';
import { createMessage, parseStunMessage } from '../../src/stun/message.js';
import { discoverNatBehavior } from '../../src/stun/nat-discovery.js';
import { newTransactionId, StunTransactions } from '../../src/stun/transactions.js';
import { writeCoturnConf } from '../helpers/coturn-conf.js';
import { needs, PREREQS } from '../helpers/prereq.js';

const opts = needs(PREREQS.coturn);

function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

async function udpFree(address: string, port: number): Promise<boolean> {
  const s = dgram.createSocket('udp4');
  return new Promise((resolve) => {
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, address, () => s.close(() => resolve(true)));
  });
}

/** A random high port P with P and P+1 free for UDP on both loopback IPs. */
async function freePortPair(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = 20_000 + Math.floor(Math.random() * 40_000);
    let ok = true;
    for (const ip of ['127.0.0.1', '127.0.0.2']) for (const q of [p, p + 1]) ok &&= await udpFree(ip, q);
    if (ok) return p;
  }
  throw new Error('no free port pair');
}

/** Binding request with our client; resolves with the response and where it came from. */
async function binding(to: TransportAddress, change?: { changeIp: boolean; changePort: boolean }) {
  const sock = await nodeNetwork.bindUdp({ address: '127.0.0.1' });
  const tx = new StunTransactions({
    clock: new SystemClock({ unref: true }),
    send: (b, t) => sock.send(b, t),
  });
  sock.onMessage = (d, from) => tx.handle(parseStunMessage(new Uint8Array(d)), from);
  try {
    const r = await tx.request(
      createMessage(
        METHOD.BINDING,
        'request',
        newTransactionId(),
        change ? [attr.changeRequest(change)] : [],
      ),
      to,
      { rto: 100, rc: 7, serialize: { fingerprint: true } },
    );
    return { ...r, local: sock.local };
  } finally {
    tx.close();
    sock.close();
  }
}

describe('coturn clients against our STUN server', opts, () => {
  let server: StunServer;
  before(async () => {
    server = await StunServer.start({
      network: nodeNetwork,
      listeningIp: '127.0.0.1',
      listeningPort: 0,
      altIp: '127.0.0.2',
      altPort: 0,
    });
  });
  after(() => server?.close());

  test('turnutils_stunclient gets its reflexive address, RESPONSE-ORIGIN and OTHER-ADDRESS', async () => {
    const { code, out } = await run('turnutils_stunclient', ['-p', String(server.address.port), '127.0.0.1']);
    assert.equal(code, 0, out);
    assert.match(out, /UDP reflexive addr: 127\.0\.0\.1:\d+/);
    assert.match(out, new RegExp(`Response origin: : 127\\.0\\.0\\.1:${server.address.port}`));
    const alt = server.alternateAddress!;
    assert.match(out, new RegExp(`Other addr: : 127\\.0\\.0\\.2:${alt.port}`));
    // Its third request asks for a change of IP and port: our alternate endpoint answered.
    assert.match(out, new RegExp(`Response origin: : 127\\.0\\.0\\.2:${alt.port}`));
    assert.ok(server.counters.answered >= 3);
  });

  test('turnutils_natdiscovery classifies loopback as endpoint-independent mapping and filtering', async () => {
    const { code, out } = await run('turnutils_natdiscovery', [
      '-m',
      '-f',
      '-H',
      '-p',
      String(server.address.port),
      '127.0.0.1',
    ]);
    assert.equal(code, 0, out);
    assert.match(out, /NAT with Endpoint Independent Mapping!/);
    assert.match(out, /NAT with Endpoint Independent Filtering!/);
    assert.match(out, /Received a request \(maybe a successful hairpinning\)/);
  });

  test('turnutils_natdiscovery with 1500-byte PADDING still gets answers', async () => {
    const { code, out } = await run('turnutils_natdiscovery', [
      '-f',
      '-P',
      '-p',
      String(server.address.port),
      '127.0.0.1',
    ]);
    assert.equal(code, 0, out);
    assert.match(out, /NAT with Endpoint Independent Filtering!/);
    assert.equal(server.counters.handlerErrors, 0);
  });
});

describe('our RFC 5780 client against coturn turnserver', opts, () => {
  let dir: string;
  let coturn: ChildProcess | undefined;
  let port: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rtcs-coturn-'));
    port = await freePortPair();
    const conf = writeCoturnConf(dir, [
      'listening-ip=127.0.0.1',
      'listening-ip=127.0.0.2',
      `listening-port=${port}`,
      `alt-listening-port=${port + 1}`,
      'no-tls',
      'fingerprint',
    ]);
    coturn = spawn('turnserver', ['-c', conf], { stdio: 'ignore' });
    // Ready when it answers a Binding request (retransmissions cover its start-up).
    await binding({ address: '127.0.0.1', port });
  });
  after(() => {
    if (coturn?.pid !== undefined && coturn.exitCode === null) coturn.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('coturn honours our CHANGE-REQUEST and reports OTHER-ADDRESS', async () => {
    const r = await binding({ address: '127.0.0.1', port }, { changeIp: true, changePort: true });
    assert.deepEqual(r.from, { address: '127.0.0.2', port: port + 1 });
    assert.deepEqual(read.xorMappedAddress(r.message), r.local);
    assert.deepEqual(read.otherAddress(r.message), { address: '127.0.0.2', port: port + 1 });
  });

  test('discoverNatBehavior: no NAT on loopback, endpoint-independent, direct', async () => {
    const r = await discoverNatBehavior(
      nodeNetwork,
      { address: '127.0.0.1', port },
      new SystemClock({ unref: true }),
    );
    assert.equal(r.udp, true);
    assert.equal(r.rfc5780, true);
    assert.deepEqual(r.otherAddress, { address: '127.0.0.2', port: port + 1 });
    assert.equal(r.natDetected, false);
    assert.equal(r.mapping, 'endpoint-independent');
    assert.equal(r.filtering, 'endpoint-independent');
    assert.equal(r.tests.filteringII, true);
    assert.equal(r.verdict, 'direct');
  });

  test('rtcstack nat-check --json against coturn', async () => {
    const { code, out } = await run(process.execPath, [
      'bin/rtcstack',
      'nat-check',
      '--json',
      `stun:127.0.0.1:${port}`,
    ]);
    assert.equal(code, 0, out);
    const j = JSON.parse(out) as Record<string, unknown>;
    assert.equal(j.server, `127.0.0.1:${port}`);
    assert.equal(j.otherAddress, `127.0.0.2:${port + 1}`);
    assert.equal(j.mapping, 'endpoint-independent');
    assert.equal(j.filtering, 'endpoint-independent');
    assert.equal(j.verdict, 'direct');
    assert.equal(j.summary, 'direct peer-to-peer will work');
  });
});
