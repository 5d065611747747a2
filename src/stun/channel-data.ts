/**
 * TURN ChannelData messages (RFC 8656 §12.4): the 4-byte framing that carries application data
 * between a TURN client and its server once a channel is bound, instead of a 36+ byte Send/Data
 * indication. Shared by the TURN client (src/turn/) and the TURN server (src/server/turn/).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |         Channel Number        |            Length             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                                                               |
 *    /                       Application Data                        /
 *    /                                                               /
 *    |                                                               |
 *    |                               +-------------------------------+
 *    |                               |
 *    +-------------------------------+
 *
 * Over UDP the datagram may carry trailing padding; over TCP/TLS the message is padded to a multiple
 * of 4 bytes (RFC 8656 §12.5) and the padding is not counted in Length.
 */
import { ByteReader } from '../core/bytes.js';
import { ParseError } from '../core/errors.js';

/** RFC 8656 §12: lowest channel number a client may bind. */
export const CHANNEL_NUMBER_MIN = 0x4000;
/** RFC 8656 §12: highest channel number a client may bind. */
export const CHANNEL_NUMBER_MAX = 0x4fff;
/**
 * RFC 5766 §11 (obsoleted by RFC 8656): the old upper bound. Clients built on it (coturn's
 * turnutils_uclient among them) still draw channel numbers up to 0x7FFF, so a server may accept them.
 */
export const CHANNEL_NUMBER_MAX_RFC5766 = 0x7fff;
/** RFC 8656 §12.4: ChannelData header size. */
export const CHANNEL_DATA_HEADER_SIZE = 4;

export interface ChannelData {
  readonly channel: number;
  /** The application data (a view into the parsed bytes). */
  readonly data: Uint8Array;
}

/** True when `channel` is in the range a ChannelBind may use (0x4000-0x4FFF). */
export function isValidChannelNumber(channel: number): boolean {
  return Number.isInteger(channel) && channel >= CHANNEL_NUMBER_MIN && channel <= CHANNEL_NUMBER_MAX;
}

/**
 * True when the first byte says ChannelData (RFC 7983: 64..79, i.e. top bits 01 and a channel
 * number in 0x4000-0x4FFF).
 */
export function isChannelDataByte(firstByte: number): boolean {
  return firstByte >= 0x40 && firstByte <= 0x4f;
}

/** Length of `n` rounded up to a multiple of 4 (TCP framing, RFC 8656 §12.5). */
export function padTo4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * Parse one ChannelData message. The data is a view. Trailing bytes past Length (UDP padding) are
 * allowed and ignored; a Length larger than what is there is a ParseError.
 */
export function parseChannelData(bytes: Uint8Array): ChannelData {
  const r = new ByteReader(bytes, 'turn');
  const channel = r.u16('channel number');
  if (!isValidChannelNumber(channel)) {
    throw new ParseError('turn', 'channel number', 0, `0x${channel.toString(16)} outside 0x4000-0x4FFF`);
  }
  const length = r.u16('length');
  const data = r.bytes(length, 'application data');
  return { channel, data };
}

/**
 * Serialize a ChannelData message. With `pad` (TCP/TLS) the result is padded with zero bytes to a
 * multiple of 4.
 */
export function serializeChannelData(msg: ChannelData, options: { pad?: boolean } = {}): Uint8Array {
  const len = msg.data.length;
  const total = CHANNEL_DATA_HEADER_SIZE + (options.pad ? padTo4(len) : len);
  const out = new Uint8Array(total);
  serializeChannelDataInto(out, 0, msg.channel, msg.data);
  return out;
}

/**
 * Write the header and data at `offset` of `out` (which must have room for 4 + data.length bytes,
 * plus padding the caller accounts for: padding bytes are left as they are). Returns the offset
 * after the data. For hot paths that reuse a buffer.
 */
export function serializeChannelDataInto(
  out: Uint8Array,
  offset: number,
  channel: number,
  data: Uint8Array,
): number {
  writeChannelDataHeader(out, offset, channel, data.length);
  out.set(data, offset + CHANNEL_DATA_HEADER_SIZE);
  return offset + CHANNEL_DATA_HEADER_SIZE + data.length;
}

/** Write only the 4-byte header (channel number, length) at `offset`. */
export function writeChannelDataHeader(
  out: Uint8Array,
  offset: number,
  channel: number,
  length: number,
): void {
  out[offset] = (channel >>> 8) & 0xff;
  out[offset + 1] = channel & 0xff;
  out[offset + 2] = (length >>> 8) & 0xff;
  out[offset + 3] = length & 0xff;
}

/**
 * For stream transports (TCP/TLS), where STUN messages and ChannelData share one byte stream:
 * given the bytes at `offset` (at least 4 available), how long is the frame that starts there, or
 * -1 if the first byte is neither STUN nor ChannelData (the stream is garbage and must be closed).
 * STUN: 20-byte header plus the Length field. ChannelData: 4 + Length rounded up to 4 when
 * `paddedChannelData` (RFC 8656 §12.5 requires padding over TCP). `legacyChannelRange` accepts the
 * RFC 5766 channel numbers 0x4000-0x7FFF.
 */
export function streamFrameLength(
  bytes: Uint8Array,
  offset: number,
  paddedChannelData: boolean,
  legacyChannelRange = false,
): number {
  const b0 = bytes[offset]!;
  const len = (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
  if (b0 < 0x40) {
    // STUN: top two bits 00; Length is always a multiple of 4.
    if ((len & 3) !== 0) return -1;
    return 20 + len;
  }
  if (b0 <= (legacyChannelRange ? 0x7f : 0x4f)) {
    return CHANNEL_DATA_HEADER_SIZE + (paddedChannelData ? padTo4(len) : len);
  }
  return -1;
}
