/**
 * ICE agent behaviour on the virtual network with a ManualClock: loss and delay, consent expiry and
 * recovery, ICE restart onto a new path, role conflicts, a long relayed session (TURN refreshes),
 * relay-only policy, late trickle and W3C-shaped stats.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/log.js';
import { SeededRandom } from '../../src/core/random.js';
import { VirtualNetwork } from '../../src/core/vnet/index.js';
import { startTurnServer } from '../../src/server/turn/server.js';
import { agentPair, pairTypes } from './ice-harness.js';
import { world } from './ice-world.js';

const ok = (s: string): boolean => s === 'connected' || s === 'completed';

async function exchange(clock: ManualClock, p: ReturnType<typeof agentPair>): Promise<boolean> {
  let got = 0;
  const off = p.b.on('data', () => got++);
  p.a.send(new Uint8Array([0x80, 9]));
  await clock.runUntil(() => got > 0, 3000);
  off();
  return got > 0;
}

test('10% loss and 200 ms RTT: still connects (cone NATs, STUN only), for several seeds', async () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const w = await world(seed, { delay: 50 });
    const link = { delay: 50, loss: 0.1 };
    const p = agentPair({
      clock: w.clock,
      seed,
      a: w.peer('a', 'portRestrictedCone', link),
      b: w.peer('b', 'restrictedCone', link),
      optsA: { iceServers: w.stun },
      optsB: { iceServers: w.stun },
      signalDelay: 100,
    });
    assert.ok(await p.settle(120_000), `seed ${seed}`);
    assert.ok(ok(p.a.state) && ok(p.b.state), `seed ${seed}: ${p.a.state}/${p.b.state}`);
    assert.equal(pairTypes(p.a), 'srflx/srflx');
    const rtt = p.a.selectedPair!.currentRoundTripTime!;
    assert.ok(rtt >= 0.2, `rtt ${rtt}`);
    await p.close();
    await w.close();
    w.net.assertNoOpenSockets();
  }
});

test('consent: disconnected when the path dies, back when it returns, failed after 30 s', async () => {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock, seed: 11 });
  const ha = net.host('a');
  const hb = net.host('b');
  const p = agentPair({ clock, a: ha, b: hb });
  assert.ok(await p.settle());
  await clock.runUntil(() => p.a.state === 'completed' && p.b.state === 'completed', 5000);
  // Path dies.
  ha.link.set({ loss: 1 });
  assert.ok(await clock.runUntil(() => p.a.state === 'disconnected' && p.b.state === 'disconnected', 20_000));
  const consentSent = p.a.getStats().find((s) => s.type === 'candidate-pair' && s.selected);
  assert.ok(consentSent && consentSent.type === 'candidate-pair' && consentSent.consentRequestsSent >= 2);
  // Path returns: consent responses come back and both recover.
  ha.link.set({ loss: 0 });
  assert.ok(await clock.runUntil(() => ok(p.a.state) && ok(p.b.state), 10_000));
  assert.ok(await exchange(clock, p));
  // Dies for good: failed after the 30 s consent timeout, and data is no longer sent.
  ha.link.set({ loss: 1 });
  const t0 = clock.now();
  assert.ok(await clock.runUntil(() => p.a.state === 'failed' && p.b.state === 'failed', 60_000));
  assert.ok(clock.now() - t0 >= 25_000, `failed after ${clock.now() - t0} ms`);
  assert.equal(p.a.send(new Uint8Array([0x80])), false);
  assert.equal(p.statesA[0], 'checking');
  assert.ok(ok(p.statesA[1]!));
  assert.ok(p.statesA.includes('disconnected'));
  await p.close();
  net.close();
  net.assertNoOpenSockets();
  assert.equal(clock.activeTimers, 0);
});

test('ICE restart moves to a new path after the NAT lost its mappings', async () => {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock, seed: 21 });
  const serverHost = net.host('stun', { address: '203.0.113.1' });
  const turn = await startTurnServer({
    network: serverHost,
    clock,
    random: new SeededRandom(5),
    logger: silentLogger,
    listeningIps: ['203.0.113.1'],
    listeningPort: 3478,
    tls: false,
    users: ['u:p'],
  });
  // Endpoint-independent mapping but random ports: a NAT reboot gives new external ports.
  const nat = net.nat('home', {
    mapping: 'endpoint-independent',
    filtering: 'address-and-port-dependent',
    portAssignment: 'random',
  });
  const stun = [{ urls: 'stun:203.0.113.1:3478' }];
  const p = agentPair({
    clock,
    a: nat.host('a'),
    b: net.host('b'),
    optsA: { iceServers: stun },
    optsB: { iceServers: stun },
  });
  assert.ok(await p.settle());
  assert.equal(pairTypes(p.a), 'srflx/host');
  const oldRemoteAtB = p.b.selectedPair!.remote;
  // The NAT forgets its mappings: b's packets to a's old srflx port are dropped.
  nat.table.clear();
  assert.ok(await clock.runUntil(() => p.b.state === 'disconnected', 20_000));
  // Restart both (a is controlling): new credentials, new srflx, new pair.
  const changes: string[] = [];
  p.b.on('selectedpairchange', (pair) => changes.push(pair.toString()));
  p.a.restart();
  p.b.restart();
  p.a.setRemoteCredentials(p.b.localCredentials.ufrag, p.b.localCredentials.pwd);
  p.b.setRemoteCredentials(p.a.localCredentials.ufrag, p.a.localCredentials.pwd);
  assert.ok(await clock.runUntil(() => ok(p.a.state) && ok(p.b.state) && changes.length > 0, 20_000));
  const newRemoteAtB = p.b.selectedPair!.remote;
  assert.notEqual(newRemoteAtB.port, oldRemoteAtB.port, 'b now talks to a new port');
  assert.ok(await exchange(clock, p));
  await p.close();
  await turn.close();
  net.close();
  net.assertNoOpenSockets();
});

test('role conflict: both controlling, and both controlled, still connect with one controlling side', async () => {
  for (const both of [true, false]) {
    const clock = new ManualClock();
    const net = new VirtualNetwork({ clock, seed: 31 });
    const p = agentPair({
      clock,
      a: net.host('a'),
      b: net.host('b'),
      optsA: { controlling: both },
      optsB: { controlling: both },
    });
    const roles: string[] = [];
    p.a.on('rolechange', (r) => roles.push(`a:${r}`));
    p.b.on('rolechange', (r) => roles.push(`b:${r}`));
    assert.ok(await p.settle());
    assert.ok(ok(p.a.state) && ok(p.b.state));
    assert.notEqual(p.a.role, p.b.role, `roles ${p.a.role}/${p.b.role}`);
    assert.equal(roles.length, 1, `exactly one side switched: ${roles.join(',')}`);
    assert.ok(await exchange(clock, p));
    await p.close();
    net.close();
    net.assertNoOpenSockets();
  }
});

test('relay policy and a long relayed session: TURN refreshes keep a 40-minute call alive', async () => {
  const w = await world(41);
  const p = agentPair({
    clock: w.clock,
    a: w.peer('a', 'symmetric'),
    b: w.peer('b', 'fullCone'),
    optsA: { iceServers: w.stunTurn, iceTransportPolicy: 'relay' },
    optsB: { iceServers: w.stunTurn },
  });
  const typesSeen = new Set<string>();
  p.a.on('candidate', (c) => {
    if (c) typesSeen.add(c.candidate.type);
  });
  assert.ok(await p.settle());
  assert.deepEqual([...typesSeen], ['relay']);
  assert.equal(p.a.selectedPair!.local.type, 'relay');
  const client = p.a.turnClients[0]!;
  let received = 0;
  p.b.on('data', () => received++);
  // 40 minutes of one packet every 10 s.
  for (let i = 0; i < 240; i++) {
    p.a.send(new Uint8Array([0x80, i & 0xff]));
    await w.clock.runUntil(() => false, 10_000);
  }
  assert.ok(ok(p.a.state) && ok(p.b.state), `${p.a.state}/${p.b.state}`);
  assert.equal(client.state, 'allocated');
  assert.ok(client.refreshes >= 3, `refreshes ${client.refreshes}`);
  assert.equal(client.reallocations, 0);
  assert.ok(
    client.channelFor({ address: p.a.selectedPair!.remote.address, port: p.a.selectedPair!.remote.port }) !==
      undefined,
  );
  assert.ok(received >= 238, `received ${received}`);
  await p.close();
  // Closing the agent released the allocation (Refresh lifetime 0).
  assert.equal(client.state, 'closed');
  await w.close();
  w.net.assertNoOpenSockets();
});

test('late trickle: candidates arriving seconds later still connect; stats are W3C-shaped', async () => {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock, seed: 51 });
  const p = agentPair({
    clock,
    a: net.host('a', { link: { delay: 10 } }),
    b: net.host('b', { link: { delay: 10 } }),
    signalDelay: 3000,
  });
  assert.ok(await p.settle());
  assert.ok(ok(p.a.state) && ok(p.b.state));
  assert.ok(await exchange(clock, p));
  const stats = p.a.getStats();
  const pair = stats.find((s) => s.type === 'candidate-pair' && s.selected);
  assert.ok(pair && pair.type === 'candidate-pair');
  assert.equal(pair.state, 'succeeded');
  assert.equal(pair.nominated, true);
  assert.ok(pair.requestsSent >= 1 && pair.responsesReceived >= 1);
  assert.ok(pair.packetsSent >= 1 && pair.bytesSent >= 2);
  // 10 ms each way on both links: 40 ms round trip.
  assert.equal(pair.currentRoundTripTime, 0.04);
  assert.ok(pair.totalRoundTripTime >= 0.04);
  const local = stats.find((s) => s.id === pair.localCandidateId);
  const remote = stats.find((s) => s.id === pair.remoteCandidateId);
  assert.equal(local?.type, 'local-candidate');
  assert.equal(remote?.type, 'remote-candidate');
  await p.close();
  net.close();
  net.assertNoOpenSockets();
});

test('a firewall that drops all outbound UDP: connects through TURN over TCP', async () => {
  const w = await world(61);
  const nat = w.net.nat('corp', { preset: 'symmetric', dropOutboundUdp: true });
  const p = agentPair({
    clock: w.clock,
    a: nat.host('a'),
    b: w.peer('b', 'symmetric'),
    optsA: { iceServers: [{ urls: 'turn:203.0.113.1:3478?transport=tcp', username: 'u', credential: 'p' }] },
    optsB: { iceServers: w.stunTurn },
  });
  assert.ok(await p.settle());
  assert.ok(ok(p.a.state) && ok(p.b.state), `${p.a.state}/${p.b.state}`);
  assert.equal(p.a.selectedPair!.local.type, 'relay');
  assert.equal(p.a.selectedPair!.local.relayProtocol, 'tcp');
  assert.ok(await exchange(w.clock, p));
  await p.close();
  await w.close();
  w.net.assertNoOpenSockets();
});

test('restart on a healthy path: the old pair carries data until the new one is selected', async () => {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock, seed: 71 });
  const p = agentPair({
    clock,
    a: net.host('a', { link: { delay: 5 } }),
    b: net.host('b', { link: { delay: 5 } }),
  });
  assert.ok(await p.settle());
  const old = p.a.selectedPair!;
  const gen0 = p.a.localCredentials.ufrag;
  let switched = 0;
  p.a.on('selectedpairchange', () => switched++);
  p.a.restart();
  p.b.restart();
  assert.notEqual(p.a.localCredentials.ufrag, gen0);
  // Before the new credentials are even exchanged, data still flows on the old pair.
  assert.equal(p.a.selectedPair, old);
  assert.ok(await exchange(clock, p));
  p.a.setRemoteCredentials(p.b.localCredentials.ufrag, p.b.localCredentials.pwd);
  p.b.setRemoteCredentials(p.a.localCredentials.ufrag, p.a.localCredentials.pwd);
  assert.ok(await clock.runUntil(() => switched > 0 && ok(p.a.state) && ok(p.b.state), 10_000));
  assert.notEqual(p.a.selectedPair, old, 'a new pair object for the new generation');
  assert.ok(await exchange(clock, p));
  await p.close();
  net.close();
  net.assertNoOpenSockets();
});

test('TURN over TLS (node:tls over the virtual TCP) with our TURN server', async () => {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock, seed: 81 });
  const serverHost = net.host('turn', { address: '203.0.113.1' });
  const turn = await startTurnServer({
    network: serverHost,
    clock,
    random: new SeededRandom(8),
    logger: silentLogger,
    listeningIps: ['203.0.113.1'],
    listeningPort: 3478,
    tlsListeningPort: 5349,
    users: ['u:p'],
    realm: 'test',
  });
  const nat = net.nat('corp', { preset: 'symmetric', dropOutboundUdp: true });
  const turns = [{ urls: 'turns:203.0.113.1:5349', username: 'u', credential: 'p' }];
  const p = agentPair({
    clock,
    a: nat.host('a'),
    b: net.host('b'),
    optsA: { iceServers: turns, turnTls: { rejectUnauthorized: false } },
  });
  assert.ok(await p.settle());
  assert.ok(ok(p.a.state) && ok(p.b.state), `${p.a.state}/${p.b.state}`);
  assert.equal(p.a.selectedPair!.local.relayProtocol, 'tls');
  assert.ok(await exchange(clock, p));
  await p.close();
  await turn.close();
  net.close();
  net.assertNoOpenSockets();
});

test('TURN server restart: the client reallocates, the new relay candidate is trickled, an ICE restart reconnects', async () => {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock, seed: 101 });
  const serverHost = net.host('turn', { address: '203.0.113.1' });
  const opts = {
    network: serverHost,
    clock,
    random: new SeededRandom(10),
    logger: silentLogger,
    listeningIps: ['203.0.113.1'],
    listeningPort: 3478,
    tls: false,
    users: ['u:p'],
    realm: 'test',
  };
  let turn = await startTurnServer(opts);
  const servers = [{ urls: 'turn:203.0.113.1:3478', username: 'u', credential: 'p' }];
  const p = agentPair({
    clock,
    a: net.nat('na', { preset: 'symmetric' }).host('a'),
    b: net.host('b'),
    optsA: { iceServers: servers, iceTransportPolicy: 'relay' },
  });
  assert.ok(await p.settle());
  const oldRelay = p.a.selectedPair!.local;
  assert.equal(oldRelay.type, 'relay');
  const newRelays: string[] = [];
  p.a.on('candidate', (c) => {
    if (c?.candidate.type === 'relay') newRelays.push(`${c.candidate.address}:${c.candidate.port}`);
  });
  await turn.close();
  turn = await startTurnServer(opts);
  // Consent through the dead relay fails; the next Refresh (at ~9 min) finds no allocation: 437.
  assert.ok(await clock.runUntil(() => newRelays.length > 0, 900_000), 'a new relay candidate');
  assert.equal(p.a.state, 'failed');
  assert.equal(p.a.turnClients[0]!.reallocations, 1);
  assert.ok(!p.a.localCandidates.includes(oldRelay));
  p.a.restart();
  p.b.restart();
  p.a.setRemoteCredentials(p.b.localCredentials.ufrag, p.b.localCredentials.pwd);
  p.b.setRemoteCredentials(p.a.localCredentials.ufrag, p.a.localCredentials.pwd);
  assert.ok(await clock.runUntil(() => ok(p.a.state) && ok(p.b.state), 20_000), `${p.a.state}/${p.b.state}`);
  assert.equal(`${p.a.selectedPair!.local.address}:${p.a.selectedPair!.local.port}`, newRelays.at(-1));
  assert.ok(await exchange(clock, p));
  await p.close();
  await turn.close();
  net.close();
  net.assertNoOpenSockets();
});
