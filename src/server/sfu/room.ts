/**
 * An SFU room, sans-IO: participants publish tracks (simulcast layers by rid) and subscribe to
 * everyone else's. RTP in through `handleRtp`, RTCP in through `handleRtcp`, everything out through
 * the injected sink; time from the Clock (ManualClock in tests).
 *
 * RTCP is terminated per leg: the room answers subscribers' NACKs from its packet cache, turns their
 * PLI/FIR into its own (throttled) keyframe requests for the layer they are fed, reads their RR and
 * REMB, and generates upstream RR and NACK for what it receives itself. Publisher SRs are rewritten
 * onto each subscriber's stream (timestamps mapped) so lip sync survives the rewriting. Nothing a
 * subscriber sends reaches a publisher as is.
 */
import type { Clock, Timer } from '../../core/clock.js';
import { isInputError } from '../../core/errors.js';
import { Emitter } from '../../core/events.js';
import type { Random } from '../../core/random.js';
import { parseRtcp, type RtcpPacket } from '../../rtcp/compound.js';
import { ntpMiddle } from '../../rtcp/reports.js';
import type { TransportCcFeedback } from '../../rtcp/twcc.js';
import { parseAudioLevel, parseSdesExtension } from '../../rtp/extensions.js';
import { findExtension, parseRtp, type RtpPacket } from '../../rtp/packet.js';
import { ActiveSpeakerDetector, type ActiveSpeakerOptions } from './active-speaker.js';
import { DownTrack } from './down-track.js';
import type { ForwardedRtp } from './forwarded.js';
import { isKeyframeStart } from './keyframe.js';
import { LayerSelector, type LayerSelectorOptions, PAUSED } from './layer-selector.js';
import { PacketCache } from './packet-cache.js';
import { StreamRewriter } from './rewriter.js';
import { CONGESTION_LOSS, type ControllerFigures, SubscriberBwe } from './subscriber-bwe.js';
import { SvcFilter } from './svc-filter.js';
import { SvcSource } from './svc-layers.js';
import { selectSvc, svcRates } from './svc-select.js';
import { type Layer, PublishedTrack, type PublishSpec } from './track.js';
import { UpstreamStream } from './upstream.js';

/** Extension ids a publisher's leg negotiated (RFC 8285 extmap). */
export interface PublisherExtensions {
  readonly mid?: number;
  readonly rid?: number;
  readonly audioLevel?: number;
  /** The AV1 dependency descriptor (the SFU reads AV1 SVC layers from it). */
  readonly dependencyDescriptor?: number;
}

export interface SfuSink {
  sendRtp(subscriberId: string, packet: ForwardedRtp): void;
  sendRtcp(participantId: string, packets: RtcpPacket[]): void;
  /**
   * With TWCC: the most a subscriber's forwarded tracks could use (bits/s, with a margin), for its
   * connection's bandwidth probes (no probing past what could ever be forwarded).
   */
  probeLimit?(subscriberId: string, bps: number): void;
}

export type RoomEvents = {
  activeSpeaker: [participantId: string];
  layerChanged: [subscriberId: string, trackId: string, layer: number];
  trackAdded: [track: PublishedTrack];
  trackRemoved: [track: PublishedTrack];
};

export interface RoomOptions {
  readonly clock: Clock;
  readonly random: Random;
  readonly sink: SfuSink;
  /** Timer period for upstream NACKs and keyframe-request retries. */
  readonly tickMs?: number;
  /** Layer and speaker re-evaluation period. */
  readonly selectMs?: number;
  /** Upstream receiver report period. */
  readonly reportMs?: number;
  /** Minimum time between keyframe requests for one layer. */
  readonly keyframeIntervalMs?: number;
  /**
   * Generate RR and NACK for publishers here (default true). False when each publisher leg is an
   * RTCPeerConnection whose receivers already report and NACK on it.
   */
  readonly upstreamRtcp?: boolean;
  /** Bandwidth assumed for a subscriber before any estimate. */
  readonly initialBandwidth?: number;
  /** Bandwidth reserved per audio track before video is shared out. */
  readonly audioBitrate?: number;
  readonly selector?: LayerSelectorOptions;
  readonly speaker?: ActiveSpeakerOptions;
  /**
   * Estimate each subscriber's downlink from its TWCC feedback (default false): forwarded packets
   * carry a transport-wide sequence number (ForwardedRtp.transportSequence), the subscriber's
   * 'twcc' RTCP feeds a GCC controller, and layer selection follows its estimate (with probing).
   */
  readonly twcc?: boolean;
  /**
   * Who numbers the transport-wide sequence (with `twcc`): 'room' (default) puts it in
   * ForwardedRtp.transportSequence for the sink to write; 'transport': the subscriber's transport
   * stamps every packet it sends itself (retransmissions and RTCP-driven resends included) and
   * reports its feedback with `transportFeedback`. A transport that runs a congestion controller
   * on them hands it over with `useTransportController` (the estimator reads it: one controller
   * per leg); one that does not reports each packet with `transportSent` for the room's own.
   */
  readonly transportSequence?: 'room' | 'transport';
}

interface Participant {
  readonly id: string;
  extensions: PublisherExtensions;
  readonly tracks: Map<string, PublishedTrack>;
  /** Subscriptions: published track id (publisher/track) -> down track. */
  readonly down: Map<PublishedTrack, DownTrack>;
  /** Downlink estimate (TWCC, REMB) or the initial assumption, bits/s. */
  estimate: number;
  estimateSource: BandwidthSource;
  /** An SFU-side cap on the downlink (a limiter, an operator setting), bits/s. */
  limit: number;
  /** TWCC-based estimation (RoomOptions.twcc). */
  bwe: SubscriberBwe | undefined;
  /**
   * TWCC feedback showed loss (over CONGESTION_LOSS) and the estimate has not been back up to what
   * the lowest layers need since: only then may the budget fall below that need (see #twccBudget).
   */
  lossCut: boolean;
  /** The probe limit last handed to the sink (bits/s). */
  probeLimit: number;
  /** The subscriber's cap on frame height for every track, also those published later. */
  maxHeight: number;
}

export type BandwidthSource = 'initial' | 'twcc' | 'remb' | 'limit';

export interface RoomStats {
  rtpIn: number;
  rtpOut: number;
  bytesOut: number;
  dropped: number;
  malformed: number;
  unknownSsrc: number;
  nacksIn: number;
  retransmissions: number;
  plisIn: number;
  keyframeRequests: number;
  upstreamNacks: number;
  /** Video layer switches of subscribers (not counting the first layer a subscriber gets). */
  layerSwitches: number;
}

export class Room extends Emitter<RoomEvents> {
  readonly id: string;
  readonly #o: Required<Omit<RoomOptions, 'selector' | 'speaker' | 'twcc'>> &
    Pick<RoomOptions, 'selector' | 'twcc'>;
  /** Whether the room numbers forwarded packets for TWCC (see RoomOptions.transportSequence). */
  readonly #stamp: boolean;
  readonly #participants = new Map<string, Participant>();
  readonly #bySsrc = new Map<number, { track: PublishedTrack; layer: Layer }>();
  /** Downstream SSRC -> down track (for subscriber RTCP). */
  readonly #byDownSsrc = new Map<number, DownTrack>();
  /** Video tracks sent as one layered stream (VP9/AV1 without simulcast): their SVC layers. */
  readonly #svc = new Map<PublishedTrack, SvcSource>();
  readonly cache = new PacketCache(1024, 2000);
  readonly speakers: ActiveSpeakerDetector;
  readonly stats: RoomStats = {
    rtpIn: 0,
    rtpOut: 0,
    bytesOut: 0,
    dropped: 0,
    malformed: 0,
    unknownSsrc: 0,
    nacksIn: 0,
    retransmissions: 0,
    plisIn: 0,
    keyframeRequests: 0,
    upstreamNacks: 0,
    layerSwitches: 0,
  };
  /** Our SSRC as an RTCP sender. */
  readonly rtcpSsrc: number;
  #timer: Timer | undefined;
  #ticks = 0;
  #closed = false;

  constructor(id: string, o: RoomOptions) {
    super();
    this.id = id;
    this.#o = {
      clock: o.clock,
      random: o.random,
      sink: o.sink,
      tickMs: o.tickMs ?? 20,
      selectMs: o.selectMs ?? 200,
      reportMs: o.reportMs ?? 1000,
      keyframeIntervalMs: o.keyframeIntervalMs ?? 500,
      upstreamRtcp: o.upstreamRtcp ?? true,
      initialBandwidth: o.initialBandwidth ?? 1_000_000,
      audioBitrate: o.audioBitrate ?? 50_000,
      selector: o.selector,
      twcc: o.twcc,
      transportSequence: o.transportSequence ?? 'room',
    };
    this.#stamp = o.twcc === true && this.#o.transportSequence === 'room';
    this.speakers = new ActiveSpeakerDetector(o.speaker);
    this.rtcpSsrc = this.#ssrc();
    this.#schedule();
  }

  get participantIds(): string[] {
    return [...this.#participants.keys()];
  }
  tracksOf(participantId: string): PublishedTrack[] {
    return [...(this.#participants.get(participantId)?.tracks.values() ?? [])];
  }
  /** What `subscriberId` receives, one entry per subscribed track. */
  downTracksOf(subscriberId: string): DownTrack[] {
    return [...(this.#participants.get(subscriberId)?.down.values() ?? [])];
  }

  join(id: string, extensions: PublisherExtensions = {}): void {
    if (this.#participants.has(id)) return;
    const p: Participant = {
      id,
      extensions,
      tracks: new Map(),
      down: new Map(),
      estimate: this.#o.initialBandwidth,
      estimateSource: 'initial',
      limit: Number.POSITIVE_INFINITY,
      bwe: this.#o.twcc ? new SubscriberBwe(this.#o.initialBandwidth, this.#o.clock.now()) : undefined,
      lossCut: false,
      probeLimit: 0,
      maxHeight: Number.POSITIVE_INFINITY,
    };
    this.#participants.set(id, p);
    for (const other of this.#participants.values())
      if (other !== p) for (const t of other.tracks.values()) this.#subscribe(p, t);
  }

  setExtensions(id: string, extensions: PublisherExtensions): void {
    const p = this.#participants.get(id);
    if (!p) return;
    p.extensions = extensions;
    for (const t of p.tracks.values()) {
      const svc = this.#svc.get(t);
      if (svc) svc.ddExtension = extensions.dependencyDescriptor;
    }
  }

  leave(id: string): void {
    const p = this.#participants.get(id);
    if (!p) return;
    for (const t of [...p.tracks.values()]) this.unpublish(id, t.id);
    for (const d of p.down.values()) this.#byDownSsrc.delete(d.ssrc);
    this.#participants.delete(id);
    this.speakers.remove(id);
  }

  publish(id: string, spec: PublishSpec): PublishedTrack {
    const p = this.#need(id);
    if (p.tracks.has(spec.trackId)) throw new RangeError(`track ${spec.trackId} already published`);
    const track = new PublishedTrack(id, spec);
    p.tracks.set(spec.trackId, track);
    if (spec.kind === 'video' && spec.layers.length === 1 && SvcSource.supports(spec.codec))
      this.#svc.set(track, new SvcSource(spec.codec, p.extensions.dependencyDescriptor));
    for (const l of track.layers) if (l.ssrc !== undefined) this.#bind(track, l, l.ssrc);
    for (const other of this.#participants.values()) if (other !== p) this.#subscribe(other, track);
    this.emit('trackAdded', track);
    return track;
  }

  unpublish(id: string, trackId: string): void {
    const p = this.#participants.get(id);
    const track = p?.tracks.get(trackId);
    if (!p || !track) return;
    p.tracks.delete(trackId);
    this.#svc.delete(track);
    for (const l of track.layers)
      if (l.ssrc !== undefined) {
        this.#bySsrc.delete(l.ssrc);
        this.cache.forget(l.ssrc);
      }
    for (const other of this.#participants.values()) {
      const d = other.down.get(track);
      if (d) {
        other.down.delete(track);
        this.#byDownSsrc.delete(d.ssrc);
      }
    }
    this.emit('trackRemoved', track);
  }

  setMuted(id: string, trackId: string, muted: boolean): void {
    const track = this.#participants.get(id)?.tracks.get(trackId);
    if (!track || track.muted === muted) return;
    track.muted = muted;
    if (muted && track.kind === 'audio') this.speakers.remove(id);
    this.#reselectAll();
  }

  /**
   * The downlink estimate for `subscriberId` (bits/s), from its TWCC feedback or REMB. Without a
   * source (a test, an operator) it sets the estimate as is.
   */
  setBandwidth(subscriberId: string, bps: number, source: BandwidthSource = 'limit'): void {
    const p = this.#participants.get(subscriberId);
    if (!p) return;
    p.estimate = bps;
    p.estimateSource = source;
    this.#reselect(p);
  }

  /**
   * An SFU-side cap on `subscriberId`'s downlink (bits/s; undefined lifts it): layers are chosen
   * for min(estimate, limit), and (see SfuServer) what is sent to it is held to the limit.
   */
  setBandwidthLimit(subscriberId: string, bps: number | undefined): void {
    const p = this.#participants.get(subscriberId);
    if (!p) return;
    p.limit = bps ?? Number.POSITIVE_INFINITY;
    this.#reselect(p);
  }

  /** The bandwidth layer selection uses for `subscriberId`, and where its estimate comes from. */
  bandwidthOf(
    subscriberId: string,
  ): { estimate: number; source: BandwidthSource; limit: number; effective: number } | undefined {
    const p = this.#participants.get(subscriberId);
    if (!p) return undefined;
    return { estimate: p.estimate, source: p.estimateSource, limit: p.limit, effective: bandwidth(p) };
  }

  /**
   * `subscriberId`'s transport sent a packet with transport-wide sequence `seq` (transportSequence
   * 'transport'); `cluster`: the probe cluster its congestion controller put it in (-1: none).
   * Not needed once the transport's controller is used (useTransportController).
   */
  transportSent(subscriberId: string, seq: number, size: number, cluster = -1): void {
    this.#participants.get(subscriberId)?.bwe?.onSent(seq, size, this.#o.clock.now(), cluster);
  }

  /**
   * `subscriberId`'s transport runs a congestion controller on what it sends (transportSequence
   * 'transport', e.g. a peer connection's): from now on its estimator reads that controller after
   * each `transportFeedback` instead of running a second one on the same packets. Call it before
   * the transport sends (the estimator starts afresh, at the room's initial bandwidth).
   */
  useTransportController(subscriberId: string, controller: ControllerFigures): void {
    const p = this.#participants.get(subscriberId);
    if (!p?.bwe) return;
    p.bwe = new SubscriberBwe(this.#o.initialBandwidth, this.#o.clock.now(), { controller });
  }

  /**
   * TWCC feedback from `subscriberId` on what its transport sent (transportSequence 'transport'),
   * after the transport's controller read it when the estimator uses that one.
   */
  transportFeedback(subscriberId: string, fb: TransportCcFeedback): void {
    const p = this.#participants.get(subscriberId);
    if (p) this.#twccFeedback(p, fb, this.#o.clock.now());
  }

  /** The TWCC estimator of `subscriberId` (RoomOptions.twcc), for stats. */
  estimatorOf(subscriberId: string): SubscriberBwe | undefined {
    return this.#participants.get(subscriberId)?.bwe;
  }

  /**
   * The subscriber's cap on frame height, for one track or (without trackId) all, including the
   * tracks published after.
   */
  setMaxResolution(subscriberId: string, maxHeight: number, trackId?: string): void {
    const p = this.#participants.get(subscriberId);
    if (!p) return;
    if (trackId === undefined) p.maxHeight = maxHeight;
    for (const d of p.down.values())
      if (trackId === undefined || d.track.id === trackId) d.maxHeight = maxHeight;
    this.#reselect(p);
  }

  /** An RTP datagram (SRTP already removed) from `participantId`'s leg. */
  handleRtp(participantId: string, bytes: Uint8Array): void {
    let packet: RtpPacket;
    try {
      packet = parseRtp(bytes);
    } catch (err) {
      if (!isInputError(err)) throw err;
      this.stats.malformed++;
      return;
    }
    this.forwardRtp(participantId, packet, bytes);
  }

  /**
   * The same for a packet the caller has parsed already. `hint`: the track and rid a peer
   * connection routed it to (binds a new SSRC without reading extensions).
   */
  forwardRtp(
    participantId: string,
    packet: RtpPacket,
    bytes: Uint8Array,
    hint?: { readonly trackId: string; readonly rid?: string | undefined },
  ): void {
    const now = this.#o.clock.now();
    this.stats.rtpIn++;
    const entry =
      this.#bySsrc.get(packet.ssrc) ??
      (hint ? this.#bindHint(participantId, packet.ssrc, hint) : this.#learn(participantId, packet));
    if (!entry || entry.track.publisherId !== participantId) {
      this.stats.unknownSsrc++;
      return;
    }
    const { track, layer } = entry;
    layer.upstream ??= new UpstreamStream(packet.ssrc, track.spec.clockRate);
    const fresh = layer.upstream.onPacket(packet.sequenceNumber, packet.timestamp, now);
    layer.lastPacketAt = now;
    // A copy of a packet received before (a browser's RTX payload padding): counted upstream only.
    if (!fresh) return;
    this.cache.put(packet.ssrc, packet.sequenceNumber, bytes, now);
    if (track.kind === 'audio') this.#audioLevel(participantId, track, packet, now);
    if (track.muted || packet.payload.length === 0) {
      // Nothing to forward (padding): keep subscribers' sequence numbers gap-free.
      for (const p of this.#participants.values()) p.down.get(track)?.rewriter.skip(packet);
      this.stats.dropped++;
      return;
    }
    // Media only: a browser's bandwidth probes (padding, often on the lowest layer's RTX) would
    // make a layer look dearer than it is.
    layer.meter.add(bytes.length, now);
    const keyframe = isKeyframeStart(track.spec.codec, packet.payload);
    if (keyframe && track.kind === 'video') layer.keyframesSeen++;
    const source = this.#svc.get(track);
    const svc = source?.inspect(packet, bytes.length, now);
    for (const p of this.#participants.values()) {
      const d = p.down.get(track);
      if (!d) continue;
      const before = d.current;
      const header =
        svc && d.svc ? d.forwardSvc(packet, svc, now) : d.forward(packet, layer.index, keyframe, now);
      if (!header) continue;
      // AV1 SVC: the descriptor tells this subscriber which decode targets it is fed.
      const layers = svc && d.svc?.current;
      const dependencyDescriptor = layers && source ? source.descriptorFor(packet, layers) : undefined;
      if (d.current !== before && track.kind === 'video') {
        if (before !== PAUSED) this.stats.layerSwitches++;
        this.emit('layerChanged', p.id, track.id, d.current);
      }
      this.#send(p, d, {
        publisherId: track.publisherId,
        trackId: track.id,
        kind: track.kind,
        header,
        packet,
        bytes,
        retransmission: false,
        transportSequence: this.#stamp ? p.bwe?.onSend(bytes.length, now) : undefined,
        dependencyDescriptor,
      });
    }
  }

  /** An RTCP datagram from `participantId`'s leg (feedback on what we send it, reports on what it sends). */
  handleRtcp(participantId: string, bytes: Uint8Array): void {
    let packets: RtcpPacket[];
    try {
      packets = parseRtcp(bytes);
    } catch (err) {
      if (!isInputError(err)) throw err;
      this.stats.malformed++;
      return;
    }
    const now = this.#o.clock.now();
    const p = this.#participants.get(participantId);
    if (!p) return;
    for (const r of packets) {
      switch (r.type) {
        case 'nack': {
          const d = this.#ownDown(p, r.mediaSsrc);
          if (d) this.#answerNack(p, d, r.lost, now);
          break;
        }
        case 'pli': {
          const d = this.#ownDown(p, r.mediaSsrc);
          if (d) this.#subscriberWantsKeyframe(d, now);
          break;
        }
        case 'fir':
          for (const e of r.entries) {
            const d = this.#ownDown(p, e.ssrc);
            if (d) this.#subscriberWantsKeyframe(d, now);
          }
          break;
        case 'remb':
          if (!p.bwe) this.setBandwidth(participantId, r.bitrate, 'remb');
          break;
        case 'twcc':
          this.#twccFeedback(p, r, now);
          break;
        case 'rr':
        case 'sr':
          for (const b of r.reports) {
            const d = this.#ownDown(p, b.ssrc);
            if (d) d.stats.fractionLost = b.fractionLost / 256;
          }
          if (r.type === 'sr') this.#publisherSenderReport(participantId, r, now);
          break;
        default:
          break;
      }
    }
  }

  /** A subscriber's leg asked for a keyframe of what it gets of `publisherId`'s `trackId`. */
  requestKeyframe(subscriberId: string, publisherId: string, trackId: string): void {
    const track = this.#participants.get(publisherId)?.tracks.get(trackId);
    const d = track && this.#participants.get(subscriberId)?.down.get(track);
    if (d) this.#subscriberWantsKeyframe(d, this.#o.clock.now());
  }

  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.removeAllListeners();
  }

  // --- internals ---

  #need(id: string): Participant {
    const p = this.#participants.get(id);
    if (!p) throw new RangeError(`${id} is not in room ${this.id}`);
    return p;
  }

  #ssrc(): number {
    for (;;) {
      const s = this.#o.random.u32() >>> 0;
      if (s !== 0 && !this.#byDownSsrc.has(s) && !this.#bySsrc.has(s)) return s;
    }
  }

  #subscribe(sub: Participant, track: PublishedTrack): void {
    const rewriter = new StreamRewriter(this.#ssrc(), track.spec.clockRate, {
      initialSequence: this.#o.random.u32() & 0xffff,
      initialTimestamp: this.#o.random.u32(),
    });
    const d = new DownTrack(sub.id, track, rewriter, new LayerSelector(this.#o.selector));
    if (this.#svc.has(track)) d.svc = new SvcFilter();
    d.maxHeight = sub.maxHeight;
    sub.down.set(track, d);
    this.#byDownSsrc.set(d.ssrc, d);
    this.#reselect(sub);
  }

  #ownDown(p: Participant, ssrc: number): DownTrack | undefined {
    const d = this.#byDownSsrc.get(ssrc >>> 0);
    return d && d.subscriberId === p.id ? d : undefined;
  }

  #bind(track: PublishedTrack, layer: Layer, ssrc: number): void {
    layer.ssrc = ssrc >>> 0;
    this.#bySsrc.set(layer.ssrc, { track, layer });
  }

  /** Bind an unknown SSRC to a layer of `participantId` by its mid/rid extensions or payload type. */
  #bindHint(
    participantId: string,
    ssrc: number,
    hint: { readonly trackId: string; readonly rid?: string | undefined },
  ): { track: PublishedTrack; layer: Layer } | undefined {
    const track = this.#participants.get(participantId)?.tracks.get(hint.trackId);
    const layer = track?.layers.find(
      (l) => l.ssrc === undefined && (l.rid ?? undefined) === (hint.rid ?? undefined),
    );
    if (!track || !layer) return undefined;
    this.#bind(track, layer, ssrc);
    return { track, layer };
  }

  #learn(participantId: string, packet: RtpPacket): { track: PublishedTrack; layer: Layer } | undefined {
    const p = this.#participants.get(participantId);
    if (!p) return undefined;
    const ext = p.extensions;
    let mid: string | undefined;
    let rid: string | undefined;
    try {
      const m = ext.mid === undefined ? undefined : findExtension(packet, ext.mid);
      const r = ext.rid === undefined ? undefined : findExtension(packet, ext.rid);
      mid = m && parseSdesExtension(m);
      rid = r && parseSdesExtension(r);
    } catch (err) {
      if (!isInputError(err)) throw err;
      return undefined;
    }
    for (const t of p.tracks.values()) {
      if (mid !== undefined && t.spec.mid !== undefined && t.spec.mid !== mid) continue;
      if (mid === undefined && !t.spec.payloadTypes?.includes(packet.payloadType)) continue;
      const layer = t.layers.find((l) => l.ssrc === undefined && l.rid === rid);
      if (layer) {
        this.#bind(t, layer, packet.ssrc);
        return { track: t, layer };
      }
    }
    return undefined;
  }

  #audioLevel(id: string, track: PublishedTrack, packet: RtpPacket, now: number): void {
    const extId = this.#participants.get(id)?.extensions.audioLevel;
    if (extId === undefined || track.muted) return;
    const data = findExtension(packet, extId);
    if (!data || data.length < 1) return;
    const a = parseAudioLevel(data);
    this.speakers.onLevel(id, a.level, a.voiceActivity, now);
  }

  #send(p: Participant, d: DownTrack, f: ForwardedRtp): void {
    d.stats.packetsSent++;
    d.stats.bytesSent += f.bytes.length;
    d.rewriter.octets += f.packet.payload.length;
    this.stats.rtpOut++;
    this.stats.bytesOut += f.bytes.length;
    this.#o.sink.sendRtp(p.id, f);
  }

  #answerNack(p: Participant, d: DownTrack, lost: readonly number[], now: number): void {
    this.stats.nacksIn++;
    d.stats.nacksReceived++;
    for (const seq of lost) {
      const src = d.rewriter.lookup(seq);
      if (!src) continue;
      const cached = this.cache.get(src.ssrc, src.sequenceNumber, now);
      if (!cached) continue;
      let packet: RtpPacket;
      try {
        packet = parseRtp(cached.bytes);
      } catch {
        continue;
      }
      const header = {
        ssrc: d.ssrc,
        sequenceNumber: seq & 0xffff,
        timestamp: (packet.timestamp + src.timestampOffset) >>> 0,
      };
      d.stats.retransmitted++;
      this.stats.retransmissions++;
      this.#send(p, d, {
        publisherId: d.track.publisherId,
        trackId: d.track.id,
        kind: d.track.kind,
        header,
        packet,
        bytes: cached.bytes,
        retransmission: true,
        transportSequence: this.#stamp ? p.bwe?.onSend(cached.bytes.length, now) : undefined,
      });
    }
  }

  #subscriberWantsKeyframe(d: DownTrack, now: number): void {
    this.stats.plisIn++;
    d.stats.plisReceived++;
    const layer = d.current !== PAUSED ? d.current : d.target;
    if (layer !== PAUSED) this.#requestKeyframe(d.track, d.track.layers[layer]!, now);
  }

  #requestKeyframe(track: PublishedTrack, layer: Layer, now: number): void {
    if (layer.ssrc === undefined || track.kind !== 'video') return;
    if (now - layer.lastKeyframeRequestAt < this.#o.keyframeIntervalMs) return;
    layer.lastKeyframeRequestAt = now;
    this.stats.keyframeRequests++;
    this.#o.sink.sendRtcp(track.publisherId, [
      { type: 'pli', senderSsrc: this.rtcpSsrc, mediaSsrc: layer.ssrc },
    ]);
  }

  /** A publisher SR: note it for our RR (LSR), and give each subscriber fed from it an SR of its own. */
  #publisherSenderReport(id: string, sr: Extract<RtcpPacket, { type: 'sr' }>, now: number): void {
    const entry = this.#bySsrc.get(sr.ssrc >>> 0);
    if (!entry || entry.track.publisherId !== id) return;
    entry.layer.upstream?.onSenderReport(ntpMiddle(sr.ntpSeconds, sr.ntpFraction), now);
    for (const p of this.#participants.values()) {
      const d = p.down.get(entry.track);
      if (!d || d.current !== entry.layer.index) continue;
      const off = d.rewriter.timestampOffset;
      if (off === undefined) continue;
      this.#o.sink.sendRtcp(p.id, [
        {
          type: 'sr',
          ssrc: d.ssrc,
          ntpSeconds: sr.ntpSeconds,
          ntpFraction: sr.ntpFraction,
          rtpTimestamp: (sr.rtpTimestamp + off) >>> 0,
          packetCount: d.rewriter.packets >>> 0,
          octetCount: d.rewriter.octets >>> 0,
          reports: [],
        },
      ]);
    }
  }

  #reselectAll(): void {
    for (const p of this.#participants.values()) this.#reselect(p);
  }

  #twccFeedback(p: Participant, fb: TransportCcFeedback, now: number): void {
    const bwe = p.bwe;
    if (!bwe) return;
    bwe.onFeedback(fb, now);
    if (bwe.cc.lossFraction > CONGESTION_LOSS) p.lossCut = true;
  }

  /**
   * What `d` needs at the least now: its lowest layer (measured, or assumed before it is), or
   * undefined when it has nothing to forward (no layer received lately).
   */
  #lowestNeed(d: DownTrack, now: number): number | undefined {
    const svc = d.svc && this.#svc.get(d.track);
    if (svc) return svcRates(svc, d, now).lowest || DEFAULT_LAYER_BITRATE[0]!;
    const low = d.track.layers.find((l) => l.ssrc !== undefined && now - l.lastPacketAt < 1000);
    return low && (low.meter.bitrate(now) || DEFAULT_LAYER_BITRATE[low.index] || 150_000);
  }

  /**
   * With TWCC: the budget from the estimator (probing when a step up is wanted), given what is
   * forwarded now and what one more layer step would need.
   *
   * The budget never falls below what every track's lowest layer needs (the floor) unless the
   * subscriber's feedback showed loss: delay alone never cuts below it (see SubscriberBwe), and an
   * estimate made while fewer tracks were subscribed (another publisher joins) or while layers
   * cost less does not pause video either. (On a loaded machine the estimate sat at the floor of
   * four publishers; a fifth joined, every subscriber's share fell under its lowest layer and all
   * its video paused, for good: the probes to resume failed on the same scheduling delay.)
   */
  #twccBudget(p: Participant, bwe: SubscriberBwe, now: number): void {
    let forwarded = 0;
    let audio = 0;
    const video: DownTrack[] = [];
    for (const d of p.down.values()) {
      if (d.track.muted) continue;
      const svc = d.svc && this.#svc.get(d.track);
      const l = d.current === PAUSED ? undefined : d.track.layers[d.current];
      if (svc) forwarded += svcRates(svc, d, now).forwarded;
      else if (l) forwarded += l.meter.bitrate(now);
      if (d.track.kind === 'audio') audio++;
      else video.push(d);
    }
    // The cheapest next layer among tracks that could go higher (active, under the height cap), and
    // what every track's lowest layer needs.
    let next = Number.POSITIVE_INFINITY;
    let floor = audio * this.#o.audioBitrate;
    // What the tracks could use at most: the best layer each could get (active, under its cap).
    let ceiling = floor;
    for (const d of video) {
      floor += this.#lowestNeed(d, now) ?? 0;
      // SVC: operating points of the one stream (the next one replaces the current, as a layer does).
      const svc = d.svc && this.#svc.get(d.track);
      if (svc) {
        const r = svcRates(svc, d, now);
        if (r.next !== undefined) next = Math.min(next, r.next);
        ceiling += r.top;
        continue;
      }
      let up: Layer | undefined;
      let best: Layer | undefined;
      for (const l of d.track.layers) {
        if (l.ssrc === undefined || now - l.lastPacketAt >= 1000 || l.height > d.maxHeight) continue;
        if (!up && l.index > d.current) up = l;
        best = l;
      }
      if (up) next = Math.min(next, layerRate(up, now));
      if (best) ceiling += layerRate(best, now);
    }
    this.#limitProbes(p, ceiling);
    // Enough for the layer selector to take it: a margin to go up, more to resume paused video.
    const margin = video.some((d) => d.current === PAUSED) ? 1.6 : 1.2;
    const nextStep =
      video.length > 0 && Number.isFinite(next)
        ? audio * this.#o.audioBitrate + video.length * next * margin
        : undefined;
    bwe.floor = floor;
    const budget = bwe.budget(now, forwarded, nextStep);
    if (bwe.estimate >= floor) p.lossCut = false;
    p.estimate = p.lossCut ? budget : Math.max(budget, floor);
    p.estimateSource = bwe.feedbacks > 0 ? 'twcc' : 'initial';
  }

  /**
   * Tells the sink how far `p`'s connection may probe: PROBE_MARGIN x what its tracks could use
   * at most (at least MIN_PROBE_LIMIT), when that moved by more than a tenth.
   */
  #limitProbes(p: Participant, ceiling: number): void {
    const limit = Math.max(MIN_PROBE_LIMIT, PROBE_MARGIN * ceiling);
    if (Math.abs(limit - p.probeLimit) <= 0.1 * p.probeLimit) return;
    p.probeLimit = limit;
    this.#o.sink.probeLimit?.(p.id, limit);
  }

  /** Share `p`'s bandwidth over what it subscribes to and pick each video track's layer. */
  #reselect(p: Participant): void {
    const now = this.#o.clock.now();
    if (p.bwe) this.#twccBudget(p, p.bwe, now);
    let audio = 0;
    const needs = new Map<DownTrack, number>();
    let needed = 0;
    for (const d of p.down.values()) {
      if (d.track.muted) continue;
      if (d.track.kind === 'audio') audio++;
      else {
        const need = this.#lowestNeed(d, now);
        if (need === undefined) continue; // nothing to forward: no share
        needs.set(d, need);
        needed += need;
      }
    }
    // Every video track's lowest layer first, then what is left shared equally (for higher layers);
    // short of the lowest layers, each gets the same fraction of its need. (An equal share paused
    // a track whose lowest layer cost more than the average, e.g. for the second after a keyframe,
    // although all the lowest layers fitted.)
    const forVideo = Math.max(0, bandwidth(p) - audio * this.#o.audioBitrate);
    const spare = (forVideo - needed) / Math.max(1, needs.size);
    const share = (d: DownTrack): number => {
      const need = needs.get(d) ?? 0;
      return spare >= 0 ? need + spare : (need * forVideo) / needed;
    };
    for (const d of p.down.values()) {
      let choice: number;
      if (d.track.muted) choice = PAUSED;
      else if (d.track.kind === 'audio') choice = 0;
      else if (d.svc && this.#svc.has(d.track)) {
        const wanted = d.svc.keyframeWanted;
        choice = selectSvc(d, this.#svc.get(d.track)!, share(d), now);
        if (!wanted && d.svc.keyframeWanted && choice !== PAUSED)
          this.#requestKeyframe(d.track, d.track.layers[0]!, now);
      } else {
        const layers = d.track.layers.map((l) => ({
          bitrate: l.meter.bitrate(now),
          height: l.height,
          active: l.ssrc !== undefined && now - l.lastPacketAt < 1000,
        }));
        choice = d.selector.select(layers, share(d), d.maxHeight, now);
      }
      if (d.setTarget(choice) && d.switchPending) {
        const l = d.track.layers[choice];
        if (l) this.#requestKeyframe(d.track, l, now);
      }
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#tick();
      this.#schedule();
    }, this.#o.tickMs);
  }

  #tick(): void {
    const now = this.#o.clock.now();
    this.#ticks++;
    const every = (ms: number): boolean => this.#ticks % Math.max(1, Math.round(ms / this.#o.tickMs)) === 0;
    // Upstream NACKs for what we lost, per publisher (unless the leg's own stack does it).
    if (this.#o.upstreamRtcp)
      for (const { track, layer } of this.#bySsrc.values()) {
        const lost = layer.upstream?.nacks(now) ?? [];
        if (layer.ssrc === undefined || lost.length === 0) continue;
        this.stats.upstreamNacks++;
        this.#o.sink.sendRtcp(track.publisherId, [
          { type: 'nack', senderSsrc: this.rtcpSsrc, mediaSsrc: layer.ssrc, lost },
        ]);
      }
    // Keyframe-request retries for pending switches.
    for (const p of this.#participants.values())
      for (const d of p.down.values())
        if (d.switchPending) this.#requestKeyframe(d.track, d.track.layers[d.target]!, now);
    if (every(this.#o.selectMs)) {
      this.#reselectAll();
      const s = this.speakers.update(now);
      if (s !== undefined) this.emit('activeSpeaker', s);
    }
    if (this.#o.upstreamRtcp && every(this.#o.reportMs)) this.#receiverReports(now);
  }

  #receiverReports(now: number): void {
    const byPublisher = new Map<string, Layer[]>();
    for (const { track, layer } of this.#bySsrc.values()) {
      if (!layer.upstream) continue;
      const list = byPublisher.get(track.publisherId) ?? [];
      list.push(layer);
      byPublisher.set(track.publisherId, list);
    }
    for (const [id, layers] of byPublisher) {
      for (let i = 0; i < layers.length; i += 31) {
        const reports = layers.slice(i, i + 31).map((l) => l.upstream!.reportBlock(now));
        this.#o.sink.sendRtcp(id, [{ type: 'rr', ssrc: this.rtcpSsrc, reports }]);
      }
    }
  }
}

const bandwidth = (p: Participant): number => Math.min(p.estimate, p.limit);

/** Assumed bitrate of a simulcast layer not measured yet (as the layer selector assumes). */
const DEFAULT_LAYER_BITRATE = [150_000, 500_000, 1_500_000];
/** Probes may go this far above what a subscriber's tracks could use (their rates vary). */
const PROBE_MARGIN = 1.5;
const MIN_PROBE_LIMIT = 300_000;

/** A layer's measured bitrate, or what such a layer usually needs before it is measured. */
function layerRate(l: Layer, now: number): number {
  return l.meter.bitrate(now) || DEFAULT_LAYER_BITRATE[l.index] || 2_500_000;
}
