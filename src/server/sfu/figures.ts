/**
 * What the SFU reports to operators: a plain snapshot (the dashboard's `sfu` section) and the
 * Prometheus metrics computed from it when /metrics is scraped.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { DroppedDatagrams } from '../../peer/index.js';
import type { SvcFilter } from './svc-filter.js';

/** One subscribed video track as a subscriber receives it. */
export interface SfuLayerFigure {
  readonly publisher: string;
  readonly track: string;
  /** Layer index fed now (-1: paused or not started), and the one the selector wants. */
  readonly layer: number;
  readonly target: number;
  readonly rid: string | null;
  readonly height: number | null;
  /** Bitrate of the layer fed, bits/s. */
  readonly bitrate: number;
  /** An SVC track (one stream, layers dropped per subscriber): the layers this subscriber gets. */
  readonly svc: SfuSvcFigure | null;
}

/** The spatial/temporal layers an SVC track is forwarded with to one subscriber. */
export interface SfuSvcFigure {
  /** Highest spatial and temporal layer forwarded now (-1: nothing yet, or paused). */
  readonly spatial: number;
  readonly temporal: number;
  /** What the layer selection wants (reached at a keyframe or switching point). */
  readonly targetSpatial: number;
  readonly targetTemporal: number;
}

/** The figure of a subscriber's SVC filter (null for a simulcast or audio track). */
export function svcFigure(filter: SvcFilter | undefined, paused: boolean): SfuSvcFigure | null {
  if (!filter) return null;
  const c = paused ? undefined : filter.current;
  return {
    spatial: c?.spatial ?? -1,
    temporal: c?.temporal ?? -1,
    targetSpatial: paused ? -1 : filter.target.spatial,
    targetTemporal: paused ? -1 : filter.target.temporal,
  };
}

export interface SfuParticipantFigure {
  readonly id: string;
  readonly publishedTracks: number;
  readonly subscribedTracks: number;
  /** Downlink estimate used for layer selection, bits/s. */
  readonly estimatedBandwidth: number;
  /** Where the estimate comes from ('twcc' once transport-wide feedback has fed it). */
  readonly estimateSource: 'initial' | 'twcc' | 'remb' | 'limit';
  /** TWCC feedback packets from this subscriber that fed its estimator. */
  readonly twccFeedback: number;
  /** Queuing delay its last TWCC feedback showed, ms. */
  readonly queuingDelayMs: number;
  /** Sum of what is forwarded to it now, bits/s. */
  readonly forwardedBitrate: number;
  readonly videoLayers: SfuLayerFigure[];
  readonly nacksReceived: number;
  readonly plisReceived: number;
  /** ICE restarts of its two connections with the SFU (its own offers and ours). */
  readonly iceRestarts: number;
}

export interface SfuRoomFigure {
  readonly name: string;
  readonly participants: SfuParticipantFigure[];
  readonly activeSpeaker: string | null;
}

/** Counters since the server started (closed rooms included). */
export interface SfuTotals {
  forwardedPackets: number;
  forwardedBytes: number;
  layerSwitches: number;
  nacks: number;
  plis: number;
  keyframeRequests: number;
  chatMessages: number;
  fileBytes: number;
  malformed: number;
  iceRestarts: number;
}

/** Datagrams the SFU's connections refused, by reason (the `reason` label on /metrics). */
export type SfuDropped = Record<DropReason, number>;

export interface SfuFigures {
  readonly rooms: SfuRoomFigure[];
  readonly publishers: number;
  readonly subscribers: number;
  readonly totals: SfuTotals;
  /** Datagrams dropped by the SFU's peer connections (closed ones included), by reason. */
  readonly dropped: SfuDropped;
}

/** A peer connection's dropped-datagram counter -> its `reason` label. */
const DROP_REASON = {
  ice: 'ice',
  demux: 'demux',
  dtlsMalformed: 'dtls_malformed',
  dtlsBadRecord: 'dtls_bad_record',
  dtlsReplay: 'dtls_replay',
  dtlsUnknownEpoch: 'dtls_unknown_epoch',
  srtpAuth: 'srtp_auth',
  srtpReplay: 'srtp_replay',
  srtpMalformed: 'srtp_malformed',
  rtpParse: 'rtp_parse',
  rtpUnroutable: 'rtp_unroutable',
} as const satisfies Record<keyof DroppedDatagrams, string>;
export type DropReason = (typeof DROP_REASON)[keyof DroppedDatagrams];

export const emptyDropped = (): SfuDropped =>
  Object.fromEntries(Object.values(DROP_REASON).map((r) => [r, 0])) as SfuDropped;

/** Add one connection's counters (droppedDatagrams()) into `into`. */
export function addDropped(into: SfuDropped, d: DroppedDatagrams): void {
  for (const k of Object.keys(DROP_REASON) as (keyof DroppedDatagrams)[]) into[DROP_REASON[k]] += d[k];
}

export const emptyTotals = (): SfuTotals => ({
  forwardedPackets: 0,
  forwardedBytes: 0,
  layerSwitches: 0,
  nacks: 0,
  plis: 0,
  keyframeRequests: 0,
  chatMessages: 0,
  fileBytes: 0,
  malformed: 0,
  iceRestarts: 0,
});

const COUNTERS: [keyof SfuTotals, string, string][] = [
  [
    'forwardedPackets',
    'rtcstack_sfu_forwarded_packets_total',
    'RTP packets the SFU forwarded to subscribers',
  ],
  ['forwardedBytes', 'rtcstack_sfu_forwarded_bytes_total', 'RTP bytes the SFU forwarded to subscribers'],
  [
    'layerSwitches',
    'rtcstack_sfu_layer_switches_total',
    'Simulcast layer switches of subscribed video tracks',
  ],
  ['nacks', 'rtcstack_sfu_nacks_total', 'NACKs received from subscribers'],
  ['plis', 'rtcstack_sfu_plis_total', 'Keyframe requests (PLI/FIR) received from subscribers'],
  ['keyframeRequests', 'rtcstack_sfu_keyframe_requests_total', 'PLIs the SFU sent to publishers'],
  ['chatMessages', 'rtcstack_sfu_chat_messages_total', 'Chat messages relayed by the SFU (per recipient)'],
  ['fileBytes', 'rtcstack_sfu_file_bytes_total', 'File-transfer bytes relayed by the SFU (per recipient)'],
  ['malformed', 'rtcstack_sfu_malformed_total', 'Malformed packets and data frames the SFU dropped'],
  ['iceRestarts', 'rtcstack_sfu_ice_restarts_total', 'ICE restarts of connections with the SFU'],
];

/** Register the SFU's metrics on `registry`; every value is read from `figures()` when scraped. */
export function registerSfuMetrics(registry: Registry, figures: () => SfuFigures): void {
  // One snapshot per scrape, shared by every metric's collect(): a scrape runs them all in one turn
  // of the event loop, and the snapshot is dropped at the next (a later scrape sees fresh figures).
  let cached: SfuFigures | undefined;
  const get = (): SfuFigures => {
    if (!cached) {
      cached = figures();
      setImmediate(() => {
        cached = undefined;
      });
    }
    return cached;
  };
  new Gauge({
    name: 'rtcstack_sfu_rooms',
    help: 'Rooms in SFU mode',
    registers: [registry],
    collect() {
      this.set(get().rooms.length);
    },
  });
  new Gauge({
    name: 'rtcstack_sfu_publishers',
    help: 'Participants publishing at least one track to the SFU',
    registers: [registry],
    collect() {
      this.set(get().publishers);
    },
  });
  new Gauge({
    name: 'rtcstack_sfu_subscribers',
    help: 'Participants receiving at least one track from the SFU',
    registers: [registry],
    collect() {
      this.set(get().subscribers);
    },
  });
  new Gauge({
    name: 'rtcstack_sfu_forwarded_bitrate_bps',
    help: 'Bitrate the SFU forwards now, all subscribers',
    registers: [registry],
    collect() {
      let sum = 0;
      for (const r of get().rooms) for (const p of r.participants) sum += p.forwardedBitrate;
      this.set(sum);
    },
  });
  new Gauge({
    name: 'rtcstack_sfu_subscriber_layers',
    help: 'Subscribed simulcast video tracks by the layer they are fed (-1: paused; SVC tracks: rtcstack_sfu_subscriber_svc_layers)',
    labelNames: ['layer'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const r of get().rooms)
        for (const p of r.participants)
          for (const l of p.videoLayers) if (!l.svc) this.inc({ layer: String(l.layer) });
    },
  });
  new Gauge({
    name: 'rtcstack_sfu_subscriber_svc_layers',
    help: 'Subscribed SVC video tracks by the highest spatial and temporal layer each subscriber is forwarded (-1: nothing yet or paused)',
    labelNames: ['spatial', 'temporal'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const r of get().rooms)
        for (const p of r.participants)
          for (const l of p.videoLayers)
            if (l.svc) this.inc({ spatial: String(l.svc.spatial), temporal: String(l.svc.temporal) });
    },
  });
  const perSubscriber: [string, string, (p: SfuParticipantFigure) => number][] = [
    ['rtcstack_sfu_estimated_bandwidth_bps', 'Downlink estimate per subscriber', (p) => p.estimatedBandwidth],
    [
      'rtcstack_sfu_twcc_feedback',
      'TWCC feedback packets received per subscriber (what its downlink estimate is built from)',
      (p) => p.twccFeedback,
    ],
  ];
  for (const [name, help, value] of perSubscriber)
    new Gauge({
      name,
      help,
      labelNames: ['room', 'peer'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const r of get().rooms)
          for (const p of r.participants)
            if (p.subscribedTracks > 0) this.set({ room: r.name, peer: p.id }, value(p));
      },
    });
  new Counter({
    name: 'rtcstack_sfu_dropped_datagrams_total',
    help: 'Datagrams the SFU connections dropped (garbage, stray or hostile input), by where they were refused',
    labelNames: ['reason'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(get().dropped)) this.inc({ reason }, n);
    },
  });
  for (const [key, name, help] of COUNTERS)
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(get().totals[key]);
      },
    });
}
