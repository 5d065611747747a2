/**
 * RTCPeerConnection (W3C webrtc-pc) on Node: JSEP signaling over the sdp layer, one bundled
 * transport (ICE + DTLS + SCTP, see transport-stack.ts), data channels, stats.
 *
 * Non-standard second constructor argument: `PeerOptions` (clock, network, loopback gathering,
 * DTLS versions...). Everything else follows the browser API so the same code runs on both.
 */
import { randomUUID } from 'node:crypto';
import { type Clock, systemClock } from '../core/clock.js';
import { createLogger, type Logger } from '../core/log.js';
import type { Network } from '../core/net.js';
import type { Random } from '../core/random.js';
import type { RTCDataChannel, RTCDataChannelInit } from '../datachannel/data-channel.js';
import { HandlerTarget } from '../datachannel/events.js';
import type { DtlsVersion } from '../dtls/endpoint.js';
import type { IceCandidateEvent, IceServer, IceTransportState } from '../ice/types.js';
import { parseIceServerUrl } from '../ice/url.js';
import type { CongestionController } from '../interceptor/congestion-controller.js';
import { parseCandidate, serializeCandidate } from '../sdp/candidate.js';
import { codecsOf } from '../sdp/codecs.js';
import {
  buildAnswer,
  buildOffer,
  DEFAULT_MAX_MESSAGE_SIZE,
  type DescriptionOptions,
  generateIceCredentials,
  generateSessionId,
  type IceParameters,
  isIceRestart,
  type LocalSection,
  nextSignalingState,
  type RtpSection,
  reverseDirection,
  type SignalingState,
  transportOf,
  validateAnswer,
  validateDescription,
} from '../sdp/jsep.js';
import { parseSdp } from '../sdp/parse.js';
import { serializeSdp } from '../sdp/serialize.js';
import type {
  Direction,
  MediaDescription,
  Candidate as SdpCandidate,
  SessionDescription,
} from '../sdp/types.js';
import { generateRtcCertificate, type RTCCertificate, takeFreshCertificate } from './certificate.js';
import {
  RTCIceCandidate,
  type RTCIceCandidateInit,
  RTCSessionDescription,
  type RTCSessionDescriptionInit,
} from './description.js';
import { domException, toDomException } from './dom-exception.js';
import { makeEvent } from './event-target.js';
import type { TransportCcObserver } from './media-congestion.js';
import { MediaSession } from './media-session.js';
import { addMediaStats } from './media-stats.js';
import { MediaStream, type MediaStreamTrack } from './media-track.js';
import { OperationsChain } from './operations-chain.js';
import { RTCRtpReceiver } from './rtp-receiver.js';
import { type RTCRtpEncodingParameters, RTCRtpSender } from './rtp-sender.js';
import { RTCRtpTransceiver } from './rtp-transceiver.js';
import { collectPeerStats, type RTCStatsReport } from './stats.js';
import { TransportStack } from './transport-stack.js';

export type RTCIceTransportPolicy = 'all' | 'relay';
export type RTCBundlePolicy = 'balanced' | 'max-compat' | 'max-bundle';
export type RTCPeerConnectionState =
  | 'new'
  | 'connecting'
  | 'connected'
  | 'disconnected'
  | 'failed'
  | 'closed';
export type RTCIceConnectionState = IceTransportState;
export type RTCIceGatheringState = 'new' | 'gathering' | 'complete';
export type RTCSignalingState = SignalingState;

export type EventHandler<E extends Event> = ((ev: E) => unknown) | null;
export type RTCPeerConnectionIceEvent = Event & {
  readonly candidate: RTCIceCandidate | null;
  readonly url: string | null;
};
export type RTCDataChannelEvent = Event & { readonly channel: RTCDataChannel };
export type RTCTrackEvent = Event & {
  readonly track: MediaStreamTrack;
  readonly receiver: RTCRtpReceiver;
  readonly transceiver: RTCRtpTransceiver;
  readonly streams: readonly MediaStream[];
};

export interface RTCRtpTransceiverInit {
  direction?: Direction;
  streams?: MediaStream[];
  /** Simulcast: one entry per layer with its rid (lowest first). */
  sendEncodings?: RTCRtpEncodingParameters[];
}

export interface RTCConfiguration {
  iceServers?: IceServer[];
  iceTransportPolicy?: RTCIceTransportPolicy;
  bundlePolicy?: RTCBundlePolicy;
  rtcpMuxPolicy?: 'require';
  certificates?: RTCCertificate[];
  iceCandidatePoolSize?: number;
}

/** rtcstack-specific options (the browser API has no place for them). */
/** What RTCPeerConnection.droppedDatagrams() counts, by where a datagram was refused. */
export interface DroppedDatagrams {
  /** ICE: STUN that did not parse or authenticate, other methods, data from no known pair. */
  readonly ice: number;
  /** RFC 7983 demultiplexing: an unknown first byte, or DTLS before DTLS exists with a full queue. */
  readonly demux: number;
  /**
   * DTLS: datagrams that did not parse as records, records that did not authenticate, replays,
   * records of an epoch without keys (dropped, or held until its keys come).
   */
  readonly dtlsMalformed: number;
  readonly dtlsBadRecord: number;
  readonly dtlsReplay: number;
  readonly dtlsUnknownEpoch: number;
  /** SRTP/SRTCP: bad authentication tags, replays, packets too short or malformed. */
  readonly srtpAuth: number;
  readonly srtpReplay: number;
  readonly srtpMalformed: number;
  /** RTP/RTCP that decrypted but did not parse, and RTP no receiver takes. */
  readonly rtpParse: number;
  readonly rtpUnroutable: number;
}

export interface PeerOptions {
  /** Where sockets come from (default the real network; the virtual network in tests). */
  network?: Network;
  clock?: Clock;
  random?: Random;
  logger?: Logger;
  /** Gather host candidates on loopback too (default false, as browsers do). */
  includeLoopback?: boolean;
  /** Gather IPv6 host candidates (default true). */
  ipv6?: boolean;
  /** DTLS versions to offer, default ['1.3', '1.2'] (1.3 when the peer has it, as Chromium does). */
  dtlsVersions?: DtlsVersion[];
  /** The max-message-size we advertise (default 262144, like Chromium). */
  maxMessageSize?: number;
  /**
   * rtcstack extension: the send-side congestion controller's start estimate, bits/s (default
   * 300 kbit/s, as libwebrtc): what the pacer allows before the peer's first feedback, e.g. an
   * SFU's assumed downlink for a subscriber.
   */
  initialBitrate?: number;
}

interface LocalState {
  readonly type: 'offer' | 'answer' | 'pranswer';
  readonly options: DescriptionOptions;
  /** For answers: the offer answered. */
  readonly offer?: SessionDescription;
  /** The description as created (no candidates), and its text: what setLocalDescription took. */
  readonly created: Created;
}

/** What createOffer/createAnswer made: the text handed out and the description it came from. */
interface Created {
  readonly sdp: string;
  readonly description: SessionDescription;
}

/** Build once, serialize once: the text and the description are both kept. */
function created(description: SessionDescription): Created {
  return { sdp: serializeSdp(description), description };
}

export class RTCPeerConnection extends HandlerTarget {
  /** W3C static: generate a certificate for `certificates`. */
  static generateCertificate = generateRtcCertificate;

  #config: RTCConfiguration;
  readonly #opts: PeerOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #chain = new OperationsChain();
  #certificate: Promise<RTCCertificate>;
  readonly #stack: TransportStack;

  #signalingState: RTCSignalingState = 'stable';
  #iceConnectionState: RTCIceConnectionState = 'new';
  #iceGatheringState: RTCIceGatheringState = 'new';
  #connectionState: RTCPeerConnectionState = 'new';
  #closed = false;

  #currentLocal: LocalState | undefined;
  #pendingLocal: LocalState | undefined;
  #currentRemote: { type: string; sdp: SessionDescription; text: string } | undefined;
  #pendingRemote: { type: string; sdp: SessionDescription; text: string } | undefined;
  #lastOffer: { sdp: string; options: DescriptionOptions; created: Created } | undefined;
  #lastAnswer:
    | { sdp: string; options: DescriptionOptions; offer: SessionDescription; created: Created }
    | undefined;

  readonly #sessionId = generateSessionId();
  #sessionVersion = 1;
  #ice: IceParameters = generateIceCredentials();
  #restartPending = false;
  /** mid of the data section once one exists (ours or the remote offer's). */
  #dataMid: string | undefined;
  #wantData = false;
  #negotiationNeeded = false;
  #gatheredCandidates: SdpCandidate[] = [];
  #endOfCandidates = false;
  #gatheringStarted = false;
  #dtlsRoleSet = false;
  readonly #transceivers: RTCRtpTransceiver[] = [];
  /** m= section order (mids), kept stable across offers (RFC 9429 §5.2.2). */
  #midOrder: string[] = [];
  #localDataMid: string | undefined;
  readonly #cname = randomUUID();
  /** RTP/RTCP over SRTP; made when media is first negotiated (a data-only connection has none). */
  #mediaSession: MediaSession | undefined;
  readonly #remoteStreams = new Map<string, MediaStream>();

  constructor(configuration: RTCConfiguration = {}, options: PeerOptions = {}) {
    super();
    this.#config = validateConfiguration(configuration);
    this.#opts = options;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger ?? defaultLogger();
    const given = configuration.certificates?.[0];
    if (given && given.expires <= Date.now()) throw domException('InvalidAccessError', 'certificate expired');
    this.#certificate = given ? Promise.resolve(given) : takeFreshCertificate();
    // An unhandled rejection here would be reported on first use instead.
    this.#certificate.catch(() => {});
    this.#stack = this.#makeStack();
  }

  get #media(): MediaSession {
    this.#mediaSession ??= new MediaSession({
      clock: this.#clock,
      log: this.#log.child('media'),
      send: (d) => {
        if (this.#stack.hasAgent) this.#stack.agent.send(d);
      },
      transceivers: () => this.#transceivers.filter((t) => !t.stopped && t.mid !== null),
      ...(this.#opts.initialBitrate !== undefined && { initialBitrate: this.#opts.initialBitrate }),
    });
    return this.#mediaSession;
  }

  /**
   * rtcstack extension: watch this connection's transport-wide sequence numbers and the peer's TWCC
   * feedback (transport-cc negotiated; undefined stops watching).
   */
  observeTransportCc(observer: TransportCcObserver | undefined): void {
    this.#media.congestion.observer = observer;
  }

  /**
   * rtcstack extension: this connection's send-side congestion controller (transport-cc), to read
   * its estimate and the figures of the feedback it read last (e.g. an SFU choosing a subscriber's
   * layers from it, not from a second controller fed the same packets). Read only: the connection
   * feeds it.
   */
  get congestionController(): CongestionController {
    return this.#media.congestion.controller;
  }

  /**
   * rtcstack extension: keep what this connection sends at least at `bps` (media included) with
   * padding-only packets on a video RTX stream (RTX negotiated), e.g. to hold a rate the
   * application will need soon; 0 stops. Probes pad by themselves.
   */
  setPaddingBitrate(bps: number): void {
    this.#media.pacer.paddingBitrate = bps;
  }

  /**
   * rtcstack extension: the most this connection's senders could use (bits/s), e.g. an SFU's sum
   * of the top layers it forwards; bandwidth probes stay under it. 0: unknown (probes go up to
   * the congestion controller's maximum, 10 Mbit/s).
   */
  setProbeBitrateLimit(bps: number): void {
    this.#media.congestion.controller.probeCap = bps;
  }

  // ------------------------------------------------------------------ attributes

  get signalingState(): RTCSignalingState {
    return this.#signalingState;
  }
  get iceConnectionState(): RTCIceConnectionState {
    return this.#iceConnectionState;
  }
  get iceGatheringState(): RTCIceGatheringState {
    return this.#iceGatheringState;
  }
  get connectionState(): RTCPeerConnectionState {
    return this.#connectionState;
  }
  get canTrickleIceCandidates(): boolean | null {
    const r = this.#pendingRemote ?? this.#currentRemote;
    if (!r) return null;
    return (r.sdp.iceOptions ?? r.sdp.media[0]?.iceOptions ?? []).includes('trickle');
  }
  get localDescription(): RTCSessionDescription | null {
    return this.#describeLocal(this.#pendingLocal ?? this.#currentLocal);
  }
  get currentLocalDescription(): RTCSessionDescription | null {
    return this.#describeLocal(this.#currentLocal);
  }
  get pendingLocalDescription(): RTCSessionDescription | null {
    return this.#describeLocal(this.#pendingLocal);
  }
  get remoteDescription(): RTCSessionDescription | null {
    const r = this.#pendingRemote ?? this.#currentRemote;
    return r ? new RTCSessionDescription({ type: r.type as 'offer', sdp: r.text }) : null;
  }
  get currentRemoteDescription(): RTCSessionDescription | null {
    const r = this.#currentRemote;
    return r ? new RTCSessionDescription({ type: r.type as 'offer', sdp: r.text }) : null;
  }
  get pendingRemoteDescription(): RTCSessionDescription | null {
    const r = this.#pendingRemote;
    return r ? new RTCSessionDescription({ type: r.type as 'offer', sdp: r.text }) : null;
  }
  /** The SCTP transport's state summary (W3C RTCSctpTransport subset). */
  get sctp(): { state: string; maxMessageSize: number } | null {
    if (this.#dataMid === undefined) return null;
    return {
      state: this.#stack.sctp.state === 'established' ? 'connected' : this.#closed ? 'closed' : 'connecting',
      maxMessageSize: this.#stack.channels.remoteMaxMessageSize,
    };
  }

  getConfiguration(): RTCConfiguration {
    return { ...this.#config, iceServers: [...(this.#config.iceServers ?? [])] };
  }

  setConfiguration(configuration: RTCConfiguration): void {
    this.#assertOpen();
    const next = validateConfiguration(configuration);
    if (configuration.certificates?.some((c, i) => c !== this.#config.certificates?.[i])) {
      throw domException('InvalidModificationError', 'certificates cannot change');
    }
    if ((next.bundlePolicy ?? 'balanced') !== (this.#config.bundlePolicy ?? 'balanced')) {
      throw domException('InvalidModificationError', 'bundlePolicy cannot change');
    }
    // New servers take effect at the next gathering (ICE restart), as in browsers.
    this.#config = { ...next, certificates: this.#config.certificates };
  }

  // ------------------------------------------------------------------ event handler attributes

  get onnegotiationneeded(): EventHandler<Event> {
    return this.getHandler('negotiationneeded') as EventHandler<Event>;
  }
  set onnegotiationneeded(fn: EventHandler<Event>) {
    this.setHandler('negotiationneeded', fn as EventHandler<Event>);
  }
  get onicecandidate(): EventHandler<RTCPeerConnectionIceEvent> {
    return this.getHandler('icecandidate') as EventHandler<RTCPeerConnectionIceEvent>;
  }
  set onicecandidate(fn: EventHandler<RTCPeerConnectionIceEvent>) {
    this.setHandler('icecandidate', fn as EventHandler<Event>);
  }
  get onicecandidateerror(): EventHandler<Event> {
    return this.getHandler('icecandidateerror') as EventHandler<Event>;
  }
  set onicecandidateerror(fn: EventHandler<Event>) {
    this.setHandler('icecandidateerror', fn as EventHandler<Event>);
  }
  get onsignalingstatechange(): EventHandler<Event> {
    return this.getHandler('signalingstatechange') as EventHandler<Event>;
  }
  set onsignalingstatechange(fn: EventHandler<Event>) {
    this.setHandler('signalingstatechange', fn as EventHandler<Event>);
  }
  get oniceconnectionstatechange(): EventHandler<Event> {
    return this.getHandler('iceconnectionstatechange') as EventHandler<Event>;
  }
  set oniceconnectionstatechange(fn: EventHandler<Event>) {
    this.setHandler('iceconnectionstatechange', fn as EventHandler<Event>);
  }
  get onicegatheringstatechange(): EventHandler<Event> {
    return this.getHandler('icegatheringstatechange') as EventHandler<Event>;
  }
  set onicegatheringstatechange(fn: EventHandler<Event>) {
    this.setHandler('icegatheringstatechange', fn as EventHandler<Event>);
  }
  get onconnectionstatechange(): EventHandler<Event> {
    return this.getHandler('connectionstatechange') as EventHandler<Event>;
  }
  set onconnectionstatechange(fn: EventHandler<Event>) {
    this.setHandler('connectionstatechange', fn as EventHandler<Event>);
  }
  get ondatachannel(): EventHandler<RTCDataChannelEvent> {
    return this.getHandler('datachannel') as EventHandler<RTCDataChannelEvent>;
  }
  set ondatachannel(fn: EventHandler<RTCDataChannelEvent>) {
    this.setHandler('datachannel', fn as EventHandler<Event>);
  }
  get ontrack(): EventHandler<RTCTrackEvent> {
    return this.getHandler('track') as EventHandler<RTCTrackEvent>;
  }
  set ontrack(fn: EventHandler<RTCTrackEvent>) {
    this.setHandler('track', fn as EventHandler<Event>);
  }

  // ------------------------------------------------------------------ offer/answer

  createOffer(options: { iceRestart?: boolean } = {}): Promise<RTCSessionDescriptionInit> {
    return this.#chain.run(async () => {
      this.#assertOpen();
      if (options.iceRestart) this.#restartPending = true;
      const o = await this.#descriptionOptions('offer');
      const c = created(buildOffer(o));
      this.#lastOffer = { sdp: c.sdp, options: o, created: c };
      return { type: 'offer', sdp: c.sdp };
    });
  }

  createAnswer(): Promise<RTCSessionDescriptionInit> {
    return this.#chain.run(async () => {
      this.#assertOpen();
      const remote = this.#pendingRemote;
      if (remote?.type !== 'offer' || this.#signalingState !== 'have-remote-offer') {
        throw domException('InvalidStateError', 'createAnswer needs a remote offer');
      }
      const o = await this.#descriptionOptions('answer');
      const c = created(buildAnswer(remote.sdp, o));
      this.#lastAnswer = { sdp: c.sdp, options: o, offer: remote.sdp, created: c };
      return { type: 'answer', sdp: c.sdp };
    });
  }

  setLocalDescription(description?: RTCSessionDescriptionInit): Promise<void> {
    return this.#chain.run(async () => {
      this.#assertOpen();
      let type = description?.type;
      let sdp = description?.sdp;
      if (!type) {
        type =
          this.#signalingState === 'have-remote-offer' || this.#signalingState === 'have-local-pranswer'
            ? 'answer'
            : 'offer';
      }
      if (type === 'rollback') return this.#rollback('local');
      const t = type;
      if (!sdp) {
        // Implicit description (parameterless SLD): create it now.
        if (t === 'offer') {
          const o = await this.#descriptionOptions('offer');
          const c = created(buildOffer(o));
          sdp = c.sdp;
          this.#lastOffer = { sdp, options: o, created: c };
        } else {
          const remote = this.#pendingRemote;
          if (!remote) throw domException('InvalidStateError', 'no remote offer to answer');
          const o = await this.#descriptionOptions('answer');
          const c = created(buildAnswer(remote.sdp, o));
          sdp = c.sdp;
          this.#lastAnswer = { sdp, options: o, offer: remote.sdp, created: c };
        }
      }
      let local: LocalState;
      if (t === 'offer') {
        if (sdp !== this.#lastOffer?.sdp) {
          throw domException('InvalidModificationError', 'the offer differs from the last createOffer()');
        }
        local = { type: 'offer', options: this.#lastOffer.options, created: this.#lastOffer.created };
      } else {
        if (sdp !== this.#lastAnswer?.sdp) {
          throw domException('InvalidModificationError', 'the answer differs from the last createAnswer()');
        }
        local = {
          type: t,
          options: this.#lastAnswer.options,
          offer: this.#lastAnswer.offer,
          created: this.#lastAnswer.created,
        };
      }
      const next = this.#transition('local', t);
      if (t === 'offer') this.#pendingLocal = local;
      else {
        this.#currentLocal = local;
        this.#pendingLocal = undefined;
        this.#currentRemote = this.#pendingRemote;
        this.#pendingRemote = undefined;
      }
      const stack = this.#ensureIce(t === 'offer');
      // Our offer carries new credentials: an ICE restart we started (RFC 8445 §9).
      if (this.#ice.ufrag !== local.options.ice.ufrag) this.#restartIce(stack, local.options.ice);
      this.#startGathering(stack);
      if (t !== 'offer') this.#applyNegotiated(stack, local.options, 'local', await this.#certificate);
      this.#setSignalingState(next);
      this.#updateNegotiationNeeded();
    });
  }

  setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
    return this.#chain.run(async () => {
      this.#assertOpen();
      if (!description?.type) throw new TypeError('setRemoteDescription needs a type');
      const t = description.type;
      if (t === 'rollback') return this.#rollback('remote');
      // Perfect negotiation: a remote offer in have-local-offer rolls our offer back first.
      if (t === 'offer' && this.#signalingState === 'have-local-offer') this.#rollback('local');
      let parsed: SessionDescription;
      try {
        parsed = parseSdp(description.sdp ?? '');
        validateDescription(parsed, t);
        if (t !== 'offer') validateAnswer(this.#pendingLocalOffer(), parsed);
      } catch (err) {
        throw toDomException(err, 'OperationError');
      }
      const next = this.#transition('remote', t);
      const previous = this.#currentRemote?.sdp;
      const entry = { type: t, sdp: parsed, text: description.sdp ?? '' };
      if (t === 'offer') this.#pendingRemote = entry;
      else {
        this.#currentRemote = entry;
        this.#pendingRemote = undefined;
        this.#currentLocal = this.#pendingLocal;
        this.#pendingLocal = undefined;
      }
      const data = parsed.media.find((m) => m.kind === 'application' && m.port !== 0);
      if (data?.mid !== undefined && this.#dataMid === undefined) this.#dataMid = data.mid;
      if (t === 'offer') this.#associateTransceivers(parsed);
      const stack = this.#ensureIce(false);
      const bundleSection = parsed.media.find((m) => m.port !== 0) ?? parsed.media[0];
      if (bundleSection) {
        const tp = transportOf(parsed, bundleSection);
        // The peer restarts ICE: restart ours with fresh credentials that our answer will carry.
        if (previous && t === 'offer' && isIceRestart(previous, parsed) && this.#gatheringStarted) {
          this.#restartIce(stack, generateIceCredentials());
        }
        stack.agent.setRemoteCredentials(tp.iceUfrag ?? '', tp.icePwd ?? '', { lite: parsed.iceLite });
        const tag = bundleTag(parsed);
        for (const m of parsed.media) {
          // With BUNDLE only the tagged section's transport survives (RFC 8843 §7.3.3); candidates of
          // the others (browsers with bundlePolicy 'balanced' gather them) lead to ports that close.
          if (tag !== undefined && m.mid !== tag) continue;
          for (const c of m.candidates) stack.agent.addRemoteCandidate(serializeCandidate(c));
          if (m.endOfCandidates) stack.agent.addRemoteCandidate(null);
        }
      }
      if (t !== 'offer' && this.#currentLocal) {
        this.#applyNegotiated(stack, this.#currentLocal.options, 'remote', await this.#certificate);
      }
      const tracks = this.#remoteTracks(parsed);
      this.#setSignalingState(next);
      for (const ev of tracks) this.dispatchEvent(makeEvent('track', ev));
      this.#updateNegotiationNeeded();
    });
  }

  addIceCandidate(candidate?: RTCIceCandidateInit | RTCIceCandidate | null): Promise<void> {
    return this.#chain.run(async () => {
      this.#assertOpen();
      const remote = this.#pendingRemote ?? this.#currentRemote;
      if (!remote) throw domException('InvalidStateError', 'addIceCandidate needs a remote description');
      const text = candidate?.candidate ?? '';
      if (
        candidate &&
        text !== '' &&
        (candidate.sdpMid ?? null) === null &&
        (candidate.sdpMLineIndex ?? null) === null
      ) {
        throw new TypeError('candidate needs sdpMid or sdpMLineIndex');
      }
      if (candidate?.sdpMid != null && !remote.sdp.media.some((m) => m.mid === candidate.sdpMid)) {
        throw domException('OperationError', `no media section with mid ${candidate.sdpMid}`);
      }
      const ufrag = candidate?.usernameFragment;
      const tp = remote.sdp.media[0] ? transportOf(remote.sdp, remote.sdp.media[0]) : undefined;
      if (ufrag && tp && ufrag !== tp.iceUfrag) {
        throw domException('OperationError', 'candidate for another ICE generation');
      }
      const stack = this.#stack;
      const tag = bundleTag(remote.sdp);
      const mid = candidate?.sdpMid ?? remote.sdp.media[candidate?.sdpMLineIndex ?? -1]?.mid;
      if (text !== '' && tag !== undefined && mid !== undefined && mid !== tag) return;
      if (text === '') {
        stack.agent.addRemoteCandidate(null);
        return;
      }
      try {
        stack.agent.addRemoteCandidate(text.startsWith('candidate:') ? text : `candidate:${text}`);
      } catch (err) {
        throw toDomException(err, 'OperationError');
      }
    });
  }

  restartIce(): void {
    if (this.#closed) return;
    this.#restartPending = true;
    this.#negotiationNeeded = false;
    this.#updateNegotiationNeeded(true);
  }

  // ------------------------------------------------------------------ data channels

  createDataChannel(label: string, init: RTCDataChannelInit = {}): RTCDataChannel {
    this.#assertOpen();
    const channel = this.#stack.channels.createDataChannel(label, init);
    if (!this.#wantData && this.#dataMid === undefined) {
      this.#wantData = true;
      this.#updateNegotiationNeeded(true);
    }
    this.#wantData = true;
    return channel;
  }

  // ------------------------------------------------------------------ media

  addTransceiver(
    trackOrKind: MediaStreamTrack | 'audio' | 'video',
    init: RTCRtpTransceiverInit = {},
  ): RTCRtpTransceiver {
    this.#assertOpen();
    const kind = typeof trackOrKind === 'string' ? trackOrKind : trackOrKind.kind;
    if (kind !== 'audio' && kind !== 'video') throw new TypeError(`invalid kind ${String(kind)}`);
    const encodings = init.sendEncodings ?? [{}];
    const rids = encodings.length > 1 ? encodings.map((e, i) => e.rid ?? String(i)) : [];
    const t = this.#newTransceiver(kind, init.direction ?? 'sendrecv', encodings, rids);
    if (typeof trackOrKind !== 'string') t.sender.setTrack(trackOrKind);
    t.streams = init.streams ?? [];
    this.#updateNegotiationNeeded();
    return t;
  }

  addTrack(track: MediaStreamTrack, ...streams: MediaStream[]): RTCRtpSender {
    this.#assertOpen();
    if (this.#transceivers.some((t) => t.sender.track === track)) {
      throw domException('InvalidAccessError', 'track already added');
    }
    // W3C: reuse a transceiver of the same kind that never sent and has no track.
    const reuse = this.#transceivers.find(
      (t) => !t.stopped && t.kind === track.kind && t.sender.track === null && !t.sender.stats.packetsSent,
    );
    if (reuse) {
      reuse.sender.setTrack(track);
      reuse.streams = streams;
      if (reuse.direction === 'recvonly') reuse.direction = 'sendrecv';
      else if (reuse.direction === 'inactive') reuse.direction = 'sendonly';
      this.#updateNegotiationNeeded(true);
      return reuse.sender;
    }
    const t = this.addTransceiver(track, { direction: 'sendrecv', streams });
    return t.sender;
  }

  removeTrack(sender: RTCRtpSender): void {
    this.#assertOpen();
    const t = this.#transceivers.find((x) => x.sender === sender);
    if (!t || !sender.track) return;
    sender.setTrack(null);
    if (t.direction === 'sendrecv') t.direction = 'recvonly';
    else if (t.direction === 'sendonly') t.direction = 'inactive';
  }

  getTransceivers(): RTCRtpTransceiver[] {
    return [...this.#transceivers];
  }
  getSenders(): RTCRtpSender[] {
    return this.#transceivers.filter((t) => !t.stopped).map((t) => t.sender);
  }
  getReceivers(): RTCRtpReceiver[] {
    return this.#transceivers.filter((t) => !t.stopped).map((t) => t.receiver);
  }

  #newTransceiver(
    kind: 'audio' | 'video',
    direction: Direction,
    encodings: RTCRtpEncodingParameters[] = [{}],
    rids: readonly string[] = [],
  ): RTCRtpTransceiver {
    const t = new RTCRtpTransceiver(
      kind,
      new RTCRtpSender(kind, this.#clock, this.#cname, encodings),
      new RTCRtpReceiver(kind, this.#clock),
      direction,
      rids,
      () => this.#updateNegotiationNeeded(true),
    );
    this.#transceivers.push(t);
    return t;
  }

  /** RFC 9429 §5.10: match the remote offer's RTP sections to transceivers, creating recvonly ones. */
  #associateTransceivers(offer: SessionDescription): void {
    this.#midOrder = offer.media.map((m) => m.mid ?? '').filter((m) => m !== '');
    for (const m of offer.media) {
      if ((m.kind !== 'audio' && m.kind !== 'video') || m.mid === undefined || m.port === 0) continue;
      if (this.#transceivers.some((t) => t.mid === m.mid)) continue;
      const free = this.#transceivers.find((t) => t.mid === null && !t.stopped && t.kind === m.kind);
      const t = free ?? this.#newTransceiver(m.kind, 'recvonly');
      t.setMid(m.mid);
    }
  }

  /** Tracks that the remote side now sends to us and that were not announced yet (ontrack). */
  #remoteTracks(remote: SessionDescription): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const m of remote.media) {
      const t = this.#transceivers.find((x) => x.mid === m.mid && m.mid !== undefined);
      if (!t || m.port === 0) continue;
      const sends = m.direction === 'sendrecv' || m.direction === 'sendonly' || m.direction === undefined;
      if (!sends) {
        t.firedTrack = false;
        continue;
      }
      if (t.firedTrack) continue;
      t.firedTrack = true;
      const streams = m.msids.map((x) => {
        let st = this.#remoteStreams.get(x.stream);
        if (!st) {
          st = new MediaStream(x.stream);
          this.#remoteStreams.set(x.stream, st);
        }
        st.addTrack(t.receiver.track);
        return st;
      });
      out.push({ track: t.receiver.track, receiver: t.receiver, transceiver: t, streams });
    }
    return out;
  }

  /** Both descriptions set: codecs, extensions, directions and remote SSRCs for every transceiver. */
  #configureMedia(): void {
    const remote = this.#currentRemote?.sdp;
    const local = this.#currentLocal;
    if (!remote || !local) return;
    // A data-only connection has nothing to configure (no transceiver, no media session).
    if (this.#transceivers.length === 0 && !this.#mediaSession) return;
    const localSdp = local.created.description;
    const answerIsLocal = local.type !== 'offer';
    const answer = answerIsLocal ? localSdp : remote;
    const signaled = new Map<number, { mid: string; rtxFor?: number }>();
    for (const t of this.#transceivers) {
      if (t.mid === null) continue;
      const am = answer.media.find((m) => m.mid === t.mid);
      const rm = remote.media.find((m) => m.mid === t.mid);
      if (!am || !rm || am.port === 0) {
        if (am?.port === 0) t.setCurrentDirection('inactive');
        continue;
      }
      const codecs = codecsOf(am);
      const dir: Direction = am.direction ?? 'sendrecv';
      t.setCurrentDirection(answerIsLocal ? dir : reverseDirection(dir));
      t.sender.configure({ mid: t.mid, codecs, extmaps: am.extmaps });
      t.receiver.configure(codecs, am.extmaps);
      for (const [ssrc, rtxFor] of remoteSsrcs(rm))
        signaled.set(ssrc, { mid: t.mid, ...(rtxFor !== undefined && { rtxFor }) });
    }
    if (this.#transceivers.length > 0 || this.#mediaSession) this.#media.refresh(signaled);
    this.#startMedia();
  }

  /**
   * Key SRTP from DTLS once both are there: DTLS connected and an RTP section negotiated (a data-only
   * connection never pays for SRTP contexts or the media tick; media added later keys it then).
   */
  #startMedia(): void {
    const dtls = this.#stack.dtls;
    if (this.#closed || dtls?.state !== 'connected') return;
    if (!this.#transceivers.some((t) => t.mid !== null && !t.stopped) || this.#media.keyed) return;
    try {
      const keys = dtls.getSrtpKeyingMaterial();
      if (keys) this.#media.start(keys);
    } catch (err) {
      this.#log.warn('SRTP keying failed', { error: String(err) });
    }
  }

  #nextMid(): string {
    const used = new Set([...this.#midOrder, ...this.#transceivers.map((t) => t.mid ?? '')]);
    if (this.#dataMid !== undefined) used.add(this.#dataMid);
    if (this.#localDataMid !== undefined) used.add(this.#localDataMid);
    for (let i = 0; ; i++) if (!used.has(String(i))) return String(i);
  }

  #rtpSection(t: RTCRtpTransceiver): RtpSection {
    const track = t.sender.track;
    const stream = t.streams[0]?.id ?? '-';
    return {
      kind: t.kind,
      mid: t.mid!,
      direction: t.stopped ? 'inactive' : (t.direction as Direction),
      codecs: t.codecs,
      headerExtensions: t.headerExtensions,
      msid: { stream, track: track?.id ?? t.sender.ssrc.toString(16) },
      send: {
        ssrc: t.sender.ssrc,
        ...(t.codecs.some((c) => c.name === 'rtx') && { rtxSsrc: t.sender.rtxSsrc }),
        cname: this.#cname,
      },
      ...(t.sendRids.length > 1 && { sendRids: t.sendRids }),
      stopped: t.stopped,
    };
  }

  // ------------------------------------------------------------------ stats and close

  /**
   * rtcstack extension: datagrams this connection dropped since it was made, by where they were
   * refused (stray or hostile input is counted and dropped, never thrown). Read-only counters.
   */
  droppedDatagrams(): DroppedDatagrams {
    const stack = this.#stack;
    const dtls = stack.dtls?.stats;
    const media = this.#mediaSession?.stats;
    const srtpAuth = media?.srtpAuthFailures ?? 0;
    const srtpReplay = media?.srtpReplays ?? 0;
    return {
      ice: stack.hasAgent ? stack.agent.droppedPackets : 0,
      demux: stack.droppedDatagrams,
      dtlsMalformed: dtls?.malformed ?? 0,
      dtlsBadRecord: dtls?.badRecords ?? 0,
      dtlsReplay: dtls?.replays ?? 0,
      dtlsUnknownEpoch: dtls?.unknownEpoch ?? 0,
      srtpAuth,
      srtpReplay,
      srtpMalformed: (media?.srtpErrors ?? 0) - srtpAuth - srtpReplay,
      rtpParse: media?.parseErrors ?? 0,
      rtpUnroutable: media?.unroutable ?? 0,
    };
  }

  async getStats(): Promise<RTCStatsReport> {
    const cert = await this.#certificate;
    const now = this.#clock.wallNow();
    const report = collectPeerStats({
      now,
      stack: this.#stack,
      certificate: cert,
      connectionState: this.#connectionState,
    });
    addMediaStats(report, now, this.#transceivers);
    return report;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#chain.close();
    this.#signalingState = 'closed';
    this.#mediaSession?.close();
    for (const t of this.#transceivers) t.stop();
    this.#stack.close();
    this.#iceConnectionState = 'closed';
    this.#connectionState = 'closed';
  }

  // ------------------------------------------------------------------ internals

  #assertOpen(): void {
    if (this.#closed) throw domException('InvalidStateError', 'RTCPeerConnection is closed');
  }

  #transition(side: 'local' | 'remote', type: 'offer' | 'answer' | 'pranswer'): RTCSignalingState {
    try {
      return nextSignalingState(this.#signalingState, side, type);
    } catch (err) {
      throw toDomException(err, 'InvalidStateError');
    }
  }

  #rollback(side: 'local' | 'remote'): void {
    const next = this.#transition(side, 'rollback' as 'offer');
    if (side === 'local') this.#pendingLocal = undefined;
    else this.#pendingRemote = undefined;
    this.#setSignalingState(next);
  }

  #pendingLocalOffer(): SessionDescription {
    const local = this.#pendingLocal;
    if (local?.type !== 'offer') throw domException('InvalidStateError', 'no local offer pending');
    return local.created.description;
  }

  async #descriptionOptions(type: 'offer' | 'answer'): Promise<DescriptionOptions> {
    const cert = await this.#certificate;
    const sections: LocalSection[] = [];
    const remote = this.#pendingRemote ?? this.#currentRemote;
    if (type === 'offer') {
      if (
        (this.#wantData || this.#dataMid !== undefined) &&
        this.#dataMid === undefined &&
        this.#localDataMid === undefined
      ) {
        this.#localDataMid = this.#transceivers.length === 0 ? '0' : this.#nextMid();
      }
      const dataMid = this.#dataMid ?? this.#localDataMid;
      for (const t of this.#transceivers) if (t.mid === null && !t.stopped) t.setMid(this.#nextMid());
      const byMid = new Map<string, LocalSection>();
      if ((this.#wantData || this.#dataMid !== undefined) && dataMid !== undefined) {
        byMid.set(dataMid, { kind: 'application', mid: dataMid, maxMessageSize: this.#maxMessageSize() });
      }
      for (const t of this.#transceivers) if (t.mid !== null) byMid.set(t.mid, this.#rtpSection(t));
      const order = [
        ...this.#midOrder.filter((m) => byMid.has(m)),
        ...[...byMid.keys()].filter((m) => !this.#midOrder.includes(m)),
      ];
      // A data section created before any transceiver keeps the first place it always had.
      for (const mid of order) sections.push(byMid.get(mid)!);
      this.#midOrder = order;
    }
    if (type === 'answer' && remote) {
      for (const m of remote.sdp.media) {
        if (m.kind === 'application' && m.port !== 0 && m.mid !== undefined) {
          sections.push({ kind: 'application', mid: m.mid, maxMessageSize: this.#maxMessageSize() });
        } else if (m.kind === 'audio' || m.kind === 'video') {
          const t = this.#transceivers.find((x) => x.mid === m.mid && m.mid !== undefined);
          if (t) sections.push(this.#rtpSection(t));
        }
      }
    }
    const ice = this.#restartPending ? generateIceCredentials() : this.#ice;
    return {
      sessionId: this.#sessionId,
      sessionVersion: this.#sessionVersion++,
      ice,
      fingerprints: cert.getFingerprints(),
      sections,
      setup: type === 'offer' ? 'actpass' : 'active',
    };
  }

  #maxMessageSize(): number {
    return this.#opts.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  #describeLocal(l: LocalState | undefined): RTCSessionDescription | null {
    if (!l) return null;
    // The text changes only with the description and the candidates gathered: rebuild it then.
    const memo = this.#described;
    const count = this.#gatheredCandidates.length;
    if (
      memo?.state === l &&
      memo.list === this.#gatheredCandidates &&
      memo.count === count &&
      memo.end === this.#endOfCandidates
    )
      return memo.text;
    let sdp: string;
    // Nothing gathered yet (trickle: the usual moment to read it, right after SLD): the text is
    // the one created (created descriptions carry no candidates), no second build.
    if (count === 0 && !this.#endOfCandidates && !l.options.candidates?.length) sdp = l.created.sdp;
    else {
      const o: DescriptionOptions = {
        ...l.options,
        candidates: this.#gatheredCandidates,
        endOfCandidates: this.#endOfCandidates,
      };
      sdp = serializeSdp(l.type === 'offer' ? buildOffer(o) : buildAnswer(l.offer!, o));
    }
    const text = new RTCSessionDescription({ type: l.type, sdp });
    this.#described = { state: l, list: this.#gatheredCandidates, count, end: this.#endOfCandidates, text };
    return text;
  }
  #described:
    | { state: LocalState; list: SdpCandidate[]; count: number; end: boolean; text: RTCSessionDescription }
    | undefined;

  /** Create the ICE agent on the first description: the offerer controls (RFC 8445 §6.1.1). */
  #ensureIce(controlling: boolean): TransportStack {
    const stack = this.#stack;
    if (stack.hasAgent) return stack;
    const agent = stack.startIce({
      clock: this.#clock,
      network: this.#opts.network,
      random: this.#opts.random,
      logger: this.#log.child('ice'),
      controlling,
      iceServers: this.#config.iceServers ?? [],
      iceTransportPolicy: this.#config.iceTransportPolicy ?? 'all',
      includeLoopback: this.#opts.includeLoopback ?? false,
      ipv6: this.#opts.ipv6,
      localCredentials: this.#ice,
    });
    agent.on('candidate', (ev) => {
      // Surface candidates as tasks: an app that sends its description after SLD resolves sends it
      // before the candidates gathered during SLD, as with browsers.
      setImmediate(() => this.#onLocalCandidate(ev));
    });
    agent.on('candidateerror', (e) => {
      if (!this.#closed) this.dispatchEvent(makeEvent('icecandidateerror', { ...e }));
    });
    return stack;
  }

  #onLocalCandidate(ev: IceCandidateEvent | null): void {
    if (this.#closed) return;
    const mid = this.#firstMid();
    if (ev) {
      if (ev.usernameFragment !== this.#ice.ufrag) return; // from before a restart
      const init = {
        candidate: ev.attribute,
        sdpMid: mid,
        sdpMLineIndex: 0,
        usernameFragment: ev.usernameFragment,
      };
      try {
        this.#gatheredCandidates.push(parseCandidate(ev.attribute));
      } catch {
        // The agent produced it; if the SDP layer cannot read it, it still trickles.
      }
      this.dispatchEvent(makeEvent('icecandidate', { candidate: new RTCIceCandidate(init), url: null }));
    } else {
      this.#endOfCandidates = true;
      this.#setGatheringState('complete');
      this.dispatchEvent(makeEvent('icecandidate', { candidate: null, url: null }));
    }
  }

  #makeStack(): TransportStack {
    const stack = new TransportStack({
      clock: this.#clock,
      random: this.#opts.random,
      log: this.#log,
      dtlsVersions: this.#opts.dtlsVersions,
      maxMessageSize: this.#maxMessageSize(),
    });
    stack.on('icestate', (s) => {
      if (this.#closed) return;
      if (s !== this.#iceConnectionState) {
        this.#iceConnectionState = s;
        this.dispatchEvent(new Event('iceconnectionstatechange'));
      }
      this.#updateConnectionState();
    });
    stack.on('dtlsstate', (s) => {
      if (s === 'connected') this.#startMedia();
      this.#updateConnectionState();
    });
    stack.on('media', (d) => this.#mediaSession?.handle(d));
    stack.channels.on('datachannel', (channel) => {
      if (!this.#closed) this.dispatchEvent(makeEvent('datachannel', { channel }));
    });
    return stack;
  }

  #firstMid(): string {
    const l = this.#pendingLocal ?? this.#currentLocal;
    return l?.options.sections.find((s) => !s.stopped)?.mid ?? '0';
  }

  #restartIce(stack: TransportStack, credentials: IceParameters): void {
    this.#ice = credentials;
    this.#restartPending = false;
    this.#gatheredCandidates = [];
    this.#endOfCandidates = false;
    this.#setGatheringState('gathering');
    // The agent re-announces its candidates under the new ufrag and gathers reflexive ones again.
    stack.agent.restart(credentials);
  }

  #startGathering(stack: TransportStack): void {
    if (this.#gatheringStarted) return;
    this.#gatheringStarted = true;
    this.#setGatheringState('gathering');
    stack.agent.gather().catch((err: unknown) => this.#log.warn('gathering failed', { error: String(err) }));
  }

  /** Both descriptions are in place: set DTLS role, start checks, bring up SCTP if negotiated. */
  #applyNegotiated(
    stack: TransportStack,
    localOptions: DescriptionOptions,
    lastSide: 'local' | 'remote',
    certificate: RTCCertificate,
  ): void {
    const remote = this.#currentRemote;
    if (!remote) return;
    const section = remote.sdp.media.find((m) => m.port !== 0) ?? remote.sdp.media[0];
    if (!section) return;
    const tp = transportOf(remote.sdp, section);
    if (!this.#dtlsRoleSet) {
      // Our answer says 'active' (we are the DTLS client) unless the offer forced otherwise; as the
      // offerer, the remote answer's setup decides.
      const ourSetup =
        lastSide === 'local'
          ? (localOptions.setup ?? 'active')
          : tp.setup === 'active'
            ? 'passive'
            : 'active';
      const role = ourSetup === 'active' ? 'client' : 'server';
      this.#dtlsRoleSet = true;
      stack.startDtls(
        role,
        tp.fingerprints.map((f) => `${f.algorithm} ${f.value}`),
        certificate.dtls,
      );
    }
    const data = remote.sdp.media.find((m) => m.kind === 'application' && m.port !== 0);
    if (data) stack.enableSctp(data.sctpPort, data.maxMessageSize);
    this.#configureMedia();
    stack.agent.start();
  }

  #setSignalingState(s: RTCSignalingState): void {
    if (s === this.#signalingState) return;
    this.#signalingState = s;
    this.dispatchEvent(new Event('signalingstatechange'));
  }

  #setGatheringState(s: RTCIceGatheringState): void {
    if (s === this.#iceGatheringState) return;
    this.#iceGatheringState = s;
    this.dispatchEvent(new Event('icegatheringstatechange'));
  }

  #updateConnectionState(): void {
    if (this.#closed || !this.#stack.hasAgent) return;
    const ice = this.#stack.agent.state;
    const dtls = this.#stack.dtls?.state ?? 'new';
    let s: RTCPeerConnectionState;
    if (ice === 'failed' || dtls === 'failed') s = 'failed';
    else if (ice === 'disconnected') s = 'disconnected';
    else if ((ice === 'connected' || ice === 'completed') && dtls === 'connected') s = 'connected';
    else if (ice === 'new' && (dtls === 'new' || dtls === 'closed')) s = 'new';
    else s = 'connecting';
    if (s === this.#connectionState) return;
    this.#connectionState = s;
    this.dispatchEvent(new Event('connectionstatechange'));
  }

  /** W3C "update the negotiation-needed flag", simplified to what this implementation negotiates. */
  #updateNegotiationNeeded(force = false): void {
    if (this.#closed) return;
    const needed =
      force ||
      this.#restartPending ||
      (this.#wantData && !this.#dataNegotiated()) ||
      this.#transceivers.some((t) => t.mid === null && !t.stopped);
    if (!needed) {
      this.#negotiationNeeded = false;
      return;
    }
    if (this.#negotiationNeeded) return;
    queueMicrotask(() => {
      if (this.#closed || this.#signalingState !== 'stable' || this.#negotiationNeeded) return;
      this.#negotiationNeeded = true;
      this.dispatchEvent(new Event('negotiationneeded'));
    });
  }

  #dataNegotiated(): boolean {
    const local = this.#currentLocal;
    return !!local?.options.sections.some((s) => s.kind === 'application' && !s.stopped);
  }
}

/**
 * The logger of connections created without one: one for all of them (its scopes name no
 * connection, so per-connection copies only cost memory), children made once per scope.
 */
let shared: Logger | undefined;
function defaultLogger(): Logger {
  shared ??= withSharedChildren(createLogger('peer'));
  return shared;
}
function withSharedChildren(log: Logger): Logger {
  const children = new Map<string, Logger>();
  return {
    error: log.error,
    warn: log.warn,
    info: log.info,
    debug: log.debug,
    child(scope) {
      let c = children.get(scope);
      if (!c) children.set(scope, (c = withSharedChildren(log.child(scope))));
      return c;
    },
  };
}

function validateConfiguration(c: RTCConfiguration): RTCConfiguration {
  for (const server of c.iceServers ?? []) {
    const urls = typeof server.urls === 'string' ? [server.urls] : [...(server.urls ?? [])];
    if (urls.length === 0) throw new SyntaxError('iceServers entry without urls');
    for (const u of urls) {
      let parsed: ReturnType<typeof parseIceServerUrl>;
      try {
        parsed = parseIceServerUrl(u);
      } catch {
        throw domException('SyntaxError', `invalid ICE server url ${u}`);
      }
      if (
        (parsed.scheme === 'turn' || parsed.scheme === 'turns') &&
        (server.username === undefined || server.credential === undefined)
      ) {
        throw domException('InvalidAccessError', `${u} needs a username and credential`);
      }
    }
  }
  if (c.iceTransportPolicy && c.iceTransportPolicy !== 'all' && c.iceTransportPolicy !== 'relay') {
    throw new TypeError(`invalid iceTransportPolicy ${c.iceTransportPolicy}`);
  }
  return { ...c };
}

/** SSRCs a remote section announces (a=ssrc), with the media SSRC of each RTX one (FID groups). */
function remoteSsrcs(m: MediaDescription): Map<number, number | undefined> {
  const out = new Map<number, number | undefined>();
  for (const a of m.ssrcs) if (!out.has(a.ssrc)) out.set(a.ssrc, undefined);
  for (const g of m.ssrcGroups) {
    if (g.semantics === 'FID' && g.ssrcs.length === 2) out.set(g.ssrcs[1]!, g.ssrcs[0]!);
  }
  return out;
}

/** The BUNDLE tag: the first mid of the remote BUNDLE group, when there is one with several mids. */
function bundleTag(d: SessionDescription): string | undefined {
  const g = d.groups.find((x) => x.semantics === 'BUNDLE');
  return g && g.mids.length > 1 ? g.mids[0] : undefined;
}
