import type { RTCRtpTransceiver } from '../../src/peer/index.js';

/** Ask for transport-cc (and with it TWCC/REMB) on a transceiver explicitly (on by default since the pacer landed). */
export function enableTwcc(t: RTCRtpTransceiver): void {
  t.setHeaderExtensionsToNegotiate(
    t.getHeaderExtensionsToNegotiate().map((e) => ({ ...e, direction: 'sendrecv' })),
  );
}
