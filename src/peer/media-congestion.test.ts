import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../core/random.js';
import { EXT_ABS_SEND_TIME, EXT_MID, EXT_TRANSPORT_CC, serializeTransportCc } from '../rtp/extensions.js';
import type { RtpHeaderExtension } from '../rtp/header-extensions.js';
import { type RtpPacket, serializeRtp } from '../rtp/packet.js';
import { absSendTimeData } from './abs-send-time.js';
import { MediaCongestion } from './media-congestion.js';
import type { RTCRtpTransceiver } from './rtp-transceiver.js';

const TCC = 3;
const ABS = 2;

/** The parts of a transceiver `configure` reads: our extmaps, the receiver's, its codecs. */
function transceiver(extmaps: { id: number; uri: string }[]): RTCRtpTransceiver {
  return {
    sender: { extmaps },
    receiver: { getParameters: () => ({ headerExtensions: extmaps }), codecs: [] },
  } as unknown as RTCRtpTransceiver;
}

/** The stamped packet built afresh, as stamp did before it reused its output. */
function reference(p: RtpPacket, tcc: number | undefined, seq: number, now: number): RtpPacket {
  const hadAbs = p.extensions.some((e) => e.id === ABS);
  const extensions = p.extensions.filter((e) => e.id !== tcc && e.id !== ABS);
  if (hadAbs) extensions.push({ id: ABS, data: absSendTimeData(now) });
  if (tcc !== undefined) extensions.push({ id: tcc, data: serializeTransportCc(seq) });
  return { ...p, extensions };
}

const snapshot = (l: readonly RtpHeaderExtension[]) => l.map((e) => [e.id, [...e.data]]);

for (const withTcc of [true, false])
  test(`stamp ${withTcc ? 'with' : 'without'} transport-cc: the bytes of a fresh build, its input untouched`, () => {
    const r = new SeededRandom(withTcc ? 3 : 4);
    const mc = new MediaCongestion();
    const maps = [
      { id: 1, uri: EXT_MID },
      { id: ABS, uri: EXT_ABS_SEND_TIME },
    ];
    if (withTcc) maps.push({ id: TCC, uri: EXT_TRANSPORT_CC });
    mc.configure([transceiver(maps)]);
    const mid = { id: 1, data: Uint8Array.of(0x30) };
    // Lists as senders keep them (one per layer, shared by its packets): with and without
    // abs-send-time, one with a stale transport-cc element, and none at all.
    const lists: RtpHeaderExtension[][] = [
      [mid, { id: ABS, data: absSendTimeData(0) }],
      [mid],
      [{ id: ABS, data: Uint8Array.of(1, 2, 3) }, mid, { id: TCC, data: Uint8Array.of(9, 9) }],
      [],
    ];
    const before = lists.map(snapshot);
    let seq = 1;
    let now = 1000;
    let last: Uint8Array | undefined;
    for (let i = 0; i < 300; i++) {
      now += r.int(4);
      const list = lists[r.int(lists.length)]!;
      const p: RtpPacket = {
        marker: r.float() < 0.3,
        payloadType: 96,
        sequenceNumber: i,
        timestamp: i * 3000,
        ssrc: 0x1234,
        csrcs: [],
        extensions: list,
        payload: Uint8Array.of(i & 0xff, 1, 2),
        paddingSize: i % 7 === 0 ? 4 : 0,
      };
      const want = serializeRtp(reference(p, withTcc ? TCC : undefined, seq, now));
      const got = serializeRtp(mc.stamp(p, 15, now));
      assert.deepEqual(got, want, `packet ${i}`);
      if (withTcc) seq = (seq + 1) & 0xffff;
      // The previous packet's bytes are not changed by this stamp (they were copied out).
      if (last && withTcc) assert.notDeepEqual(got, last);
      last = got;
    }
    assert.deepEqual(lists.map(snapshot), before, 'the senders lists are not written to');
  });
