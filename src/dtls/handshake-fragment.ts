import { ByteReader } from '../core/bytes.js';
import { HANDSHAKE_HEADER_LENGTH } from './constants.js';

/**
 * One handshake message fragment (RFC 6347 §4.2.2):
 *
 * ```
 * struct {
 *   HandshakeType msg_type;      // 1 byte
 *   uint24 length;               // whole message body
 *   uint16 message_seq;
 *   uint24 fragment_offset;
 *   uint24 fragment_length;
 *   opaque body[fragment_length];
 * } Handshake;
 * ```
 */
export interface HandshakeFragment {
  readonly msgType: number;
  readonly length: number;
  readonly messageSeq: number;
  readonly fragmentOffset: number;
  /** The fragment's bytes (a view); its length is fragment_length. */
  readonly body: Uint8Array;
}

/** Largest handshake message we accept (certificate chains fit comfortably). */
export const MAX_HANDSHAKE_MESSAGE = 64 * 1024;

/** Parse all handshake fragments in one record's plaintext. */
export function parseHandshakeFragments(fragment: Uint8Array): HandshakeFragment[] {
  const r = new ByteReader(fragment, 'dtls');
  const out: HandshakeFragment[] = [];
  while (r.remaining > 0) {
    const msgType = r.u8('handshake.msg_type');
    const length = r.u24('handshake.length');
    const messageSeq = r.u16('handshake.message_seq');
    const fragmentOffset = r.u24('handshake.fragment_offset');
    const fragmentLength = r.u24('handshake.fragment_length');
    if (length > MAX_HANDSHAKE_MESSAGE) r.fail('handshake.length', `message of ${length} bytes`);
    if (fragmentOffset + fragmentLength > length) {
      r.fail('handshake.fragment_length', 'fragment extends past the message');
    }
    const body = r.bytes(fragmentLength, 'handshake.body');
    out.push({ msgType, length, messageSeq, fragmentOffset, body });
  }
  return out;
}

export function writeHandshakeHeader(
  out: Uint8Array,
  at: number,
  msgType: number,
  length: number,
  messageSeq: number,
  fragmentOffset: number,
  fragmentLength: number,
): void {
  out[at] = msgType;
  out[at + 1] = length >>> 16;
  out[at + 2] = (length >>> 8) & 0xff;
  out[at + 3] = length & 0xff;
  out[at + 4] = messageSeq >>> 8;
  out[at + 5] = messageSeq & 0xff;
  out[at + 6] = fragmentOffset >>> 16;
  out[at + 7] = (fragmentOffset >>> 8) & 0xff;
  out[at + 8] = fragmentOffset & 0xff;
  out[at + 9] = fragmentLength >>> 16;
  out[at + 10] = (fragmentLength >>> 8) & 0xff;
  out[at + 11] = fragmentLength & 0xff;
}

export function serializeHandshakeFragment(f: HandshakeFragment): Uint8Array {
  const out = new Uint8Array(HANDSHAKE_HEADER_LENGTH + f.body.length);
  writeHandshakeHeader(out, 0, f.msgType, f.length, f.messageSeq, f.fragmentOffset, f.body.length);
  out.set(f.body, HANDSHAKE_HEADER_LENGTH);
  return out;
}

/**
 * The whole message in the form the transcript hashes it: a single fragment with offset 0 and
 * fragment_length = length (RFC 6347 §4.2.6).
 */
export function fullMessage(msgType: number, messageSeq: number, body: Uint8Array): Uint8Array {
  return serializeHandshakeFragment({ msgType, length: body.length, messageSeq, fragmentOffset: 0, body });
}

/** Split a message body into fragments whose bodies hold at most `maxBody` bytes. */
export function fragmentMessage(
  msgType: number,
  messageSeq: number,
  body: Uint8Array,
  maxBody: number,
): HandshakeFragment[] {
  const step = Math.max(1, maxBody);
  const out: HandshakeFragment[] = [];
  let off = 0;
  do {
    const n = Math.min(step, body.length - off);
    out.push({
      msgType,
      length: body.length,
      messageSeq,
      fragmentOffset: off,
      body: body.subarray(off, off + n),
    });
    off += n;
  } while (off < body.length);
  return out;
}
