/**
 * Two associations on a LossyLink and a ManualClock, for the SCTP tests (no sleeping: the clock is
 * advanced by the tests).
 */
import assert from 'node:assert/strict';
import { ManualClock } from '../core/clock.js';
import { SeededRandom } from '../core/random.js';
import { SctpAssociation, type SctpAssociationOptions } from './association.js';
import { type LinkOptions, LossyLink } from './lossy-pipe.js';

export interface Received {
  stream: number;
  ppid: number;
  data: Uint8Array;
  unordered: boolean;
}

export function pair(
  link: LinkOptions = {},
  seed = 1,
  a: Partial<SctpAssociationOptions> = {},
  b: Partial<SctpAssociationOptions> = {},
) {
  const clock = new ManualClock();
  const net = new LossyLink(clock, new SeededRandom(seed), link);
  const mk = (side: 0 | 1, extra: Partial<SctpAssociationOptions>) => {
    const assoc = new SctpAssociation({
      clock,
      send: net.sender(side),
      random: new SeededRandom(seed * 10 + side),
      ...extra,
    });
    net.attach(side, assoc);
    const got: Received[] = [];
    assoc.on('message', (stream, ppid, data, unordered) =>
      got.push({ stream, ppid, data: data.slice(), unordered }),
    );
    return { assoc, got };
  };
  const A = mk(0, a);
  const B = mk(1, b);
  return { clock, net, A, B };
}

export async function connect(p: ReturnType<typeof pair>, bothStart = true): Promise<void> {
  p.A.assoc.start();
  if (bothStart) p.B.assoc.start();
  const ok = await p.clock.runUntil(
    () => p.A.assoc.state === 'established' && p.B.assoc.state === 'established',
    600_000,
  );
  assert.ok(ok, `handshake: ${p.A.assoc.state} / ${p.B.assoc.state}`);
}

export function finish(p: ReturnType<typeof pair>): void {
  p.A.assoc.close();
  p.B.assoc.close();
  p.clock.advance(1000); // packets still on the link are timers too
  assert.equal(p.clock.activeTimers, 0, 'no timers left');
}
