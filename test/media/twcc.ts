import type { RTCRtpTransceiver } from '../../src/peer/index.js';

/** Turn on transport-cc (and with it TWCC/REMB) for a transceiver: off by default. */
export function enableTwcc(t: RTCRtpTransceiver): void {
  t.setHeaderExtensionsToNegotiate(
    t.getHeaderExtensionsToNegotiate().map((e) => ({ ...e, direction: 'sendrecv' })),
  );
}
