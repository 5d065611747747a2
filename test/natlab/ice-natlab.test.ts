/**
 * Two rtcstack ICE agents through real kernel NAT (network namespaces, iptables): cone<->cone
 * connects over server-reflexive candidates with STUN only; symmetric<->symmetric fails with STUN
 * only and connects through TURN (coturn, and our own TURN server); behind a firewall that drops
 * all outbound UDP, TURN over TCP still connects.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { NatLab } from '../helpers/natlab.js';
import { startCoturn } from '../helpers/natlab-services.js';
import { needs, PREREQS } from '../helpers/prereq.js';

const opts = needs(PREREQS.netns, PREREQS.coturn);

interface Outcome {
  a: {
    state: string;
    pair: string | null;
    relayProtocol: string | null;
    ms: number;
    data: string[];
    errors: string[];
  };
  b: {
    state: string;
    pair: string | null;
    relayProtocol: string | null;
    ms: number;
    data: string[];
    errors: string[];
  };
}

describe('ICE through the NAT lab', opts, () => {
  let lab: NatLab;

  before(async () => {
    lab = await NatLab.create({
      sites: [
        { name: 'conea', type: 'cone' },
        { name: 'coneb', type: 'cone' },
        { name: 'syma', type: 'symmetric' },
        { name: 'symb', type: 'symmetric' },
        { name: 'fw', type: 'symmetric', dropOutboundUdp: true },
      ],
    });
    await startCoturn(lab, { port: 3490, users: ['lab:labpass'] });
    lab.spawn('internet', process.execPath, [
      'bin/rtcstack',
      'turn',
      '--listening-ip',
      '203.0.113.1',
      '--listening-port',
      '3478',
      '--tls-listening-port',
      '5349',
      '--min-port',
      '50000',
      '--max-port',
      '50999',
      '-u',
      'lab:labpass',
    ]);
    // Generous waits: the server generates its self-signed TLS certificate at start, slow on a busy machine.
    await lab.waitForListen('internet', 'udp', '203.0.113.1', 3478, 60_000);
    await lab.waitForListen('internet', 'tcp', '203.0.113.1', 5349, 60_000);
  });
  after(async () => {
    await lab?.destroy();
  });

  /** Run two peers with stdio signaling until both settle (connected+data, or failed). */
  async function call(
    siteA: string,
    siteB: string,
    servers: unknown[],
    timeoutMs = 40_000,
  ): Promise<Outcome> {
    await lab.flushConntrack();
    const cfg = (controlling: boolean): string =>
      JSON.stringify({ controlling, iceServers: servers, insecureTls: true });
    const pa = lab.spawnNode(siteA, 'test/natlab/ice-peer.ts', [cfg(true)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const pb = lab.spawnNode(siteB, 'test/natlab/ice-peer.ts', [cfg(false)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const res: Outcome = {
      a: { state: 'new', pair: null, relayProtocol: null, ms: 0, data: [], errors: [] },
      b: { state: 'new', pair: null, relayProtocol: null, ms: 0, data: [], errors: [] },
    };
    const settled = (x: Outcome['a']): boolean => x.state === 'failed' || x.data.length > 0;
    return new Promise<Outcome>((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        pa.stdin?.end();
        pb.stdin?.end();
        resolve(res);
      };
      const timer = setTimeout(finish, timeoutMs);
      const pipe = (from: ChildProcess, to: ChildProcess, me: Outcome['a']): void => {
        createInterface({ input: from.stdout! }).on('line', (line) => {
          const m = JSON.parse(line) as Record<string, unknown>;
          if (m.type === 'creds' || m.type === 'candidate') to.stdin?.write(`${line}\n`);
          else if (m.type === 'state') {
            me.state = m.state as string;
            if (m.pair) me.pair = m.pair as string;
            if (m.relayProtocol) me.relayProtocol = m.relayProtocol as string;
            if (m.state === 'connected' || m.state === 'completed') me.ms ||= m.ms as number;
          } else if (m.type === 'data') me.data.push(m.text as string);
          else if (m.type === 'candidateerror') me.errors.push(`${m.url} ${m.errorCode} ${m.errorText}`);
          if (settled(res.a) && settled(res.b)) finish();
        });
      };
      pipe(pa, pb, res.a);
      pipe(pb, pa, res.b);
    });
  }

  const STUN = [{ urls: 'stun:203.0.113.1:3490' }];
  const COTURN = [{ urls: 'turn:203.0.113.1:3490', username: 'lab', credential: 'labpass' }];
  const OURS = [{ urls: 'turn:203.0.113.1:3478', username: 'lab', credential: 'labpass' }];

  test('cone <-> cone with STUN only: connected over srflx', async () => {
    const r = await call('conea', 'coneb', STUN);
    assert.ok(r.a.data.length > 0 && r.b.data.length > 0, JSON.stringify(r));
    assert.equal(r.a.pair, 'srflx/srflx');
    assert.equal(r.b.pair, 'srflx/srflx');
    console.log(`# natlab cone<->cone STUN: connected in ${r.a.ms} ms`);
  });

  test('symmetric <-> symmetric with STUN only: failed', async () => {
    const r = await call('syma', 'symb', STUN);
    assert.equal(r.a.state, 'failed', JSON.stringify(r));
    assert.equal(r.b.state, 'failed', JSON.stringify(r));
    assert.equal(r.a.data.length + r.b.data.length, 0);
  });

  for (const [name, servers] of [
    ['coturn', COTURN],
    ['rtcstack turn', OURS],
  ] as const) {
    test(`symmetric <-> symmetric with ${name}: connected through the relay`, async () => {
      const r = await call('syma', 'symb', [...STUN, ...servers]);
      assert.ok(r.a.data.length > 0 && r.b.data.length > 0, JSON.stringify(r));
      assert.ok(`${r.a.pair}${r.b.pair}`.includes('relay'), JSON.stringify(r));
      console.log(`# natlab sym<->sym via ${name}: connected in ${r.a.ms} ms (${r.a.pair})`);
    });
  }

  test('outbound UDP blocked: connected through TURN over TCP (coturn)', async () => {
    const r = await call('fw', 'symb', [
      ...STUN,
      { urls: 'turn:203.0.113.1:3490?transport=tcp', username: 'lab', credential: 'labpass' },
    ]);
    assert.ok(r.a.data.length > 0 && r.b.data.length > 0, JSON.stringify(r));
    assert.equal(r.a.pair?.split('/')[0], 'relay');
    assert.equal(r.a.relayProtocol, 'tcp');
  });

  test('outbound UDP blocked: connected through TURN over TLS (rtcstack turn, self-signed)', async () => {
    const r = await call('fw', 'symb', [
      ...STUN,
      { urls: 'turns:203.0.113.1:5349', username: 'lab', credential: 'labpass' },
    ]);
    assert.ok(r.a.data.length > 0 && r.b.data.length > 0, JSON.stringify(r));
    assert.equal(r.a.pair?.split('/')[0], 'relay');
    assert.equal(r.a.relayProtocol, 'tls');
  });
});
