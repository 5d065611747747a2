/**
 * A network whose UDP sockets show each outgoing datagram to a hook before sending it: tests that
 * watch what a peer puts on the wire, or drop chosen packets, wrap a peer's network with it.
 */
import type { Network, TransportAddress, UdpSocket } from '../../src/core/net.js';

/** `hook` sees every datagram a socket of `base` sends; returning true drops it. */
export function sendHookNetwork(
  base: Network,
  hook: (data: Uint8Array, to: TransportAddress) => boolean,
): Network {
  return {
    interfaces: () => base.interfaces(),
    listenTcp: (o) => base.listenTcp(o),
    connectTcp: (o) => base.connectTcp(o),
    bindUdp: async (o): Promise<UdpSocket> => {
      const s = await base.bindUdp(o);
      const send = s.send.bind(s);
      s.send = (data, to) => (hook(data, to) ? true : send(data, to));
      return s;
    },
  };
}

/** Whether a datagram is RTP: first byte 128-191 (RFC 7983) and not an RTCP packet type (192-223). */
export function isRtpDatagram(data: Uint8Array): boolean {
  const b0 = data[0] ?? 0;
  const b1 = data[1] ?? 0;
  return b0 >= 128 && b0 <= 191 && !(b1 >= 192 && b1 <= 223);
}
