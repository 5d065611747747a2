/**
 * How SfuServer hands a forwarded packet to a subscriber's RTCRtpSender, per packet per subscriber:
 * the sender looked up by publisher and track through two maps keyed by the strings the room
 * already holds (no key string built per packet), the publisher's dependency descriptor kept for
 * AV1 SVC, retransmissions stopped (the sender answers the leg's NACKs: its history keeps each
 * forwarded packet's source SSRC and sequence number, the packet itself comes from the room's
 * packet cache, see RTCRtpSender.forwardedSource). The bench (`bench/sfu.ts`) forwards through
 * the same function.
 */
import type { MediaStreamTrack, RTCRtpSender } from '../../peer/index.js';
import { findExtension } from '../../rtp/packet.js';
import type { ForwardedRtp } from './forwarded.js';

/** Values by (publisher id, track id), without a combined key string. */
export class TrackMap<V> {
  readonly #byPublisher = new Map<string, Map<string, V>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }
  get(publisherId: string, trackId: string): V | undefined {
    return this.#byPublisher.get(publisherId)?.get(trackId);
  }
  has(publisherId: string, trackId: string): boolean {
    return this.#byPublisher.get(publisherId)?.has(trackId) ?? false;
  }
  set(publisherId: string, trackId: string, v: V): void {
    let m = this.#byPublisher.get(publisherId);
    if (!m) this.#byPublisher.set(publisherId, (m = new Map()));
    if (!m.has(trackId)) this.#size++;
    m.set(trackId, v);
  }
  delete(publisherId: string, trackId: string): boolean {
    const m = this.#byPublisher.get(publisherId);
    if (!m?.delete(trackId)) return false;
    this.#size--;
    if (m.size === 0) this.#byPublisher.delete(publisherId);
    return true;
  }
  *values(): IterableIterator<V> {
    for (const m of this.#byPublisher.values()) yield* m.values();
  }
  clear(): void {
    this.#byPublisher.clear();
    this.#size = 0;
  }
}

/** A subscriber's sender of one forwarded track: its own local track, written to by this sink only. */
export interface ForwardingSender {
  readonly track: MediaStreamTrack;
  readonly sender: RTCRtpSender;
}

/**
 * A room sink's `sendRtp`: `senders(subscriberId)` gives the subscriber's senders,
 * `dependencyDescriptorId(publisherId)` the extension id the publisher's connection put its AV1
 * dependency descriptor under (asked for video only). What the track's writeRtp of the rewritten
 * packet would do (nothing once the track is ended or disabled), straight to the sender with the
 * room's rewritten header beside the received packet: no packet object, no event per packet.
 */
export function forwardingSink(
  senders: (subscriberId: string) => TrackMap<ForwardingSender> | undefined,
  dependencyDescriptorId: (publisherId: string) => number | undefined,
): (subscriberId: string, f: ForwardedRtp) => void {
  return (subscriberId, f) => {
    if (f.retransmission) return; // the sender answers NACKs on this leg (from the room's cache)
    const s = senders(subscriberId)?.get(f.publisherId, f.trackId);
    if (!s || s.track.readyState === 'ended' || !s.track.enabled) return;
    // AV1: the dependency descriptor goes on (the subscriber's decoder needs it), as the room
    // rewrote it for this subscriber's SVC layers, else as the publisher sent it.
    let dd = f.dependencyDescriptor;
    if (!dd && f.kind === 'video') {
      const ddId = dependencyDescriptorId(f.publisherId);
      if (ddId !== undefined) dd = findExtension(f.packet, ddId);
    }
    s.sender.forwardRtp(f.packet, f.header, undefined, dd);
  };
}
