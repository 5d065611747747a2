/**
 * What a probe cluster found (the GCC probing design, as libwebrtc's probe bitrate estimator does
 * it): the packets sent while a probe ran carry its cluster id; from their send times and the
 * arrival times TWCC feedback reports, the cluster's send rate and receive rate follow:
 *
 *   send rate    = (bytes - last packet's size)  / (last send - first send)
 *   receive rate = (bytes - first packet's size) / (last arrival - first arrival)
 *
 * (the first/last packet's size is left out: n packets span n - 1 intervals). The result is the
 * lower of the two; a receive rate clearly under the send rate (< 0.9x) means the probe filled the
 * path: its capacity is the receive rate, and the result is 0.95x of it so as not to overuse at once.
 * A cluster needs MIN_PACKETS received packets before it says anything; each feedback with more of
 * its packets refines the result.
 */

/** Received packets a cluster needs before its rates mean anything. */
export const PROBE_MIN_PACKETS = 5;
/** Receive rate under this fraction of the send rate: the probe saturated the path. */
const SATURATED_RATIO = 0.9;
/** What a saturated probe yields, as a fraction of its receive rate. */
const TARGET_UTILIZATION = 0.95;
/** Receive rate above this multiple of the send rate: arrivals bunched (a queue let go), no result. */
const MAX_VALID_RATIO = 2;
/** Intervals longer than this are not a probe's (a stall, a late feedback). */
const MAX_INTERVAL_MS = 1000;
/** Clusters not heard of for this long are forgotten. */
const CLUSTER_TTL_MS = 5000;

export interface ProbeResult {
  readonly cluster: number;
  /** What the estimate may take, bits/s. */
  readonly bitrate: number;
  readonly sendRate: number;
  readonly receiveRate: number;
  /** The path did not carry the probe's rate (its capacity was found). */
  readonly saturated: boolean;
}

interface Cluster {
  firstSend: number;
  lastSend: number;
  lastSendSize: number;
  firstArrival: number;
  firstArrivalSize: number;
  lastArrival: number;
  bytes: number;
  packets: number;
  touched: number;
}

export class ProbeEstimator {
  readonly #clusters = new Map<number, Cluster>();

  /** A packet of probe cluster `cluster`, sent at `send`, arrived at `arrival` (ms), `size` bytes. */
  onPacket(cluster: number, send: number, arrival: number, size: number, now: number): void {
    let c = this.#clusters.get(cluster);
    if (!c) {
      c = {
        firstSend: send,
        lastSend: send,
        lastSendSize: size,
        firstArrival: arrival,
        firstArrivalSize: size,
        lastArrival: arrival,
        bytes: 0,
        packets: 0,
        touched: now,
      };
      this.#clusters.set(cluster, c);
    }
    if (send < c.firstSend) c.firstSend = send;
    if (send >= c.lastSend) {
      c.lastSend = send;
      c.lastSendSize = size;
    }
    if (arrival < c.firstArrival) {
      c.firstArrival = arrival;
      c.firstArrivalSize = size;
    }
    if (arrival > c.lastArrival) c.lastArrival = arrival;
    c.bytes += size;
    c.packets++;
    c.touched = now;
  }

  /** The result of `cluster` from what has been reported so far (undefined: not enough yet). */
  result(cluster: number): ProbeResult | undefined {
    const c = this.#clusters.get(cluster);
    if (!c || c.packets < PROBE_MIN_PACKETS) return undefined;
    const sendInterval = c.lastSend - c.firstSend;
    const receiveInterval = c.lastArrival - c.firstArrival;
    if (sendInterval <= 0 || sendInterval > MAX_INTERVAL_MS) return undefined;
    if (receiveInterval <= 0 || receiveInterval > MAX_INTERVAL_MS) return undefined;
    const sendRate = ((c.bytes - c.lastSendSize) * 8000) / sendInterval;
    const receiveRate = ((c.bytes - c.firstArrivalSize) * 8000) / receiveInterval;
    if (receiveRate > MAX_VALID_RATIO * sendRate) return undefined;
    const saturated = receiveRate < SATURATED_RATIO * sendRate;
    const bitrate = saturated ? TARGET_UTILIZATION * receiveRate : Math.min(sendRate, receiveRate);
    return { cluster, bitrate, sendRate, receiveRate, saturated };
  }

  /** Forget clusters nobody reported on for a while. */
  prune(now: number): void {
    for (const [id, c] of this.#clusters) if (now - c.touched > CLUSTER_TTL_MS) this.#clusters.delete(id);
  }
}
