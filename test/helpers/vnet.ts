/**
 * Helpers for scenarios on the virtual network: an echo "reflector" that answers each datagram
 * with the source address it observed (a STUN Binding stand-in, as text "ip:port"), and a probe
 * that asks it from one socket.
 */
import type { ManualClock } from '../../src/core/clock.js';
import {
  formatAddress,
  type Network,
  parseAddress,
  type TransportAddress,
  type UdpSocket,
} from '../../src/core/net.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A reflector on every given address and port of `host`; returns its sockets (close them at the end). */
export async function startReflector(
  host: Network,
  addresses: string[],
  ports: number[],
): Promise<UdpSocket[]> {
  const out: UdpSocket[] = [];
  for (const address of addresses) {
    for (const port of ports) {
      const s = await host.bindUdp({ address, port });
      s.onMessage = (_data, from) => {
        s.send(enc.encode(formatAddress(from)), from);
      };
      out.push(s);
    }
  }
  return out;
}

/** Everything a socket receives, in order, with the sender and arrival time. */
export function collect(
  socket: UdpSocket,
  clock: ManualClock,
): { data: Uint8Array; from: TransportAddress; at: number }[] {
  const got: { data: Uint8Array; from: TransportAddress; at: number }[] = [];
  socket.onMessage = (data, from) => {
    got.push({ data: data.slice(), from, at: clock.now() });
  };
  return got;
}

/**
 * Ask the reflector at `server` which address it sees for `socket` (one request; undefined if no
 * answer within `timeoutMs` of virtual time). Replaces the socket's onMessage while it waits.
 */
export async function probeMapped(
  clock: ManualClock,
  socket: UdpSocket,
  server: TransportAddress,
  timeoutMs = 1000,
): Promise<TransportAddress | undefined> {
  let mapped: TransportAddress | undefined;
  socket.onMessage = (data, from) => {
    if (from.address === server.address && from.port === server.port) mapped = parseAddress(dec.decode(data));
  };
  socket.send(enc.encode('probe'), server);
  await clock.runUntil(() => mapped !== undefined, timeoutMs);
  socket.onMessage = null;
  return mapped;
}

/** Run the clock until `promise` settles (a TCP connect, a transaction), then return its result. */
export async function drive<T>(clock: ManualClock, promise: Promise<T>, maxMs = 60_000): Promise<T> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  if (!(await clock.runUntil(() => settled, maxMs)))
    throw new Error(`not settled within ${maxMs} ms of virtual time`);
  return promise;
}
