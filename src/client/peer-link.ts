/**
 * One mesh link: an RTCPeerConnection to one remote peer, negotiated with the W3C "perfect
 * negotiation" pattern (https://w3c.github.io/webrtc-pc/#perfect-negotiation-example). Both ends may
 * renegotiate at any time; on an offer collision the *polite* end (the one whose peer id sorts
 * after the other's) rolls back its own offer and answers, the impolite end ignores the incoming
 * offer. Candidates trickle as they are found. A link that goes `disconnected` for longer than a
 * grace period, or `failed`, restarts ICE. Two negotiated data channels ride on it: chat (id 0) and
 * file (id 1).
 */

import type {
  CandidateInit,
  IceServer,
  LinkConnectionState,
  PeerSignal,
  RemoteSignal,
} from '../protocol/signaling.js';
import { Emitter } from './emitter.js';
import { randomId } from './ids.js';
import { EMPTY_STATS, type LinkStats, summarize } from './stats.js';

/**
 * The `o=` line's session id and version: names one offer (a new offer bumps the version; the
 * candidates a browser adds to its local description do not).
 */
function offerOrigin(sdp: string | undefined): string | undefined {
  const m = sdp ? /^o=\S+ (\S+ \S+)/m.exec(sdp) : null;
  return m?.[1];
}

/** The first a=ice-ufrag of an SDP (all m-sections share it under BUNDLE). */
function iceUfrag(sdp: string | undefined): string | undefined {
  return sdp ? /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1] : undefined;
}

export interface PeerLinkOptions {
  readonly localId: string;
  readonly remoteId: string;
  readonly remoteName: string;
  readonly iceServers: IceServer[];
  readonly iceTransportPolicy: RTCIceTransportPolicy;
  readonly send: (sig: PeerSignal) => void;
  /** Local tracks to send (undefined: receive only). */
  readonly stream: MediaStream | undefined;
  /** How long `disconnected` may last before an ICE restart, ms (default 3000). */
  readonly disconnectGraceMs?: number;
  /**
   * The link is made because both ends just learned of each other (presence): then the polite end
   * waits for the other's first offer instead of offering too (default false: offer at once).
   */
  readonly awaitFirstOffer?: boolean;
  /** How long an offer may wait for its answer before it is sent again, ms (default 20000). */
  readonly offerTimeoutMs?: number;
}

export interface PeerLinkEvents {
  [key: string]: unknown[];
  track: [MediaStream];
  state: [LinkConnectionState];
  /** First time connected, with the setup time from link creation. */
  connected: [setupMs: number];
  failed: [];
  'ice-restart': [];
  chat: [string];
  file: [string | ArrayBuffer];
  'channel-open': ['chat' | 'file'];
}

export class PeerLink extends Emitter<PeerLinkEvents> {
  /** This connection's id in signaling frames (`link`; see LinkIds in protocol.ts). */
  readonly id = randomId(8);
  /** The remote connection this one is negotiating with, once a frame from it has arrived. */
  remoteLink: string | undefined;
  readonly remoteId: string;
  remoteName: string;
  readonly polite: boolean;
  readonly pc: RTCPeerConnection;
  readonly chat: RTCDataChannel;
  readonly fileChannel: RTCDataChannel;
  readonly #send: (sig: PeerSignal) => void;
  readonly #graceMs: number;
  readonly #createdAt = performance.now();
  #makingOffer = false;
  #ignoreOffer = false;
  #isSettingRemoteAnswerPending = false;
  /** Serializes handling of remote descriptions and candidates. */
  #chain: Promise<void> = Promise.resolve();
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  #offerTimer: ReturnType<typeof setTimeout> | undefined;
  #firstOfferTimer: ReturnType<typeof setTimeout> | undefined;
  #firstOfferWaited = false;
  readonly #awaitFirstOffer: boolean;
  readonly #offerTimeoutMs: number;
  #lastRestart = 0;
  #everConnected = false;
  #closed = false;
  #remoteStream: MediaStream | undefined;
  stats: LinkStats = EMPTY_STATS;
  /** Completed offer/answer exchanges (signaling state back to stable). */
  negotiations = 0;
  rollbacks = 0;
  iceRestarts = 0;
  ignoredOffers = 0;
  /** Answers dropped because they answered an offer we no longer had. */
  staleAnswers = 0;
  /** Offers sent again because no answer had come. */
  offerRetries = 0;
  lastError: string | undefined;
  /** The last events of this link, oldest first (`ms event`): what a stuck call is diagnosed from. */
  readonly events: string[] = [];

  constructor(opts: PeerLinkOptions) {
    super();
    this.remoteId = opts.remoteId;
    this.remoteName = opts.remoteName;
    this.polite = opts.localId > opts.remoteId;
    this.#send = (sig) =>
      opts.send({ ...sig, link: this.id, ...(this.remoteLink ? { toLink: this.remoteLink } : {}) });
    this.#graceMs = opts.disconnectGraceMs ?? 3000;
    this.#offerTimeoutMs = opts.offerTimeoutMs ?? 20_000;
    this.#awaitFirstOffer = opts.awaitFirstOffer ?? false;
    this.pc = new RTCPeerConnection({
      iceServers: opts.iceServers.map((s) => ({ ...s })),
      iceTransportPolicy: opts.iceTransportPolicy,
    });
    const pc = this.pc;
    if (opts.stream) for (const track of opts.stream.getTracks()) pc.addTrack(track, opts.stream);
    else {
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.addTransceiver('video', { direction: 'recvonly' });
    }
    this.chat = pc.createDataChannel('chat', { negotiated: true, id: 0 });
    this.fileChannel = pc.createDataChannel('file', { negotiated: true, id: 1, ordered: true });
    this.fileChannel.binaryType = 'arraybuffer';
    this.chat.onmessage = (e) => {
      if (typeof e.data === 'string') this.emit('chat', e.data);
    };
    this.fileChannel.onmessage = (e) => this.emit('file', e.data as string | ArrayBuffer);
    this.chat.onopen = () => this.emit('channel-open', 'chat');
    this.fileChannel.onopen = () => this.emit('channel-open', 'file');

    pc.onnegotiationneeded = async () => {
      // Both ends make their link when they learn of each other, and both would offer at once.
      // The polite end lets the other offer first (its tracks join the offered sections), so a
      // call starts without a glare; if no offer comes within the offer timeout, it offers itself.
      if (this.polite && this.negotiations === 0 && !this.#firstOfferWaited && this.#awaitFirstOffer) {
        if (this.#firstOfferTimer === undefined)
          this.#firstOfferTimer = setTimeout(() => {
            this.#firstOfferTimer = undefined;
            this.#firstOfferWaited = true;
            if (this.#closed || this.negotiations > 0 || pc.signalingState !== 'stable') return;
            this.note('no offer came: offering first');
            pc.onnegotiationneeded?.(new Event('negotiationneeded'));
          }, this.#offerTimeoutMs / 2);
        return;
      }
      try {
        this.#makingOffer = true;
        await pc.setLocalDescription();
        this.#sendLocalDescription();
      } catch (err) {
        this.lastError = `negotiationneeded: ${(err as Error).message}`;
        this.note(this.lastError);
      } finally {
        this.#makingOffer = false;
      }
    };
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && candidate.candidate !== '') {
        const init: CandidateInit = { candidate: candidate.candidate };
        if (candidate.sdpMid !== null) init.sdpMid = candidate.sdpMid;
        if (candidate.sdpMLineIndex !== null) init.sdpMLineIndex = candidate.sdpMLineIndex;
        if (candidate.usernameFragment !== null) init.usernameFragment = candidate.usernameFragment;
        this.#send({ type: 'candidate', to: this.remoteId, candidate: init });
      } else if (!candidate) {
        const ufrag = iceUfrag(pc.localDescription?.sdp);
        this.#send({
          type: 'end-of-candidates',
          to: this.remoteId,
          ...(ufrag ? { usernameFragment: ufrag } : {}),
        });
      }
    };
    // An offer whose answer does not come (lost while signaling reconnected, or just slow) would
    // leave the link in have-local-offer: after a while, send the same offer again.
    pc.onsignalingstatechange = () => this.#armOfferTimer();
    pc.ontrack = ({ track, streams }) => {
      const stream = streams[0] ?? (this.#remoteStream ??= new MediaStream());
      if (!streams[0] && !stream.getTracks().includes(track)) stream.addTrack(track);
      this.#remoteStream = stream;
      this.emit('track', stream);
    };
    pc.onconnectionstatechange = () => this.#onConnectionState();
  }

  get connectionState(): LinkConnectionState {
    return this.pc.connectionState as LinkConnectionState;
  }

  /** An offer is being made (setLocalDescription in flight): incoming offers collide. */
  get makingOffer(): boolean {
    return this.#makingOffer;
  }

  get remoteStream(): MediaStream | undefined {
    return this.#remoteStream;
  }

  /** Handles a relayed offer/answer/candidate from the remote peer. */
  handleSignal(msg: RemoteSignal): Promise<void> {
    this.#chain = this.#chain
      .then(() => this.#handle(msg))
      .catch((err: Error) => {
        this.lastError = `${msg.type}: ${err.message}`;
        this.note(this.lastError);
      });
    return this.#chain;
  }

  /**
   * Sends what the last implicit setLocalDescription made, as what it is. The two places that call
   * it race: a negotiationneeded queued behind a remote offer's setRemoteDescription answers that
   * offer, and the answer step that follows then makes an offer (the connection is stable again).
   * Each is sent under its own type (an offer sent as an answer carried setup:actpass, which the
   * other end refused; the answer was never sent and the other end waited for it).
   */
  #sendLocalDescription(): void {
    const d = this.pc.localDescription;
    if (d?.type === 'offer') {
      this.note(`offer sent ${offerOrigin(d.sdp)} to ${this.remoteLink ?? '?'}`);
      this.#send({ type: 'offer', to: this.remoteId, sdp: d.sdp });
    } else if (d?.type === 'answer') {
      const forOffer = offerOrigin(this.pc.remoteDescription?.sdp);
      this.#send({ type: 'answer', to: this.remoteId, sdp: d.sdp, ...(forOffer ? { forOffer } : {}) });
    }
  }

  async #handle(msg: RemoteSignal): Promise<void> {
    if (this.#closed) return;
    const pc = this.pc;
    if (msg.type === 'offer' || msg.type === 'answer') {
      const description: RTCSessionDescriptionInit = { type: msg.type, sdp: msg.sdp };
      const readyForOffer =
        !this.#makingOffer && (pc.signalingState === 'stable' || this.#isSettingRemoteAnswerPending);
      const offerCollision = description.type === 'offer' && !readyForOffer;
      this.#ignoreOffer = !this.polite && offerCollision;
      if (this.#ignoreOffer) {
        this.ignoredOffers++;
        this.note(`offer ignored (glare, impolite) ${offerOrigin(msg.sdp)} from ${msg.link ?? '?'}`);
        return;
      }
      if (msg.type === 'answer') {
        // An answer to an offer we no longer have (rolled back in a glare, replaced by a newer
        // one), or a second answer to an offer already answered: applying it would pair the other
        // end's state with the wrong offer. Drop it; the answer to the current one follows.
        const current = offerOrigin(pc.localDescription?.sdp);
        if (pc.signalingState !== 'have-local-offer' || (msg.forOffer && msg.forOffer !== current)) {
          this.staleAnswers++;
          this.note(`stale answer dropped (for ${msg.forOffer ?? '?'}, ours ${current ?? 'none'})`);
          return;
        }
      }
      if (offerCollision && pc.signalingState === 'have-local-offer') {
        // Polite end: withdraw our offer, take theirs.
        await pc.setLocalDescription({ type: 'rollback' });
        this.rollbacks++;
        this.note('rolled back our offer (glare, polite)');
      }
      this.#isSettingRemoteAnswerPending = description.type === 'answer';
      await pc.setRemoteDescription(description);
      this.#isSettingRemoteAnswerPending = false;
      if (description.type === 'offer') {
        await pc.setLocalDescription();
        this.#sendLocalDescription();
      }
      this.negotiations++;
      this.note(`${msg.type} applied ${offerOrigin(msg.sdp)} from ${msg.link ?? '?'}`);
      return;
    }
    if (msg.type === 'candidate') {
      // A candidate of another ICE generation (of an offer or answer since withdrawn) has no use.
      const ufrag = msg.candidate.usernameFragment;
      const current = iceUfrag(pc.remoteDescription?.sdp);
      if (ufrag && current && ufrag !== current) return;
      try {
        await pc.addIceCandidate(msg.candidate);
      } catch (err) {
        if (!this.#ignoreOffer) throw err;
      }
      return;
    }
    // end-of-candidates: only for the remote ICE generation we are using now. Applying a stale
    // one (from an offer that was rolled back, or before an ICE restart) would tell the agent
    // that no more candidates come, and make it give up early.
    if (msg.type !== 'end-of-candidates') return;
    const current = iceUfrag(pc.remoteDescription?.sdp);
    if (!msg.usernameFragment || msg.usernameFragment !== current) return;
    try {
      await pc.addIceCandidate({ candidate: '', sdpMLineIndex: 0, usernameFragment: msg.usernameFragment });
    } catch {
      // engines that do not take end-of-candidates: nothing to do
    }
  }

  #armOfferTimer(): void {
    if (this.#offerTimer !== undefined) clearTimeout(this.#offerTimer);
    this.#offerTimer = undefined;
    if (this.pc.signalingState !== 'have-local-offer' || this.#closed) return;
    this.#offerTimer = setTimeout(() => {
      this.#offerTimer = undefined;
      if (this.pc.signalingState !== 'have-local-offer') return;
      this.offerRetries++;
      this.note('no answer yet: offer sent again');
      void this.renegotiateIfStuck();
    }, this.#offerTimeoutMs);
  }

  /**
   * Sends our outstanding offer again, unchanged (it may have been lost while signaling was down,
   * or its answer may be slow). Re-sending is idempotent: an end that already applied it answers
   * the same offer again, and the second answer finds us stable and is dropped. Withdrawing the
   * offer instead (rollback and a fresh one) would part ways with an end that did apply it: a
   * browser refuses a later offer whose sections are not in the order it already agreed to.
   */
  renegotiateIfStuck(): Promise<void> {
    // In the same chain as remote descriptions, so it never interleaves with an answer being applied.
    this.#chain = this.#chain
      .then(() => {
        if (this.#closed || this.pc.signalingState !== 'have-local-offer' || this.#makingOffer) return;
        const d = this.pc.localDescription;
        if (d?.type !== 'offer') return;
        this.#send({ type: 'offer', to: this.remoteId, sdp: d.sdp });
        this.#armOfferTimer();
      })
      .catch((err: Error) => {
        this.lastError = `re-offer: ${err.message}`;
        this.note(this.lastError);
      });
    return this.#chain;
  }

  /** ICE restart (new ufrag/pwd, fresh candidates), e.g. after a network change. */
  restartIce(): void {
    if (this.#closed) return;
    this.#lastRestart = performance.now();
    this.iceRestarts++;
    this.note('ICE restart');
    this.emit('ice-restart');
    this.pc.restartIce();
  }

  /** New TURN credentials: used by the next gathering (an ICE restart or a new candidate). */
  setIceServers(iceServers: IceServer[]): void {
    if (this.#closed) return;
    const cfg = this.pc.getConfiguration();
    this.pc.setConfiguration({ ...cfg, iceServers: iceServers.map((s) => ({ ...s })) });
  }

  async updateStats(): Promise<LinkStats> {
    if (this.#closed) return this.stats;
    const report = await this.pc.getStats();
    this.stats = summarize(report, this.stats, performance.now());
    return this.stats;
  }

  /** Adds an event to `events` (kept to the last 40). */
  note(event: string): void {
    this.events.push(`${Math.round(performance.now() - this.#createdAt)} ${event}`);
    if (this.events.length > 40) this.events.shift();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#graceTimer !== undefined) clearTimeout(this.#graceTimer);
    if (this.#offerTimer !== undefined) clearTimeout(this.#offerTimer);
    if (this.#firstOfferTimer !== undefined) clearTimeout(this.#firstOfferTimer);
    this.pc.close();
    this.emit('state', 'closed');
  }

  #onConnectionState(): void {
    const state = this.connectionState;
    this.emit('state', state);
    this.note(`connection ${state}`);
    if (state === 'connected') {
      if (this.#graceTimer !== undefined) clearTimeout(this.#graceTimer);
      this.#graceTimer = undefined;
      if (!this.#everConnected) {
        this.#everConnected = true;
        this.emit('connected', performance.now() - this.#createdAt);
      }
    } else if (state === 'disconnected') {
      if (this.#graceTimer === undefined) this.#scheduleRestart(this.#graceMs);
    } else if (state === 'failed') {
      this.emit('failed');
      if (this.#graceTimer !== undefined) clearTimeout(this.#graceTimer);
      this.#graceTimer = undefined;
      // Not more than once per grace period if it keeps failing.
      this.#scheduleRestart(Math.max(0, this.#lastRestart + this.#graceMs - performance.now()));
    }
  }

  /**
   * ICE restart after `delayMs` if the link is still down. The impolite end moves first; the polite
   * end waits two more grace periods (by then the other's restart offer has usually arrived), so
   * both ends do not offer at once and collide.
   */
  #scheduleRestart(delayMs: number): void {
    const wait = delayMs + (this.polite ? 2 * this.#graceMs : 0);
    this.#graceTimer = setTimeout(() => {
      this.#graceTimer = undefined;
      const s = this.connectionState;
      if (this.#closed || (s !== 'disconnected' && s !== 'failed')) return;
      // A negotiation under way (perhaps the other end's restart): look again later.
      if (this.pc.signalingState !== 'stable') this.#scheduleRestart(this.#graceMs);
      else this.restartIce();
    }, wait);
  }
}
