/** `rtcstack turn` and `rtcstack nat-check` as processes, on loopback. */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { test } from 'node:test';

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/rtcstack', ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

test('rtcstack turn with two IPs: nat-check --json, then a clean SIGTERM shutdown with counters', async () => {
  const p = spawn(
    process.execPath,
    ['bin/rtcstack', 'turn', '-L', '127.0.0.1', '--alt-ip', '127.0.0.2', '-p', '0', '--alt-port', '0'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  p.stderr.on('data', (d) => (stderr += d));
  try {
    const lines: string[] = [];
    for await (const line of createInterface({ input: p.stdout })) {
      lines.push(line);
      if (line === 'ready') break;
    }
    const udp = lines.filter((l) => l.startsWith('listening udp'));
    assert.equal(udp.length, 4, lines.join('\n'));
    assert.equal(lines.filter((l) => l.startsWith('listening tcp')).length, 4);
    const primary = /listening udp 127\.0\.0\.1:(\d+)/.exec(udp[0]!)![1];
    const other = /rfc5780 other-address (127\.0\.0\.2:\d+)/.exec(lines.join('\n'))![1];

    const r = await cli(['nat-check', '--json', `stun:127.0.0.1:${primary}`]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(j.otherAddress, other);
    assert.equal(j.natDetected, false);
    assert.equal(j.mapping, 'endpoint-independent');
    assert.equal(j.verdict, 'direct');

    const human = await cli(['nat-check', `127.0.0.1:${primary}`]);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /Direct peer-to-peer will work\./);

    p.kill('SIGTERM');
    const [code] = await once(p, 'exit');
    assert.equal(code, 0);
    const stats = JSON.parse(stderr.trim().split('\n').pop()!) as {
      stopped: string;
      counters: { answered: number };
    };
    assert.equal(stats.stopped, 'SIGTERM');
    assert.ok(stats.counters.answered >= 10);
  } finally {
    if (p.exitCode === null) p.kill('SIGKILL');
  }
});

test('nat-check: no server answering means exit 1 and a UDP-blocked verdict', async () => {
  // Port 9 (discard) on loopback: nothing answers STUN there.
  const r = await cli(['nat-check', '--json', '--rto', '20', 'stun:127.0.0.1:9']);
  assert.equal(r.code, 1);
  const j = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(j.udp, false);
  assert.equal(j.verdict, 'udp-blocked');
});

test('bad flags are clear errors with exit status 2', async () => {
  const cases: [string[], RegExp][] = [
    [['turn', '--bogus'], /unknown flag '--bogus'/],
    [['turn', '-p', 'x'], /-p: a port number/],
    [['turn', '--alt-ip', '127.0.0.2'], /needs a concrete --listening-ip/],
    [['turn', '-L', 'nope'], /not an IP address/],
    [['nat-check'], /which server\?/],
    [['nat-check', 'turn:example.org'], /only stun: URIs/],
    [['nat-check', 'stun:1.2.3.4:99999'], /bad port/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, re);
  }
  const help = await cli(['turn', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--listening-ip/);
});
