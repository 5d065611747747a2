/**
 * RTCRtpTransceiver: a sender and a receiver sharing one m= section (mid), with the direction the
 * application wants and the one negotiation settled on, and codec preferences.
 */

import { EXT_DEPENDENCY_DESCRIPTOR, EXT_MID, EXT_TRANSPORT_CC } from '../rtp/extensions.js';
import type { Codec } from '../sdp/codecs.js';
import type { Direction, Extmap } from '../sdp/types.js';
import {
  CONGESTION_FEEDBACK,
  DEFAULT_AUDIO_CODECS,
  DEFAULT_VIDEO_CODECS,
  defaultHeaderExtensions,
  type RTCRtpCodec,
  toRtcCodec,
} from './media-codecs.js';
import type { MediaStream } from './media-track.js';
import type { RTCRtpReceiver } from './rtp-receiver.js';
import type { RTCRtpSender } from './rtp-sender.js';

export type RTCRtpTransceiverDirection = Direction | 'stopped';

/** W3C RTCRtpHeaderExtensionCapability with its direction (setHeaderExtensionsToNegotiate). */
export interface RTCRtpHeaderExtensionCapability {
  uri: string;
  direction: RTCRtpTransceiverDirection;
}

export class RTCRtpTransceiver {
  readonly kind: 'audio' | 'video';
  readonly sender: RTCRtpSender;
  readonly receiver: RTCRtpReceiver;
  #mid: string | null = null;
  #direction: Direction;
  #currentDirection: Direction | null = null;
  #stopped = false;
  #codecs: readonly Codec[];
  /** transport-cc (and with it TWCC/REMB feedback) is negotiated unless stopped, as browsers do. */
  #transportCc = true;
  /** Negotiate the dependency descriptor (off by default; an SFU forwarding SVC turns it on). */
  #dependencyDescriptor = false;
  /** Streams (msid) the sender's track belongs to. */
  streams: MediaStream[] = [];
  /** Simulcast rids to send, lowest first (from sendEncodings). */
  readonly sendRids: readonly string[];
  /** @internal ontrack fired for the current remote sending state. */
  firedTrack = false;
  /** @internal The remote section's msid stream ids. */
  remoteStreamIds: string[] = [];
  readonly #onChange: () => void;

  constructor(
    kind: 'audio' | 'video',
    sender: RTCRtpSender,
    receiver: RTCRtpReceiver,
    direction: Direction,
    sendRids: readonly string[],
    onChange: () => void,
  ) {
    this.kind = kind;
    this.sender = sender;
    this.receiver = receiver;
    this.#direction = direction;
    this.sendRids = sendRids;
    this.#codecs = kind === 'audio' ? DEFAULT_AUDIO_CODECS : DEFAULT_VIDEO_CODECS;
    this.#onChange = onChange;
  }

  get mid(): string | null {
    return this.#mid;
  }
  /** @internal */
  setMid(mid: string): void {
    this.#mid = mid;
  }
  get direction(): RTCRtpTransceiverDirection {
    return this.#stopped ? 'stopped' : this.#direction;
  }
  set direction(d: RTCRtpTransceiverDirection) {
    if (this.#stopped) throw Object.assign(new Error('transceiver stopped'), { name: 'InvalidStateError' });
    if (d === 'stopped') throw new TypeError('use stop()');
    if (d === this.#direction) return;
    this.#direction = d;
    this.#onChange();
  }
  get currentDirection(): RTCRtpTransceiverDirection | null {
    return this.#stopped ? 'stopped' : this.#currentDirection;
  }
  /** @internal */
  setCurrentDirection(d: Direction): void {
    this.#currentDirection = d;
  }
  get stopped(): boolean {
    return this.#stopped;
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.sender.stop();
    this.receiver.track.stop();
    this.#onChange();
  }

  /** W3C setCodecPreferences: order (and subset) of codecs to offer/answer; [] resets. */
  setCodecPreferences(codecs: readonly RTCRtpCodec[]): void {
    const all = this.kind === 'audio' ? DEFAULT_AUDIO_CODECS : DEFAULT_VIDEO_CODECS;
    if (codecs.length === 0) {
      this.#codecs = all;
      return;
    }
    const picked: Codec[] = [];
    for (const want of codecs) {
      const c = all.find((x) => {
        const r = toRtcCodec(this.kind, x);
        return (
          r.mimeType.toLowerCase() === want.mimeType.toLowerCase() &&
          r.clockRate === want.clockRate &&
          (want.sdpFmtpLine === undefined || r.sdpFmtpLine === want.sdpFmtpLine)
        );
      });
      if (!c)
        throw Object.assign(new Error(`codec ${want.mimeType} not supported`), {
          name: 'InvalidModificationError',
        });
      if (!picked.includes(c)) picked.push(c);
    }
    // RTX follows whichever primary codecs were kept.
    const kept = new Set(picked.map((c) => String(c.payloadType)));
    for (const c of all)
      if (c.name === 'rtx' && kept.has(c.fmtp?.split('=')[1] ?? '') && !picked.includes(c)) picked.push(c);
    this.#codecs = picked;
  }

  /** @internal The codecs to put in descriptions (with TWCC/REMB feedback when transport-cc is on). */
  get codecs(): readonly Codec[] {
    if (!this.#transportCc) return this.#codecs;
    return this.#codecs.map((c) =>
      c.name === 'rtx' ? c : { ...c, rtcpFeedback: [...CONGESTION_FEEDBACK, ...c.rtcpFeedback] },
    );
  }

  /** @internal The header extensions to put in descriptions. */
  get headerExtensions(): Extmap[] {
    return defaultHeaderExtensions(this.kind, this.#transportCc, this.#dependencyDescriptor);
  }

  /**
   * W3C getHeaderExtensionsToNegotiate: every extension rtcstack supports for this kind, 'stopped'
   * where it is not offered. transport-cc is on by default, as in browsers: transport-wide congestion
   * control (TWCC feedback to the peer, RTCRtpSender.targetBitrate and pacing from its feedback, REMB
   * when the peer has no transport-cc). Stop it to leave the peer's estimator without our arrival
   * times (they include how late this process reads packets on a badly overloaded host).
   */
  getHeaderExtensionsToNegotiate(): RTCRtpHeaderExtensionCapability[] {
    return defaultHeaderExtensions(this.kind, true, true).map((e) => ({
      uri: e.uri,
      direction:
        (e.uri === EXT_TRANSPORT_CC && !this.#transportCc) ||
        (e.uri === EXT_DEPENDENCY_DESCRIPTOR && !this.#dependencyDescriptor)
          ? 'stopped'
          : 'sendrecv',
    }));
  }

  /** W3C setHeaderExtensionsToNegotiate (applies to the next offer or answer). */
  setHeaderExtensionsToNegotiate(exts: readonly RTCRtpHeaderExtensionCapability[]): void {
    const known = new Set(defaultHeaderExtensions(this.kind, true, true).map((e) => e.uri));
    for (const e of exts) {
      if (!known.has(e.uri))
        throw Object.assign(new Error(`unsupported header extension ${e.uri}`), {
          name: 'InvalidModificationError',
        });
      if (e.uri === EXT_MID && e.direction === 'stopped')
        throw Object.assign(new Error('mid cannot be stopped'), { name: 'InvalidModificationError' });
    }
    const tcc = exts.find((e) => e.uri === EXT_TRANSPORT_CC);
    if (tcc) this.#transportCc = tcc.direction !== 'stopped';
    const dd = exts.find((e) => e.uri === EXT_DEPENDENCY_DESCRIPTOR);
    if (dd) this.#dependencyDescriptor = dd.direction !== 'stopped';
  }
}

/** W3C RTCRtpSender.getCapabilities / RTCRtpReceiver.getCapabilities. */
export function getCapabilities(
  kind: string,
): { codecs: RTCRtpCodec[]; headerExtensions: { uri: string }[] } | null {
  if (kind !== 'audio' && kind !== 'video') return null;
  const list = kind === 'audio' ? DEFAULT_AUDIO_CODECS : DEFAULT_VIDEO_CODECS;
  return {
    codecs: list.map((c) => toRtcCodec(kind, c)),
    headerExtensions: defaultHeaderExtensions(kind, true).map((e) => ({ uri: e.uri })),
  };
}
