/**
 * SDES (RFC 3550 §6.5), BYE (§6.6) and APP (§6.7).
 */

import type { ByteReader, ByteWriter } from '../core/bytes.js';
import type { RtcpPadding } from './header.js';

/** RFC 3550 §6.5 item types. */
export const SDES_END = 0;
export const SDES_CNAME = 1;
export const SDES_NAME = 2;
export const SDES_EMAIL = 3;
export const SDES_PHONE = 4;
export const SDES_LOC = 5;
export const SDES_TOOL = 6;
export const SDES_NOTE = 7;
export const SDES_PRIV = 8;

export interface SdesItem {
  readonly type: number;
  readonly value: string;
}
export interface SdesChunk {
  readonly ssrc: number;
  readonly items: readonly SdesItem[];
}
export interface SourceDescription extends RtcpPadding {
  readonly type: 'sdes';
  readonly chunks: readonly SdesChunk[];
}
export interface Goodbye extends RtcpPadding {
  readonly type: 'bye';
  readonly ssrcs: readonly number[];
  readonly reason?: string;
}
export interface ApplicationDefined extends RtcpPadding {
  readonly type: 'app';
  readonly subtype: number;
  readonly ssrc: number;
  /** Four ASCII characters. */
  readonly name: string;
  readonly data: Uint8Array;
}

const text = new TextDecoder();
const enc = new TextEncoder();

export function parseSdes(r: ByteReader, count: number): SourceDescription {
  const chunks: SdesChunk[] = [];
  for (let c = 0; c < count; c++) {
    const start = r.offset;
    const ssrc = r.u32('sdes ssrc');
    const items: SdesItem[] = [];
    for (;;) {
      const type = r.u8('sdes item type');
      if (type === SDES_END) break;
      const len = r.u8('sdes item length');
      items.push({ type, value: text.decode(r.bytes(len, 'sdes item')) });
    }
    // Null octets up to the next 32-bit boundary.
    const pad = (4 - ((r.offset - start) & 3)) & 3;
    r.skip(Math.min(pad, r.remaining), 'sdes padding');
    chunks.push({ ssrc, items });
  }
  return { type: 'sdes', chunks };
}

export function writeSdes(w: ByteWriter, p: SourceDescription): void {
  for (const c of p.chunks) {
    const start = w.length;
    w.u32(c.ssrc);
    for (const it of c.items) {
      const v = enc.encode(it.value);
      if (v.length > 255) throw new RangeError('SDES item longer than 255 bytes');
      w.u8(it.type).u8(v.length).bytes(v);
    }
    w.u8(SDES_END);
    while ((w.length - start) & 3) w.u8(0);
  }
}

export function parseBye(r: ByteReader, count: number): Goodbye {
  const ssrcs = Array.from({ length: count }, () => r.u32('bye ssrc'));
  if (r.remaining > 0) {
    const len = r.u8('bye reason length');
    return { type: 'bye', ssrcs, reason: text.decode(r.bytes(len, 'bye reason')) };
  }
  return { type: 'bye', ssrcs };
}

export function writeBye(w: ByteWriter, p: Goodbye): void {
  for (const s of p.ssrcs) w.u32(s);
  if (p.reason !== undefined) {
    const v = enc.encode(p.reason);
    if (v.length > 255) throw new RangeError('BYE reason longer than 255 bytes');
    w.u8(v.length).bytes(v);
  }
}

export function parseApp(r: ByteReader, subtype: number): ApplicationDefined {
  const ssrc = r.u32('app ssrc');
  const name = String.fromCharCode(...r.bytes(4, 'app name'));
  return { type: 'app', subtype, ssrc, name, data: r.rest() };
}

export function writeApp(w: ByteWriter, p: ApplicationDefined): void {
  if (p.name.length !== 4) throw new RangeError('APP name must be 4 characters');
  if (p.data.length % 4 !== 0) throw new RangeError('APP data must be a multiple of 4 bytes');
  w.u32(p.ssrc);
  for (let i = 0; i < 4; i++) w.u8(p.name.charCodeAt(i));
  w.bytes(p.data);
}
