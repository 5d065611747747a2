/**
 * RTCRtpSender: packetizes the encoded frames its track writes (or rewrites forwarded RTP),
 * keeps a send history for NACK (answered over RTX when negotiated, RFC 4588), turns PLI/FIR into
 * 'keyframerequest' on the track, and counts what outbound-rtp stats report.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { rtxPacket, SendHistory } from '../interceptor/nack.js';
import { createPacketizer, isKeyframe, type Packetizer, payloadCodecName } from '../media/payload/index.js';
import {
  absSendTimeFromMs,
  EXT_ABS_SEND_TIME,
  EXT_MID,
  serializeAbsSendTime,
  serializeSdesExtension,
} from '../rtp/extensions.js';
import type { RtpHeaderExtension } from '../rtp/header-extensions.js';
import type { RtpPacket } from '../rtp/packet.js';
import { parseFmtpParameters } from '../sdp/attributes.js';
import { type Codec, isRtx } from '../sdp/codecs.js';
import type { Extmap } from '../sdp/types.js';
import { type RTCRtpCodec, toRtcCodec } from './media-codecs.js';
import type { EncodedFrameInit, MediaStreamTrack } from './media-track.js';

/** Room left in a 1200-byte datagram for the payload (RTP header, extensions, SRTP tag). */
const MAX_PAYLOAD = 1100;

export interface RTCRtpEncodingParameters {
  rid?: string;
  active?: boolean;
  maxBitrate?: number;
  scaleResolutionDownBy?: number;
  ssrc?: number;
}

export interface RTCRtpSendParameters {
  transactionId: string;
  encodings: RTCRtpEncodingParameters[];
  codecs: RTCRtpCodec[];
  headerExtensions: { uri: string; id: number }[];
  rtcp: { cname: string; reducedSize: boolean };
}

export interface SenderNegotiation {
  readonly mid: string;
  readonly codecs: readonly Codec[];
  readonly extmaps: readonly Extmap[];
}

export class RTCRtpSender {
  readonly kind: 'audio' | 'video';
  #track: MediaStreamTrack | null = null;
  readonly ssrc = randomInt(1, 2 ** 32 - 1);
  readonly rtxSsrc = randomInt(1, 2 ** 32 - 1);
  readonly cname: string;
  readonly #clock: Clock;
  #codec: Codec | undefined;
  #rtxPt: number | undefined;
  #packetizer: Packetizer | undefined;
  #negotiation: SenderNegotiation | undefined;
  #seq = randomInt(0, 0x8000);
  #rtxSeq = randomInt(0, 0x8000);
  readonly #tsBase = randomInt(0, 2 ** 31);
  #firstFrameMs: number | undefined;
  /** Forwarding: offset from the source's timestamps to ours, re-based on a source change. */
  #fwd: { ssrc: number; tsOffset: number; lastTs: number } | undefined;
  #transactionId = '';
  #encodings: RTCRtpEncodingParameters[];
  readonly history = new SendHistory(1024);
  /** Set by the media session once SRTP is keyed; undefined drops (not connected yet). */
  out: ((packet: RtpPacket) => void) | undefined;
  readonly stats = {
    packetsSent: 0,
    bytesSent: 0,
    headerBytesSent: 0,
    framesSent: 0,
    keyFramesSent: 0,
    nackCount: 0,
    pliCount: 0,
    firCount: 0,
    retransmittedPacketsSent: 0,
    retransmittedBytesSent: 0,
    lastRtpTimestamp: 0,
    lastPacketSentAt: -1,
  };
  /** RTT from the peer's report blocks, ms. */
  roundTripTime: number | undefined;
  remoteReport: { fractionLost: number; packetsLost: number; jitter: number } | undefined;

  readonly #onWrite = (f: EncodedFrameInit): void => this.writeFrame(f);
  readonly #onWriteRtp = (p: RtpPacket): void => this.writeRtp(p);

  constructor(
    kind: 'audio' | 'video',
    clock: Clock,
    cname: string,
    encodings: RTCRtpEncodingParameters[] = [{}],
  ) {
    this.kind = kind;
    this.#clock = clock;
    this.cname = cname;
    this.#encodings = encodings.map((e) => ({ active: true, ...e }));
  }

  get track(): MediaStreamTrack | null {
    return this.#track;
  }
  get codec(): Codec | undefined {
    return this.#codec;
  }
  get mid(): string | undefined {
    return this.#negotiation?.mid;
  }

  /** W3C replaceTrack: swap the source without renegotiation. */
  async replaceTrack(track: MediaStreamTrack | null): Promise<void> {
    if (track && track.kind !== this.kind)
      throw new TypeError(`cannot send a ${track.kind} track on a ${this.kind} sender`);
    this.setTrack(track);
  }

  /** @internal */
  setTrack(track: MediaStreamTrack | null): void {
    if (this.#track === track) return;
    this.#track?.off('write', this.#onWrite);
    this.#track?.off('writertp', this.#onWriteRtp);
    this.#track = track;
    track?.on('write', this.#onWrite);
    track?.on('writertp', this.#onWriteRtp);
  }

  /** @internal After negotiation: the codecs (first usable one sends) and extension ids. */
  configure(n: SenderNegotiation): void {
    this.#negotiation = n;
    const codec = n.codecs.find((c) => !isRtx(c) && payloadCodecName(c.name) !== undefined);
    if (codec?.payloadType !== this.#codec?.payloadType || codec?.name !== this.#codec?.name) {
      this.#codec = codec;
      this.#packetizer = codec ? createPacketizer(payloadCodecName(codec.name)!) : undefined;
    }
    const rtx = codec
      ? n.codecs.find(
          (c) => isRtx(c) && parseFmtpParameters(c.fmtp ?? '').get('apt') === String(codec.payloadType),
        )
      : undefined;
    this.#rtxPt = rtx?.payloadType;
  }

  get rtxPayloadType(): number | undefined {
    return this.#rtxPt;
  }

  getParameters(): RTCRtpSendParameters {
    this.#transactionId = randomBytes(8).toString('hex');
    const n = this.#negotiation;
    return {
      transactionId: this.#transactionId,
      encodings: this.#encodings.map((e) => ({ ...e, ssrc: this.ssrc })),
      codecs: (n?.codecs ?? []).map((c) => toRtcCodec(this.kind, c)),
      headerExtensions: (n?.extmaps ?? []).map((e) => ({ uri: e.uri, id: e.id })),
      rtcp: { cname: this.cname, reducedSize: true },
    };
  }

  async setParameters(p: RTCRtpSendParameters): Promise<void> {
    if (p.transactionId !== this.#transactionId) {
      throw Object.assign(new Error('stale transactionId'), { name: 'InvalidModificationError' });
    }
    if (p.encodings.length !== this.#encodings.length) {
      throw Object.assign(new Error('encodings cannot be added or removed'), {
        name: 'InvalidModificationError',
      });
    }
    this.#encodings = p.encodings.map((e, i) => ({
      ...this.#encodings[i],
      ...e,
      rid: this.#encodings[i]!.rid,
    }));
  }

  get active(): boolean {
    return this.#encodings[0]?.active !== false;
  }

  #extensions(): RtpHeaderExtension[] {
    const out: RtpHeaderExtension[] = [];
    for (const e of this.#negotiation?.extmaps ?? []) {
      if (e.uri === EXT_MID && this.#negotiation)
        out.push({ id: e.id, data: serializeSdesExtension(this.#negotiation.mid) });
      else if (e.uri === EXT_ABS_SEND_TIME)
        out.push({ id: e.id, data: serializeAbsSendTime(absSendTimeFromMs(this.#clock.now())) });
    }
    return out;
  }

  /** Packetize and send one encoded frame (dropped while not negotiated or not connected). */
  writeFrame(f: EncodedFrameInit): void {
    const codec = this.#codec;
    const packetizer = this.#packetizer;
    if (!codec || !packetizer || !this.out || !this.active) return;
    const name = payloadCodecName(codec.name)!;
    if (this.#firstFrameMs === undefined) this.#firstFrameMs = f.timestamp;
    const ts =
      (this.#tsBase + Math.round(((f.timestamp - this.#firstFrameMs) * codec.clockRate) / 1000)) >>> 0;
    const keyframe = f.keyframe ?? isKeyframe(name, f.data);
    const payloads = packetizer.packetize(f.data, MAX_PAYLOAD, keyframe);
    const extensions = this.#extensions();
    payloads.forEach((payload, i) => {
      this.#send({
        marker: this.kind === 'video' ? i === payloads.length - 1 : false,
        payloadType: codec.payloadType,
        sequenceNumber: this.#nextSeq(),
        timestamp: ts,
        ssrc: this.ssrc,
        csrcs: [],
        extensions,
        payload,
        paddingSize: 0,
      });
    });
    this.stats.framesSent++;
    if (keyframe && this.kind === 'video') this.stats.keyFramesSent++;
  }

  /** Forward an RTP packet from elsewhere as ours: our SSRC, payload type, sequence and timestamps. */
  writeRtp(p: RtpPacket): void {
    const codec = this.#codec;
    if (!codec || !this.out || !this.active) return;
    if (!this.#fwd || this.#fwd.ssrc !== p.ssrc) {
      // A new source: continue our timeline one frame after the last timestamp we sent.
      const next = this.#fwd ? this.#fwd.lastTs + Math.round(codec.clockRate / 30) : this.#tsBase;
      this.#fwd = { ssrc: p.ssrc, tsOffset: (next - p.timestamp) >>> 0, lastTs: next };
    }
    const ts = (p.timestamp + this.#fwd.tsOffset) >>> 0;
    this.#fwd.lastTs = ts;
    this.#send({
      ...p,
      payloadType: codec.payloadType,
      sequenceNumber: this.#nextSeq(),
      timestamp: ts,
      ssrc: this.ssrc,
      extensions: this.#extensions(),
      paddingSize: 0,
    });
    if (p.marker || this.kind === 'audio') this.stats.framesSent++;
  }

  #nextSeq(): number {
    const s = this.#seq;
    this.#seq = (s + 1) & 0xffff;
    return s;
  }

  #send(p: RtpPacket): void {
    this.history.add(p);
    this.stats.packetsSent++;
    this.stats.bytesSent += p.payload.length;
    this.stats.headerBytesSent += 12;
    this.stats.lastRtpTimestamp = p.timestamp;
    this.stats.lastPacketSentAt = this.#clock.now();
    this.out?.(p);
  }

  /** @internal NACK from the peer: resend what the history still has. */
  onNack(lost: readonly number[]): void {
    this.stats.nackCount++;
    for (const seq of lost) {
      const p = this.history.get(seq);
      if (!p || !this.out) continue;
      const again = this.#rtxPt !== undefined ? rtxPacket(p, this.rtxSsrc, this.#rtxPt, this.#rtxSeq++) : p;
      this.stats.retransmittedPacketsSent++;
      this.stats.retransmittedBytesSent += p.payload.length;
      this.out(again);
    }
  }

  /** @internal PLI or FIR from the peer. */
  onKeyframeRequest(kind: 'pli' | 'fir'): void {
    if (kind === 'pli') this.stats.pliCount++;
    else this.stats.firCount++;
    this.#track?.emit('keyframerequest');
  }

  /** @internal */
  stop(): void {
    this.setTrack(null);
    this.out = undefined;
  }
}
