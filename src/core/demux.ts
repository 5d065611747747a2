/**
 * RFC 7983 §7 (updating RFC 5764 §5.1.2): what a datagram on a WebRTC 5-tuple carries, told by its
 * first byte. STUN, DTLS and SRTP/SRTCP share one socket; TURN ChannelData appears on the leg to a
 * TURN server.
 *
 *                  +----------------+
 *                  |        [0..3] -+--> STUN
 *                  |      [16..19] -+--> ZRTP
 *                  |      [20..63] -+--> DTLS
 *                  |      [64..79] -+--> TURN ChannelData
 *                  |    [128..191] -+--> RTP/RTCP
 *                  +----------------+
 */
export type DatagramKind = 'stun' | 'zrtp' | 'dtls' | 'turn-channel' | 'rtp' | 'rtcp' | 'unknown';

export function classifyDatagram(data: Uint8Array): DatagramKind {
  const b = data[0];
  if (b === undefined) return 'unknown';
  if (b <= 3) return 'stun';
  if (b >= 16 && b <= 19) return 'zrtp';
  if (b >= 20 && b <= 63) return 'dtls';
  if (b >= 64 && b <= 79) return 'turn-channel';
  if (b >= 128 && b <= 191) return isRtcpPacketType(data[1]) ? 'rtcp' : 'rtp';
  return 'unknown';
}

/** RFC 5761 §4: RTCP packet types 192..223 occupy the second byte where RTP has marker+payload type. */
function isRtcpPacketType(pt: number | undefined): boolean {
  return pt !== undefined && pt >= 192 && pt <= 223;
}
