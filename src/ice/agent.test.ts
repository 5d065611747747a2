/**
 * The agent against hand-driven peers on the virtual network (ManualClock): an ICE-lite peer, a
 * peer that nominates aggressively, bad credentials and garbage input.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../core/clock.js';
import type { TransportAddress, UdpSocket } from '../core/net.js';
import { SeededRandom } from '../core/random.js';
import { VirtualNetwork } from '../core/vnet/index.js';
import { parseStunMessage } from '../stun/index.js';
import { IceAgent } from './agent.js';
import { computePriority } from './candidate.js';
import { hasValidIntegrity, readCheck, serializeCheckRequest, serializeCheckSuccess } from './checks.js';

const PEER = { ufrag: 'peer', pwd: 'peerpasswordpeerpassword' };

interface FakePeer {
  sock: UdpSocket;
  requests: { useCandidate: boolean; controlling: boolean; from: TransportAddress }[];
  responses: number;
}

/** Answers every valid check (as a lite agent does) and counts responses to its own checks. */
async function fakePeer(
  net: VirtualNetwork,
  agentCreds: () => { ufrag: string; pwd: string },
  where: { host: string; address: string; port: number } = {
    host: 'peer',
    address: '203.0.113.99',
    port: 4000,
  },
): Promise<FakePeer> {
  const sock = await net.host(where.host, { address: where.address }).bindUdp({ port: where.port });
  const peer: FakePeer = { sock, requests: [], responses: 0 };
  sock.onMessage = (data, from) => {
    const m = parseStunMessage(data);
    if (m.cls === 'request') {
      assert.ok(hasValidIntegrity(m, PEER.pwd), 'agent signs checks with our password');
      const c = readCheck(m);
      assert.equal(c.username, `${PEER.ufrag}:${agentCreds().ufrag}`);
      peer.requests.push({ useCandidate: c.useCandidate, controlling: c.controlling !== undefined, from });
      sock.send(serializeCheckSuccess(m.transactionId, from, PEER.pwd), from);
    } else if (m.cls === 'success') {
      assert.ok(hasValidIntegrity(m, agentCreds().pwd));
      peer.responses++;
    }
  };
  return peer;
}

/** Starts `agent` against PEER's credentials and returns its first host candidate's address. */
async function startWithHost(agent: IceAgent, clock: ManualClock): Promise<TransportAddress> {
  const candidates: string[] = [];
  agent.on('candidate', (c) => {
    if (c) candidates.push(c.attribute);
  });
  agent.setRemoteCredentials(PEER.ufrag, PEER.pwd);
  agent.start();
  void agent.gather();
  await clock.runUntil(() => candidates.length > 0, 1000);
  const host = /udp \d+ (\S+) (\d+) typ host/.exec(candidates[0]!)!;
  return { address: host[1]!, port: Number(host[2]) };
}

/** An agent (controlled unless asked) on its own virtual network (ManualClock, seeded). */
function controlledAgent(
  seed: number,
  controlling = false,
): { clock: ManualClock; net: VirtualNetwork; agent: IceAgent } {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock, seed });
  const agent = new IceAgent({
    clock,
    network: net.host('b'),
    random: new SeededRandom(seed),
    controlling,
    mdns: false,
  });
  return { clock, net, agent };
}

/** The peer's check, sent from `from` to the agent at `to`: by default the controlling peer's with USE-CANDIDATE. */
function checkFrom(
  from: UdpSocket,
  agent: IceAgent,
  to: TransportAddress,
  priority: number,
  txn: number,
  role: { controlling: boolean; useCandidate: boolean } = { controlling: true, useCandidate: true },
): boolean {
  return from.send(
    serializeCheckRequest({
      username: `${agent.localCredentials.ufrag}:${PEER.ufrag}`,
      password: agent.localCredentials.pwd,
      priority,
      tieBreaker: role.controlling ? 1n : 7n,
      transactionId: new SeededRandom(txn).bytes(12),
      ...role,
    }),
    to,
  );
}
/** A controlled peer's plain check (no USE-CANDIDATE). */
const CONTROLLED = { controlling: false, useCandidate: false };

/** Close the agent, the fake peer and the network; nothing may stay open. */
function teardown(agent: IceAgent, peer: FakePeer, net: VirtualNetwork): void {
  agent.close();
  peer.sock.close();
  net.close();
  net.assertNoOpenSockets();
}

test('ICE-lite peer: the full agent becomes controlling and nominates', async () => {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock, seed: 1 });
  const agent = new IceAgent({
    clock,
    network: net.host('a'),
    random: new SeededRandom(1),
    controlling: false,
    mdns: false,
  });
  const peer = await fakePeer(net, () => agent.localCredentials);
  agent.setRemoteCredentials(PEER.ufrag, PEER.pwd, { lite: true });
  assert.equal(agent.role, 'controlling');
  agent.start();
  void agent.gather();
  agent.addRemoteCandidate(`candidate:1 1 udp ${computePriority('host', 65535)} 203.0.113.99 4000 typ host`);
  agent.addRemoteCandidate(null);
  assert.ok(await clock.runUntil(() => agent.state === 'completed', 10_000), agent.state);
  assert.ok(peer.requests.some((r) => r.useCandidate && r.controlling));
  assert.equal(agent.selectedPair?.remote.port, 4000);
  agent.close();
  peer.sock.close();
  net.close();
  net.assertNoOpenSockets();
  assert.equal(clock.activeTimers, 0);
});

test('controlled agent accepts aggressive nomination (USE-CANDIDATE on the first check)', async () => {
  const { clock, net, agent } = controlledAgent(2);
  const peer = await fakePeer(net, () => agent.localCredentials);
  const to = await startWithHost(agent, clock);
  // The peer checks with USE-CANDIDATE straight away; it never signals a candidate (prflx).
  checkFrom(peer.sock, agent, to, computePriority('prflx', 65535), clock.now());
  assert.ok(await clock.runUntil(() => agent.state === 'connected', 5000), agent.state);
  assert.equal(peer.responses, 1, 'the agent answered the check');
  assert.ok(peer.requests.length >= 1, 'and sent a triggered check back');
  assert.equal(agent.selectedPair?.remote.type, 'prflx');
  assert.equal(agent.selectedPair?.nominated, true);
  assert.equal(agent.role, 'controlled');
  agent.close();
  peer.sock.close();
  net.close();
  net.assertNoOpenSockets();
});

test('the first valid pair carries data before nomination; nomination then marks it', async () => {
  const { clock, net, agent } = controlledAgent(5);
  const peer = await fakePeer(net, () => agent.localCredentials);
  const to = await startWithHost(agent, clock);
  const changes: boolean[] = [];
  agent.on('selectedpairchange', (p) => changes.push(p.nominated));
  assert.equal(agent.send(Uint8Array.of(0x17)), false, 'no pair yet: nothing to send on');
  // The controlling peer answers our checks but has not nominated anything yet.
  agent.addRemoteCandidate(`candidate:1 1 udp ${computePriority('host', 65535)} 203.0.113.99 4000 typ host`);
  assert.ok(await clock.runUntil(() => agent.state === 'connected', 5000), agent.state);
  assert.equal(agent.selectedPair?.nominated, false);
  assert.ok(
    peer.requests.every((r) => !r.useCandidate && !r.controlling),
    'checks as the controlled agent',
  );
  const got: number[] = [];
  const onStun = peer.sock.onMessage;
  peer.sock.onMessage = (d, from) => (d[0] === 0x17 ? got.push(d.length) : onStun?.(d, from));
  assert.equal(agent.send(Uint8Array.of(0x17, 0)), true);
  await clock.runUntil(() => got.length > 0, 100);
  assert.deepEqual(got, [2], 'data reached the peer on the valid, not yet nominated pair');
  // Nomination of the same pair: it is marked, not re-selected.
  checkFrom(peer.sock, agent, to, computePriority('prflx', 65535), 9);
  assert.ok(await clock.runUntil(() => agent.selectedPair?.nominated === true, 5000));
  assert.deepEqual(changes, [false], 'one selection, made before nomination');
  agent.close();
  peer.sock.close();
  net.close();
  net.assertNoOpenSockets();
});

test('controlled agent follows a renomination: the pair nominated last is selected', async () => {
  const { clock, net, agent } = controlledAgent(4);
  const first = await fakePeer(net, () => agent.localCredentials);
  const second = await fakePeer(net, () => agent.localCredentials, {
    host: 'peer2',
    address: '203.0.113.98',
    port: 4001,
  });
  const to = await startWithHost(agent, clock);
  let txn = 1;
  const nominate = (from: FakePeer, priority: number): boolean =>
    checkFrom(from.sock, agent, to, priority, txn++);
  // The controlling peer nominates a high-priority pair, then moves to a lower-priority one.
  nominate(first, computePriority('prflx', 65535));
  assert.ok(await clock.runUntil(() => agent.selectedPair?.remote.port === 4000, 5000));
  const switched: number[] = [];
  agent.on('selectedpairchange', (p) => switched.push(p.remote.port));
  nominate(second, computePriority('prflx', 100));
  assert.ok(
    await clock.runUntil(() => agent.selectedPair?.remote.port === 4001, 5000),
    `still on ${agent.selectedPair?.remote.port}`,
  );
  assert.deepEqual(switched, [4001]);
  assert.equal(agent.selectedPair?.nominated, true);
  agent.close();
  first.sock.close();
  second.sock.close();
  net.close();
  net.assertNoOpenSockets();
});

test('checks with a wrong password or garbage are dropped and counted, never thrown', async () => {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock, seed: 3 });
  const agent = new IceAgent({ clock, network: net.host('c'), random: new SeededRandom(3), mdns: false });
  const to = await startWithHost(agent, clock);
  const sock = await net.host('evil', { address: '203.0.113.66' }).bindUdp({ port: 5000 });
  const answers: number[] = [];
  sock.onMessage = (d) => answers.push(parseStunMessage(d).cls === 'error' ? 1 : 0);
  sock.send(
    serializeCheckRequest({
      username: `${agent.localCredentials.ufrag}:${PEER.ufrag}`,
      password: 'not-the-password-at-all!',
      priority: 1,
      controlling: true,
      tieBreaker: 1n,
      useCandidate: true,
      transactionId: new Uint8Array(12).fill(1),
    }),
    to,
  );
  const rnd = new SeededRandom(9);
  for (let i = 0; i < 500; i++) {
    const b = rnd.bytes(1 + rnd.int(120));
    if (i % 2) {
      b[0] = rnd.int(4);
      if (b.length > 8) b.set([0x21, 0x12, 0xa4, 0x42], 4);
    }
    sock.send(b, to);
  }
  await clock.runUntil(() => false, 1000);
  assert.deepEqual(answers, [1], 'one 401 for the bad check');
  assert.ok(agent.droppedPackets >= 500, `dropped ${agent.droppedPackets}`);
  assert.equal(agent.remoteCandidates.length, 0, 'nothing learned from unauthenticated traffic');
  assert.equal(agent.state, 'checking');
  agent.close();
  sock.close();
  net.close();
  net.assertNoOpenSockets();
});

test('trickle: no `failed` before end-of-candidates, `failed` once it arrives and every pair failed', async () => {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock, seed: 4 });
  const agent = new IceAgent({ clock, network: net.host('d'), random: new SeededRandom(4), mdns: false });
  agent.setRemoteCredentials(PEER.ufrag, PEER.pwd);
  agent.start();
  void agent.gather();
  // A candidate nobody answers at.
  agent.addRemoteCandidate(`candidate:1 1 udp ${computePriority('host', 1)} 203.0.113.200 9 typ host`);
  await clock.runUntil(() => false, 120_000);
  assert.equal(agent.pairs[0]?.state, 'failed');
  assert.equal(agent.state, 'checking', 'the peer may still trickle candidates');
  agent.addRemoteCandidate(null);
  assert.equal(agent.state, 'failed');
  agent.close();
  net.close();
  net.assertNoOpenSockets();
});

test('url parsing: stun/turn/turns with transports and default ports', async () => {
  const { parseIceServerUrl } = await import('./url.js');
  assert.deepEqual(
    { ...parseIceServerUrl('turn:[2001:db8::1]?transport=tcp') },
    {
      scheme: 'turn',
      host: '2001:db8::1',
      port: 3478,
      transport: 'tcp',
      url: 'turn:[2001:db8::1]?transport=tcp',
    },
  );
  assert.equal(parseIceServerUrl('turns:example.org').port, 5349);
  assert.equal(parseIceServerUrl('turns:example.org').transport, 'tls');
  assert.equal(parseIceServerUrl('stun:1.2.3.4:19302').port, 19302);
  for (const bad of ['http://x', 'turn:', 'stun:a:99999', 'turn:a?transport=sctp']) {
    assert.throws(() => parseIceServerUrl(bad), /invalid/);
  }
});

test('gathering: interface filters, loopback, port range, dual stack pairs within a family', async () => {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock, seed: 5 });
  const host = net.host('multi', { addresses: ['203.0.113.40', '203.0.113.41', '2001:db8::40'] });
  const gather = async (o: Partial<ConstructorParameters<typeof IceAgent>[0]>): Promise<IceAgent> => {
    const agent = new IceAgent({ clock, network: host, random: new SeededRandom(5), mdns: false, ...o });
    const done = agent.gather();
    await clock.runUntil(() => agent.gatheringState === 'complete', 10_000);
    await done;
    return agent;
  };
  const all = await gather({});
  assert.deepEqual(
    all.localCandidates.map((c) => c.address),
    ['203.0.113.40', '203.0.113.41', '2001:db8::40'],
    'every non-loopback interface, IPv6 too',
  );
  const v6 = all.localCandidates[2]!;
  assert.ok(v6.priority > all.localCandidates[0]!.priority, 'IPv6 preferred (RFC 8421)');
  const lo = await gather({ includeLoopback: true, ipv6: false });
  assert.ok(lo.localCandidates.some((c) => c.address === '127.0.0.1'));
  assert.ok(!lo.localCandidates.some((c) => c.address.includes(':')));
  const ranged = await gather({
    portRange: { min: 40000, max: 40003 },
    interfaceFilter: (i) => i.address !== '203.0.113.41',
  });
  assert.equal(ranged.localCandidates.length, 2);
  for (const c of ranged.localCandidates) assert.ok(c.port >= 40000 && c.port <= 40003, `port ${c.port}`);
  // Pairs form only within an address family.
  all.setRemoteCredentials(PEER.ufrag, PEER.pwd);
  all.addRemoteCandidate(`candidate:1 1 udp 100 2001:db8::99 9 typ host`);
  all.addRemoteCandidate(`candidate:2 1 udp 100 198.51.100.99 9 typ host`);
  const fams = all.pairs.map((p) => `${p.local.address}>${p.remote.address}`).sort();
  assert.deepEqual(fams, [
    '2001:db8::40>2001:db8::99',
    '203.0.113.40>198.51.100.99',
    '203.0.113.41>198.51.100.99',
  ]);
  for (const a of [all, lo, ranged]) a.close();
  net.close();
  net.assertNoOpenSockets();
});

test("a peer's check that beats our remote description is checked back once we have its credentials", async () => {
  // The offerer's view when the answerer starts checking before the answer reaches it (Chromium
  // does): the request is answered and its path paired, but no check can be signed yet. Such a
  // pair used to fail without a check, and with end-of-candidates the agent failed for good.
  const { clock, net, agent } = controlledAgent(12, true);
  const states: string[] = [];
  agent.on('statechange', (s) => states.push(s));
  const peer = await fakePeer(net, () => agent.localCredentials);
  const candidates: string[] = [];
  agent.on('candidate', (c) => {
    if (c) candidates.push(c.attribute);
  });
  void agent.gather();
  await clock.runUntil(() => agent.gatheringState === 'complete', 1000);
  const host = /udp \d+ (\S+) (\d+) typ host/.exec(candidates[0]!)!;
  const to = { address: host[1]!, port: Number(host[2]) };
  checkFrom(peer.sock, agent, to, computePriority('prflx', 65535), 1, CONTROLLED);
  await clock.runUntil(() => peer.responses === 1, 1000);
  assert.equal(peer.responses, 1, 'the early check is answered');
  assert.equal(agent.pairs.length, 1);
  assert.equal(agent.pairs[0]!.state, 'waiting', 'its pair waits for credentials instead of failing');
  assert.equal(peer.requests.length, 0, 'no check without the peer password');
  // The answer arrives: credentials, the same address as a signaled candidate, end-of-candidates.
  agent.setRemoteCredentials(PEER.ufrag, PEER.pwd);
  agent.start();
  agent.addRemoteCandidate(`candidate:1 1 udp ${computePriority('host', 65535)} 203.0.113.99 4000 typ host`);
  agent.addRemoteCandidate(null);
  assert.ok(await clock.runUntil(() => agent.state === 'completed', 5000), agent.state);
  assert.ok(!states.includes('failed'), `states ${states.join(' -> ')}`);
  assert.ok(
    peer.requests.some((r) => r.useCandidate && r.controlling),
    'the pair was checked and nominated',
  );
  assert.equal(agent.send(Uint8Array.of(0x17)), true);
  teardown(agent, peer, net);
});

test('failed because every check did, the agent recovers when a peer check revives a path', async () => {
  const { clock, net, agent } = controlledAgent(13, true);
  const peer = await fakePeer(net, () => agent.localCredentials);
  const to = await startWithHost(agent, clock);
  agent.addRemoteCandidate(`candidate:1 1 udp ${computePriority('host', 1)} 203.0.113.200 9 typ host`);
  agent.addRemoteCandidate(null);
  assert.ok(await clock.runUntil(() => agent.state === 'failed', 120_000), agent.state);
  assert.equal(agent.send(Uint8Array.of(0x17)), false);
  // The peer's own check arrives late on a path that works: answered, checked back, selected.
  checkFrom(peer.sock, agent, to, computePriority('prflx', 65535), 3, CONTROLLED);
  assert.ok(await clock.runUntil(() => agent.state === 'completed', 5000), agent.state);
  assert.equal(agent.selectedPair?.remote.port, 4000);
  assert.equal(agent.send(Uint8Array.of(0x17)), true);
  teardown(agent, peer, net);
});
