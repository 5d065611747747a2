/**
 * A Node participant in a `rtcstack serve` room, in mesh mode: one NodeLink per other peer, made as
 * peers come (the welcome's list, then `peer-joined`) and closed as they go. Frames for a link of
 * ours that was replaced are dropped; a frame from a new connection of a peer whose old one we had
 * already paired with replaces ours (the other end started over), as the browser library does.
 * The SFU mode is not spoken here: a room that is or goes into it is reported through `sfu`.
 */
import { Emitter } from '../../core/events.js';
import type {
  PeerOptions,
  RTCPeerConnection,
  RTCPeerConnectionState,
  RTCTrackEvent,
} from '../../peer/index.js';
import type { IceServer, PeerInfo, ServerMessage } from '../../server/signaling/protocol.js';
import { NodeLink, type PeerFrame } from './link.js';
import { RoomSignaling, type SignalingOptions, type Welcome } from './signaling.js';

export interface ParticipantOptions extends SignalingOptions {
  /** Adds our transceivers to each new connection. */
  readonly setup: (pc: RTCPeerConnection, peer: PeerInfo) => void;
  readonly peerOptions?: PeerOptions;
  /** How long a polite link waits for the other's first offer, ms (default 5000). */
  readonly firstOfferWaitMs?: number;
  readonly offerTimeoutMs?: number;
  /** Negotiation events of every link, for diagnosis. */
  readonly note?: (event: string) => void;
}

export interface ParticipantEvents {
  [key: string]: unknown[];
  'peer-joined': [PeerInfo];
  'peer-left': [PeerInfo];
  /** A connection to `peer` was made (first, or replacing one that is closed now). */
  link: [PeerInfo, NodeLink];
  track: [PeerInfo, RTCTrackEvent, NodeLink];
  state: [PeerInfo, RTCPeerConnectionState];
  /** The room is (or went) into SFU mode, which this participant does not speak. */
  sfu: [];
  /** Signaling ended for good. */
  closed: [reason: string];
}

interface Entry {
  peer: PeerInfo;
  link: NodeLink;
}

export class Participant extends Emitter<ParticipantEvents> {
  readonly signaling: RoomSignaling;
  readonly #opts: ParticipantOptions;
  readonly #peers = new Map<string, Entry>();
  #iceServers: IceServer[] = [];
  #mode: 'mesh' | 'sfu' = 'mesh';
  linkReplacements = 0;

  constructor(opts: ParticipantOptions) {
    super();
    this.#opts = opts;
    this.signaling = new RoomSignaling(opts);
    this.signaling.on('message', (m) => this.#onMessage(m));
    this.signaling.on('closed', (reason) => this.emit('closed', reason));
  }

  get peerId(): string {
    return this.signaling.peerId;
  }

  get mode(): 'mesh' | 'sfu' {
    return this.#mode;
  }

  /** Joins the room; resolves with the welcome (peers present are being connected to). */
  async join(): Promise<Welcome> {
    this.signaling.on('welcome', (w) => this.#onWelcome(w));
    return this.signaling.connect();
  }

  peers(): { peer: PeerInfo; link: NodeLink }[] {
    return [...this.#peers.values()];
  }

  #onWelcome(w: Welcome): void {
    this.#iceServers = w.iceServers;
    this.#setMode(w.mode);
    if (w.resumed) {
      // Back after a drop: peers that left meanwhile are gone, new ones are in the list.
      const present = new Set(w.peers.map((p) => p.id));
      for (const id of [...this.#peers.keys()]) if (!present.has(id)) this.#remove(id);
    }
    for (const p of w.peers) this.#add(p, true, false);
  }

  #setMode(mode: 'mesh' | 'sfu'): void {
    if (mode === this.#mode) return;
    this.#mode = mode;
    if (mode === 'sfu') {
      for (const id of [...this.#peers.keys()]) this.#remove(id);
      this.emit('sfu');
    }
  }

  #add(peer: PeerInfo, fromPresence = true, announce = fromPresence): void {
    if (this.#mode !== 'mesh') return;
    const known = this.#peers.get(peer.id);
    if (known) {
      known.peer = peer;
      return;
    }
    const link = new NodeLink({
      localId: this.signaling.peerId,
      remoteId: peer.id,
      iceServers: this.#iceServers,
      send: (f) => this.signaling.send(f),
      setup: (pc) => this.#opts.setup(pc, peer),
      ...(this.#opts.peerOptions && { peerOptions: this.#opts.peerOptions }),
      firstOfferWaitMs: fromPresence ? (this.#opts.firstOfferWaitMs ?? 5000) : 0,
      ...(this.#opts.offerTimeoutMs !== undefined && { offerTimeoutMs: this.#opts.offerTimeoutMs }),
      ...(this.#opts.note && { note: this.#opts.note }),
    });
    const entry: Entry = { peer, link };
    link.on('track', (ev) => this.emit('track', entry.peer, ev, link));
    link.on('state', (s) => this.emit('state', entry.peer, s));
    const isNew = !this.#peers.has(peer.id);
    this.#peers.set(peer.id, entry);
    if (isNew && announce) this.emit('peer-joined', peer);
    this.emit('link', peer, link);
  }

  #remove(id: string, announce = true): void {
    const e = this.#peers.get(id);
    if (!e) return;
    this.#peers.delete(id);
    e.link.close();
    if (announce) this.emit('peer-left', e.peer);
  }

  #onMessage(m: ServerMessage): void {
    switch (m.type) {
      case 'peer-joined':
        this.#add(m.peer);
        return;
      case 'peer-left':
        this.#remove(m.peerId);
        return;
      case 'mode':
        this.#setMode(m.mode);
        return;
      case 'ice-servers':
        this.#iceServers = m.iceServers;
        for (const { link } of this.#peers.values())
          link.pc.setConfiguration({
            ...link.pc.getConfiguration(),
            iceServers: m.iceServers.map((s) => ({ ...s })),
          });
        return;
      case 'error':
        if (m.code === 'ERR_SIGNALING_UNKNOWN_PEER' && m.peer) this.#remove(m.peer);
        return;
      case 'offer':
      case 'answer':
      case 'candidate':
      case 'end-of-candidates':
        this.#route(m as PeerFrame);
        return;
      default:
    }
  }

  #route(f: PeerFrame): void {
    let e = this.#peers.get(f.from);
    if (!e) return; // presence comes first
    if (f.toLink !== undefined && f.toLink !== e.link.id) return; // for a link of ours that is gone
    if (f.link !== undefined) {
      const bound = e.link.remoteLink;
      if (bound !== undefined && bound !== f.link && e.link.pc.remoteDescription !== null) {
        const peer = e.peer;
        this.#remove(peer.id, false);
        this.#add(peer, false);
        e = this.#peers.get(peer.id);
        if (!e) return;
        this.linkReplacements++;
      }
      e.link.remoteLink = f.link;
    }
    void e.link.handle(f);
  }

  /** Leaves the room and closes every connection. */
  async close(): Promise<void> {
    for (const id of [...this.#peers.keys()]) this.#remove(id, false);
    await this.signaling.leave();
  }
}
