/**
 * Helpers for ICE scenarios on the virtual network: two agents with trickle signaling over an
 * in-memory channel (delivered through the clock), run until both settle.
 */
import type { ManualClock } from '../../src/core/clock.js';
import type { Network } from '../../src/core/net.js';
import { SeededRandom } from '../../src/core/random.js';
import { IceAgent } from '../../src/ice/agent.js';
import type { IceAgentOptions, IceTransportState } from '../../src/ice/types.js';

export interface PairOptions {
  clock: ManualClock;
  a: Network;
  b: Network;
  optsA?: Partial<IceAgentOptions>;
  optsB?: Partial<IceAgentOptions>;
  /** One-way signaling delay in ms (default 20). */
  signalDelay?: number;
  seed?: number;
}

export interface AgentPair {
  a: IceAgent;
  b: IceAgent;
  statesA: IceTransportState[];
  statesB: IceTransportState[];
  /** Run until both are connected/completed or one failed (or maxMs passes). */
  settle(maxMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

const DONE = new Set<IceTransportState>(['connected', 'completed', 'failed']);

export function agentPair(o: PairOptions): AgentPair {
  const seed = o.seed ?? 1;
  const a = new IceAgent({
    clock: o.clock,
    network: o.a,
    random: new SeededRandom(seed),
    controlling: true,
    includeLoopback: false,
    mdns: false,
    ...o.optsA,
  });
  const b = new IceAgent({
    clock: o.clock,
    network: o.b,
    random: new SeededRandom(seed + 1000),
    controlling: false,
    includeLoopback: false,
    mdns: false,
    ...o.optsB,
  });
  const delay = o.signalDelay ?? 20;
  const statesA: IceTransportState[] = [];
  const statesB: IceTransportState[] = [];
  a.on('statechange', (s) => statesA.push(s));
  b.on('statechange', (s) => statesB.push(s));
  const wire = (from: IceAgent, to: IceAgent): void => {
    from.on('candidate', (c) => {
      const line = c ? c.attribute : null;
      o.clock.setTimeout(() => {
        if (!to.closed) to.addRemoteCandidate(line);
      }, delay);
    });
  };
  wire(a, b);
  wire(b, a);
  a.setRemoteCredentials(b.localCredentials.ufrag, b.localCredentials.pwd);
  b.setRemoteCredentials(a.localCredentials.ufrag, a.localCredentials.pwd);
  a.start();
  b.start();
  void a.gather();
  void b.gather();
  return {
    a,
    b,
    statesA,
    statesB,
    settle: (maxMs = 120_000) =>
      o.clock.runUntil(
        () =>
          a.state === 'failed' ||
          b.state === 'failed' ||
          (DONE.has(a.state) &&
            DONE.has(b.state) &&
            // Settled once nomination is done: a first valid pair may carry data before it.
            a.selectedPair?.nominated === true &&
            b.selectedPair?.nominated === true),
        maxMs,
      ),
    close: async () => {
      a.close();
      b.close();
      // Let deallocations (TURN Refresh 0) finish on the virtual clock.
      await o.clock.runUntil(() => false, 2000);
    },
  };
}

/** Types of the selected pair as "local/remote". */
export function pairTypes(agent: IceAgent): string | undefined {
  const p = agent.selectedPair;
  return p ? `${p.local.type}/${p.remote.type}` : undefined;
}
