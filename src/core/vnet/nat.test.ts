import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { collect, drive, probeMapped, startReflector } from '../../../test/helpers/vnet.js';
import { ManualClock } from '../clock.js';
import type { TransportAddress, UdpSocket } from '../net.js';
import { NAT_PRESETS, type NatBehavior, type NatOptions, type NatPreset, VirtualNetwork } from './index.js';

const S1 = '203.0.113.1';
const S2 = '203.0.113.2';
const P1 = 3478;
const P2 = 3479;
const enc = new TextEncoder();

/** A STUN-like server on two addresses and two ports, and one host behind a NAT with those options. */
async function setup(options: NatOptions, seed = 1) {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock, seed });
  const server = net.host('server', { addresses: [S1, S2] });
  const reflectors = await startReflector(server, [S1, S2], [P1, P2]);
  const nat = net.nat('nat', { address: '198.51.100.7', ...options });
  const client = nat.host('client');
  const sock = await client.bindUdp({ port: 5000 });
  const done = () => {
    for (const r of reflectors) r.close();
    sock.close();
    net.assertNoOpenSockets();
    net.close();
    assert.equal(clock.activeTimers, 0);
  };
  return { clock, net, server, reflectors, nat, client, sock, done };
}

function reflector(list: UdpSocket[], address: string, port: number): UdpSocket {
  const r = list.find((s) => s.local.address === address && s.local.port === port);
  assert.ok(r);
  return r;
}

/** RFC 5780-style mapping discovery: the mapped address seen from three destinations. */
async function mappingOf(options: NatOptions): Promise<NatBehavior> {
  const { clock, sock, done } = await setup(options);
  const a = await probeMapped(clock, sock, { address: S1, port: P1 });
  const b = await probeMapped(clock, sock, { address: S2, port: P1 });
  const c = await probeMapped(clock, sock, { address: S2, port: P2 });
  assert.ok(a && b && c);
  done();
  if (a.port === b.port) return 'endpoint-independent';
  return b.port === c.port ? 'address-dependent' : 'address-and-port-dependent';
}

/** RFC 5780-style filtering discovery: which of the other server addresses/ports can reach the mapping. */
async function filteringOf(options: NatOptions): Promise<NatBehavior> {
  const { clock, sock, reflectors, done } = await setup(options);
  const mapped = await probeMapped(clock, sock, { address: S1, port: P1 });
  assert.ok(mapped);
  const got = collect(sock, clock);
  const fromChangedPort = reflector(reflectors, S1, P2);
  const fromChangedBoth = reflector(reflectors, S2, P2);
  fromChangedBoth.send(enc.encode('both'), mapped);
  await clock.runUntil(() => false, 100);
  const both = got.length > 0;
  fromChangedPort.send(enc.encode('port'), mapped);
  await clock.runUntil(() => false, 100);
  const port = got.length > (both ? 1 : 0);
  done();
  if (both) return 'endpoint-independent';
  return port ? 'address-dependent' : 'address-and-port-dependent';
}

const BEHAVIORS: NatBehavior[] = ['endpoint-independent', 'address-dependent', 'address-and-port-dependent'];

describe('NAT mapping behaviour (RFC 4787 section 4.1)', () => {
  for (const mapping of BEHAVIORS) {
    test(`${mapping} mapping is discovered as such`, async () => {
      assert.equal(await mappingOf({ mapping }), mapping);
    });
  }

  test('endpoint-independent: the same mapped port toward two destinations, port preserved', async () => {
    const { clock, sock, done } = await setup({ preset: 'portRestrictedCone' });
    const a = await probeMapped(clock, sock, { address: S1, port: P1 });
    const b = await probeMapped(clock, sock, { address: S2, port: P2 });
    assert.deepEqual(a, { address: '198.51.100.7', port: 5000 });
    assert.deepEqual(b, a);
    done();
  });

  test('symmetric: a different random port per destination, and the same ports for the same seed', async () => {
    const ports = async (seed: number) => {
      const { clock, sock, done } = await setup({ preset: 'symmetric' }, seed);
      const out: number[] = [];
      for (const [address, port] of [
        [S1, P1],
        [S2, P1],
        [S1, P2],
        [S2, P2],
      ] as const) {
        const m = await probeMapped(clock, sock, { address, port });
        assert.ok(m);
        assert.equal(m.address, '198.51.100.7');
        out.push(m.port);
      }
      done();
      return out;
    };
    const first = await ports(42);
    assert.equal(new Set(first).size, 4);
    assert.ok(!first.includes(5000));
    assert.deepEqual(await ports(42), first);
    assert.notDeepEqual(await ports(43), first);
  });

  test('a preserved port taken by another LAN host gets another port', async () => {
    const { clock, nat, sock, done } = await setup({ preset: 'fullCone' });
    const other = nat.host('other');
    const sock2 = await other.bindUdp({ port: 5000 });
    const a = await probeMapped(clock, sock, { address: S1, port: P1 });
    const b = await probeMapped(clock, sock2, { address: S1, port: P1 });
    assert.equal(a?.port, 5000);
    assert.ok(b && b.port !== 5000);
    sock2.close();
    done();
  });
});

describe('NAT filtering behaviour (RFC 4787 section 5)', () => {
  for (const filtering of BEHAVIORS) {
    test(`${filtering} filtering is discovered as such`, async () => {
      assert.equal(await filteringOf({ filtering }), filtering);
    });
  }

  test('unsolicited packets never reach the LAN, and are counted', async () => {
    const { clock, net, reflectors, sock, done } = await setup({ preset: 'fullCone' });
    const got = collect(sock, clock);
    reflector(reflectors, S1, P1).send(enc.encode('hi'), { address: '198.51.100.7', port: 5000 });
    reflector(reflectors, S1, P1).send(enc.encode('hi'), { address: '10.1.0.2', port: 5000 });
    await clock.runUntil(() => false, 100);
    assert.equal(got.length, 0);
    assert.equal(net.stats.udp.dropped['nat-no-mapping'], 1);
    assert.equal(net.stats.udp.dropped['no-route'], 1);
    done();
  });
});

describe('NAT presets', () => {
  const expected: Record<NatPreset, [NatBehavior, NatBehavior]> = {
    fullCone: ['endpoint-independent', 'endpoint-independent'],
    restrictedCone: ['endpoint-independent', 'address-dependent'],
    portRestrictedCone: ['endpoint-independent', 'address-and-port-dependent'],
    symmetric: ['address-and-port-dependent', 'address-and-port-dependent'],
  };
  for (const preset of Object.keys(NAT_PRESETS) as NatPreset[]) {
    test(`${preset} behaves as ${expected[preset].join(' mapping, ')} filtering`, async () => {
      assert.equal(await mappingOf({ preset }), expected[preset][0]);
      assert.equal(await filteringOf({ preset }), expected[preset][1]);
    });
  }
});

describe('hairpinning (RFC 4787 section 6)', () => {
  async function hairpin(hairpinning: boolean) {
    const { clock, net, nat, sock, done } = await setup({ preset: 'portRestrictedCone', hairpinning });
    const b = nat.host('b');
    const sockB = await b.bindUdp({ port: 6000 });
    const mappedA = await probeMapped(clock, sock, { address: S1, port: P1 });
    const mappedB = await probeMapped(clock, sockB, { address: S1, port: P1 });
    assert.ok(mappedA && mappedB);
    // Port-restricted filtering: each side first opens a permission toward the other's mapped address.
    sockB.send(enc.encode('open'), mappedA);
    await clock.runUntil(() => false, 50);
    const got = collect(sockB, clock);
    sock.send(enc.encode('hello'), mappedB);
    await clock.runUntil(() => got.length > 0, 100);
    sockB.close();
    const drops = net.stats.udp.dropped['nat-no-hairpin'];
    done();
    return { got, mappedA, drops };
  }

  test('on: a LAN host reaches another through the public address, seen from the public mapping', async () => {
    const { got, mappedA, drops } = await hairpin(true);
    assert.equal(got.length, 1);
    assert.deepEqual(got[0]!.from, mappedA);
    assert.equal(drops, 0);
  });

  test('off: the packet is dropped and counted', async () => {
    const { got, drops } = await hairpin(false);
    assert.equal(got.length, 0);
    assert.equal(drops, 2);
  });
});

describe('mapping lifetime', () => {
  test('outbound traffic refreshes a mapping; idle past the lifetime it expires', async () => {
    const { clock, net, nat, reflectors, sock, done } = await setup({
      preset: 'symmetric',
      mappingLifetime: 30_000,
    });
    const server: TransportAddress = { address: S1, port: P1 };
    const first = await probeMapped(clock, sock, server);
    assert.ok(first);
    for (let i = 0; i < 4; i++) {
      clock.advance(20_000);
      assert.deepEqual(await probeMapped(clock, sock, server), first, 'refreshed mapping keeps its port');
    }
    assert.equal(nat.table.created, 1);
    clock.advance(30_000);
    assert.equal(nat.mappings('udp').length, 0);
    const got = collect(sock, clock);
    reflector(reflectors, S1, P1).send(enc.encode('late'), first);
    await clock.runUntil(() => false, 100);
    assert.equal(got.length, 0);
    assert.equal(net.stats.udp.dropped['nat-no-mapping'], 1);
    const second = await probeMapped(clock, sock, server);
    assert.ok(second && second.port !== first.port, 'a new random port after expiry');
    assert.equal(nat.table.created, 2);
    done();
  });

  test('inbound traffic does not refresh unless configured', async () => {
    for (const inboundRefresh of [false, true]) {
      const { clock, reflectors, sock, done } = await setup({
        preset: 'fullCone',
        mappingLifetime: 10_000,
        inboundRefresh,
      });
      const mapped = await probeMapped(clock, sock, { address: S1, port: P1 });
      assert.ok(mapped);
      const got = collect(sock, clock);
      for (let i = 0; i < 5; i++) {
        reflector(reflectors, S2, P2).send(enc.encode('ka'), mapped);
        await clock.runUntil(() => false, 4_000);
      }
      assert.equal(got.length, inboundRefresh ? 5 : 3, 'sent at 0, 4, 8, 12, 16 s; lifetime 10 s');
      done();
    }
  });
});

describe('topology', () => {
  test('hosts on one LAN talk directly with private addresses; other LANs are unreachable', async () => {
    const clock = new ManualClock();
    const net = new VirtualNetwork({ clock });
    const natA = net.nat('a', { preset: 'symmetric' });
    const natB = net.nat('b', { preset: 'fullCone' });
    const a1 = natA.host('a1');
    const a2 = natA.host('a2');
    const b1 = natB.host('b1');
    assert.equal(a1.addresses[0], '10.1.0.2');
    assert.equal(a2.addresses[0], '10.1.0.3');
    assert.equal(b1.addresses[0], '10.2.0.2');
    const s1 = await a1.bindUdp();
    const s2 = await a2.bindUdp({ port: 7000 });
    const s3 = await b1.bindUdp({ port: 7000 });
    const got2 = collect(s2, clock);
    const got3 = collect(s3, clock);
    s1.send(enc.encode('x'), { address: '10.1.0.3', port: 7000 });
    s1.send(enc.encode('y'), { address: '10.2.0.2', port: 7000 });
    await clock.runUntil(() => false, 100);
    assert.equal(got2.length, 1);
    assert.deepEqual(got2[0]!.from, { address: '10.1.0.2', port: s1.local.port });
    assert.equal(got3.length, 0);
    assert.equal(natA.mappings().length, 1, 'only the packet that left the LAN was mapped');
    assert.equal(net.stats.udp.dropped['no-route'], 1);
    net.close();
    net.assertNoOpenSockets();
  });

  test('a multi-homed host: each interface behind its own NAT, packets leave by their source address', async () => {
    const clock = new ManualClock();
    const net = new VirtualNetwork({ clock });
    const server = net.host('server', { address: S1 });
    const refl = await startReflector(server, [S1], [P1]);
    const wifi = net.nat('wifi', { preset: 'portRestrictedCone', address: '198.51.100.1' });
    const cell = net.nat('cell', { preset: 'symmetric', address: '198.51.100.2' });
    const phone = wifi.host('phone');
    const [cellAddress] = cell.addInterface(phone, { link: { delay: 40 } });
    assert.deepEqual(phone.addresses, ['10.1.0.2', '10.2.0.2']);
    assert.deepEqual(
      phone.interfaces().map((i) => `${i.name} ${i.address}`),
      ['lo 127.0.0.1', 'eth0 10.1.0.2', 'eth1 10.2.0.2'],
    );
    const viaWifi = await phone.bindUdp({ address: '10.1.0.2', port: 5000 });
    const viaCell = await phone.bindUdp({ address: cellAddress!, port: 5000 });
    const t0 = clock.now();
    assert.deepEqual(await probeMapped(clock, viaWifi, { address: S1, port: P1 }), {
      address: '198.51.100.1',
      port: 5000,
    });
    const t1 = clock.now();
    const m = await probeMapped(clock, viaCell, { address: S1, port: P1 });
    assert.equal(m?.address, '198.51.100.2');
    assert.equal(clock.now() - t1, 80, 'the cellular link has its own delay');
    assert.equal(t1 - t0, 0);
    // Wi-Fi goes away: its link drops everything; the cellular path still works.
    phone.linkOf('10.1.0.2')!.set({ loss: 1 });
    assert.equal(await probeMapped(clock, viaWifi, { address: S1, port: P1 }), undefined);
    assert.ok(await probeMapped(clock, viaCell, { address: S1, port: P1 }));
    viaWifi.close();
    viaCell.close();
    for (const r of refl) r.close();
    net.assertNoOpenSockets();
    net.close();
  });

  test('automatic addresses skip the ones given explicitly', () => {
    const clock = new ManualClock();
    const net = new VirtualNetwork({ clock });
    net.host('fixed', { address: '203.0.113.10' });
    const nat = net.nat('n');
    assert.equal(nat.publicAddress, '203.0.113.11');
    nat.host('x', { address: '10.1.0.2' });
    assert.equal(nat.host('y').addresses[0], '10.1.0.3');
    assert.throws(() => net.host('dup', { address: '203.0.113.11' }), /in use/);
    net.close();
  });

  test('double NAT: a host behind two NATs is seen at the outer public address', async () => {
    const clock = new ManualClock();
    const net = new VirtualNetwork({ clock });
    const server = net.host('server', { address: S1 });
    const refl = await startReflector(server, [S1], [P1]);
    const cgn = net.nat('cgn', { preset: 'portRestrictedCone', address: '198.51.100.1' });
    const home = cgn.nat('home', { preset: 'fullCone' });
    const h = home.host('h');
    assert.match(home.publicAddress, /^10\./);
    assert.match(h.addresses[0]!, /^192\.168\./);
    const s = await h.bindUdp({ port: 4000 });
    assert.deepEqual(await probeMapped(clock, s, { address: S1, port: P1 }), {
      address: '198.51.100.1',
      port: 4000,
    });
    s.close();
    for (const r of refl) r.close();
    net.assertNoOpenSockets();
    net.close();
  });
});

describe('firewall', () => {
  test('a NAT that drops outbound UDP lets TCP through', async () => {
    const { clock, net, nat, server, sock, done } = await setup({
      preset: 'fullCone',
      dropOutboundUdp: true,
    });
    assert.equal(await probeMapped(clock, sock, { address: S1, port: P1 }), undefined);
    assert.equal(net.stats.udp.dropped.firewall, 1);
    const listener = await server.listenTcp({ address: S1, port: 443 });
    listener.onConnection = (c) => {
      c.onData = (d) => c.write(d);
    };
    const conn = await drive(clock, nat.host('tcp-client').connectTcp({ address: S1, port: 443 }));
    const got: number[] = [];
    conn.onData = (d) => got.push(...d);
    conn.write(new Uint8Array([1, 2, 3]));
    await clock.runUntil(() => got.length === 3, 1000);
    assert.deepEqual(got, [1, 2, 3]);
    nat.dropOutboundUdp = false;
    assert.ok(await probeMapped(clock, sock, { address: S1, port: P1 }));
    conn.close();
    listener.close();
    await clock.runUntil(() => false, 100);
    done();
  });

  test('a host firewall that drops outbound UDP', async () => {
    const clock = new ManualClock();
    const net = new VirtualNetwork({ clock });
    const server = net.host('server', { address: S1 });
    const refl = await startReflector(server, [S1], [P1]);
    const h = net.host('h', { firewall: { dropOutboundUdp: true } });
    const s = await h.bindUdp();
    assert.equal(await probeMapped(clock, s, { address: S1, port: P1 }), undefined);
    assert.equal(h.stats.dropped.firewall, 1);
    h.firewall.dropOutboundUdp = false;
    assert.ok(await probeMapped(clock, s, { address: S1, port: P1 }));
    s.close();
    for (const r of refl) r.close();
    net.close();
    net.assertNoOpenSockets();
  });
});
