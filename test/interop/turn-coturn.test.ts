/**
 * Our TURN server against coturn's real clients: `turnutils_uclient` relays through us to
 * `turnutils_peer` (an echo peer) over UDP, TCP and TLS, with static users and TURN REST
 * credentials, with 0 loss; the default policy refuses a loopback peer (403).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../src/core/log.js';
import {
  startTurnServer,
  type TurnServerHandle,
  type TurnServerOptions,
} from '../../src/server/turn/server.js';
import { needs, PREREQS } from '../helpers/prereq.js';

const opts = needs(PREREQS.coturn);

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Resolves once the echo peer at address:port answers (probed every 20 ms), instead of a fixed wait. */
async function echoing(address: string, port: number, timeoutMs = 10_000): Promise<void> {
  const s = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
  s.on('error', () => {}); // ICMP port unreachable before the peer binds
  const probe = setInterval(() => s.send(Uint8Array.of(0), port, address), 20);
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no echo from ${address}:${port}`)), timeoutMs);
      s.once('message', () => {
        clearTimeout(t);
        resolve();
      });
    });
  } finally {
    clearInterval(probe);
    s.close();
  }
}

function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

interface UclientResult {
  sent: number;
  received: number;
  lost: number | undefined;
  out: string;
}

async function uclient(turn: TurnServerHandle, peerPort: number, flags: string[]): Promise<UclientResult> {
  const tls = flags.includes('-S');
  const port = tls ? turn.ports.tls[0]! : turn.ports.udp[0]!;
  const { out } = await run('turnutils_uclient', [
    ...flags,
    '-e',
    '127.0.0.1',
    '-r',
    String(peerPort),
    '-p',
    String(port),
    '-n',
    '50',
    '-l',
    '1000',
    '-m',
    '3',
    '-z',
    '5',
    '127.0.0.1',
  ]);
  const sent = /tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$/m.exec(out);
  const lost = /Total lost packets (\d+)/.exec(out);
  return {
    sent: sent ? Number(sent[1]) : 0,
    received: sent ? Number(sent[2]) : 0,
    lost: lost ? Number(lost[1]) : undefined,
    out,
  };
}

describe('turn server with coturn turnutils_uclient', opts, () => {
  let peer: ChildProcess | undefined;
  let peerPort = 0;
  const servers: TurnServerHandle[] = [];

  async function server(extra: Partial<TurnServerOptions> = {}): Promise<TurnServerHandle> {
    for (let attempt = 0; ; attempt++) {
      try {
        const s = await startTurnServer({
          listeningIps: ['127.0.0.1'],
          listeningPort: await freeUdpPort(),
          tlsListeningPort: 0,
          minPort: 0,
          maxPort: 0,
          realm: 'interop',
          users: ['u:p'],
          secrets: ['rest-secret'],
          allowLoopbackPeers: true,
          logger: silentLogger,
          ...extra,
        });
        servers.push(s);
        return s;
      } catch (err) {
        // The UDP port was free but its TCP twin was not: pick another.
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt > 5) throw err;
      }
    }
  }

  before(async () => {
    peerPort = await freeUdpPort();
    peer = spawn('turnutils_peer', ['-L', '127.0.0.1', '-p', String(peerPort)], { stdio: 'ignore' });
    await echoing('127.0.0.1', peerPort);
  });
  after(async () => {
    if (peer?.pid) process.kill(peer.pid, 'SIGKILL');
    for (const s of servers) await s.close();
  });

  for (const [name, flags] of [
    ['UDP, static user', ['-u', 'u', '-w', 'p']],
    ['TCP, static user', ['-t', '-u', 'u', '-w', 'p']],
    ['TLS, static user', ['-S', '-t', '-u', 'u', '-w', 'p']],
    ['UDP, REST secret', ['-W', 'rest-secret', '-u', 'restuser']],
    ['TLS, REST secret', ['-S', '-t', '-W', 'rest-secret', '-u', 'restuser']],
    ['UDP, Send indications', ['-s', '-u', 'u', '-w', 'p']],
  ] as const) {
    test(`relays with 0 loss: ${name}`, async () => {
      // uclient reads one TURN message per TLS record (coturn's own turnserver loses echoes to it
      // under load); we write one record per message, but a run on a loaded machine may still be
      // repeated: the server side must be exact every time, and one of three runs must see 0 loss.
      const runs: string[] = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        const turn = await server();
        const r = await uclient(turn, peerPort, [...flags]);
        assert.ok(r.sent >= 150, `sent ${r.sent}\n${r.out.slice(-1500)}`);
        assert.ok(
          turn.stats.packetsToPeer >= r.sent,
          `server relayed ${turn.stats.packetsToPeer} to the peer`,
        );
        assert.equal(turn.stats.packetsToClient, turn.stats.packetsToPeer, 'every echo relayed back');
        assert.equal(turn.stats.authFailures, 0);
        assert.equal(
          turn.stats.droppedClientData + turn.stats.droppedNoPermission + turn.stats.parseErrors,
          0,
        );
        runs.push(`lost ${r.lost} of ${r.sent}`);
        if (r.lost === 0 && r.received === r.sent) return;
      }
      assert.fail(`client saw loss in every run: ${runs.join('; ')}`);
    });
  }

  for (const [name, flags] of [
    ['TCP relays (RFC 6062), client to client', ['-T', '-u', 'u', '-w', 'p']],
    ['TCP relays (RFC 6062) over TLS, REST secret', ['-T', '-S', '-W', 'rest-secret', '-u', 'restuser']],
  ] as const) {
    test(`relays with 0 loss: ${name}`, async () => {
      const runs: string[] = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        const turn = await server();
        const r = await uclient(turn, peerPort, [...flags]);
        assert.ok(r.sent >= 150, `sent ${r.sent}\n${r.out.slice(-1500)}`);
        // Connect + ConnectionBind for one side, ConnectionAttempt + ConnectionBind for the other.
        assert.ok(turn.stats.allocationsCreated >= 6, `allocations ${turn.stats.allocationsCreated}`);
        assert.ok(turn.stats.bytesToPeer >= r.sent * 1000, `bytes to peers ${turn.stats.bytesToPeer}`);
        assert.equal(turn.stats.authFailures, 0);
        runs.push(`lost ${r.lost} of ${r.sent}`);
        if (r.lost === 0 && r.received === r.sent) return;
      }
      assert.fail(`client saw loss in every run: ${runs.join('; ')}`);
    });
  }

  test('IPv6 relay (REQUESTED-ADDRESS-FAMILY) for an IPv4 client, to an IPv6 peer', async () => {
    const turn = await server({ listeningIps: ['127.0.0.1', '::1'] });
    const port6 = await freeUdpPort();
    const peer6 = spawn('turnutils_peer', ['-L', '::1', '-p', String(port6)], { stdio: 'ignore' });
    try {
      await echoing('::1', port6);
      const { out } = await run('turnutils_uclient', [
        ...['-x', '-u', 'u', '-w', 'p', '-e', '::1', '-r', String(port6)],
        ...['-p', String(turn.ports.udp[0]), '-n', '30', '-l', '1000', '-m', '2', '-z', '5', '127.0.0.1'],
      ]);
      assert.match(out, /Total lost packets 0 /, out.slice(-1500));
      assert.ok(turn.stats.packetsToPeer >= 60);
    } finally {
      if (peer6.pid) process.kill(peer6.pid, 'SIGKILL');
    }
  });

  test('default policy refuses a loopback peer with 403; --allow-loopback-peers admits it', async () => {
    const strict = await server({ allowLoopbackPeers: false });
    const r = await uclient(strict, peerPort, ['-u', 'u', '-w', 'p']);
    assert.match(r.out, /403/);
    assert.equal(strict.stats.packetsToPeer, 0);
    assert.ok(strict.stats.refusedPeers >= 1);
    const open = await server({ allowLoopbackPeers: true });
    const ok = await uclient(open, peerPort, ['-u', 'u', '-w', 'p']);
    assert.equal(ok.lost, 0);
    assert.ok(ok.received > 0);
  });

  test('wrong password is refused (401) and counted', async () => {
    const turn = await server();
    const r = await uclient(turn, peerPort, ['-u', 'u', '-w', 'wrong']);
    assert.equal(turn.stats.allocationsCreated, 0);
    assert.ok(turn.stats.authFailures >= 1, r.out.slice(-500));
  });
});
