/**
 * An rtcstack ICE agent for the NAT lab, run inside a namespace. Signaling over stdio as JSON
 * lines: it prints its credentials, candidates and state changes, and reads the peer's.
 *
 *   node --import tsx test/natlab/ice-peer.ts '{"controlling":true,"iceServers":[...],"policy":"all"}'
 */
import { createInterface } from 'node:readline';
import { SystemClock } from '../../src/core/clock.js';
import { IceAgent } from '../../src/ice/agent.js';
import type { IceServer } from '../../src/ice/types.js';

interface Config {
  controlling: boolean;
  iceServers: IceServer[];
  policy?: 'all' | 'relay';
  /** Accept the TURN server's self-signed certificate (turns: in the lab). */
  insecureTls?: boolean;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as Config;
const out = (o: unknown): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};
const t0 = performance.now();
const agent = new IceAgent({
  clock: new SystemClock(),
  controlling: cfg.controlling,
  iceServers: cfg.iceServers,
  iceTransportPolicy: cfg.policy ?? 'all',
  ...(cfg.insecureTls ? { turnTls: { rejectUnauthorized: false } } : {}),
  ipv6: false,
  mdns: false,
  // Fail a pair within ~7 s (the lab waits for `failed` in the negative cases).
  checkRto: 300,
  checkTransmissions: 5,
  checkRtoMax: 2400,
});
out({ type: 'creds', ufrag: agent.localCredentials.ufrag, pwd: agent.localCredentials.pwd });
agent.on('candidate', (c) => out({ type: 'candidate', line: c ? c.attribute : null }));
agent.on('statechange', (state) => {
  const p = agent.selectedPair;
  out({
    type: 'state',
    state,
    ms: Math.round(performance.now() - t0),
    pair: p ? `${p.local.type}/${p.remote.type}` : null,
    relayProtocol: p?.local.relayProtocol ?? null,
  });
  if (state === 'connected' || state === 'completed') agent.send(new TextEncoder().encode('\x80ping'));
});
agent.on('data', (d) => {
  out({ type: 'data', text: new TextDecoder().decode(d.subarray(1)) });
  if (d[1] === 0x70 && d[2] === 0x69) agent.send(new TextEncoder().encode('\x80pong'));
});
agent.on('candidateerror', (e) => out({ type: 'candidateerror', ...e }));

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const m = JSON.parse(line) as { type: string; ufrag?: string; pwd?: string; line?: string | null };
  if (m.type === 'creds') {
    agent.setRemoteCredentials(m.ufrag!, m.pwd!);
    agent.start();
    void agent.gather();
  } else if (m.type === 'candidate') agent.addRemoteCandidate(m.line ?? null);
});
rl.on('close', () => {
  agent.close();
  setTimeout(() => process.exit(0), 200).unref();
});
