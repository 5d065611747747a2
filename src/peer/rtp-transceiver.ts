/**
 * RTCRtpTransceiver: a sender and a receiver sharing one m= section (mid), with the direction the
 * application wants and the one negotiation settled on, and codec preferences.
 */
import type { Codec } from '../sdp/codecs.js';
import type { Direction } from '../sdp/types.js';
import { DEFAULT_AUDIO_CODECS, DEFAULT_VIDEO_CODECS, type RTCRtpCodec, toRtcCodec } from './media-codecs.js';
import type { MediaStream } from './media-track.js';
import type { RTCRtpReceiver } from './rtp-receiver.js';
import type { RTCRtpSender } from './rtp-sender.js';

export type RTCRtpTransceiverDirection = Direction | 'stopped';

export class RTCRtpTransceiver {
  readonly kind: 'audio' | 'video';
  readonly sender: RTCRtpSender;
  readonly receiver: RTCRtpReceiver;
  #mid: string | null = null;
  #direction: Direction;
  #currentDirection: Direction | null = null;
  #stopped = false;
  #codecs: readonly Codec[];
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

  /** @internal The codecs to put in descriptions. */
  get codecs(): readonly Codec[] {
    return this.#codecs;
  }
}

/** W3C RTCRtpSender.getCapabilities / RTCRtpReceiver.getCapabilities. */
export function getCapabilities(
  kind: string,
): { codecs: RTCRtpCodec[]; headerExtensions: { uri: string }[] } | null {
  if (kind !== 'audio' && kind !== 'video') return null;
  const list = kind === 'audio' ? DEFAULT_AUDIO_CODECS : DEFAULT_VIDEO_CODECS;
  return { codecs: list.map((c) => toRtcCodec(kind, c)), headerExtensions: [] };
}
