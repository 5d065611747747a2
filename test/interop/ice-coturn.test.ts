/**
 * Our TURN client and ICE agent with coturn's `turnserver` as the TURN server, over real loopback.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SystemClock } from '../../src/core/clock.js';
import { nodeNetwork } from '../../src/core/net-node.js';
import { cryptoRandom } from '../../src/core/random.js';
import { TurnClient, TurnError } from '../../src/turn/client.js';
import { openTurnTransport } from '../../src/turn/transport.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import { waitFor } from '../helpers/wait.js';
import { type Coturn, realPair, startCoturn } from './ice-harness-real.js';

const opts = needs(PREREQS.coturn);
const withTls = needs(PREREQS.coturn, PREREQS.openssl);

describe('ICE and TURN client with coturn', opts, () => {
  let coturn: Coturn;
  before(async () => {
    coturn = await startCoturn();
  });
  after(async () => {
    await coturn?.stop();
  });

  for (const protocol of ['udp', 'tcp'] as const) {
    test(`TURN client allocates over ${protocol}, relays both ways through a channel, deallocates`, async () => {
      const clock = new SystemClock({ unref: true });
      const server = { address: '127.0.0.1', port: coturn.port };
      const transport = await openTurnTransport({ network: nodeNetwork, protocol, server });
      const client = new TurnClient({ clock, random: cryptoRandom, transport, username: 'u', password: 'p' });
      const peer = await nodeNetwork.bindUdp({ address: '127.0.0.1' });
      try {
        const a = await client.allocate();
        assert.equal(a.relayed.address, '127.0.0.1');
        assert.ok(a.relayed.port >= 46000 && a.relayed.port <= 46999, `relay port ${a.relayed.port}`);
        const atPeer: string[] = [];
        peer.onMessage = (d, from) => {
          atPeer.push(new TextDecoder().decode(d));
          peer.send(new TextEncoder().encode(`echo ${new TextDecoder().decode(d)}`), from);
        };
        const back: string[] = [];
        client.on('data', (_from, d) => back.push(new TextDecoder().decode(d)));
        client.sendTo(peer.local, new TextEncoder().encode('indication'));
        await waitFor(() => back.length === 1);
        await client.bindChannel(peer.local);
        client.sendTo(peer.local, new TextEncoder().encode('channel'));
        await waitFor(() => back.length === 2);
        assert.deepEqual(atPeer, ['indication', 'channel']);
        assert.deepEqual(back, ['echo indication', 'echo channel']);
      } finally {
        await client.close();
        peer.close();
      }
      assert.equal(client.state, 'closed');
    });
  }

  test('wrong password: coturn answers 401 and the allocation fails', async () => {
    const clock = new SystemClock({ unref: true });
    const transport = await openTurnTransport({
      network: nodeNetwork,
      protocol: 'udp',
      server: { address: '127.0.0.1', port: coturn.port },
    });
    const client = new TurnClient({
      clock,
      random: cryptoRandom,
      transport,
      username: 'u',
      password: 'nope',
    });
    await assert.rejects(client.allocate(), (e: unknown) => e instanceof TurnError && e.status === 401);
    await client.close();
  });

  for (const relayProto of ['udp', 'tcp'] as const) {
    test(`two agents with iceTransportPolicy relay connect through coturn (TURN over ${relayProto})`, async () => {
      const servers = [
        { urls: `turn:127.0.0.1:${coturn.port}?transport=${relayProto}`, username: 'u', credential: 'p' },
      ];
      const p = realPair(
        { iceServers: servers, iceTransportPolicy: 'relay' },
        { iceServers: servers, iceTransportPolicy: 'relay' },
      );
      try {
        await withTimeout(p.connected, 15_000);
        assert.equal(p.a.selectedPair?.local.type, 'relay');
        assert.equal(p.a.selectedPair?.local.relayProtocol, relayProto);
        assert.equal(p.b.selectedPair?.local.type, 'relay');
        const got: number[] = [];
        p.b.on('data', (d) => got.push(d[1]!));
        for (let i = 0; i < 20; i++) p.a.send(new Uint8Array([0x80, i]));
        await waitFor(() => got.length >= 18);
        assert.ok(got.length >= 18);
      } finally {
        p.close();
      }
    });
  }
});

describe('TURN client over TLS with coturn', withTls, () => {
  let coturn: Awaited<ReturnType<typeof startCoturn>>;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rtcs-ice-coturn-tls-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
      ],
      { stdio: 'ignore' },
    );
    coturn = await startCoturn({ cert, key });
  });
  after(async () => {
    await coturn?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('allocation over TLS (node:tls over a Network TCP connection) and relayed data', async () => {
    const clock = new SystemClock({ unref: true });
    const transport = await openTurnTransport({
      network: nodeNetwork,
      protocol: 'tls',
      server: { address: '127.0.0.1', port: coturn.tlsPort },
      tls: { rejectUnauthorized: false, servername: 'localhost' },
    });
    const client = new TurnClient({ clock, random: cryptoRandom, transport, username: 'u', password: 'p' });
    const peer = await nodeNetwork.bindUdp({ address: '127.0.0.1' });
    try {
      const a = await client.allocate();
      assert.equal(a.relayed.address, '127.0.0.1');
      const got: string[] = [];
      peer.onMessage = (d, from) => {
        got.push(new TextDecoder().decode(d));
        peer.send(d, from);
      };
      const back: string[] = [];
      client.on('data', (_f, d) => back.push(new TextDecoder().decode(d)));
      await client.bindChannel(peer.local);
      client.sendTo(peer.local, new TextEncoder().encode('over tls'));
      await waitFor(() => back.length === 1);
      assert.deepEqual(got, ['over tls']);
      assert.deepEqual(back, ['over tls']);
    } finally {
      await client.close();
      peer.close();
    }
  });
});

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]);
}
