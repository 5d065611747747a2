/**
 * Simulcast receiving by rid, below the peer connection: three SSRCs announced only by the rid
 * header extension (RFC 8852) with the mid extension (RFC 8843), plus RTX for one layer identified
 * by repaired-rid, protected with SRTP and fed into a MediaSession: each layer becomes its own
 * receive stream, frames carry their rid, and the RTX packet repairs the right layer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { createLogger } from '../../src/core/log.js';
import type { SrtpKeyingMaterial } from '../../src/dtls/srtp-profiles.js';
import { rtxPacket } from '../../src/interceptor/nack.js';
import { createPacketizer } from '../../src/media/payload/index.js';
import { DEFAULT_VIDEO_CODECS } from '../../src/peer/media-codecs.js';
import { MediaSession } from '../../src/peer/media-session.js';
import type { ReceivedFrame } from '../../src/peer/media-track.js';
import { RTCRtpReceiver } from '../../src/peer/rtp-receiver.js';
import { RTCRtpSender } from '../../src/peer/rtp-sender.js';
import { RTCRtpTransceiver } from '../../src/peer/rtp-transceiver.js';
import { EXT_MID, EXT_REPAIRED_RID, EXT_RID, serializeSdesExtension } from '../../src/rtp/extensions.js';
import { type RtpPacket, serializeRtp } from '../../src/rtp/packet.js';
import { SrtpContext } from '../../src/srtp/context.js';
import { SRTP_PROFILES } from '../../src/srtp/profiles.js';

const KEY = { key: new Uint8Array(16).fill(7), salt: new Uint8Array(14).fill(9) };
const MATERIAL: SrtpKeyingMaterial = {
  profile: 'SRTP_AES128_CM_HMAC_SHA1_80',
  clientKey: KEY.key,
  clientSalt: KEY.salt,
  serverKey: KEY.key,
  serverSalt: KEY.salt,
  localKey: KEY.key,
  localSalt: KEY.salt,
  remoteKey: KEY.key,
  remoteSalt: KEY.salt,
};

test('rid and repaired-rid route three simulcast layers and their RTX to separate streams', () => {
  const clock = new ManualClock();
  const t = new RTCRtpTransceiver(
    'video',
    new RTCRtpSender('video', clock, 'c'),
    new RTCRtpReceiver('video', clock),
    'recvonly',
    [],
    () => {},
  );
  t.setMid('1');
  const extmaps = [
    { id: 4, uri: EXT_MID },
    { id: 10, uri: EXT_RID },
    { id: 11, uri: EXT_REPAIRED_RID },
  ];
  t.receiver.configure(DEFAULT_VIDEO_CODECS, extmaps);
  const sent: Uint8Array[] = [];
  const session = new MediaSession({
    clock,
    log: createLogger('test'),
    send: (d) => sent.push(d),
    transceivers: () => [t],
  });
  session.start(MATERIAL);
  const frames: ReceivedFrame[] = [];
  t.receiver.track.on('frame', (f) => frames.push(f));
  const protect = new SrtpContext(SRTP_PROFILES.SRTP_AES128_CM_HMAC_SHA1_80, KEY);
  const layers = [
    { rid: 'q', ssrc: 1001, size: 300 },
    { rid: 'h', ssrc: 1002, size: 1500 },
    { rid: 'f', ssrc: 1003, size: 4000 },
  ];
  const held: RtpPacket[] = [];
  for (const l of layers) {
    const packetizer = createPacketizer('vp8');
    let seq = 100;
    for (let f = 0; f < 5; f++) {
      const frame = new Uint8Array(l.size).fill(f + 1);
      frame[0] = f === 0 ? 0x10 : 0x11;
      const payloads = packetizer.packetize(frame, 1000);
      payloads.forEach((payload, i) => {
        const p: RtpPacket = {
          marker: i === payloads.length - 1,
          payloadType: 96,
          sequenceNumber: seq++,
          timestamp: f * 3000,
          ssrc: l.ssrc,
          csrcs: [],
          extensions: [
            { id: 4, data: serializeSdesExtension('1') },
            { id: 10, data: serializeSdesExtension(l.rid) },
          ],
          payload,
          paddingSize: 0,
        };
        // Hold back the second packet of f's third frame: it comes later over RTX.
        if (l.rid === 'f' && f === 2 && i === 1) held.push(p);
        else session.handle(protect.protectRtp(serializeRtp(p)));
      });
    }
  }
  assert.equal(held.length, 1);
  const rtx = rtxPacket(held[0]!, 2003, 97, 1);
  session.handle(
    protect.protectRtp(
      serializeRtp({
        ...rtx,
        extensions: [
          { id: 4, data: serializeSdesExtension('1') },
          { id: 11, data: serializeSdesExtension('f') },
        ],
      }),
    ),
  );
  clock.advance(500);
  const byRid = (r: string) => frames.filter((f) => f.rid === r);
  assert.deepEqual(
    layers.map((l) => byRid(l.rid).length),
    [5, 5, 5],
  );
  for (const l of layers) {
    assert.ok(byRid(l.rid).every((f) => f.ssrc === l.ssrc && f.data.length === l.size));
    assert.equal(byRid(l.rid)[0]!.keyframe, true);
  }
  assert.deepEqual([...t.receiver.streams.values()].map((s) => s.rid).sort(), ['f', 'h', 'q']);
  assert.equal(t.receiver.streams.get(1003)!.retransmittedPacketsReceived, 1);
  assert.equal(session.stats.unroutable, 0);
  session.close();
  assert.equal(clock.activeTimers, 0);
});
