/**
 * EBML (RFC 8794) element encoding for the Matroska/WebM writer: variable-size integers for IDs
 * and sizes, and the element types WebM needs (unsigned, float, string, binary, master).
 */
import { concatBytes } from '../../core/bytes.js';

/** RFC 8794 §6: the "unknown size" marker for an 8-byte size field. */
export const EBML_UNKNOWN_SIZE = Uint8Array.of(0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

/** An element ID as written (IDs already carry their length marker). */
function idBytes(id: number): Uint8Array {
  if (id <= 0xff) return Uint8Array.of(id);
  if (id <= 0xffff) return Uint8Array.of(id >> 8, id & 0xff);
  if (id <= 0xffffff) return Uint8Array.of(id >> 16, (id >> 8) & 0xff, id & 0xff);
  return Uint8Array.of(id >>> 24, (id >> 16) & 0xff, (id >> 8) & 0xff, id & 0xff);
}

/** RFC 8794 §4: the shortest VINT for `n` (all-ones values are reserved, so n < 2^(7w) - 1). */
export function vint(n: number): Uint8Array {
  for (let w = 1; w <= 8; w++) {
    if (n < 2 ** (7 * w) - 1) {
      const out = new Uint8Array(w);
      let v = n;
      for (let i = w - 1; i >= 0; i--) {
        out[i] = v % 256;
        v = Math.floor(v / 256);
      }
      out[0]! |= 0x80 >> (w - 1);
      return out;
    }
  }
  throw new RangeError(`EBML size ${n} too large`);
}

export function element(id: number, body: Uint8Array): Uint8Array {
  return concatBytes([idBytes(id), vint(body.length), body]);
}
export function master(id: number, children: readonly Uint8Array[]): Uint8Array {
  return element(id, concatBytes(children));
}
/** A master element whose size is left unknown (streamed Segment). */
export function masterStart(id: number): Uint8Array {
  return concatBytes([idBytes(id), EBML_UNKNOWN_SIZE]);
}
export function uint(id: number, v: number): Uint8Array {
  const bytes: number[] = [];
  let x = v;
  do {
    bytes.unshift(x % 256);
    x = Math.floor(x / 256);
  } while (x > 0);
  return element(id, Uint8Array.from(bytes));
}
export function float(id: number, v: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v);
  return element(id, b);
}
export function str(id: number, v: string): Uint8Array {
  return element(id, new TextEncoder().encode(v));
}
export const binary = element;
