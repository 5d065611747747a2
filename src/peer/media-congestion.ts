/**
 * Transport-wide congestion control for one bundled transport
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01), both halves:
 * - sending: every RTP packet gets the next transport-wide sequence number in the transport-cc
 *   header extension (when negotiated) and is noted in the GCC-style `CongestionController`; the
 *   peer's TWCC feedback (and REMB, as a cap) update the estimate, which is shared out to the
 *   senders as `RTCRtpSender.targetBitrate` (a 'targetbitrate' event on each change);
 * - receiving: arrival times of the peer's stamped packets go into a `TwccRecorder`, turned into
 *   TWCC feedback every 50 ms so a browser's send-side estimator can ramp up;
 * - REMB instead (draft-alvestrand-rmcat-remb-03), when the peer negotiated goog-remb but not
 *   transport-cc: the same GCC estimator runs on the receiving side, with abs-send-time as the
 *   send clock and our arrival times, and its estimate goes back as REMB every second (at once
 *   when it drops by more than 3%).
 */
import { CongestionController } from '../interceptor/congestion-controller.js';
import type { ProbeRequest } from '../interceptor/probe-controller.js';
import { TwccRecorder } from '../interceptor/twcc-recorder.js';
import type { Remb } from '../rtcp/feedback.js';
import type { TransportCcFeedback } from '../rtcp/twcc.js';
import {
  absSendTimeToMs,
  EXT_ABS_SEND_TIME,
  EXT_TRANSPORT_CC,
  parseAbsSendTime,
  parseTransportCc,
} from '../rtp/extensions.js';
import type { RtpHeaderExtension } from '../rtp/header-extensions.js';
import { findExtension, type RtpPacket } from '../rtp/packet.js';
import { absSendTimeData } from './abs-send-time.js';
import type { RTCRtpTransceiver } from './rtp-transceiver.js';

/** How often receive-side feedback goes out. */
const FEEDBACK_INTERVAL_MS = 50;
/** What an audio sender is assumed to need before video senders share the rest, bits/s. */
const AUDIO_SHARE = 64_000;
/** Start estimate (libwebrtc starts at 300 kbit/s too). */
const INITIAL_BITRATE = 300_000;
const REMB_INTERVAL_MS = 1000;
/** abs-send-time wraps every 64 s (6.18 fixed point seconds, 24 bits). */
const ABS_SEND_TIME_WRAP_MS = 64_000;

/**
 * Sees the transport-wide sequence numbers this transport gives out and the TWCC feedback it gets
 * (an SFU reads the controller's estimate after each feedback to choose a subscriber's layers).
 */
export interface TransportCcObserver {
  /** `cluster`: the probe cluster the packet belongs to (-1: none). */
  sent?(seq: number, size: number, now: number, cluster: number): void;
  /** Called once `controller` has read the feedback. */
  feedback(fb: TransportCcFeedback, now: number): void;
}

export class MediaCongestion {
  readonly controller: CongestionController;
  readonly #recorder = new TwccRecorder();
  #sendId: number | undefined;
  #absSendId: number | undefined;
  /** What stamp returns, reused (see stamp). */
  readonly #list: RtpHeaderExtension[] = [];
  readonly #absElement: { id: number; data: Uint8Array } = { id: 0, data: new Uint8Array(3) };
  readonly #tccElement: { id: number; data: Uint8Array } = { id: 0, data: new Uint8Array(2) };
  readonly #out: { -readonly [K in keyof RtpPacket]: RtpPacket[K] } = {
    marker: false,
    payloadType: 0,
    sequenceNumber: 0,
    timestamp: 0,
    ssrc: 0,
    csrcs: [],
    extensionProfile: undefined,
    extensions: [],
    extensionData: undefined,
    payload: new Uint8Array(0),
    paddingSize: 0,
  };
  #recvId: number | undefined;
  #seq = 1;
  #lastFeedback = -Infinity;
  #mediaSsrc = 0;
  #pending = false;
  /** The peer's REMB (bits/s), a cap on the estimate. */
  remb: number | undefined;
  feedbackSent = 0;
  feedbackReceived = 0;
  rembSent = 0;
  observer: TransportCcObserver | undefined;
  // REMB mode: the receive-side estimator.
  #absId: number | undefined;
  readonly #remote = new CongestionController({ initialBitrate: INITIAL_BITRATE });
  readonly #remoteRecorder = new TwccRecorder();
  #remoteSeq = 0;
  #absLast = -1;
  #absBase = 0;
  #remotePending = false;
  #lastRemb = -Infinity;
  #lastRembValue = 0;
  readonly #remoteSsrcs = new Set<number>();

  /** `initialBitrate`: the controller's start estimate (bits/s, default INITIAL_BITRATE). */
  constructor(initialBitrate = INITIAL_BITRATE) {
    this.controller = new CongestionController({ initialBitrate });
  }

  /** After negotiation: the transport-cc extension ids of the bundle (one id per URI, RFC 8843 §9.2). */
  configure(transceivers: readonly RTCRtpTransceiver[]): void {
    this.#sendId = undefined;
    this.#absSendId = undefined;
    this.#recvId = undefined;
    this.#absId = undefined;
    let remb = false;
    for (const t of transceivers) {
      this.#sendId ??= t.sender.extmaps.find((e) => e.uri === EXT_TRANSPORT_CC)?.id;
      this.#absSendId ??= t.sender.extmaps.find((e) => e.uri === EXT_ABS_SEND_TIME)?.id;
      const exts = t.receiver.getParameters().headerExtensions;
      this.#recvId ??= exts.find((e) => e.uri === EXT_TRANSPORT_CC)?.id;
      this.#absId ??= exts.find((e) => e.uri === EXT_ABS_SEND_TIME)?.id;
      if (t.receiver.codecs.some((c) => c.rtcpFeedback.some((f) => f.type === 'goog-remb'))) remb = true;
    }
    if (!remb || this.#recvId !== undefined) this.#absId = undefined;
  }

  /** Whether we estimate for the peer and send REMB (goog-remb without transport-cc). */
  get rembMode(): boolean {
    return this.#absId !== undefined;
  }

  /**
   * The bitrate the pacer follows: the estimate once the peer gives feedback on what we send
   * (transport-cc negotiated, or REMB received); without either there is none and nothing is held.
   */
  get pacingBitrate(): number {
    return this.#sendId !== undefined || this.remb !== undefined ? this.estimate : Infinity;
  }

  /**
   * The packet as it leaves (the pacer's output): the next transport-wide sequence number when
   * negotiated, and abs-send-time re-stamped with the actual send time (the pacer delayed it).
   *
   * Without allocating per packet: the result is one packet object, one extension list and one
   * transport-cc element this instance reuses for every stamp, so it is valid only until the next
   * call (the caller serializes it at once). `p` and its extension list are never written to:
   * the send history keeps those for retransmission (an RTX packet is stamped afresh as it leaves).
   */
  stamp(p: RtpPacket, size: number, now: number): RtpPacket {
    const id = this.#sendId;
    const abs = this.#absSendId;
    const from = p.extensions;
    let stamped: Uint8Array | undefined;
    if (abs !== undefined)
      for (let i = 0; i < from.length; i++) if (from[i]!.id === abs) stamped = from[i]!.data;
    if (id === undefined && !stamped) return p;
    const absData = stamped ? absSendTimeData(now) : undefined;
    // Without transport-cc: already stamped with this time (not held by the pacer).
    if (id === undefined && stamped === absData) return p;
    // The extensions other than the two stamped here, in their order, then abs-send-time, then
    // transport-cc (as a new list built by filter and push had them).
    const list = this.#list;
    let n = 0;
    for (let i = 0; i < from.length; i++) {
      const e = from[i]!;
      if (e.id !== id && e.id !== abs) list[n++] = e;
    }
    if (absData) {
      const a = this.#absElement;
      a.id = abs!;
      a.data = absData;
      list[n++] = a;
    }
    if (id !== undefined) {
      const seq = this.#seq;
      this.#seq = (seq + 1) & 0xffff;
      const cluster = this.controller.onPacketSent(seq, size, now);
      this.observer?.sent?.(seq, size, now, cluster);
      const t = this.#tccElement;
      t.id = id;
      // draft-holmer-rmcat-transport-wide-cc-extensions-01 §2: the 16-bit sequence, big-endian.
      t.data[0] = seq >>> 8;
      t.data[1] = seq & 0xff;
      list[n++] = t;
    }
    if (list.length !== n) list.length = n;
    const q = this.#out;
    q.marker = p.marker;
    q.payloadType = p.payloadType;
    q.sequenceNumber = p.sequenceNumber;
    q.timestamp = p.timestamp;
    q.ssrc = p.ssrc;
    q.csrcs = p.csrcs;
    q.extensionProfile = p.extensionProfile;
    q.extensions = list;
    q.extensionData = p.extensionData;
    q.payload = p.payload;
    q.paddingSize = p.paddingSize;
    return q;
  }

  /**
   * A probe to run through the pacer now, if the controller wants one (only with transport-cc:
   * probes are judged from TWCC feedback).
   */
  takeProbe(now: number): ProbeRequest | undefined {
    return this.#sendId !== undefined ? this.controller.takeProbe(now) : undefined;
  }

  /** A received RTP packet (any stream of the transport), `size` bytes. */
  onRtp(p: RtpPacket, now: number, size = 12 + p.payload.length): void {
    if (this.#absId !== undefined) this.#onRembRtp(p, now, size);
    const id = this.#recvId;
    if (id === undefined) return;
    const ext = findExtension(p, id);
    if (!ext || ext.length < 2) return;
    this.#recorder.record(parseTransportCc(ext), now);
    this.#mediaSsrc = p.ssrc;
    this.#pending = true;
  }

  /** Whether transport-wide feedback is due (packets are waiting and the interval has passed). */
  feedbackDue(now: number): boolean {
    return this.#pending && now - this.#lastFeedback >= FEEDBACK_INTERVAL_MS;
  }

  /** Feedback to send now (every 50 ms while packets arrive), from our SSRC `senderSsrc`. */
  feedback(now: number, senderSsrc: number): TransportCcFeedback | undefined {
    if (!this.#pending || now - this.#lastFeedback < FEEDBACK_INTERVAL_MS) return undefined;
    this.#lastFeedback = now;
    this.#pending = false;
    const fb = this.#recorder.buildFeedback(senderSsrc, this.#mediaSsrc);
    if (fb) this.feedbackSent++;
    return fb;
  }

  #onRembRtp(p: RtpPacket, now: number, size: number): void {
    const ext = findExtension(p, this.#absId!);
    if (!ext || ext.length < 3) return;
    let ms = absSendTimeToMs(parseAbsSendTime(ext));
    // Unwrap: a jump back by more than half the range is a wrap.
    if (this.#absLast >= 0 && ms + this.#absBase < this.#absLast - ABS_SEND_TIME_WRAP_MS / 2)
      this.#absBase += ABS_SEND_TIME_WRAP_MS;
    ms += this.#absBase;
    this.#absLast = ms;
    const seq = this.#remoteSeq;
    this.#remoteSeq = (seq + 1) & 0xffff;
    this.#remote.onPacketSent(seq, size, ms);
    this.#remoteRecorder.record(seq, now);
    this.#remoteSsrcs.add(p.ssrc);
    this.#remotePending = true;
  }

  /** REMB to send now (REMB mode only), from our SSRC `senderSsrc`. */
  rembToSend(now: number, senderSsrc: number): Remb | undefined {
    if (this.#absId === undefined) return undefined;
    if (this.#remotePending && now - this.#lastFeedback >= FEEDBACK_INTERVAL_MS) {
      this.#lastFeedback = now;
      this.#remotePending = false;
      const fb = this.#remoteRecorder.buildFeedback(0, 0);
      if (fb) this.#remote.onFeedback(fb, now);
    }
    if (this.#remoteSsrcs.size === 0) return undefined;
    const bitrate = Math.round(this.#remote.targetBitrate);
    const due = now - this.#lastRemb >= REMB_INTERVAL_MS || bitrate < 0.97 * this.#lastRembValue;
    if (!due) return undefined;
    this.#lastRemb = now;
    this.#lastRembValue = bitrate;
    this.rembSent++;
    return { type: 'remb', senderSsrc, bitrate, ssrcs: [...this.#remoteSsrcs].slice(0, 255) };
  }

  /** The peer's TWCC feedback on what we sent. */
  onFeedback(fb: TransportCcFeedback, now: number, rttMs: number | undefined): void {
    this.feedbackReceived++;
    if (rttMs !== undefined) this.controller.rttMs = rttMs;
    this.controller.onFeedback(fb, now);
    this.observer?.feedback(fb, now);
  }

  /** The transport's estimate, bits/s (the controller's, capped by the peer's REMB). */
  get estimate(): number {
    return Math.min(this.controller.targetBitrate, this.remb ?? Infinity);
  }

  /**
   * Share the estimate out: audio senders get up to 64 kbit/s each, video senders split the rest
   * evenly. Only once an estimate exists (feedback or REMB arrived).
   */
  distribute(transceivers: readonly RTCRtpTransceiver[]): void {
    if (this.feedbackReceived === 0 && this.remb === undefined) return;
    const sending = transceivers.filter((t) => t.sender.out !== undefined && t.sender.active);
    const audio = sending.filter((t) => t.kind === 'audio');
    const video = sending.filter((t) => t.kind === 'video');
    const total = this.estimate;
    const audioEach = audio.length ? Math.min(AUDIO_SHARE, total / (audio.length + video.length)) : 0;
    const videoEach = video.length ? (total - audioEach * audio.length) / video.length : 0;
    for (const t of audio) t.sender.setTargetBitrate(audioEach);
    for (const t of video) t.sender.setTargetBitrate(videoEach);
  }
}
