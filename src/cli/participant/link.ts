/**
 * One mesh connection from a Node participant to a call page (or another participant), negotiated
 * as the browser library's links are (docs/signaling.md): perfect negotiation with the end whose
 * peer id sorts after the other's being *polite* (it rolls back its own offer on a collision, the
 * impolite end ignores the incoming one), trickle ICE, `link`/`toLink` connection ids, answers that
 * name their offer in `forOffer`, an offer re-sent when its answer does not come, and an ICE
 * restart (impolite end first) when the connection fails. Two negotiated data channels (chat id 0,
 * file id 1) are opened as the call page does, so both ends describe the same sections.
 */
import { randomBytes } from 'node:crypto';
import { Emitter } from '../../core/events.js';
import {
  type PeerOptions,
  RTCPeerConnection,
  type RTCPeerConnectionState,
  type RTCTrackEvent,
} from '../../peer/index.js';
import type { IceServer, LinkIds } from '../../protocol/signaling.js';
import type { CandidateInit, Outgoing } from './signaling.js';

/** Frames from the other peer, as the server relays them. */
export type PeerFrame = LinkIds & { from: string } & (
    | { type: 'offer' | 'answer'; sdp: string; forOffer?: string }
    | { type: 'candidate'; candidate: CandidateInit }
    | { type: 'end-of-candidates'; usernameFragment?: string }
  );

export interface LinkOptions {
  readonly localId: string;
  readonly remoteId: string;
  readonly iceServers: readonly IceServer[];
  readonly send: (frame: Outgoing) => void;
  /** Adds our transceivers (before the first offer either way). */
  readonly setup: (pc: RTCPeerConnection) => void;
  readonly peerOptions?: PeerOptions;
  /** Polite end made on presence: wait this long for the other's offer before offering, ms. */
  readonly firstOfferWaitMs?: number;
  /** How long an offer waits for its answer before it is sent again, ms (default 20000). */
  readonly offerTimeoutMs?: number;
  /** How long `disconnected`/`failed` lasts before an ICE restart, ms (default 3000). */
  readonly restartGraceMs?: number;
  /** Negotiation events, for diagnosis (`RTCSTACK_DEBUG=1` prints them). */
  readonly note?: (event: string) => void;
}

export interface LinkEvents {
  [key: string]: unknown[];
  track: [RTCTrackEvent];
  state: [RTCPeerConnectionState];
}

/** `o=` session id and version: names one offer. */
export function offerOrigin(sdp: string | undefined): string | undefined {
  return sdp ? /^o=\S+ (\S+ \S+)/m.exec(sdp)?.[1] : undefined;
}

function ufragOf(sdp: string | undefined): string | undefined {
  return sdp ? /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1] : undefined;
}

export class NodeLink extends Emitter<LinkEvents> {
  readonly id = randomBytes(6).toString('base64url');
  readonly remoteId: string;
  readonly polite: boolean;
  readonly pc: RTCPeerConnection;
  remoteLink: string | undefined;
  negotiations = 0;
  lastError: string | undefined;
  readonly #opts: LinkOptions;
  #chain: Promise<void> = Promise.resolve();
  #makingOffer = false;
  #firstOfferTimer: ReturnType<typeof setTimeout> | undefined;
  #offerTimer: ReturnType<typeof setTimeout> | undefined;
  #restartTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(opts: LinkOptions) {
    super();
    this.#opts = opts;
    this.remoteId = opts.remoteId;
    this.polite = opts.localId > opts.remoteId;
    const pc = new RTCPeerConnection(
      { iceServers: opts.iceServers.map((s) => ({ ...s })) },
      opts.peerOptions,
    );
    this.pc = pc;
    opts.setup(pc);
    pc.createDataChannel('chat', { negotiated: true, id: 0 });
    pc.createDataChannel('file', { negotiated: true, id: 1, ordered: true });
    pc.onnegotiationneeded = () => {
      const wait = opts.firstOfferWaitMs ?? 0;
      if (this.polite && this.negotiations === 0 && wait > 0 && this.#firstOfferTimer === undefined) {
        // Both ends made their link on presence: the impolite one offers, we answer. If its offer
        // does not come, offer ourselves.
        this.#firstOfferTimer = setTimeout(() => {
          if (this.negotiations === 0 && pc.signalingState === 'stable') void this.#offer();
        }, wait);
        return;
      }
      if (this.polite && this.negotiations === 0 && wait > 0) return;
      void this.#offer();
    };
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && candidate.candidate !== '') {
        this.#send({
          type: 'candidate',
          to: this.remoteId,
          candidate: {
            candidate: candidate.candidate,
            sdpMid: candidate.sdpMid,
            sdpMLineIndex: candidate.sdpMLineIndex,
            usernameFragment: candidate.usernameFragment,
          },
        });
      } else if (!candidate) {
        const ufrag = ufragOf(pc.localDescription?.sdp);
        this.#send({
          type: 'end-of-candidates',
          to: this.remoteId,
          ...(ufrag && { usernameFragment: ufrag }),
        });
      }
    };
    pc.onsignalingstatechange = () => this.#armOfferTimer();
    pc.ontrack = (ev) => this.emit('track', ev);
    pc.onconnectionstatechange = () => this.#onState();
  }

  #note(event: string): void {
    this.#opts.note?.(`${this.remoteId}: ${event}`);
  }

  #send(frame: Outgoing): void {
    if (this.#closed) return;
    if (frame.type !== 'candidate') this.#note(`-> ${frame.type}`);
    this.#opts.send({
      ...frame,
      link: this.id,
      ...(this.remoteLink && { toLink: this.remoteLink }),
    } as Outgoing);
  }

  async #offer(): Promise<void> {
    if (this.#closed) return;
    try {
      this.#makingOffer = true;
      await this.pc.setLocalDescription();
      const d = this.pc.localDescription;
      if (d?.type === 'offer') this.#send({ type: 'offer', to: this.remoteId, sdp: d.sdp });
    } catch (err) {
      this.lastError = `offer: ${(err as Error).message}`;
      this.#note(this.lastError);
    } finally {
      this.#makingOffer = false;
    }
  }

  /** Handles a relayed frame from the other peer (in order, one at a time). */
  handle(frame: PeerFrame): Promise<void> {
    this.#chain = this.#chain
      .then(() => this.#handle(frame))
      .catch((err: Error) => {
        this.lastError = `${frame.type}: ${err.message}`;
        this.#note(this.lastError);
      });
    return this.#chain;
  }

  async #handle(f: PeerFrame): Promise<void> {
    const pc = this.pc;
    if (this.#closed) return;
    if (f.type !== 'candidate') this.#note(`<- ${f.type} (${pc.signalingState})`);
    if (f.type === 'offer' || f.type === 'answer') {
      const collision = f.type === 'offer' && (this.#makingOffer || pc.signalingState !== 'stable');
      if (collision && !this.polite) return this.#note('offer ignored (glare, impolite)');
      if (f.type === 'answer') {
        const ours = offerOrigin(pc.localDescription?.sdp);
        if (pc.signalingState !== 'have-local-offer' || (f.forOffer && f.forOffer !== ours))
          return this.#note('stale answer dropped');
      }
      // A polite end's own pending offer is rolled back by setRemoteDescription(offer).
      await pc.setRemoteDescription({ type: f.type, sdp: f.sdp });
      if (f.type === 'offer') {
        await pc.setLocalDescription();
        const d = pc.localDescription;
        const forOffer = offerOrigin(f.sdp);
        if (d) this.#send({ type: 'answer', to: this.remoteId, sdp: d.sdp, ...(forOffer && { forOffer }) });
      }
      this.negotiations++;
      return;
    }
    const current = ufragOf(pc.remoteDescription?.sdp);
    if (f.type === 'candidate') {
      const ufrag = f.candidate.usernameFragment;
      if (!pc.remoteDescription || (ufrag && current && ufrag !== current)) return;
      await pc.addIceCandidate(f.candidate).catch(() => {});
      return;
    }
    if (f.type === 'end-of-candidates' && f.usernameFragment && f.usernameFragment === current)
      await pc
        .addIceCandidate({ candidate: '', sdpMLineIndex: 0, usernameFragment: f.usernameFragment })
        .catch(() => {});
  }

  #armOfferTimer(): void {
    if (this.#offerTimer !== undefined) clearTimeout(this.#offerTimer);
    this.#offerTimer = undefined;
    if (this.#closed || this.pc.signalingState !== 'have-local-offer') return;
    this.#offerTimer = setTimeout(() => {
      this.#offerTimer = undefined;
      // Sent again unchanged: an end that applied it answers again, and that answer is dropped.
      const d = this.pc.localDescription;
      if (this.pc.signalingState === 'have-local-offer' && d?.type === 'offer') {
        this.#send({ type: 'offer', to: this.remoteId, sdp: d.sdp });
        this.#armOfferTimer();
      }
    }, this.#opts.offerTimeoutMs ?? 20_000);
  }

  #onState(): void {
    const s = this.pc.connectionState;
    this.#note(`connection ${s} (ice ${this.pc.iceConnectionState})`);
    this.emit('state', s);
    if (s === 'connected') {
      if (this.#restartTimer !== undefined) clearTimeout(this.#restartTimer);
      this.#restartTimer = undefined;
    } else if ((s === 'disconnected' || s === 'failed') && this.#restartTimer === undefined) {
      this.#scheduleRestart();
    }
  }

  /** ICE restart after the grace period (the polite end two periods later, so they do not collide). */
  #scheduleRestart(): void {
    const grace = this.#opts.restartGraceMs ?? 3000;
    this.#restartTimer = setTimeout(
      () => {
        this.#restartTimer = undefined;
        const s = this.pc.connectionState;
        if (this.#closed || (s !== 'disconnected' && s !== 'failed')) return;
        if (this.pc.signalingState === 'stable') this.pc.restartIce();
        this.#scheduleRestart();
      },
      grace * (this.polite ? 3 : 1),
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of [this.#firstOfferTimer, this.#offerTimer, this.#restartTimer])
      if (t !== undefined) clearTimeout(t);
    this.pc.close();
  }
}
