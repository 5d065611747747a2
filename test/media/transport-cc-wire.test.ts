/**
 * What the receiver reads in the header extensions our sender stamps as packets leave the pacer
 * (MediaCongestion.stamp reuses one packet object, extension list and transport-cc element for
 * every send): on the wire, between two rtcstack peers on the virtual network, consecutive packets
 * carry consecutive transport-wide sequence numbers and the abs-send-time of the moment each was
 * sent, their other extensions as the sender made them, and an RTX retransmission (one media
 * datagram dropped, NACKed) carries its own next sequence number and send time and the original's
 * other extensions. The RTP header is not encrypted by SRTP, so the datagrams are read as they go.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ManualClock } from '../../src/core/clock.js';
import { MediaStreamTrack } from '../../src/peer/index.js';
import {
  absSendTimeFromMs,
  EXT_ABS_SEND_TIME,
  EXT_MID,
  EXT_TRANSPORT_CC,
  parseAbsSendTime,
  parseTransportCc,
} from '../../src/rtp/extensions.js';
import { findExtension, parseRtp, type RtpPacket } from '../../src/rtp/packet.js';
import { isRtpDatagram, sendHookNetwork } from '../helpers/send-hook.js';
import { negotiate } from '../helpers/trickled-pair.js';
import { virtualPair } from '../helpers/virtual-pair.js';

interface Sent {
  readonly p: RtpPacket;
  readonly at: number;
  /** The padding bit was set (a probe). */
  readonly padded: boolean;
}

function extmapId(sdp: string, uri: string): number {
  const m = sdp.match(new RegExp(`a=extmap:(\\d+) ${uri.replace(/[.]/g, '\\.')}`));
  assert.ok(m, `${uri} negotiated`);
  return Number(m[1]);
}

/** A VP8 frame's bytes: a keyframe's first bytes (start code) or an interframe's. */
function vp8Frame(i: number, size: number): Uint8Array {
  const d = new Uint8Array(size).fill(i & 0xff);
  if (i === 0) d.set([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]);
  else d[0] = 0x11;
  return d;
}

test('consecutive packets and an RTX retransmission carry their own transport-cc sequence and abs-send-time', async () => {
  let clock: ManualClock | undefined;
  const sent: Sent[] = [];
  let media = 0;
  let dropped: RtpPacket | undefined;
  const pair = virtualPair({
    seed: 8285,
    wrapA: (host) =>
      sendHookNetwork(host, (data) => {
        if (!isRtpDatagram(data)) return false;
        const b0 = data[0] ?? 0;
        // A copy (the output memory is reused once sent), the padding bit cleared: its count
        // byte is under the SRTP tag, and only the header is read here.
        const bytes = Uint8Array.from(data);
        bytes[0] = b0 & ~0x20;
        const p = parseRtp(bytes);
        sent.push({ p, at: clock!.now(), padded: (b0 & 0x20) !== 0 });
        if (((data[1] ?? 0) & 0x7f) === 96 && (b0 & 0x20) === 0 && ++media === 20) {
          dropped = p;
          return true;
        }
        return false;
      }),
  });
  clock = pair.clock;
  const { a, b, connected, close } = pair;
  let timersLeft = -1;
  try {
    const track = new MediaStreamTrack({ kind: 'video' });
    a.addTransceiver(track, { direction: 'sendonly' });
    let frames = 0;
    b.ontrack = (e) => e.track.on('frame', () => frames++);
    await negotiate(a, b);
    await connected();
    const sdp = a.localDescription!.sdp;
    const tccId = extmapId(sdp, EXT_TRANSPORT_CC);
    const absId = extmapId(sdp, EXT_ABS_SEND_TIME);
    const midId = extmapId(sdp, EXT_MID);
    const rtxPt = Number(sdp.match(/a=rtpmap:(\d+) rtx\/90000/)?.[1]);
    for (let i = 0; i < 30; i++) {
      track.writeFrame({ data: vp8Frame(i, 2500), timestamp: (i * 1000) / 30 });
      await clock.advanceAsync(33);
    }
    await clock.advanceAsync(500);
    assert.ok(dropped, 'a media packet was dropped');
    assert.ok(frames > 20, `frames decoded: ${frames}`);

    const stamped = sent.filter((s) => findExtension(s.p, tccId) !== undefined);
    assert.equal(stamped.length, sent.length, 'every RTP packet carries transport-cc');
    assert.ok(stamped.filter((s) => s.p.payloadType === 96).length > 60, `${stamped.length} packets`);
    for (let i = 0; i < stamped.length; i++) {
      const { p, at } = stamped[i]!;
      const seq = parseTransportCc(findExtension(p, tccId)!);
      if (i > 0) {
        const prev = parseTransportCc(findExtension(stamped[i - 1]!.p, tccId)!);
        assert.equal(seq, (prev + 1) & 0xffff, `packet ${i}: transport-wide sequence follows the last`);
      }
      // Media packets carry abs-send-time (the probes' RTX padding does not, as before).
      const abs = findExtension(p, absId);
      if (p.payloadType === 96) assert.ok(abs, `packet ${i}: abs-send-time`);
      if (abs)
        assert.equal(
          parseAbsSendTime(abs),
          absSendTimeFromMs(at),
          `packet ${i}: abs-send-time is its send time`,
        );
      assert.equal(p.extensions.filter((e) => e.id === tccId).length, 1);
      assert.ok(p.extensions.filter((e) => e.id === absId).length <= 1);
    }

    // The retransmission: RTX of the dropped packet (its payload, the OSN first, is encrypted:
    // known by its timestamp and size).
    const lost: RtpPacket = dropped;
    const rtx = stamped.filter(
      (s) =>
        s.p.payloadType === rtxPt &&
        !s.padded &&
        s.p.payload.length === lost.payload.length + 2 &&
        s.p.timestamp === lost.timestamp,
    );
    assert.ok(rtx.length >= 1, 'the dropped packet went out again over RTX');
    const r = rtx[0]!;
    const originalSeq = parseTransportCc(findExtension(dropped, tccId)!);
    const rtxSeq = parseTransportCc(findExtension(r.p, tccId)!);
    assert.ok(((rtxSeq - originalSeq) & 0xffff) > 0, 'RTX has a later transport-wide sequence number');
    assert.ok(r.at > 0 && parseAbsSendTime(findExtension(r.p, absId)!) === absSendTimeFromMs(r.at));
    // Its other extensions are the original's (the send history's list was not written to).
    const others = (p: RtpPacket) =>
      p.extensions.filter((e) => e.id !== tccId && e.id !== absId).map((e) => [e.id, [...e.data]] as const);
    assert.deepEqual(others(r.p), others(dropped));
    assert.ok(
      others(dropped).some(([id]) => id === midId),
      'the original carried the MID',
    );
  } finally {
    timersLeft = await close();
  }
  assert.equal(timersLeft, 0, 'timers left after close');
});
