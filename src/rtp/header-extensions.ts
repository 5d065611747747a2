/**
 * RTP header extensions (RFC 8285): the one-byte (profile 0xBEDE) and two-byte (0x100X) forms.
 *
 *  one-byte element:  0 1 2 3 4 5 6 7        two-byte element:  ID (8) | length (8) | data
 *                    +-+-+-+-+-+-+-+-+
 *                    |  ID   |  len  |  data (len+1 bytes)      ID 0 is a padding byte in both forms;
 *                    +-+-+-+-+-+-+-+-+                          one-byte ID 15 stops parsing (§4.2).
 */
import { ByteReader } from '../core/bytes.js';

/** RFC 8285 §4.2 */
export const ONE_BYTE_PROFILE = 0xbede;
/** RFC 8285 §4.3: 0x100 followed by 4 application bits. */
export const TWO_BYTE_PROFILE = 0x1000;
export const TWO_BYTE_PROFILE_MASK = 0xfff0;

export interface RtpHeaderExtension {
  readonly id: number;
  /** A view into the packet. */
  readonly data: Uint8Array;
}

export const isOneByteProfile = (profile: number): boolean => profile === ONE_BYTE_PROFILE;
export const isTwoByteProfile = (profile: number): boolean =>
  (profile & TWO_BYTE_PROFILE_MASK) === TWO_BYTE_PROFILE;

/** Elements of an extension block of `profile`; [] for a profile RFC 8285 does not define. */
export function parseHeaderExtensions(
  profile: number,
  block: Uint8Array,
  layer = 'rtp',
): RtpHeaderExtension[] {
  const out: RtpHeaderExtension[] = [];
  const r = new ByteReader(block, layer);
  if (isOneByteProfile(profile)) {
    while (r.remaining > 0) {
      const b = r.u8('extension element');
      const id = b >> 4;
      if (id === 0) continue; // padding
      if (id === 15) break; // RFC 8285 §4.2: stop
      out.push({ id, data: r.bytes((b & 0x0f) + 1, 'extension data') });
    }
  } else if (isTwoByteProfile(profile)) {
    while (r.remaining > 0) {
      const id = r.u8('extension id');
      if (id === 0) continue;
      const len = r.u8('extension length');
      out.push({ id, data: r.bytes(len, 'extension data') });
    }
  }
  return out;
}

/** Write the elements (no 4-byte block header) at `offset`; returns the padded length written. */
export function writeHeaderExtensions(
  profile: number,
  exts: readonly RtpHeaderExtension[],
  out: Uint8Array,
  offset: number,
): number {
  let at = offset;
  const one = isOneByteProfile(profile);
  for (const e of exts) {
    if (one) {
      if (e.id < 1 || e.id > 14 || e.data.length < 1 || e.data.length > 16) {
        throw new RangeError(`extension id ${e.id} / ${e.data.length} bytes do not fit the one-byte form`);
      }
      out[at++] = (e.id << 4) | (e.data.length - 1);
    } else {
      if (e.id < 1 || e.id > 255 || e.data.length > 255) {
        throw new RangeError(`extension id ${e.id} / ${e.data.length} bytes do not fit the two-byte form`);
      }
      out[at++] = e.id;
      out[at++] = e.data.length;
    }
    // Elements are a few bytes: a loop is cheaper than TypedArray.prototype.set's call.
    const d = e.data;
    for (let j = 0; j < d.length; j++) out[at + j] = d[j]!;
    at += d.length;
  }
  while ((at - offset) & 3) out[at++] = 0;
  return at - offset;
}
