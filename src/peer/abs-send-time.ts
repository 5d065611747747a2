/**
 * abs-send-time extension data (http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time) for a
 * time in ms, shared: the bytes of the last value asked for are kept, so the many packets stamped
 * in one millisecond (a frame's packets, an SFU's fan-out to every subscriber) share one 3-byte
 * array instead of each allocating its own (each a typed array and an ArrayBuffer on the heap, kept
 * as long as the send history keeps the packet). Extension data is never written after creation.
 */
import { absSendTimeFromMs, serializeAbsSendTime } from '../rtp/extensions.js';

let lastValue = -1;
let lastData: Uint8Array = new Uint8Array(3);

export function absSendTimeData(ms: number): Uint8Array {
  const v = absSendTimeFromMs(ms);
  if (v !== lastValue) {
    lastValue = v;
    lastData = serializeAbsSendTime(v);
  }
  return lastData;
}
