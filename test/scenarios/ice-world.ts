/**
 * A virtual internet for ICE scenarios: a STUN/TURN server (our src/server/turn) on a public
 * address and peers behind configurable NATs.
 */
import { ManualClock } from '../../src/core/clock.js';
import type { Network } from '../../src/core/net.js';
import { type LinkConditions, type NatPreset, VirtualNetwork } from '../../src/core/vnet/index.js';
import type { IceServer } from '../../src/ice/types.js';
import type { TurnServerHandle } from '../../src/server/turn/server.js';
import { startScenarioTurn } from './turn-test-client.js';

export const SERVER_IP = '203.0.113.1';
export type Site = 'none' | NatPreset;
export const SITES: readonly Site[] = [
  'none',
  'fullCone',
  'restrictedCone',
  'portRestrictedCone',
  'symmetric',
];

export interface World {
  clock: ManualClock;
  net: VirtualNetwork;
  turn: TurnServerHandle;
  stun: IceServer[];
  stunTurn: IceServer[];
  turnOnly: IceServer[];
  peer(name: string, site: Site, link?: LinkConditions): Network;
  close(): Promise<void>;
}

export async function world(seed = 1, serverLink?: LinkConditions): Promise<World> {
  const clock = new ManualClock();
  const net = new VirtualNetwork({ clock, seed });
  const serverHost = net.host('turn', { address: SERVER_IP, ...(serverLink ? { link: serverLink } : {}) });
  const turn = await startScenarioTurn(serverHost, SERVER_IP, clock, seed + 77, ['u:p']);
  const stun: IceServer[] = [{ urls: `stun:${SERVER_IP}:3478` }];
  const turnOnly: IceServer[] = [
    { urls: `turn:${SERVER_IP}:3478?transport=udp`, username: 'u', credential: 'p' },
  ];
  let n = 0;
  return {
    clock,
    net,
    turn,
    stun,
    turnOnly,
    stunTurn: [...stun, ...turnOnly],
    peer(name, site, link) {
      if (site === 'none') return net.host(name, link ? { link } : {});
      const nat = net.nat(`${name}-nat${n++}`, { preset: site, ...(link ? { wanLink: link } : {}) });
      return nat.host(name);
    },
    async close() {
      await turn.close();
      net.close();
    },
  };
}
