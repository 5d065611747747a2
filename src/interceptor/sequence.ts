/** 16-bit RTP sequence numbers extended to a monotone count (RFC 3550 §A.1 style unwrapping). */
export class SequenceUnwrapper {
  #last = -1;

  /** The extended sequence number of `seq` (nearest to the previous one). */
  unwrap(seq: number): number {
    if (this.#last < 0) {
      this.#last = seq + 65536; // keep room for reordering below the first packet
      return this.#last;
    }
    const lastLow = this.#last & 0xffff;
    let delta = seq - lastLow;
    if (delta > 32768) delta -= 65536;
    else if (delta < -32768) delta += 65536;
    const ext = this.#last + delta;
    if (ext > this.#last) this.#last = ext;
    return ext;
  }
}

/** Seconds from 1900 (NTP's era 0) to 1970 (the Unix epoch), RFC 868. */
const NTP_EPOCH_OFFSET = 2208988800;

/** Milliseconds on a monotonic clock to the NTP timestamp (64-bit as seconds and fraction). */
export function ntpFromWallMs(ms: number): { seconds: number; fraction: number } {
  const secs = Math.floor(ms / 1000);
  return {
    seconds: (secs + NTP_EPOCH_OFFSET) >>> 0,
    fraction: Math.floor(((ms - secs * 1000) / 1000) * 2 ** 32) >>> 0,
  };
}

/**
 * An NTP timestamp (seconds and fraction, as in an RTCP SR) to ms since the Unix epoch; seconds
 * below the 1970 offset are read as NTP era 1 (from 2036 on).
 */
export function wallMsFromNtp(seconds: number, fraction: number): number {
  const unix =
    seconds >= NTP_EPOCH_OFFSET ? seconds - NTP_EPOCH_OFFSET : seconds + 2 ** 32 - NTP_EPOCH_OFFSET;
  return unix * 1000 + (fraction / 2 ** 32) * 1000;
}

/** Middle 32 bits of an NTP timestamp (RFC 3550 §6.4.1: LSR). */
export const ntpMiddle32 = (n: { seconds: number; fraction: number }): number =>
  (((n.seconds & 0xffff) << 16) | (n.fraction >>> 16)) >>> 0;
