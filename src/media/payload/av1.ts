/**
 * AV1 RTP payload format (AOMedia "RTP Payload Format for AV1", §4.4 aggregation header).
 *
 *   0 1 2 3 4 5 6 7
 *  +-+-+-+-+-+-+-+-+
 *  |Z|Y| W |N|-|-|-|   Z: first element continues an OBU from the previous packet
 *  +-+-+-+-+-+-+-+-+   Y: last element continues in the next packet
 *                      W: element count (0: every element carries a LEB128 length)
 *                      N: first packet of a coded video sequence
 *
 * OBUs travel without obu_has_size_field; frames (as in IVF/WebM) are OBUs with size fields.
 * Temporal delimiters and tile lists are not sent (§5).
 */
import { ByteReader, concatBytes } from '../../core/bytes.js';
import type { Depacketized, Depacketizer, Packetizer } from './types.js';

/** AV1 spec §6.2.2 obu_type values. */
export const OBU_SEQUENCE_HEADER = 1;
export const OBU_TEMPORAL_DELIMITER = 2;
export const OBU_TILE_LIST = 8;

export function readLeb128(r: ByteReader, field: string): number {
  let v = 0;
  for (let i = 0; i < 8; i++) {
    const b = r.u8(field);
    v += (b & 0x7f) * 2 ** (7 * i);
    if (!(b & 0x80)) {
      if (v > 0xffffffff) r.fail(field, 'leb128 value above 2^32-1');
      return v;
    }
  }
  return r.fail(field, 'leb128 longer than 8 bytes');
}

export const leb128Size = (v: number): number => {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
};

export function writeLeb128(v: number, out: Uint8Array, at: number): number {
  do {
    let b = v & 0x7f;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out[at++] = b;
  } while (v > 0);
  return at;
}

export interface Obu {
  readonly type: number;
  /** Header (and extension byte) without the size flag. */
  readonly header: Uint8Array;
  readonly payload: Uint8Array;
}

/** OBUs of a temporal unit in low-overhead format (size fields optional on the last). */
export function parseObus(data: Uint8Array): Obu[] {
  const r = new ByteReader(data, 'av1');
  const out: Obu[] = [];
  while (r.remaining > 0) {
    const h = r.u8('obu header');
    if (h & 0x80) r.fail('obu header', 'forbidden bit set');
    const ext = h & 0x04 ? r.u8('obu extension') : undefined;
    const size = h & 0x02 ? readLeb128(r, 'obu size') : r.remaining;
    const payload = r.bytes(size, 'obu payload');
    const header = ext === undefined ? Uint8Array.of(h & ~0x02) : Uint8Array.of(h & ~0x02, ext);
    out.push({ type: (h >> 3) & 0x0f, header, payload });
  }
  return out;
}

/** The OBU with obu_has_size_field set, as IVF and WebM store it. */
export function sizedObu(element: Uint8Array): Uint8Array {
  const r = new ByteReader(element, 'av1');
  const h = r.u8('obu header');
  const ext = h & 0x04 ? r.u8('obu extension') : undefined;
  const headerLen = ext === undefined ? 1 : 2;
  // An element sent with a size field anyway: keep its own size.
  const payload = h & 0x02 ? r.bytes(readLeb128(r, 'obu size'), 'obu payload') : r.rest();
  const out = new Uint8Array(headerLen + leb128Size(payload.length) + payload.length);
  out[0] = h | 0x02;
  if (ext !== undefined) out[1] = ext;
  const at = writeLeb128(payload.length, out, headerLen);
  out.set(payload, at);
  return out;
}

export const isAv1Keyframe = (frame: Uint8Array): boolean => {
  try {
    return parseObus(frame).some((o) => o.type === OBU_SEQUENCE_HEADER);
  } catch {
    return false;
  }
};

export class Av1Packetizer implements Packetizer {
  packetize(frame: Uint8Array, maxPayload: number, keyframe?: boolean): Uint8Array[] {
    const obus = parseObus(frame).filter(
      (o) => o.type !== OBU_TEMPORAL_DELIMITER && o.type !== OBU_TILE_LIST,
    );
    const newSequence = keyframe ?? obus.some((o) => o.type === OBU_SEQUENCE_HEADER);
    if (maxPayload < 4) throw new RangeError('payload size too small');
    const packets: Uint8Array[] = [];
    let cur: Uint8Array[] = [];
    let used = 1;
    let z = false;
    const close = (y: boolean): void => {
      const p = new Uint8Array(used);
      p[0] = (z ? 0x80 : 0) | (y ? 0x40 : 0) | (newSequence && packets.length === 0 ? 0x08 : 0);
      let at = 1;
      for (const e of cur) {
        at = writeLeb128(e.length, p, at);
        p.set(e, at);
        at += e.length;
      }
      packets.push(p);
      cur = [];
      used = 1;
      z = y;
    };
    for (const o of obus) {
      let element = concat2(o.header, o.payload);
      for (;;) {
        const room = maxPayload - used;
        if (leb128Size(element.length) + element.length <= room) {
          cur.push(element);
          used += leb128Size(element.length) + element.length;
          break;
        }
        const n = room - leb128Size(room);
        if (n < 1) {
          close(false);
          continue;
        }
        cur.push(element.subarray(0, n));
        used += leb128Size(n) + n;
        element = element.subarray(n);
        close(true);
      }
    }
    if (cur.length > 0 || packets.length === 0) close(false);
    return packets;
  }
}

export class Av1Depacketizer implements Depacketizer {
  #fragment: Uint8Array[] | undefined;

  depacketize(payload: Uint8Array): Depacketized {
    const r = new ByteReader(payload, 'av1');
    const agg = r.u8('aggregation header');
    const z = (agg & 0x80) !== 0;
    const y = (agg & 0x40) !== 0;
    const w = (agg >> 4) & 0x03;
    const n = (agg & 0x08) !== 0;
    const elements: Uint8Array[] = [];
    while (r.remaining > 0) {
      const last = w !== 0 && elements.length === w - 1;
      const len = last ? r.remaining : readLeb128(r, 'element length');
      elements.push(r.bytes(len, 'obu element'));
      if (last && r.remaining > 0) r.fail('obu element', 'data after the last counted element');
    }
    if (w !== 0 && elements.length !== w)
      r.fail('aggregation header', `W=${w} but ${elements.length} elements`);
    const out: Uint8Array[] = [];
    elements.forEach((e, i) => {
      let whole: Uint8Array | undefined = e;
      if (i === 0 && z) {
        whole = this.#fragment ? concatAll([...this.#fragment, e]) : undefined;
        this.#fragment = undefined;
      }
      if (i === elements.length - 1 && y) {
        this.#fragment = whole ? [whole] : undefined;
        return;
      }
      if (!whole || whole.length === 0) return;
      const type = (whole[0]! >> 3) & 0x0f;
      if (type === OBU_TEMPORAL_DELIMITER || type === OBU_TILE_LIST) return;
      out.push(sizedObu(whole));
    });
    if (!z && !y) this.#fragment = undefined;
    return { data: concatAll(out), frameStart: !z, keyframe: n };
  }
  reset(): void {
    this.#fragment = undefined;
  }
}

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** One part is returned as it is (no copy). */
function concatAll(parts: readonly Uint8Array[]): Uint8Array {
  return parts.length === 1 ? parts[0]! : concatBytes(parts);
}
