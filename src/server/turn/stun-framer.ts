/**
 * Framing of STUN over stream transports (RFC 8489 §6.2.2: STUN messages are self-delimiting by
 * their length field) and of TURN ChannelData (RFC 8656 §12.5: 4-byte header, padded to 4 bytes
 * over streams). Handles partial and coalesced reads; a stream that exceeds the buffer cap or whose
 * next bytes are neither STUN nor ChannelData is an error (the caller closes the connection).
 */
import { HEADER_SIZE } from '../../stun/constants.js';

/** Largest frame accepted: a STUN message or ChannelData payload is at most 65535 + header. */
export const MAX_FRAME = HEADER_SIZE + 0xffff;

export type FrameKind = 'stun' | 'channel-data';

export class StreamFramer {
  #buf: Uint8Array = new Uint8Array(0);
  #len = 0;
  readonly #cap: number;
  #failed = false;

  /** @param maxBuffered cap on bytes held while waiting for the rest of a frame. */
  constructor(maxBuffered = MAX_FRAME + 4) {
    this.#cap = maxBuffered;
  }

  get buffered(): number {
    return this.#len;
  }

  /**
   * Append bytes and return the complete frames (copies, safe to keep). Returns an error string
   * instead when the stream is broken; after that the framer stays failed.
   */
  push(chunk: Uint8Array): { frames: { kind: FrameKind; bytes: Uint8Array }[]; error?: string } {
    const frames: { kind: FrameKind; bytes: Uint8Array }[] = [];
    if (this.#failed) return { frames, error: 'stream already failed' };
    if (this.#len + chunk.length > this.#buf.length) {
      const grown = new Uint8Array(Math.max(this.#len + chunk.length, this.#buf.length * 2, 512));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(chunk, this.#len);
    this.#len += chunk.length;
    let at = 0;
    let error: string | undefined;
    while (this.#len - at >= 4) {
      const b0 = this.#buf[at]!;
      const len = (this.#buf[at + 2]! << 8) | this.#buf[at + 3]!;
      let size: number;
      let kind: FrameKind;
      if ((b0 & 0xc0) === 0) {
        kind = 'stun';
        size = HEADER_SIZE + len;
        if (len & 3) {
          error = 'STUN length not a multiple of 4';
          break;
        }
      } else if ((b0 & 0xc0) === 0x40) {
        kind = 'channel-data';
        size = 4 + ((len + 3) & ~3);
      } else {
        error = `unexpected first byte 0x${b0.toString(16)}`;
        break;
      }
      if (size > this.#cap) {
        error = `frame of ${size} bytes exceeds the cap`;
        break;
      }
      if (this.#len - at < size) break;
      frames.push({ kind, bytes: this.#buf.slice(at, at + (kind === 'stun' ? size : 4 + len)) });
      at += size;
    }
    if (error) {
      this.#failed = true;
      this.#len = 0;
      return { frames, error };
    }
    if (at > 0) {
      this.#buf.copyWithin(0, at, this.#len);
      this.#len -= at;
    }
    if (this.#len > this.#cap) {
      this.#failed = true;
      this.#len = 0;
      return { frames, error: 'buffer cap exceeded' };
    }
    return { frames };
  }
}
