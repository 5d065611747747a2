/**
 * IVF (the libvpx test container): a 32-byte file header, then frames with a 12-byte header.
 *
 *   DKIF | version u16 | header size u16 | fourcc | width u16 | height u16 | rate u32 | scale u32 |
 *   frame count u32 | unused u32          (all little-endian)
 *   frame: size u32 | timestamp u64 | data
 */
import { ByteReader } from '../../core/bytes.js';

export type IvfFourcc = 'VP80' | 'VP90' | 'AV01';

export interface IvfHeader {
  readonly fourcc: string;
  readonly width: number;
  readonly height: number;
  /** Timestamps count in units of scale/rate seconds. */
  readonly timebaseRate: number;
  readonly timebaseScale: number;
  readonly frameCount: number;
}

export interface IvfFrame {
  /** In timebase units. */
  readonly timestamp: number;
  readonly data: Uint8Array;
}

const le16 = (b: Uint8Array): number => b[0]! | (b[1]! << 8);
const le32 = (b: Uint8Array): number => (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;

export function parseIvf(file: Uint8Array): { header: IvfHeader; frames: IvfFrame[] } {
  const r = new ByteReader(file, 'ivf');
  if (String.fromCharCode(...r.bytes(4, 'signature')) !== 'DKIF') r.fail('signature', 'not DKIF');
  r.skip(2, 'version');
  const headerSize = le16(r.bytes(2, 'header size'));
  if (headerSize < 32) r.fail('header size', `${headerSize} < 32`);
  const fourcc = String.fromCharCode(...r.bytes(4, 'fourcc'));
  const width = le16(r.bytes(2, 'width'));
  const height = le16(r.bytes(2, 'height'));
  const timebaseRate = le32(r.bytes(4, 'rate'));
  const timebaseScale = le32(r.bytes(4, 'scale'));
  const frameCount = le32(r.bytes(4, 'frame count'));
  r.skip(headerSize - 28, 'header rest');
  const frames: IvfFrame[] = [];
  while (r.remaining > 0) {
    const size = le32(r.bytes(4, 'frame size'));
    const lo = le32(r.bytes(4, 'timestamp'));
    const hi = le32(r.bytes(4, 'timestamp high'));
    frames.push({ timestamp: hi * 2 ** 32 + lo, data: r.bytes(size, 'frame data') });
  }
  if (timebaseRate === 0 || timebaseScale === 0) r.fail('timebase', 'zero rate or scale');
  return { header: { fourcc, width, height, timebaseRate, timebaseScale, frameCount }, frames };
}

export function serializeIvf(header: IvfHeader, frames: readonly IvfFrame[]): Uint8Array {
  const size = 32 + frames.reduce((s, f) => s + 12 + f.data.length, 0);
  const out = Buffer.alloc(size);
  out.write('DKIF', 0, 'latin1');
  out.writeUInt16LE(0, 4);
  out.writeUInt16LE(32, 6);
  out.write(header.fourcc.padEnd(4).slice(0, 4), 8, 'latin1');
  out.writeUInt16LE(header.width, 12);
  out.writeUInt16LE(header.height, 14);
  out.writeUInt32LE(header.timebaseRate, 16);
  out.writeUInt32LE(header.timebaseScale, 20);
  out.writeUInt32LE(frames.length, 24);
  let at = 32;
  for (const f of frames) {
    out.writeUInt32LE(f.data.length, at);
    out.writeUInt32LE(f.timestamp % 2 ** 32, at + 4);
    out.writeUInt32LE(Math.floor(f.timestamp / 2 ** 32), at + 8);
    out.set(f.data, at + 12);
    at += 12 + f.data.length;
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** The payload codec of an IVF fourcc. */
export function ivfCodec(fourcc: string): 'vp8' | 'vp9' | 'av1' | undefined {
  return fourcc === 'VP80' ? 'vp8' : fourcc === 'VP90' ? 'vp9' : fourcc === 'AV01' ? 'av1' : undefined;
}
