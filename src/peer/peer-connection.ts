/**
 * RTCPeerConnection (W3C webrtc-pc) on Node: JSEP signaling over the sdp layer, one bundled
 * transport (ICE + DTLS + SCTP, see transport-stack.ts), data channels, stats.
 *
 * Non-standard second constructor argument: `PeerOptions` (clock, network, loopback gathering,
 * DTLS versions...). Everything else follows the browser API so the same code runs on both.
 */
import { type Clock, systemClock } from '../core/clock.js';
import { createLogger, type Logger } from '../core/log.js';
import type { Network } from '../core/net.js';
import type { Random } from '../core/random.js';
import type { RTCDataChannel, RTCDataChannelInit } from '../datachannel/data-channel.js';
import { HandlerTarget } from '../datachannel/events.js';
import type { DtlsVersion } from '../dtls/endpoint.js';
import type { IceCandidateEvent, IceServer, IceTransportState } from '../ice/types.js';
import { parseIceServerUrl } from '../ice/url.js';
import { parseCandidate, serializeCandidate } from '../sdp/candidate.js';
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
  type SignalingState,
  transportOf,
  validateAnswer,
  validateDescription,
} from '../sdp/jsep.js';
import { parseSdp } from '../sdp/parse.js';
import { serializeSdp } from '../sdp/serialize.js';
import type { Candidate as SdpCandidate, SessionDescription } from '../sdp/types.js';
import { generateRtcCertificate, type RTCCertificate } from './certificate.js';
import {
  RTCIceCandidate,
  type RTCIceCandidateInit,
  RTCSessionDescription,
  type RTCSessionDescriptionInit,
} from './description.js';
import { domException, toDomException } from './dom-exception.js';
import { makeEvent } from './event-target.js';
import { OperationsChain } from './operations-chain.js';
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

export interface RTCConfiguration {
  iceServers?: IceServer[];
  iceTransportPolicy?: RTCIceTransportPolicy;
  bundlePolicy?: RTCBundlePolicy;
  rtcpMuxPolicy?: 'require';
  certificates?: RTCCertificate[];
  iceCandidatePoolSize?: number;
}

/** rtcstack-specific options (the browser API has no place for them). */
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
}

interface LocalState {
  readonly type: 'offer' | 'answer' | 'pranswer';
  readonly options: DescriptionOptions;
  /** For answers: the offer answered. */
  readonly offer?: SessionDescription;
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
  #lastOffer: { sdp: string; options: DescriptionOptions } | undefined;
  #lastAnswer: { sdp: string; options: DescriptionOptions; offer: SessionDescription } | undefined;

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

  constructor(configuration: RTCConfiguration = {}, options: PeerOptions = {}) {
    super();
    this.#config = validateConfiguration(configuration);
    this.#opts = options;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger ?? createLogger('peer');
    const given = configuration.certificates?.[0];
    if (given && given.expires <= Date.now()) throw domException('InvalidAccessError', 'certificate expired');
    this.#certificate = given ? Promise.resolve(given) : generateRtcCertificate();
    // An unhandled rejection here would be reported on first use instead.
    this.#certificate.catch(() => {});
    this.#stack = this.#makeStack();
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
    if (
      configuration.certificates &&
      configuration.certificates.some((c, i) => c !== this.#config.certificates?.[i])
    ) {
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
  get ontrack(): EventHandler<Event> {
    return this.getHandler('track') as EventHandler<Event>;
  }
  set ontrack(fn: EventHandler<Event>) {
    this.setHandler('track', fn as EventHandler<Event>);
  }

  // ------------------------------------------------------------------ offer/answer

  createOffer(options: { iceRestart?: boolean } = {}): Promise<RTCSessionDescriptionInit> {
    return this.#chain.run(async () => {
      this.#assertOpen();
      if (options.iceRestart) this.#restartPending = true;
      const o = await this.#descriptionOptions('offer');
      const sdp = serializeSdp(buildOffer(o));
      this.#lastOffer = { sdp, options: o };
      return { type: 'offer', sdp };
    });
  }

  createAnswer(): Promise<RTCSessionDescriptionInit> {
    return this.#chain.run(async () => {
      this.#assertOpen();
      const remote = this.#pendingRemote;
      if (!remote || remote.type !== 'offer' || this.#signalingState !== 'have-remote-offer') {
        throw domException('InvalidStateError', 'createAnswer needs a remote offer');
      }
      const o = await this.#descriptionOptions('answer');
      const sdp = serializeSdp(buildAnswer(remote.sdp, o));
      this.#lastAnswer = { sdp, options: o, offer: remote.sdp };
      return { type: 'answer', sdp };
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
          sdp = serializeSdp(buildOffer(o));
          this.#lastOffer = { sdp, options: o };
        } else {
          const remote = this.#pendingRemote;
          if (!remote) throw domException('InvalidStateError', 'no remote offer to answer');
          const o = await this.#descriptionOptions('answer');
          sdp = serializeSdp(buildAnswer(remote.sdp, o));
          this.#lastAnswer = { sdp, options: o, offer: remote.sdp };
        }
      }
      let local: LocalState;
      if (t === 'offer') {
        if (sdp !== this.#lastOffer?.sdp) {
          throw domException('InvalidModificationError', 'the offer differs from the last createOffer()');
        }
        local = { type: 'offer', options: this.#lastOffer.options };
      } else {
        if (sdp !== this.#lastAnswer?.sdp) {
          throw domException('InvalidModificationError', 'the answer differs from the last createAnswer()');
        }
        local = { type: t, options: this.#lastAnswer.options, offer: this.#lastAnswer.offer };
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
      if (!description || !description.type) throw new TypeError('setRemoteDescription needs a type');
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
      const stack = this.#ensureIce(false);
      const bundleSection = parsed.media.find((m) => m.port !== 0) ?? parsed.media[0];
      if (bundleSection) {
        const tp = transportOf(parsed, bundleSection);
        // The peer restarts ICE: restart ours with fresh credentials that our answer will carry.
        if (previous && t === 'offer' && isIceRestart(previous, parsed) && this.#gatheringStarted) {
          this.#restartIce(stack, generateIceCredentials());
        }
        stack.agent.setRemoteCredentials(tp.iceUfrag ?? '', tp.icePwd ?? '', { lite: parsed.iceLite });
        for (const m of parsed.media) {
          for (const c of m.candidates) stack.agent.addRemoteCandidate(serializeCandidate(c));
          if (m.endOfCandidates) stack.agent.addRemoteCandidate(null);
        }
      }
      if (t !== 'offer' && this.#currentLocal) {
        this.#applyNegotiated(stack, this.#currentLocal.options, 'remote', await this.#certificate);
      }
      this.#setSignalingState(next);
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

  // ------------------------------------------------------------------ stats and close

  async getStats(): Promise<RTCStatsReport> {
    const cert = await this.#certificate;
    return collectPeerStats({
      now: this.#clock.wallNow(),
      stack: this.#stack,
      certificate: cert,
      connectionState: this.#connectionState,
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#chain.close();
    this.#signalingState = 'closed';
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
    if (!local || local.type !== 'offer') throw domException('InvalidStateError', 'no local offer pending');
    return buildOffer(local.options);
  }

  async #descriptionOptions(type: 'offer' | 'answer'): Promise<DescriptionOptions> {
    const cert = await this.#certificate;
    const sections: LocalSection[] = [];
    const remote = this.#pendingRemote ?? this.#currentRemote;
    if (type === 'offer' && (this.#wantData || this.#dataMid !== undefined)) {
      sections.push({
        kind: 'application',
        mid: this.#dataMid ?? '0',
        maxMessageSize: this.#maxMessageSize(),
      });
    }
    if (type === 'answer' && remote) {
      const data = remote.sdp.media.find((m) => m.kind === 'application' && m.port !== 0);
      if (data?.mid !== undefined) {
        sections.push({ kind: 'application', mid: data.mid, maxMessageSize: this.#maxMessageSize() });
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
    const o: DescriptionOptions = {
      ...l.options,
      candidates: this.#gatheredCandidates,
      endOfCandidates: this.#endOfCandidates,
    };
    const sdp = l.type === 'offer' ? buildOffer(o) : buildAnswer(l.offer!, o);
    return new RTCSessionDescription({ type: l.type, sdp: serializeSdp(sdp) });
  }

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
    stack.on('dtlsstate', () => this.#updateConnectionState());
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
    const needed = force || this.#restartPending || (this.#wantData && !this.#dataNegotiated());
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
