/**
 * Payload formats: how one encoded frame becomes RTP payloads and back. Packetizers are pure;
 * depacketizers are per-stream objects (AV1 and H264 fragments need the previous packet).
 */

/** What one RTP payload contributes to the frame being assembled. */
export interface Depacketized {
  /** Bytes to append to the frame (Annex-B for H264, OBUs with size fields for AV1). */
  readonly data: Uint8Array;
  /** The payload starts a new frame (codec-level flag: VP8 S+PID 0, VP9 B, AV1 first OBU...). */
  readonly frameStart: boolean;
  /** The payload shows that its frame is a keyframe. */
  readonly keyframe: boolean;
}

export interface Packetizer {
  /** Split one encoded frame into payloads of at most `maxPayload` bytes. */
  packetize(frame: Uint8Array, maxPayload: number, keyframe?: boolean): Uint8Array[];
}

export interface Depacketizer {
  /** Parse one payload; throws ParseError on malformed input. */
  depacketize(payload: Uint8Array): Depacketized;
  /** Forget fragment state (after loss). */
  reset(): void;
}

export type PayloadCodecName = 'opus' | 'vp8' | 'vp9' | 'h264' | 'av1';

/** Chop `data` into n nearly equal pieces, each at most `max` bytes. */
export function evenChunks(data: Uint8Array, max: number): Uint8Array[] {
  if (max < 1) throw new RangeError('payload size too small');
  const n = Math.max(1, Math.ceil(data.length / max));
  const size = Math.ceil(data.length / n);
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length || out.length === 0; at += size)
    out.push(data.subarray(at, Math.min(data.length, at + size)));
  return out;
}
