/**
 * State cookie (RFC 9260 §5.1.3): everything needed to build the association from a COOKIE ECHO,
 * authenticated with HMAC-SHA256 under a per-association secret from node:crypto.
 *
 *   version u8 | created u48 (ms) | local tag u32 | peer tag u32 | local initial TSN u32 |
 *   peer initial TSN u32 | peer a_rwnd u32 | peer out streams u16 | peer in streams u16 |
 *   peer feature bits u8 | HMAC-SHA256 (32)
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ByteReader, ByteWriter } from '../core/bytes.js';

export interface CookieContents {
  readonly created: number;
  readonly localTag: number;
  readonly peerTag: number;
  readonly localInitialTsn: number;
  readonly peerInitialTsn: number;
  readonly peerRwnd: number;
  readonly peerOutStreams: number;
  readonly peerInStreams: number;
  /** Bit set of peer features, see PEER_* in association-features. */
  readonly peerFeatures: number;
}

const VERSION = 1;
const MAC_SIZE = 32;

export function makeCookie(secret: Uint8Array, c: CookieContents): Uint8Array {
  const w = new ByteWriter(64);
  w.u8(VERSION)
    .u48(Math.max(0, Math.floor(c.created)))
    .u32(c.localTag)
    .u32(c.peerTag);
  w.u32(c.localInitialTsn).u32(c.peerInitialTsn).u32(c.peerRwnd);
  w.u16(c.peerOutStreams).u16(c.peerInStreams).u8(c.peerFeatures);
  const body = w.finish();
  const mac = createHmac('sha256', secret).update(body).digest();
  w.bytes(mac);
  return w.finish().slice();
}

/** The cookie's contents if its MAC verifies, else undefined. Never throws on bad bytes. */
export function openCookie(secret: Uint8Array, cookie: Uint8Array): CookieContents | undefined {
  if (cookie.length !== 32 + MAC_SIZE) return undefined;
  const body = cookie.subarray(0, cookie.length - MAC_SIZE);
  const mac = createHmac('sha256', secret).update(body).digest();
  if (!timingSafeEqual(mac, cookie.subarray(cookie.length - MAC_SIZE))) return undefined;
  const r = new ByteReader(body, 'sctp');
  if (r.u8('cookie.version') !== VERSION) return undefined;
  return {
    created: r.u48('cookie.created'),
    localTag: r.u32('cookie.localTag'),
    peerTag: r.u32('cookie.peerTag'),
    localInitialTsn: r.u32('cookie.localInitialTsn'),
    peerInitialTsn: r.u32('cookie.peerInitialTsn'),
    peerRwnd: r.u32('cookie.peerRwnd'),
    peerOutStreams: r.u16('cookie.peerOutStreams'),
    peerInStreams: r.u16('cookie.peerInStreams'),
    peerFeatures: r.u8('cookie.peerFeatures'),
  };
}
