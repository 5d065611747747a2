/** Opus (RFC 7587): one Opus packet per RTP payload, no header. Every packet starts a "frame". */
import { ParseError } from '../../core/errors.js';
import type { Depacketized, Depacketizer, Packetizer } from './types.js';

export class OpusPacketizer implements Packetizer {
  packetize(frame: Uint8Array, maxPayload: number): Uint8Array[] {
    if (frame.length > maxPayload) throw new RangeError(`Opus packet of ${frame.length} > ${maxPayload}`);
    return [frame];
  }
}

export class OpusDepacketizer implements Depacketizer {
  depacketize(payload: Uint8Array): Depacketized {
    // RFC 7587 §4.2: a payload is one Opus packet; a zero-length one is not valid (RFC 6716 §3.1).
    if (payload.length === 0) throw new ParseError('opus', 'packet', 0, 'empty payload');
    return { data: payload, frameStart: true, keyframe: true };
  }
  reset(): void {}
}
