/**
 * Data Channel Establishment Protocol (RFC 8832) messages and the WebRTC PPIDs (RFC 8831 §8).
 *
 * DATA_CHANNEL_OPEN (§5.1):
 *   | Message Type=0x03 | Channel Type |            Priority             |
 *   |                    Reliability Parameter                          |
 *   |         Label Length            |        Protocol Length          |
 *   \                             Label                                 \
 *   \                            Protocol                               \
 * DATA_CHANNEL_ACK (§5.2): | Message Type=0x02 |
 */
import { ByteReader, ByteWriter } from '../core/bytes.js';

/** PPIDs, RFC 8831 §8 and RFC 8832 §8.1. */
export const PPID_DCEP = 50;
export const PPID_STRING = 51;
/** Deprecated partial string (RFC 8831 §6.6): treated as a string. */
export const PPID_STRING_PARTIAL = 52;
export const PPID_BINARY = 53;
/** Deprecated partial binary: treated as binary. */
export const PPID_BINARY_PARTIAL = 54;
export const PPID_STRING_EMPTY = 56;
export const PPID_BINARY_EMPTY = 57;

/** Message types, RFC 8832 §8.2.1. */
export const DCEP_OPEN = 0x03;
export const DCEP_ACK = 0x02;

/** Channel types, RFC 8832 §5.1. */
export const CHANNEL_RELIABLE = 0x00;
export const CHANNEL_RELIABLE_UNORDERED = 0x80;
export const CHANNEL_PARTIAL_RELIABLE_REXMIT = 0x01;
export const CHANNEL_PARTIAL_RELIABLE_REXMIT_UNORDERED = 0x81;
export const CHANNEL_PARTIAL_RELIABLE_TIMED = 0x02;
export const CHANNEL_PARTIAL_RELIABLE_TIMED_UNORDERED = 0x82;

export interface DcepOpen {
  readonly type: 'open';
  readonly ordered: boolean;
  /** Partial reliability: 'rexmit' (maxRetransmits) or 'timed' (maxPacketLifeTime). */
  readonly reliability: 'reliable' | 'rexmit' | 'timed';
  readonly reliabilityParameter: number;
  readonly priority: number;
  readonly label: string;
  readonly protocol: string;
}
export interface DcepAck {
  readonly type: 'ack';
}
export type DcepMessage = DcepOpen | DcepAck;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: false });

export function parseDcep(b: Uint8Array): DcepMessage {
  const r = new ByteReader(b, 'dcep');
  const type = r.u8('messageType');
  if (type === DCEP_ACK) return { type: 'ack' };
  if (type !== DCEP_OPEN) r.fail('messageType', `unknown DCEP message ${type}`);
  const channelType = r.u8('channelType');
  const priority = r.u16('priority');
  const reliabilityParameter = r.u32('reliabilityParameter');
  const labelLength = r.u16('labelLength');
  const protocolLength = r.u16('protocolLength');
  const label = fromUtf8.decode(r.bytes(labelLength, 'label'));
  const protocol = fromUtf8.decode(r.bytes(protocolLength, 'protocol'));
  const kind = channelType & 0x7f;
  if (kind > 2) r.fail('channelType', `unknown channel type 0x${channelType.toString(16)}`);
  return {
    type: 'open',
    ordered: (channelType & 0x80) === 0,
    reliability: kind === 0 ? 'reliable' : kind === 1 ? 'rexmit' : 'timed',
    reliabilityParameter,
    priority,
    label,
    protocol,
  };
}

export function serializeDcep(m: DcepMessage): Uint8Array {
  if (m.type === 'ack') return Uint8Array.of(DCEP_ACK);
  const label = utf8.encode(m.label);
  const protocol = utf8.encode(m.protocol);
  const kind = m.reliability === 'reliable' ? 0 : m.reliability === 'rexmit' ? 1 : 2;
  const w = new ByteWriter(12 + label.length + protocol.length);
  w.u8(DCEP_OPEN)
    .u8(kind | (m.ordered ? 0 : 0x80))
    .u16(m.priority)
    .u32(m.reliabilityParameter)
    .u16(label.length)
    .u16(protocol.length)
    .bytes(label)
    .bytes(protocol);
  return w.finish();
}
