/**
 * Two rtcstack peer connections on the virtual network and one ManualClock (host 'a' at
 * 203.0.113.1, host 'b' at 203.0.113.2, 5 ms each way), ICE candidates trickling to each other:
 * what they do once connected depends only on the seed and the virtual time the test runs, not on
 * how busy the machine is.
 */
import { ManualClock } from '../../src/core/clock.js';
import type { Network } from '../../src/core/net.js';
import { SeededRandom } from '../../src/core/random.js';
import { VirtualNetwork } from '../../src/core/vnet/index.js';
import { RTCPeerConnection } from '../../src/peer/index.js';

export interface VirtualPair {
  readonly clock: ManualClock;
  readonly net: VirtualNetwork;
  readonly a: RTCPeerConnection;
  readonly b: RTCPeerConnection;
  /**
   * Steps the clock until both are connected (after the offer/answer). Certificates come from
   * node's thread pool (the offer/answer awaited them); should the handshake wait on any other
   * real work, each 1 ms of virtual time also waits 1 ms of real time here, so timers never run
   * ahead of it however slow the machine (connected at 50 ms of virtual time, idle or loaded).
   * `maxMs` of virtual time is a safety net against hangs, not a timing.
   */
  connected(maxMs?: number): Promise<void>;
  /** Closes both, lets their closing timers run, closes the network; returns the timers left. */
  close(): Promise<number>;
}

export function virtualPair(o: { seed: number; wrapA?: (host: Network) => Network }): VirtualPair {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock, seed: o.seed });
  const ha = net.host('a', { address: '203.0.113.1', link: { delay: 5 } });
  const hb = net.host('b', { address: '203.0.113.2', link: { delay: 5 } });
  const opts = { clock, ipv6: false };
  const a = new RTCPeerConnection(
    {},
    { ...opts, network: o.wrapA?.(ha) ?? ha, random: new SeededRandom(o.seed) },
  );
  const b = new RTCPeerConnection({}, { ...opts, network: hb, random: new SeededRandom(o.seed + 1) });
  a.onicecandidate = (e) => void b.addIceCandidate(e.candidate ?? undefined).catch(() => {});
  b.onicecandidate = (e) => void a.addIceCandidate(e.candidate ?? undefined).catch(() => {});
  return {
    clock,
    net,
    a,
    b,
    async connected(maxMs = 30_000) {
      const end = clock.now() + maxMs;
      while (!(a.connectionState === 'connected' && b.connectionState === 'connected')) {
        if (clock.now() >= end)
          throw new Error(
            `not connected within ${maxMs} ms of virtual time (${a.connectionState}/${b.connectionState})`,
          );
        await new Promise((r) => setTimeout(r, 1));
        await clock.advanceAsync(1);
      }
    },
    async close() {
      a.close();
      b.close();
      await clock.advanceAsync(1000);
      net.close();
      return clock.activeTimers;
    },
  };
}
