/**
 * A Node participant in a `rtcstack serve` room. In mesh mode: one NodeLink per other peer, made as
 * peers come (the welcome's list, then `peer-joined`) and closed as they go; frames for a link of
 * ours that was replaced are dropped, and a frame from a new connection of a peer whose old one we
 * had already paired with replaces ours (the other end started over), as the browser library does.
 * In SFU mode (with `sfu: true`): an SfuLink, receiving everyone on one connection and publishing on
 * another; a switch either way closes one transport and sets up the other for everyone present.
 * Without `sfu: true`, a room in SFU mode is reported through `sfu` and nothing is connected.
 */
import { Emitter } from '../../core/events.js';
import type {
  PeerOptions,
  RTCPeerConnection,
  RTCPeerConnectionState,
  RTCTrackEvent,
} from '../../peer/index.js';
import type { IceServer, PeerInfo, RoomMode, ServerMessage } from '../../protocol/signaling.js';
import { NodeLink, type PeerFrame } from './link.js';
import { type SfuFrame, SfuLink } from './sfu-link.js';
import { RoomSignaling, type SignalingOptions, type Welcome } from './signaling.js';

export interface ParticipantOptions extends SignalingOptions {
  /** Adds our transceivers to each new mesh connection. */
  readonly setup: (pc: RTCPeerConnection, peer: PeerInfo) => void;
  /** Take part in SFU mode too (default false: report it through `sfu`). */
  readonly sfu?: boolean;
  /** SFU mode: adds what we publish to the publishing connection (none without it). */
  readonly publish?: (pc: RTCPeerConnection) => void;
  readonly peerOptions?: PeerOptions;
  /** How long a polite link waits for the other's first offer, ms (default 5000). */
  readonly firstOfferWaitMs?: number;
  readonly offerTimeoutMs?: number;
  /** Negotiation events of every connection, for diagnosis. */
  readonly note?: (event: string) => void;
}

/** Which connection a state change is about: a mesh link to a peer, or the SFU's pub/sub. */
export type ConnectionOf = { kind: 'mesh'; peer: PeerInfo } | { kind: 'sfu'; pc: 'pub' | 'sub' };

export interface ParticipantEvents {
  [key: string]: unknown[];
  'peer-joined': [PeerInfo];
  'peer-left': [PeerInfo];
  /**
   * A track of `peer`. `group` is the same object for the tracks one connection carries from that
   * peer (a mesh link; in SFU mode, one per publisher per SFU session).
   */
  track: [PeerInfo, RTCTrackEvent, object];
  state: [ConnectionOf, RTCPeerConnectionState];
  mode: [RoomMode];
  /** The room is (or went) into SFU mode and `sfu` is off. */
  sfu: [];
  /** Signaling ended for good. */
  closed: [reason: string];
}

export class Participant extends Emitter<ParticipantEvents> {
  readonly signaling: RoomSignaling;
  readonly #opts: ParticipantOptions;
  /** Everyone else in the room (presence), whatever the mode. */
  readonly #present = new Map<string, PeerInfo>();
  readonly #links = new Map<string, NodeLink>();
  #sfuLink: SfuLink | undefined;
  #sfuGroups = new Map<string, object>();
  #iceServers: IceServer[] = [];
  #mode: RoomMode = 'mesh';
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

  get mode(): RoomMode {
    return this.#mode;
  }

  /** Joins the room; resolves with the welcome (peers present are being connected to). */
  async join(): Promise<Welcome> {
    this.signaling.on('welcome', (w) => this.#onWelcome(w));
    return this.signaling.connect();
  }

  /** The mesh links (empty in SFU mode). */
  peers(): { peer: PeerInfo; link: NodeLink }[] {
    return [...this.#links.values()].map((link) => ({ peer: this.#present.get(link.remoteId)!, link }));
  }

  /** Others in the room, and how many of them we receive from / reach over a connected path. */
  counts(): { participants: number; connected: number } {
    const participants = this.#present.size;
    if (this.#mode === 'sfu') {
      const up = [this.#sfuLink?.sub, this.#sfuLink?.pub].some((pc) => pc?.connectionState === 'connected');
      return { participants, connected: up ? participants : 0 };
    }
    let connected = 0;
    for (const l of this.#links.values()) if (l.pc.connectionState === 'connected') connected++;
    return { participants, connected };
  }

  /** The SFU connections (SFU mode). */
  get sfuLink(): SfuLink | undefined {
    return this.#sfuLink;
  }

  #onWelcome(w: Welcome): void {
    this.#iceServers = w.iceServers;
    const present = new Set(w.peers.map((p) => p.id));
    // Back after a drop: peers that left meanwhile are gone.
    for (const [id, peer] of [...this.#present]) if (!present.has(id)) this.#left(peer);
    for (const p of w.peers) {
      const isNew = !this.#present.has(p.id);
      this.#present.set(p.id, p);
      if (isNew && w.resumed) this.emit('peer-joined', p);
    }
    this.#setMode(w.mode, true);
    if (this.#mode === 'mesh') for (const p of w.peers) this.#add(p);
  }

  #setMode(mode: RoomMode, initial = false): void {
    if (mode === this.#mode && !(initial && mode === 'sfu' && !this.#sfuLink)) return;
    const changed = mode !== this.#mode;
    this.#mode = mode;
    if (changed && !initial) this.emit('mode', mode);
    if (mode === 'sfu') {
      for (const id of [...this.#links.keys()]) this.#closeLink(id);
      if (!this.#opts.sfu) {
        this.emit('sfu');
        return;
      }
      this.#startSfu();
    } else {
      this.#sfuLink?.close();
      this.#sfuLink = undefined;
      for (const p of this.#present.values()) this.#add(p);
    }
  }

  #startSfu(): void {
    if (this.#sfuLink) return;
    this.#sfuGroups = new Map();
    const link = new SfuLink({
      iceServers: this.#iceServers,
      send: (f) => this.signaling.send(f),
      ...(this.#opts.publish && { publish: this.#opts.publish }),
      ...(this.#opts.peerOptions && { peerOptions: this.#opts.peerOptions }),
      ...(this.#opts.note && { note: this.#opts.note }),
    });
    link.on('track', (peerId, ev) => {
      const peer = this.#present.get(peerId) ?? { id: peerId, name: peerId };
      let group = this.#sfuGroups.get(peerId);
      if (!group) this.#sfuGroups.set(peerId, (group = {}));
      this.emit('track', peer, ev, group);
    });
    link.on('state', (pc, s) => this.emit('state', { kind: 'sfu', pc }, s));
    this.#sfuLink = link;
    void link.start();
  }

  #add(peer: PeerInfo, fromPresence = true): void {
    if (this.#mode !== 'mesh' || this.#links.has(peer.id)) return;
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
    const current = (): PeerInfo => this.#present.get(peer.id) ?? peer;
    link.on('track', (ev) => this.emit('track', current(), ev, link));
    link.on('state', (s) => this.emit('state', { kind: 'mesh', peer: current() }, s));
    this.#links.set(peer.id, link);
  }

  #closeLink(id: string): void {
    const link = this.#links.get(id);
    if (!link) return;
    this.#links.delete(id);
    link.close();
  }

  #left(peer: PeerInfo): void {
    this.#present.delete(peer.id);
    this.#closeLink(peer.id);
    this.#sfuGroups.delete(peer.id);
    this.emit('peer-left', peer);
  }

  #onMessage(m: ServerMessage): void {
    switch (m.type) {
      case 'peer-joined': {
        const isNew = !this.#present.has(m.peer.id);
        this.#present.set(m.peer.id, m.peer);
        if (isNew) this.emit('peer-joined', m.peer);
        this.#add(m.peer);
        return;
      }
      case 'peer-left': {
        const peer = this.#present.get(m.peerId);
        if (peer) this.#left(peer);
        return;
      }
      case 'mode':
        this.#setMode(m.mode);
        return;
      case 'ice-servers':
        this.#iceServers = m.iceServers;
        for (const pc of [
          ...[...this.#links.values()].map((l) => l.pc),
          this.#sfuLink?.pub,
          this.#sfuLink?.sub,
        ])
          pc?.setConfiguration({ ...pc.getConfiguration(), iceServers: m.iceServers.map((s) => ({ ...s })) });
        return;
      case 'error':
        if (m.code === 'ERR_SIGNALING_UNKNOWN_PEER' && m.peer) {
          const peer = this.#present.get(m.peer);
          if (peer) this.#left(peer);
        }
        return;
      case 'offer':
      case 'answer':
      case 'candidate':
      case 'end-of-candidates':
        this.#route(m as PeerFrame);
        return;
      case 'sfu-offer':
      case 'sfu-answer':
      case 'sfu-candidate':
      case 'sfu-end-of-candidates':
        void this.#sfuLink?.handle(m as SfuFrame);
        return;
      default:
    }
  }

  #route(f: PeerFrame): void {
    let link = this.#links.get(f.from);
    if (!link) return; // presence comes first; in SFU mode peer frames are stale
    if (f.toLink !== undefined && f.toLink !== link.id) return; // for a link of ours that is gone
    if (f.link !== undefined) {
      const bound = link.remoteLink;
      if (bound !== undefined && bound !== f.link && link.pc.remoteDescription !== null) {
        const peer = this.#present.get(f.from);
        if (!peer) return;
        this.#closeLink(peer.id);
        this.#add(peer, false);
        link = this.#links.get(peer.id);
        if (!link) return;
        this.linkReplacements++;
      }
      link.remoteLink = f.link;
    }
    void link.handle(f);
  }

  /** Leaves the room and closes every connection. */
  async close(): Promise<void> {
    for (const id of [...this.#links.keys()]) this.#closeLink(id);
    this.#sfuLink?.close();
    this.#sfuLink = undefined;
    await this.signaling.leave();
  }
}
