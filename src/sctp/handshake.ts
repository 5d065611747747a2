/** INIT / INIT ACK contents and the peer features they announce (RFC 9260 §3.3.2, RFC 5061, 3758, 8260, 9653). */
import type { Chunk, InitChunk } from './chunk-types.js';
import {
  CHUNK_FORWARD_TSN,
  CHUNK_I_DATA,
  CHUNK_I_FORWARD_TSN,
  CHUNK_RE_CONFIG,
  PARAM_FORWARD_TSN_SUPPORTED,
  ZERO_CHECKSUM_EDMID_DTLS,
} from './constants.js';
import {
  findParam,
  forwardTsnSupportedParam,
  maxPacketAccepted,
  maxPacketParam,
  stateCookieParam,
  supportedExtensions,
  supportedExtensionsParam,
  zeroChecksumEdmid,
  zeroChecksumParam,
} from './params.js';

// Peer feature bits (kept in the state cookie).
export const PEER_FWD_TSN = 1;
export const PEER_IDATA = 2;
export const PEER_RECONFIG = 4;
export const PEER_ZERO_CHECKSUM = 8;
/** The peer accepts SCTP packets of at least LARGE_PACKET bytes (PARAM_MAX_PACKET_ACCEPTED). */
export const PEER_LARGE_PACKETS = 16;
/** One DTLS record: what "large" means for the feature bit. */
export const LARGE_PACKET = 16384;

/** The features an INIT or INIT ACK announces, as PEER_* bits. */
export function peerFeatures(c: InitChunk): number {
  const ext = supportedExtensions(c.params);
  let f = 0;
  if (ext.includes(CHUNK_FORWARD_TSN) || findParam(c.params, PARAM_FORWARD_TSN_SUPPORTED)) f |= PEER_FWD_TSN;
  if (ext.includes(CHUNK_I_DATA) && ext.includes(CHUNK_I_FORWARD_TSN)) f |= PEER_IDATA;
  if (ext.includes(CHUNK_RE_CONFIG)) f |= PEER_RECONFIG;
  if (zeroChecksumEdmid(c.params) === ZERO_CHECKSUM_EDMID_DTLS) f |= PEER_ZERO_CHECKSUM;
  if ((maxPacketAccepted(c.params) ?? 0) >= LARGE_PACKET) f |= PEER_LARGE_PACKETS;
  return f;
}

/** Our INIT (type 1) or INIT ACK (type 2, with the state cookie). */
export function initChunk(
  type: 1 | 2,
  o: {
    tag: number;
    rwnd: number;
    initialTsn: number;
    interleaving: boolean;
    zeroChecksum: boolean;
    /** Largest SCTP packet we accept, announced when set. */
    maxPacket?: number;
    cookie?: Uint8Array;
  },
): Chunk {
  const ext = [CHUNK_RE_CONFIG, CHUNK_FORWARD_TSN];
  if (o.interleaving) ext.push(CHUNK_I_DATA, CHUNK_I_FORWARD_TSN);
  const params = [supportedExtensionsParam(ext), forwardTsnSupportedParam()];
  if (o.zeroChecksum) params.push(zeroChecksumParam(ZERO_CHECKSUM_EDMID_DTLS));
  if (o.maxPacket !== undefined) params.push(maxPacketParam(o.maxPacket));
  if (o.cookie) params.unshift(stateCookieParam(o.cookie));
  return {
    type,
    initiateTag: o.tag,
    aRwnd: o.rwnd,
    outboundStreams: 65535,
    inboundStreams: 65535,
    initialTsn: o.initialTsn,
    params,
  };
}
