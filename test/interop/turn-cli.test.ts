/** `rtcstack turn` in TURN mode as a process: config file + flags, coturn's uclient through it, clean shutdown. */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { needs, PREREQS } from '../helpers/prereq.js';

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/rtcstack', ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const t = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('close', () => {
      clearTimeout(t);
      resolve(out);
    });
  });
}

test('rtcstack turn: TURN flags errors are reported before anything starts', async () => {
  const cases: [string[], RegExp][] = [
    [['turn', '--user', 'nocolon'], /--user: USER:PASSWORD/],
    [['turn', '--use-auth-secret'], /needs --static-auth-secret/],
    [['turn', '--denied-peer-ip', '10.0.0.0/99'], /invalid IP address or range/],
    [['turn', '--denied-peer-ip', 'x-y'], /IP, IP1-IP2 or IP\/PREFIX/],
    [['turn', '--min-port', '5000', '--max-port', '4000'], /above --max-port/],
    [['turn', '--cert', '/nonexistent.pem'], /cannot read/],
    [['turn', '--log-level', 'loud'], /error\|warn\|info\|debug/],
    [['turn', '-L', '127.0.0.1', '--alt-ip', '127.0.0.2', '-u', 'a:b'], /RFC 5780 mode/],
    [['turn', '-c', '/nonexistent.conf'], /cannot read/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, re);
  }
  const help = await cli(['turn', '--help']);
  assert.match(help.stdout, /--static-auth-secret/);
});

test(
  'rtcstack turn: config file, uclient relays through it, SIGTERM prints counters',
  needs(PREREQS.coturn),
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtcs-turn-cli-'));
    const conf = join(dir, 'turnserver.conf');
    writeFileSync(conf, '# coturn style\nrealm=cli\nuser=u:p\nallow-loopback-peers\nno-tls\nlt-cred-mech\n');
    const p = spawn(
      process.execPath,
      ['bin/rtcstack', 'turn', '-c', conf, '-L', '127.0.0.1', '-p', '0', '-n'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    const peerPort = 20_000 + Math.floor(Math.random() * 20_000);
    const peer = spawn('turnutils_peer', ['-L', '127.0.0.1', '-p', String(peerPort)], { stdio: 'ignore' });
    try {
      const lines: string[] = [];
      for await (const line of createInterface({ input: p.stdout })) {
        lines.push(line);
        if (line === 'ready') break;
      }
      assert.ok(!lines.some((l) => l.startsWith('listening tls')), '--no-tls from the config file');
      const port = /listening udp 127\.0\.0\.1:(\d+)/.exec(lines.join('\n'))?.[1];
      assert.ok(port, lines.join('\n'));
      const out = await run('turnutils_uclient', [
        ...['-u', 'u', '-w', 'p', '-e', '127.0.0.1', '-r', String(peerPort), '-p', port],
        ...['-n', '40', '-l', '500', '-m', '2', '-z', '5', '127.0.0.1'],
      ]);
      assert.match(out, /Total lost packets 0 /, out.slice(-1000));
      p.kill('SIGTERM');
      const [code] = await once(p, 'exit');
      assert.equal(code, 0);
      const last = JSON.parse(stderr.trim().split('\n').pop()!) as {
        stopped: string;
        counters: { packetsToPeer: number; allocationsCreated: number };
      };
      assert.equal(last.stopped, 'SIGTERM');
      assert.ok(last.counters.packetsToPeer >= 80);
      assert.ok(last.counters.allocationsCreated >= 2);
    } finally {
      if (p.exitCode === null && p.pid) process.kill(p.pid, 'SIGKILL');
      if (peer.pid) process.kill(peer.pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
