/**
 * Two rtcstack agents on the real network (127.0.0.1, system clock): host candidates, and a peer
 * that hides its address behind an mDNS `.local` name as Chromium does (resolved through a
 * one-shot query to an mDNS responder on loopback).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { SystemClock } from '../../src/core/clock.js';
import { nodeNetwork } from '../../src/core/net-node.js';
import { IceAgent } from '../../src/ice/agent.js';
import { addressRecordData, parseDnsMessage, serializeDnsMessage } from '../../src/ice/mdns.js';
import { MdnsResponder } from '../../src/ice/mdns-responder.js';
import { waitFor } from '../helpers/wait.js';
import { realPair } from './ice-harness-real.js';

test('two agents connect over loopback host candidates and exchange datagrams', async () => {
  const p = realPair();
  try {
    await p.connected;
    assert.equal(p.a.selectedPair?.local.type, 'host');
    assert.equal(p.a.selectedPair?.local.address, '127.0.0.1');
    const atB: number[] = [];
    const atA: number[] = [];
    p.b.on('data', (d) => atB.push(d.length));
    p.a.on('data', (d) => atA.push(d.length));
    for (let i = 0; i < 50; i++) p.a.send(new Uint8Array(1000).fill(0x80));
    p.b.send(new Uint8Array([0x17, 0xfe, 0xfd]));
    await waitFor(() => atB.length === 50 && atA.length === 1);
    const stats = p.a.getStats().find((s) => s.type === 'candidate-pair' && s.selected);
    assert.ok(stats?.type === 'candidate-pair' && stats.bytesSent === 50_000 && stats.bytesReceived === 3);
  } finally {
    p.close();
  }
});

test('mDNS: a remote `.local` host candidate is resolved and connects', async () => {
  const name = `${randomUUID()}.local`;
  const responder = await nodeNetwork.bindUdp({ address: '127.0.0.1' });
  let queries = 0;
  responder.onMessage = (data, from) => {
    const q = parseDnsMessage(data);
    if (q.response || !q.questions.some((x) => x.name === name)) return;
    queries++;
    const rd = addressRecordData('127.0.0.1');
    responder.send(
      serializeDnsMessage({
        id: q.id,
        response: true,
        questions: [],
        answers: [{ name, type: rd.type, ttl: 120, data: rd.data }],
      }),
      from,
    );
  };
  const clock = new SystemClock({ unref: true });
  const filter = {
    includeLoopback: true,
    ipv6: false,
    interfaceFilter: (i: { address: string }) => i.address === '127.0.0.1',
  };
  const a = new IceAgent({
    clock,
    controlling: true,
    mdns: { server: responder.local, timeoutMs: 2000 },
    ...filter,
  });
  const b = new IceAgent({ clock, controlling: false, mdns: false, ...filter });
  // b hides its host address behind the mDNS name, as a browser without camera permission does.
  b.on('candidate', (c) => a.addRemoteCandidate(c ? c.attribute.replace(' 127.0.0.1 ', ` ${name} `) : null));
  a.on('candidate', (c) => b.addRemoteCandidate(c ? c.attribute : null));
  a.setRemoteCredentials(b.localCredentials.ufrag, b.localCredentials.pwd);
  b.setRemoteCredentials(a.localCredentials.ufrag, a.localCredentials.pwd);
  try {
    a.start();
    b.start();
    await Promise.all([a.gather(), b.gather()]);
    await waitFor(() => a.selectedPair !== undefined && b.selectedPair !== undefined);
    assert.equal(queries, 1);
    const remote = a.remoteCandidates.find((r) => r.address === name);
    assert.ok(remote, 'the .local candidate is kept under its name');
    assert.equal(remote.resolvedAddress, '127.0.0.1');
  } finally {
    a.close();
    b.close();
    responder.close();
  }
});

test('mDNS both ways: one agent publishes its host candidates as `.local` names, the other resolves them', async () => {
  const responder = new MdnsResponder(await nodeNetwork.bindUdp({ address: '127.0.0.1' }));
  const clock = new SystemClock({ unref: true });
  const filter = {
    includeLoopback: true,
    ipv6: false,
    interfaceFilter: (i: { address: string }) => i.address === '127.0.0.1',
  };
  const a = new IceAgent({ clock, controlling: true, mdns: false, mdnsResponder: responder, ...filter });
  const b = new IceAgent({ clock, controlling: false, mdns: { server: responder.socketAddress }, ...filter });
  const announced: string[] = [];
  a.on('candidate', (c) => {
    if (c) announced.push(c.attribute);
    b.addRemoteCandidate(c ? c.attribute : null);
  });
  b.on('candidate', (c) => a.addRemoteCandidate(c ? c.attribute : null));
  a.setRemoteCredentials(b.localCredentials.ufrag, b.localCredentials.pwd);
  b.setRemoteCredentials(a.localCredentials.ufrag, a.localCredentials.pwd);
  try {
    a.start();
    b.start();
    await Promise.all([a.gather(), b.gather()]);
    await waitFor(() => a.selectedPair !== undefined && b.selectedPair !== undefined);
    assert.ok(announced.length > 0);
    for (const line of announced) {
      assert.match(line, /\.local \d+ typ host/);
      assert.ok(!line.includes('127.0.0.1'), line);
    }
    assert.ok(responder.answered >= 1);
    assert.equal(b.selectedPair?.remote.resolvedAddress, '127.0.0.1');
  } finally {
    a.close();
    b.close();
    responder.close();
  }
});
