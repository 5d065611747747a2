/**
 * `rtcstack nat-check` against our STUN server (`rtcstack turn` with two IPs in the internet
 * namespace) through real kernel NATs: MASQUERADE is endpoint-independent mapping (direct calls
 * work), MASQUERADE --random-fully is address-and-port-dependent (symmetric: calls need TURN), a
 * public host has no NAT, and a firewall that drops outbound UDP is reported as such. Cross-checks
 * with coturn: our nat-check against coturn's turnserver, coturn's turnutils_natdiscovery against
 * our server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NatLab } from '../helpers/natlab.js';
import { startCoturn, startRtcstackTurn } from '../helpers/natlab-services.js';
import { needs, PREREQS } from '../helpers/prereq.js';

const opts = needs(PREREQS.netns);
const withCoturn = needs(PREREQS.netns, PREREQS.coturn);
const RTCSTACK = 'bin/rtcstack';
const STUN = 'stun:203.0.113.1:3478';
const COTURN = 'stun:203.0.113.1:3490';

interface NatCheck {
  /** "ip:port" as the server saw us. */
  local: string;
  mapped: string | null;
  natDetected: boolean | null;
  mapping: string;
  filtering: string;
  hairpinning: boolean | null;
  verdict: string;
}

describe('rtcstack nat-check in the NAT lab', opts, () => {
  let lab: NatLab;

  before(async () => {
    lab = await NatLab.create({
      sites: [
        { name: 'cone', type: 'cone' },
        { name: 'sym', type: 'symmetric' },
        { name: 'pub', type: 'public' },
        { name: 'fw', type: 'cone', dropOutboundUdp: true },
      ],
    });
    await startRtcstackTurn(lab, { port: 3478 });
  });
  after(async () => {
    await lab?.destroy();
  });

  async function natCheck(
    site: string,
    extra: string[] = [],
    server = STUN,
  ): Promise<{ code: number; result: NatCheck }> {
    const r = await lab.exec(site, process.execPath, [RTCSTACK, 'nat-check', '--json', ...extra, server], {
      timeoutMs: 60_000,
    });
    let result: NatCheck;
    try {
      result = JSON.parse(r.stdout) as NatCheck;
    } catch {
      throw new Error(`nat-check printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    }
    return { code: r.code, result };
  }

  test('cone NAT (MASQUERADE): endpoint-independent mapping, direct calls work', async () => {
    const { code, result } = await natCheck('cone');
    assert.equal(code, 0);
    assert.equal(result.natDetected, true);
    const localPort = result.local.split(':').at(-1);
    assert.equal(
      result.mapped,
      `${lab.site('cone').publicAddress}:${localPort}`,
      'MASQUERADE keeps the port',
    );
    assert.equal(result.mapping, 'endpoint-independent');
    // Linux conntrack only lets in what answers an outbound flow: address-and-port-dependent filtering.
    assert.equal(result.filtering, 'address-and-port-dependent');
    assert.equal(result.hairpinning, false, 'the lab routers do not hairpin');
    assert.equal(result.verdict, 'direct');
  });

  test('symmetric NAT (MASQUERADE --random-fully): address-and-port-dependent mapping, calls need TURN', async () => {
    const { code, result } = await natCheck('sym');
    assert.equal(code, 0);
    assert.equal(result.natDetected, true);
    assert.ok(result.mapped?.startsWith(`${lab.site('sym').publicAddress}:`), String(result.mapped));
    assert.equal(result.mapping, 'address-and-port-dependent');
    assert.equal(result.verdict, 'relay');
  });

  test('public host: no NAT', async () => {
    const { code, result } = await natCheck('pub');
    assert.equal(code, 0);
    assert.equal(result.natDetected, false);
    assert.equal(result.verdict, 'direct');
  });

  test('outbound UDP blocked: reported, exit status 1', async () => {
    const { code, result } = await natCheck('fw', ['--rto', '50']);
    assert.equal(code, 1);
    assert.equal(result.verdict, 'udp-blocked');
  });

  describe('against coturn', withCoturn, () => {
    before(async () => {
      await startCoturn(lab, { port: 3490 });
    });

    test('cone host: endpoint-independent mapping', async () => {
      const { code, result } = await natCheck('cone', [], COTURN);
      assert.equal(code, 0);
      assert.equal(result.mapping, 'endpoint-independent');
      assert.equal(result.verdict, 'direct');
    });

    test('symmetric host: address-and-port-dependent mapping', async () => {
      const { code, result } = await natCheck('sym', [], COTURN);
      assert.equal(code, 0);
      assert.equal(result.mapping, 'address-and-port-dependent');
      assert.equal(result.verdict, 'relay');
    });
  });

  describe("coturn's turnutils_natdiscovery against our server", withCoturn, () => {
    async function natDiscovery(site: string): Promise<string[]> {
      const r = await lab.exec(site, 'turnutils_natdiscovery', ['-m', '-f', '203.0.113.1'], {
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.split('\n').filter((l) => l.startsWith('NAT with'));
    }

    test('cone host: endpoint-independent mapping, address-and-port-dependent filtering', async () => {
      const lines = await natDiscovery('cone');
      assert.ok(
        lines.some((l) => /Endpoint Independent Mapping/.test(l)),
        lines.join('\n'),
      );
      assert.ok(
        lines.some((l) => /Address and Port Dependent Filtering/.test(l)),
        lines.join('\n'),
      );
    });

    test('symmetric host: address-and-port-dependent mapping', async () => {
      const lines = await natDiscovery('sym');
      assert.ok(
        lines.some((l) => /Address and Port Dependent Mapping/.test(l)),
        lines.join('\n'),
      );
    });
  });
});
