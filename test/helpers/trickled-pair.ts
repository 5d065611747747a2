/**
 * Two rtcstack peer connections on loopback (IPv4 only) whose ICE candidates trickle to each
 * other as they are found: the start of every live Node-to-Node media test.
 */
import { type PeerOptions, RTCPeerConnection } from '../../src/peer/index.js';

export const LOOPBACK_OPTS = { includeLoopback: true, ipv6: false };

/** `aOptions`: more PeerOptions for A (e.g. its own network). */
export function trickledPair(aOptions: PeerOptions = {}): { a: RTCPeerConnection; b: RTCPeerConnection } {
  const a = new RTCPeerConnection({}, { ...LOOPBACK_OPTS, ...aOptions });
  const b = new RTCPeerConnection({}, LOOPBACK_OPTS);
  a.onicecandidate = (e) => void b.addIceCandidate(e.candidate ?? undefined).catch(() => {});
  b.onicecandidate = (e) => void a.addIceCandidate(e.candidate ?? undefined).catch(() => {});
  return { a, b };
}

/** One offer/answer exchange, A offering: the four calls every media test starts with. */
export async function negotiate(a: RTCPeerConnection, b: RTCPeerConnection): Promise<void> {
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription!);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription!);
}
