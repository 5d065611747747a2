/**
 * A Node participant's connections with the server's SFU (docs/signaling.md, "SFU mode"): `sub`
 * receives everyone (the server offers, and offers again as participants come and go; each track's
 * stream id is its publisher's peer id, the offer's `tracks` say the same per mid), `pub` sends our
 * media when there is any (we offer, one encoding, no simulcast). Candidates trickle per
 * connection with `sfu-candidate`. No glare is possible: each side offers on its own connection.
 */
import { Emitter } from '../../core/events.js';
import {
  type PeerOptions,
  RTCPeerConnection,
  type RTCPeerConnectionState,
  type RTCTrackEvent,
} from '../../peer/index.js';
import type { IceServer, SfuPc, SfuTrackInfo } from '../../protocol/signaling.js';
import type { CandidateInit, Outgoing } from './signaling.js';

/** SFU frames from the server. */
export type SfuFrame =
  | { type: 'sfu-offer'; pc: 'sub'; sdp: string; tracks: SfuTrackInfo[] }
  | { type: 'sfu-answer'; pc: 'pub'; sdp: string }
  | { type: 'sfu-candidate'; pc: SfuPc; candidate: CandidateInit }
  | { type: 'sfu-end-of-candidates'; pc: SfuPc; usernameFragment?: string };

export interface SfuLinkOptions {
  readonly iceServers: readonly IceServer[];
  readonly send: (frame: Outgoing) => void;
  /** Adds what we publish to the `pub` connection; without it there is none. */
  readonly publish?: (pc: RTCPeerConnection) => void;
  readonly peerOptions?: PeerOptions;
  readonly note?: (event: string) => void;
}

export interface SfuLinkEvents {
  [key: string]: unknown[];
  /** A track of participant `peerId` on the subscribing connection. */
  track: [peerId: string, RTCTrackEvent];
  state: [SfuPc, RTCPeerConnectionState];
}

export class SfuLink extends Emitter<SfuLinkEvents> {
  pub: RTCPeerConnection | undefined;
  sub: RTCPeerConnection | undefined;
  readonly #opts: SfuLinkOptions;
  readonly #mids = new Map<string, SfuTrackInfo>();
  #chain: Promise<void> = Promise.resolve();
  #closed = false;
  lastError: string | undefined;

  constructor(opts: SfuLinkOptions) {
    super();
    this.#opts = opts;
  }

  /** Publishes (when there is something to publish): the `pub` offer. */
  async start(): Promise<void> {
    const publish = this.#opts.publish;
    if (!publish || this.pub) return;
    const pc = this.#pc('pub');
    publish(pc);
    // The call page's two negotiated channels ride on `pub` in SFU mode too.
    pc.createDataChannel('chat', { negotiated: true, id: 0 });
    pc.createDataChannel('file', { negotiated: true, id: 1, ordered: true });
    try {
      await pc.setLocalDescription(await pc.createOffer());
      this.#send({ type: 'sfu-offer', pc: 'pub', sdp: pc.localDescription!.sdp });
    } catch (err) {
      this.#fail('publish offer', err);
    }
  }

  /** A frame from the server, handled in order. */
  handle(f: SfuFrame): Promise<void> {
    this.#chain = this.#chain.then(() => this.#handle(f)).catch((err) => this.#fail(f.type, err));
    return this.#chain;
  }

  async #handle(f: SfuFrame): Promise<void> {
    if (this.#closed) return;
    if (f.type === 'sfu-offer') {
      this.#opts.note?.(`sfu: <- offer for sub (${f.tracks.length} tracks)`);
      for (const t of f.tracks) this.#mids.set(t.mid, t);
      const pc = this.#pc('sub');
      await pc.setRemoteDescription({ type: 'offer', sdp: f.sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      this.#send({ type: 'sfu-answer', pc: 'sub', sdp: pc.localDescription!.sdp });
    } else if (f.type === 'sfu-answer') {
      this.#opts.note?.('sfu: <- answer for pub');
      if (this.pub?.signalingState === 'have-local-offer')
        await this.pub.setRemoteDescription({ type: 'answer', sdp: f.sdp });
    } else {
      const pc = f.pc === 'pub' ? this.pub : this.sub;
      if (!pc?.remoteDescription) return;
      const candidate =
        f.type === 'sfu-candidate'
          ? f.candidate
          : { candidate: '', sdpMLineIndex: 0, usernameFragment: f.usernameFragment ?? null };
      await pc.addIceCandidate(candidate).catch(() => {});
    }
  }

  #send(frame: Outgoing): void {
    if (!this.#closed) this.#opts.send(frame);
  }

  #fail(what: string, err: unknown): void {
    this.lastError = `${what}: ${(err as Error)?.message ?? String(err)}`;
    this.#opts.note?.(`sfu: ${this.lastError}`);
  }

  #pc(which: SfuPc): RTCPeerConnection {
    const existing = which === 'pub' ? this.pub : this.sub;
    if (existing) return existing;
    const pc = new RTCPeerConnection(
      { iceServers: this.#opts.iceServers.map((s) => ({ ...s })) },
      this.#opts.peerOptions,
    );
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && candidate.candidate !== '')
        this.#send({
          type: 'sfu-candidate',
          pc: which,
          candidate: {
            candidate: candidate.candidate,
            sdpMid: candidate.sdpMid,
            sdpMLineIndex: candidate.sdpMLineIndex,
            usernameFragment: candidate.usernameFragment,
          },
        });
      else if (!candidate) this.#send({ type: 'sfu-end-of-candidates', pc: which });
    };
    pc.onconnectionstatechange = () => {
      this.#opts.note?.(`sfu: ${which} connection ${pc.connectionState}`);
      this.emit('state', which, pc.connectionState);
    };
    if (which === 'sub')
      pc.ontrack = (ev) => {
        const peerId = ev.streams[0]?.id ?? this.#mids.get(ev.transceiver.mid ?? '')?.peerId;
        if (peerId) this.emit('track', peerId, ev);
      };
    if (which === 'pub') this.pub = pc;
    else this.sub = pc;
    return pc;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.pub?.close();
    this.sub?.close();
  }
}
