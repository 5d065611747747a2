/**
 * werift's ICE `Connection` as a NAT-lab peer, with the same stdio JSON-lines signaling as
 * ice-peer.ts (for the side-by-side setup benchmark). werift does not trickle: it prints all its
 * candidates after gathering, then null, and connects once it has the peer's end-of-candidates.
 *
 *   node --import tsx test/natlab/ice-peer-werift.ts '{"controlling":true,"stun":["203.0.113.1",3490]}'
 */
import { createInterface } from 'node:readline';
import { Candidate, Connection } from 'werift';

interface Config {
  controlling: boolean;
  stun?: [string, number];
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as Config;
const out = (o: unknown): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};
const t0 = performance.now();
const conn = new Connection(cfg.controlling, {
  useIpv6: false,
  ...(cfg.stun ? { stunServer: cfg.stun } : {}),
});
out({ type: 'creds', ufrag: conn.localUsername, pwd: conn.localPassword });
let remoteParams = false;
let remoteDone = false;
let gathered = false;
let connecting = false;

const maybeConnect = (): void => {
  if (connecting || !remoteParams || !remoteDone || !gathered) return;
  connecting = true;
  conn.connect().then(
    () => {
      out({ type: 'state', state: 'connected', ms: Math.round(performance.now() - t0), pair: null });
      void conn.send(Buffer.from('\x80ping'));
    },
    () => out({ type: 'state', state: 'failed', ms: Math.round(performance.now() - t0), pair: null }),
  );
};

conn.onData.subscribe((d) => {
  out({ type: 'data', text: d.subarray(1).toString() });
  if (d.subarray(1).toString() === 'ping') void conn.send(Buffer.from('\x80pong'));
});

void conn.gatherCandidates().then(() => {
  for (const c of conn.localCandidates) out({ type: 'candidate', line: `candidate:${c.toSdp()}` });
  out({ type: 'candidate', line: null });
  gathered = true;
  maybeConnect();
});

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const m = JSON.parse(line) as { type: string; ufrag?: string; pwd?: string; line?: string | null };
  if (m.type === 'creds') {
    conn.setRemoteParams({ iceLite: false, usernameFragment: m.ufrag!, password: m.pwd! });
    remoteParams = true;
  } else if (m.type === 'candidate') {
    if (m.line) void conn.addRemoteCandidate(Candidate.fromSdp(m.line.replace(/^candidate:/, '')));
    else {
      void conn.addRemoteCandidate(undefined);
      remoteDone = true;
    }
  }
  maybeConnect();
});
rl.on('close', () => {
  void conn.close();
  setTimeout(() => process.exit(0), 200).unref();
});
