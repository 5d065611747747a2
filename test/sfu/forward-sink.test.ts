import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { DEFAULT_VIDEO_CODECS, defaultHeaderExtensions } from '../../src/peer/media-codecs.js';
import { MediaStreamTrack } from '../../src/peer/media-track.js';
import { RTCRtpSender } from '../../src/peer/rtp-sender.js';
import { EXT_DEPENDENCY_DESCRIPTOR } from '../../src/rtp/extensions.js';
import type { RtpPacket } from '../../src/rtp/packet.js';
import { type ForwardingSender, forwardingSink, TrackMap } from '../../src/server/sfu/forward-sink.js';
import type { ForwardedRtp } from '../../src/server/sfu/forwarded.js';
import { Harness } from './harness.js';

test('TrackMap: values by (publisher, track), size, delete, values, clear', () => {
  const m = new TrackMap<number>();
  m.set('a', 'v', 1);
  m.set('a', 'x', 2);
  m.set('b', 'v', 3);
  m.set('a', 'v', 4); // replaces
  assert.equal(m.size, 3);
  assert.equal(m.get('a', 'v'), 4);
  assert.equal(m.get('b', 'x'), undefined);
  assert.equal(m.has('b', 'v'), true);
  // A publisher id that ends where another's track id begins is another entry (no joined key).
  m.set('a/b', 'c', 5);
  m.set('a', 'b/c', 6);
  assert.equal(m.get('a/b', 'c'), 5);
  assert.equal(m.get('a', 'b/c'), 6);
  assert.deepEqual([...m.values()].sort(), [2, 3, 4, 5, 6]);
  assert.equal(m.delete('a', 'v'), true);
  assert.equal(m.delete('a', 'v'), false);
  assert.equal(m.size, 4);
  m.clear();
  assert.equal(m.size, 0);
  assert.deepEqual([...m.values()], []);
});

/** The subscriber's leg negotiated the dependency descriptor under this id. */
const DD_ID = 12;
const EXTMAPS = [...defaultHeaderExtensions('video'), { id: DD_ID, uri: EXT_DEPENDENCY_DESCRIPTOR }];

function leg(): { s: ForwardingSender; sent: RtpPacket[] } {
  const sender = new RTCRtpSender('video', new ManualClock(), 'test');
  sender.configure({ mid: '0', codecs: DEFAULT_VIDEO_CODECS, extmaps: EXTMAPS });
  const track = new MediaStreamTrack({ kind: 'video' });
  sender.setTrack(track);
  const sent: RtpPacket[] = [];
  sender.out = (p) => sent.push(p);
  return { s: { track, sender }, sent };
}

const received = (seq: number, extensions: RtpPacket['extensions'] = []): RtpPacket => ({
  marker: false,
  payloadType: 96,
  sequenceNumber: seq,
  timestamp: 1000 + seq,
  ssrc: 0x1111,
  csrcs: [],
  extensions,
  payload: Uint8Array.of(seq, 1, 2),
  paddingSize: 0,
});

const forwarded = (packet: RtpPacket, o: Partial<ForwardedRtp> = {}): ForwardedRtp => ({
  publisherId: 'pub',
  trackId: 'v',
  kind: 'video',
  header: { ssrc: 0x2222, sequenceNumber: 7, timestamp: 90_000 + packet.sequenceNumber, marker: true },
  packet,
  bytes: new Uint8Array(0),
  retransmission: false,
  ...o,
});

test("forwardingSink: the subscriber's sender sends the rewritten packet as writeRtp of it would", () => {
  const a = leg();
  const b = leg();
  const senders = new TrackMap<ForwardingSender>();
  senders.set('pub', 'v', a.s);
  const sink = forwardingSink(
    (id) => (id === 'sub' ? senders : undefined),
    () => undefined,
  );
  const fs: ForwardedRtp[] = [];
  for (let seq = 0; seq < 3; seq++) {
    const f = forwarded(received(seq));
    fs.push(f);
    sink('sub', f);
    // The same packet through the track's writeRtp, the room's header applied to it.
    b.s.track.writeRtp({ ...f.packet, ...f.header });
  }
  assert.equal(a.sent.length, 3);
  const strip = (p: RtpPacket) => ({ ...p, ssrc: 0, sequenceNumber: 0, timestamp: 0 });
  for (let i = 0; i < 3; i++) {
    const x = a.sent[i]!;
    const y = b.sent[i]!;
    assert.deepEqual(strip(x), strip(y));
    assert.equal(x.marker, true, "the room's marker");
    assert.equal(x.payload, fs[i]!.packet.payload, 'the received payload, not a copy');
    // Continuous sequence numbers and the room's timestamps moved onto the sender's timeline.
    assert.equal(x.sequenceNumber, (a.sent[0]!.sequenceNumber + i) & 0xffff);
    assert.equal((x.timestamp - a.sent[0]!.timestamp) >>> 0, i);
    assert.equal(x.ssrc, a.s.sender.ssrc);
  }
  // Nothing for a retransmission, an unknown subscriber or track, a disabled or ended track.
  sink('sub', forwarded(received(3), { retransmission: true }));
  sink('other', forwarded(received(4)));
  sink('sub', forwarded(received(5), { trackId: 'x' }));
  a.s.track.enabled = false;
  sink('sub', forwarded(received(6)));
  a.s.track.enabled = true;
  a.s.track.stop();
  sink('sub', forwarded(received(7)));
  assert.equal(a.sent.length, 3);
});

test('forwardRtp: the optional fields as the received packet has them (no own property holding undefined)', () => {
  const a = leg();
  const kinds: [string, Partial<RtpPacket>][] = [
    ['none', {}],
    ['one-byte', { extensionProfile: 0xbede }],
    ['two-byte', { extensionProfile: 0x1003 }],
    ['raw', { extensionProfile: 0xabcd, extensionData: Uint8Array.of(1, 2, 3, 4) }],
  ];
  for (const [seq, [name, o]] of kinds.entries()) {
    a.s.sender.forwardRtp({ ...received(seq), ...o }, { ssrc: 0x2222, timestamp: seq });
    const x = a.sent.at(-1)!;
    assert.equal(Object.hasOwn(x, 'extensionProfile'), o.extensionProfile !== undefined, name);
    assert.equal(x.extensionProfile, o.extensionProfile, name);
    assert.equal(Object.hasOwn(x, 'extensionData'), o.extensionData !== undefined, name);
    assert.equal(x.extensionData, o.extensionData, name);
    assert.equal(x.sequenceNumber, (a.sent[0]!.sequenceNumber + seq) & 0xffff, name);
    assert.ok(x.extensions.length > 0, `${name}: the sender's own extensions`);
  }
  assert.equal(a.sent.length, kinds.length);
});

test("forwardingSink: the publisher's dependency descriptor goes on for video, not asked for audio", () => {
  const a = leg();
  const senders = new TrackMap<ForwardingSender>();
  senders.set('pub', 'v', a.s);
  senders.set('pub', 'a', a.s);
  const asked: string[] = [];
  const sink = forwardingSink(
    () => senders,
    (pub) => {
      asked.push(pub);
      return 9;
    },
  );
  const dd = Uint8Array.of(0x80, 1, 2);
  sink('sub', forwarded(received(0, [{ id: 9, data: dd }])));
  const ext = a.sent[0]!.extensions.find((e) => e.id === DD_ID);
  assert.deepEqual(ext?.data, dd);
  sink('sub', forwarded(received(1, [{ id: 9, data: dd }]), { trackId: 'a', kind: 'audio' }));
  assert.deepEqual(asked, ['pub']);
  assert.equal(a.sent.length, 2);
  // The room's rewrite for this subscriber (AV1 SVC: its active decode targets) wins, unasked.
  const rewritten = Uint8Array.of(0x80, 1, 2, 0x40, 0x80);
  sink('sub', forwarded(received(2, [{ id: 9, data: dd }]), { dependencyDescriptor: rewritten }));
  assert.equal(a.sent[2]!.extensions.find((e) => e.id === DD_ID)?.data, rewritten);
  assert.deepEqual(asked, ['pub']);
});

test('forwardRtp: behind a media session that re-stamps abs-send-time, one extension list per layer, not one per packet', () => {
  // Each forwarded packet stays in the sender's send history (a thousand per sender) with its
  // extension list; a fresh list per packet and per subscriber (for a new abs-send-time) made
  // them all old-generation garbage. The media session writes the send time as a packet leaves.
  const lists = (atSend: boolean): RtpPacket['extensions'][] => {
    const clock = new ManualClock();
    const sender = new RTCRtpSender('video', clock, 'test');
    sender.configure({ mid: '0', codecs: DEFAULT_VIDEO_CODECS, extmaps: EXTMAPS });
    sender.setTrack(new MediaStreamTrack({ kind: 'video' }));
    sender.absSendTimeAtSend = atSend;
    let sent = -1;
    sender.out = (p) => {
      sent = p.sequenceNumber;
    };
    const seen: RtpPacket['extensions'][] = [];
    for (let seq = 0; seq < 4; seq++) {
      sender.forwardRtp(received(seq), { ssrc: 0x1111, timestamp: 1000 + seq });
      // What the send history keeps for this packet.
      const kept = sender.history.get(sent);
      assert.ok(kept);
      seen.push(kept.extensions);
      clock.advance(5);
    }
    return seen;
  };
  const shared = lists(true);
  assert.ok(shared.every((l) => l === shared[0]));
  assert.ok(
    shared[0]!.some((e) => e.id === 2),
    'abs-send-time is still in the list (stamped at send)',
  );
  // Without a media session (the sender's own output is the wire), each time gets its own list.
  const own = lists(false);
  assert.equal(new Set(own).size, 4);
});

/**
 * A subscriber leg as SfuServer makes it: the room's forwarded packets through forwardingSink to
 * the sender, whose forwarded packets' NACKs are answered from the room's packet cache.
 */
function cachedLeg(h: Harness): {
  sender: RTCRtpSender;
  sent: { p: RtpPacket; rtx: boolean }[];
  /** Our sequence number -> the publisher's packet it was made from (SSRC, sequence, a payload copy). */
  sources: Map<number, { ssrc: number; seq: number; payload: Uint8Array }>;
} {
  const sender = new RTCRtpSender('video', h.clock, 'test');
  sender.configure({ mid: '0', codecs: DEFAULT_VIDEO_CODECS, extmaps: defaultHeaderExtensions('video') });
  const track = new MediaStreamTrack({ kind: 'video' });
  sender.setTrack(track);
  sender.forwardedSource = (ssrc, seq) => h.room.cache.packet(ssrc, seq, h.clock.now());
  const sent: { p: RtpPacket; rtx: boolean }[] = [];
  sender.out = (p, rtx) => sent.push({ p, rtx: rtx === true });
  const senders = new TrackMap<ForwardingSender>();
  const video = h.room.tracksOf('pub').find((t) => t.kind === 'video')!;
  senders.set('pub', video.id, { track, sender });
  const sink = forwardingSink(
    (id) => (id === 'a' ? senders : undefined),
    () => undefined,
  );
  const sources = new Map<number, { ssrc: number; seq: number; payload: Uint8Array }>();
  h.onRtp = (id, f) => {
    const before = sent.length;
    sink(id, f);
    for (const s of sent.slice(before))
      sources.set(s.p.sequenceNumber, {
        ssrc: f.packet.ssrc,
        seq: f.packet.sequenceNumber,
        payload: f.packet.payload.slice(),
      });
  };
  return { sender, sent, sources };
}

function roomWithLeg(): { h: Harness } & ReturnType<typeof cachedLeg> {
  const h = new Harness();
  h.addPublisher('pub', 7);
  h.room.join('a');
  h.room.setBandwidth('a', 5_000_000);
  const leg = cachedLeg(h);
  h.run(1000);
  return { h, ...leg };
}

test("a forwarded packet's NACK is answered from the room's packet cache with the publisher's bytes", () => {
  const { h, sender, sent, sources } = roomWithLeg();
  const media = sent.filter((s) => !s.rtx);
  assert.ok(media.length > 50, `${media.length} packets forwarded`);
  const target = media[media.length - 5]!.p;
  // The history keeps no reference to the packet's payload: without the cache it has nothing.
  assert.equal(sender.history.get(target.sequenceNumber), undefined);
  // With it, the packet as sent, every field.
  assert.deepEqual(sender.history.get(target.sequenceNumber, sender.forwardedSource), target);

  const n = sent.length;
  sender.onNack([target.sequenceNumber, (target.sequenceNumber + 500) & 0xffff]);
  const answers = sent.slice(n);
  assert.equal(answers.length, 1, 'the forwarded packet resent; the one never sent not');
  const rtx = answers[0]!;
  assert.equal(rtx.rtx, true);
  assert.equal(rtx.p.ssrc, sender.rtxSsrc);
  assert.equal(rtx.p.payloadType, sender.rtxPayloadType);
  assert.equal(rtx.p.timestamp, target.timestamp);
  assert.equal(rtx.p.marker, target.marker);
  // RFC 4588 §4: the original sequence number, then the original payload: the publisher's bytes.
  const source = sources.get(target.sequenceNumber)!;
  assert.ok(source.payload.length > 10);
  assert.equal((rtx.p.payload[0]! << 8) | rtx.p.payload[1]!, target.sequenceNumber);
  assert.deepEqual(rtx.p.payload.subarray(2), source.payload);
  assert.equal(sender.stats.retransmittedPacketsSent, 1);
  assert.equal(sender.stats.nackCount, 1);
  h.room.close();
});

test('a NACK for a forwarded packet gone from the packet cache is not answered', () => {
  const { h, sender, sent, sources } = roomWithLeg();
  const last = (): RtpPacket => sent.filter((s) => !s.rtx).at(-1)!.p;
  // Evicted by a later packet of its source in its slot (1,024 per SSRC), within the age limit.
  const target = last();
  assert.ok(sender.history.get(target.sequenceNumber, sender.forwardedSource), 'answerable before');
  const src = sources.get(target.sequenceNumber)!;
  const later = Uint8Array.of(0x80, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 9);
  h.room.cache.put(src.ssrc, (src.seq + 1024) & 0xffff, later, h.clock.now());
  sender.onNack([target.sequenceNumber]);
  // Past the cache's age limit (2 s): the history still has the slot, the cache not the packet.
  h.run(100);
  const old = last();
  assert.ok(sender.history.get(old.sequenceNumber, sender.forwardedSource), 'answerable before');
  h.clock.advance(2100);
  const n = sent.length;
  sender.onNack([old.sequenceNumber]);
  assert.equal(sent.length, n, 'nothing resent');
  assert.equal(sender.history.get(old.sequenceNumber, sender.forwardedSource), undefined);
  assert.equal(sender.stats.nackCount, 2);
  assert.equal(sender.stats.retransmittedPacketsSent, 0);
  h.room.close();
});
