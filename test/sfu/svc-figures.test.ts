/**
 * /metrics and the dashboard's figures for SVC tracks: the spatial/temporal layers each subscriber
 * is forwarded, from its own SvcFilter (one stream per track, layers dropped per subscriber), not
 * one layer per track as for simulcast.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import {
  emptyDropped,
  emptyTotals,
  registerSfuMetrics,
  type SfuFigures,
  type SfuLayerFigure,
  type SfuParticipantFigure,
  svcFigure,
} from '../../src/server/sfu/figures.js';
import { SvcFilter } from '../../src/server/sfu/svc-filter.js';
import type { SvcPacketInfo } from '../../src/server/sfu/svc-layers.js';

/** The first packet of a picture's base layer (a keyframe or not). */
const pictureStart = (keyframe: boolean): SvcPacketInfo => ({
  spatialId: 0,
  temporalId: 0,
  frameStart: true,
  frameEnd: false,
  keyframe,
  canSwitchTo: () => false,
});

/** A subscriber's filter wanting (spatial, temporal), fed pictures from RTP timestamp 1000 on. */
function filter(spatial: number, temporal: number, pictures: readonly boolean[]): SvcFilter {
  const f = new SvcFilter();
  f.setTarget(spatial, temporal);
  for (const [i, keyframe] of pictures.entries()) f.decide(pictureStart(keyframe), 1000 + i * 3000, false);
  return f;
}

const layer = (publisher: string, svc: SfuLayerFigure['svc'], l = 0): SfuLayerFigure => ({
  publisher,
  track: `${publisher}-video`,
  layer: l,
  target: l,
  rid: null,
  height: null,
  bitrate: 0,
  svc,
});

const participant = (id: string, videoLayers: SfuLayerFigure[]): SfuParticipantFigure => ({
  id,
  publishedTracks: 0,
  subscribedTracks: videoLayers.length,
  estimatedBandwidth: 0,
  estimateSource: 'initial',
  twccFeedback: 0,
  queuingDelayMs: 0,
  forwardedBitrate: 0,
  videoLayers,
  nacksReceived: 0,
  plisReceived: 0,
  iceRestarts: 0,
});

test("an SVC track's figure is the subscriber's own spatial/temporal layers, and what it wants", () => {
  // Started at a keyframe with the target it had then.
  assert.deepEqual(svcFigure(filter(2, 2, [true, false]), false), {
    spatial: 2,
    temporal: 2,
    targetSpatial: 2,
    targetTemporal: 2,
  });
  // Capped lower: the filter keeps the lower layers only.
  assert.deepEqual(svcFigure(filter(0, 1, [true]), false), {
    spatial: 0,
    temporal: 1,
    targetSpatial: 0,
    targetTemporal: 1,
  });
  // No keyframe yet: nothing forwarded, the target shown.
  assert.deepEqual(svcFigure(filter(1, 2, [false, false]), false), {
    spatial: -1,
    temporal: -1,
    targetSpatial: 1,
    targetTemporal: 2,
  });
  // A target lowered takes effect at the next picture; the figure follows.
  const f = filter(2, 2, [true]);
  f.setTarget(1, 0);
  assert.deepEqual(svcFigure(f, false), { spatial: 2, temporal: 2, targetSpatial: 1, targetTemporal: 0 });
  f.decide(pictureStart(false), 7000, false);
  assert.deepEqual(svcFigure(f, false), { spatial: 1, temporal: 0, targetSpatial: 1, targetTemporal: 0 });
  // Paused (video off for this subscriber), and simulcast tracks (no filter).
  assert.deepEqual(svcFigure(f, true), { spatial: -1, temporal: -1, targetSpatial: -1, targetTemporal: -1 });
  assert.equal(svcFigure(undefined, false), null);
});

test('/metrics counts SVC tracks by the layers each subscriber gets, simulcast tracks by their layer', async () => {
  const full = svcFigure(filter(2, 2, [true]), false);
  const low = svcFigure(filter(0, 1, [true]), false);
  const figures: SfuFigures = {
    rooms: [
      {
        name: 'r',
        activeSpeaker: null,
        participants: [
          participant('A', [layer('B', full), layer('C', null, 2)]),
          participant('B', [layer('A', low), layer('C', null, 1)]),
          participant('C', [layer('A', full), layer('B', low)]),
        ],
      },
    ],
    publishers: 3,
    subscribers: 3,
    totals: emptyTotals(),
    dropped: emptyDropped(),
  };
  const registry = new Registry();
  registerSfuMetrics(registry, () => figures);
  const text = await registry.metrics();
  const svc = text.split('\n').filter((l) => l.startsWith('rtcstack_sfu_subscriber_svc_layers{'));
  assert.deepEqual(svc.sort(), [
    'rtcstack_sfu_subscriber_svc_layers{spatial="0",temporal="1"} 2',
    'rtcstack_sfu_subscriber_svc_layers{spatial="2",temporal="2"} 2',
  ]);
  const simulcast = text.split('\n').filter((l) => l.startsWith('rtcstack_sfu_subscriber_layers{'));
  assert.deepEqual(simulcast.sort(), [
    'rtcstack_sfu_subscriber_layers{layer="1"} 1',
    'rtcstack_sfu_subscriber_layers{layer="2"} 1',
  ]);
});
