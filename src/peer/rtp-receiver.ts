/**
 * RTCRtpReceiver: one track, fed by one SSRC (or one per rid with simulcast). Each incoming
 * stream has receive statistics (for RR and inbound-rtp), a NACK generator and a jitter buffer
 * that assembles frames; frames go out as the track's 'frame' event, packets as 'rtp'.
 */
import type { Clock } from '../core/clock.js';
import { JitterBuffer } from '../interceptor/jitter-buffer.js';
import { NackGenerator } from '../interceptor/nack.js';
import { ReceiveStatistics } from '../interceptor/receive-stats.js';
import { createDepacketizer, payloadCodecName } from '../media/payload/index.js';
import { EXT_AUDIO_LEVEL } from '../rtp/extensions.js';
import { findExtension, type RtpPacket } from '../rtp/packet.js';
import { type Codec, isRtx } from '../sdp/codecs.js';
import type { Extmap } from '../sdp/types.js';
import { AudioLevelMeter, VideoFrameMeter } from './frame-meter.js';
import { type RTCRtpCodec, toRtcCodec } from './media-codecs.js';
import { MediaStreamTrack } from './media-track.js';

/** Minimum spacing of keyframe requests (PLI) per stream. */
const PLI_INTERVAL_MS = 500;

export interface ReceiveStream {
  readonly ssrc: number;
  readonly rid: string | undefined;
  readonly stats: ReceiveStatistics;
  readonly nack: NackGenerator;
  jitter: JitterBuffer | undefined;
  payloadType: number;
  codec: Codec | undefined;
  framesReceived: number;
  keyFramesReceived: number;
  firstTimestamp: number | undefined;
  pliCount: number;
  lastPliAt: number;
  retransmittedPacketsReceived: number;
  /** What the sender's last RTCP SR said (remote-outbound-rtp), once one arrived. */
  remoteSender: RemoteSenderInfo | undefined;
  /** Video only: picture size and frame rate of what arrives. */
  readonly video: VideoFrameMeter | undefined;
  /** Audio only: levels the sender signals (RFC 6464), when it does. */
  readonly audio: AudioLevelMeter | undefined;
}

/** The sending side's own figures, from its sender reports (RFC 3550 §6.4.1). */
export interface RemoteSenderInfo {
  /** The SR's NTP time, as ms since the Unix epoch. */
  readonly remoteTimestamp: number;
  readonly packetsSent: number;
  readonly bytesSent: number;
  readonly reportsSent: number;
}

export class RTCRtpReceiver {
  readonly track: MediaStreamTrack;
  readonly #clock: Clock;
  #codecs: readonly Codec[] = [];
  #extmaps: readonly Extmap[] = [];
  #audioLevelId: number | undefined;
  readonly streams = new Map<number, ReceiveStream>();
  /** Called to send a PLI for a media SSRC (set by the media session). */
  requestKeyframe: ((mediaSsrc: number) => void) | undefined;

  constructor(kind: 'audio' | 'video', clock: Clock) {
    this.track = new MediaStreamTrack({ kind, remote: true, label: `remote ${kind}` });
    this.#clock = clock;
  }

  /** @internal */
  configure(codecs: readonly Codec[], extmaps: readonly Extmap[]): void {
    this.#codecs = codecs;
    this.#extmaps = extmaps;
    this.#audioLevelId = extmaps.find((e) => e.uri === EXT_AUDIO_LEVEL)?.id;
  }

  get codecs(): readonly Codec[] {
    return this.#codecs;
  }

  getParameters(): { codecs: RTCRtpCodec[]; headerExtensions: { uri: string; id: number }[] } {
    const kind = this.track.kind;
    return {
      codecs: this.#codecs.map((c) => toRtcCodec(kind, c)),
      headerExtensions: this.#extmaps.map((e) => ({ uri: e.uri, id: e.id })),
    };
  }

  /** Per SSRC: when its newest packet arrived (wall-clock ms) and that packet's RTP timestamp. */
  getSynchronizationSources(): { source: number; timestamp: number; rtpTimestamp: number }[] {
    const now = this.#clock.now();
    const wall = this.#clock.wallNow();
    return [...this.streams.values()]
      .filter((s) => s.stats.lastPacketReceivedAt >= 0)
      .map((s) => ({
        source: s.ssrc,
        timestamp: wall - (now - s.stats.lastPacketReceivedAt),
        rtpTimestamp: s.stats.lastRtpTimestamp,
      }));
  }

  #stream(ssrc: number, rid: string | undefined, pt: number): ReceiveStream | undefined {
    let s = this.streams.get(ssrc);
    if (s && s.payloadType === pt) return s;
    const codec = this.#codecs.find((c) => c.payloadType === pt && !isRtx(c));
    if (!codec) return undefined;
    const name = payloadCodecName(codec.name);
    if (!s) {
      s = {
        ssrc,
        rid,
        stats: new ReceiveStatistics(ssrc, codec.clockRate),
        nack: new NackGenerator(),
        jitter: undefined,
        payloadType: pt,
        codec,
        framesReceived: 0,
        keyFramesReceived: 0,
        firstTimestamp: undefined,
        pliCount: 0,
        lastPliAt: -Infinity,
        retransmittedPacketsReceived: 0,
        remoteSender: undefined,
        video: this.track.kind === 'video' ? new VideoFrameMeter() : undefined,
        audio: this.track.kind === 'audio' ? new AudioLevelMeter() : undefined,
      };
      this.streams.set(ssrc, s);
    }
    s.payloadType = pt;
    s.codec = codec;
    const stream = s;
    s.jitter = name
      ? new JitterBuffer({
          reader: createDepacketizer(name),
          audio: this.track.kind === 'audio',
          onFrame: (f) => {
            stream.framesReceived++;
            if (f.keyframe) stream.keyFramesReceived++;
            stream.video?.onFrame(this.#clock.wallNow(), codec.name, f.data, f.keyframe);
            if (stream.firstTimestamp === undefined) stream.firstTimestamp = f.timestamp;
            const elapsed = (f.timestamp - stream.firstTimestamp) >>> 0;
            this.track.emit('frame', {
              data: f.data,
              rtpTimestamp: f.timestamp,
              timestamp: (elapsed * 1000) / codec.clockRate,
              keyframe: f.keyframe,
              codec: codec.name,
              ssrc,
              ...(stream.rid !== undefined && { rid: stream.rid }),
            });
          },
          onKeyframeNeeded: () => this.#pli(stream),
        })
      : undefined;
    return s;
  }

  #pli(s: ReceiveStream): void {
    const now = this.#clock.now();
    if (now - s.lastPliAt < PLI_INTERVAL_MS) return;
    s.lastPliAt = now;
    s.pliCount++;
    this.requestKeyframe?.(s.ssrc);
  }

  /** @internal One media packet (RTX already unwrapped, `repaired` when it came over RTX). */
  handleRtp(p: RtpPacket, size: number, rid: string | undefined, repaired = false): boolean {
    const s = this.#stream(p.ssrc, rid, p.payloadType);
    if (!s) return false;
    const now = this.#clock.now();
    const ext = s.stats.onPacket(p.sequenceNumber, p.timestamp, size, p.payload.length, now);
    if (repaired) s.retransmittedPacketsReceived++;
    if (s.audio && this.#audioLevelId !== undefined) {
      const level = findExtension(p, this.#audioLevelId);
      if (level && level.length >= 1) s.audio.onPacket(level[0]! & 0x7f, p.timestamp, s.stats.clockRate);
    }
    s.nack.onPacket(ext, now);
    this.track.emit('rtp', p, rid !== undefined ? { rid } : {});
    s.jitter?.push(ext, p, now);
    return true;
  }

  /** @internal Periodic: release stalled gaps. */
  poll(now: number): void {
    for (const s of this.streams.values()) s.jitter?.poll(now);
  }
}
