import { ParseError } from './errors.js';

/**
 * Bounds-checked big-endian reader over a byte view. Every read names the field it reads, so a
 * short or malformed packet fails with a `ParseError` that says what and where, never a RangeError.
 * `bytes()` returns views (subarray), not copies.
 */
export class ByteReader {
  readonly buf: Uint8Array;
  readonly layer: string;
  #pos: number;
  readonly end: number;
  /** For 64-bit reads only, made on first use (a DataView per reader cost more than a small parse). */
  #view: DataView | undefined;

  constructor(buf: Uint8Array, layer: string, start = 0, end = buf.length) {
    if (start < 0 || end > buf.length || start > end) {
      throw new ParseError(layer, 'range', start, `invalid window ${start}..${end} of ${buf.length}`);
    }
    this.buf = buf;
    this.layer = layer;
    this.#pos = start;
    this.end = end;
  }

  get offset(): number {
    return this.#pos;
  }
  get remaining(): number {
    return this.end - this.#pos;
  }

  #need(n: number, field: string): number {
    const at = this.#pos;
    if (n < 0 || at + n > this.end) {
      throw new ParseError(this.layer, field, at, `need ${n} byte(s), have ${this.end - at}`);
    }
    this.#pos = at + n;
    return at;
  }

  fail(field: string, detail: string, code?: string): never {
    throw new ParseError(this.layer, field, this.#pos, detail, code);
  }

  u8(field: string): number {
    return this.buf[this.#need(1, field)]!;
  }
  u16(field: string): number {
    const at = this.#need(2, field);
    return (this.buf[at]! << 8) | this.buf[at + 1]!;
  }
  u24(field: string): number {
    const at = this.#need(3, field);
    return (this.buf[at]! << 16) | (this.buf[at + 1]! << 8) | this.buf[at + 2]!;
  }
  u32(field: string): number {
    const at = this.#need(4, field);
    const b = this.buf;
    return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
  }
  u48(field: string): number {
    const at = this.#need(6, field);
    const b = this.buf;
    const hi = (b[at]! << 8) | b[at + 1]!;
    return hi * 2 ** 32 + (((b[at + 2]! << 24) | (b[at + 3]! << 16) | (b[at + 4]! << 8) | b[at + 5]!) >>> 0);
  }
  u64(field: string): bigint {
    const buf = this.buf;
    this.#view ??= new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    return this.#view.getBigUint64(this.#need(8, field));
  }
  /** A view of the next n bytes. */
  bytes(n: number, field: string): Uint8Array {
    const at = this.#need(n, field);
    return this.buf.subarray(at, at + n);
  }
  /** The rest of the window as a view. */
  rest(): Uint8Array {
    const at = this.#pos;
    this.#pos = this.end;
    return this.buf.subarray(at, this.end);
  }
  skip(n: number, field: string): void {
    this.#need(n, field);
  }
  /** A reader over the next n bytes; this reader moves past them. */
  sub(n: number, field: string): ByteReader {
    const at = this.#need(n, field);
    return new ByteReader(this.buf, this.layer, at, at + n);
  }
  peekU8(field: string): number {
    if (this.#pos >= this.end) this.fail(field, 'need 1 byte(s), have 0');
    return this.buf[this.#pos]!;
  }
}

/** Growable big-endian writer. `finish()` returns a view of what was written. */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;

  constructor(capacity = 256) {
    this.#buf = new Uint8Array(capacity);
    this.#view = new DataView(this.#buf.buffer);
  }

  get length(): number {
    return this.#pos;
  }

  #ensure(n: number): number {
    const at = this.#pos;
    if (at + n > this.#buf.length) {
      let cap = this.#buf.length * 2;
      while (cap < at + n) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.#buf.subarray(0, at));
      this.#buf = next;
      this.#view = new DataView(next.buffer);
    }
    this.#pos = at + n;
    return at;
  }

  u8(v: number): this {
    const at = this.#ensure(1);
    this.#buf[at] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    const at = this.#ensure(2);
    this.#view.setUint16(at, v & 0xffff);
    return this;
  }
  u24(v: number): this {
    const at = this.#ensure(3);
    this.#buf[at] = (v >>> 16) & 0xff;
    this.#buf[at + 1] = (v >>> 8) & 0xff;
    this.#buf[at + 2] = v & 0xff;
    return this;
  }
  u32(v: number): this {
    const at = this.#ensure(4);
    this.#view.setUint32(at, v >>> 0);
    return this;
  }
  u48(v: number): this {
    const at = this.#ensure(6);
    this.#view.setUint16(at, Math.floor(v / 2 ** 32) & 0xffff);
    this.#view.setUint32(at + 2, v >>> 0);
    return this;
  }
  u64(v: bigint): this {
    const at = this.#ensure(8);
    this.#view.setBigUint64(at, v);
    return this;
  }
  bytes(b: Uint8Array): this {
    const at = this.#ensure(b.length);
    this.#buf.set(b, at);
    return this;
  }
  zeros(n: number): this {
    const at = this.#ensure(n);
    this.#buf.fill(0, at, this.#pos);
    return this;
  }
  /** Write `v` as a u16 at an earlier position (length fields filled in afterwards). */
  patchU16(at: number, v: number): this {
    this.#view.setUint16(at, v & 0xffff);
    return this;
  }
  patchU24(at: number, v: number): this {
    this.#buf[at] = (v >>> 16) & 0xff;
    this.#buf[at + 1] = (v >>> 8) & 0xff;
    this.#buf[at + 2] = v & 0xff;
    return this;
  }
  patchU32(at: number, v: number): this {
    this.#view.setUint32(at, v >>> 0);
    return this;
  }
  finish(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function toHex(b: Uint8Array, sep = ''): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(sep);
}

export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean))
    throw new TypeError(`invalid hex: ${hex.slice(0, 40)}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}
