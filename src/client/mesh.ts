/** The full-mesh transport: one PeerLink per remote peer in the room. */

import type { IceServer, PeerInfo, PeerSignal, RemoteSignal, StatsEntry } from '../protocol/signaling.js';
import { Emitter } from './emitter.js';
import {
  FileReceiver,
  type FileRecord,
  newFileId,
  outgoingFile,
  sendFile,
  sha256Hex,
} from './file-transfer.js';
import { PeerLink } from './peer-link.js';
import type { ChatMessage, RemotePeerView, Transport, TransportEvents } from './transport.js';

export interface MeshOptions {
  readonly localId: () => string;
  readonly send: (sig: PeerSignal) => void;
  readonly iceTransportPolicy: RTCIceTransportPolicy;
  readonly stream: () => MediaStream | undefined;
  readonly disconnectGraceMs?: number;
  /** How long an offer waits for its answer before it is made again, ms (default 20000). */
  readonly offerTimeoutMs?: number;
}

interface Entry {
  readonly link: PeerLink;
  readonly receiver: FileReceiver;
  /** Serializes file sends on this link's channel. */
  sending: Promise<unknown>;
  /** Chat sent before this link's chat channel opened, delivered when it does. */
  pendingChat: string[];
}

/** Chat messages kept per link while its channel is not open yet. */
const MAX_PENDING_CHAT = 100;

export class MeshTransport extends Emitter<TransportEvents> implements Transport {
  readonly mode = 'mesh' as const;
  readonly #opts: MeshOptions;
  readonly #links = new Map<string, Entry>();
  /** Frames dropped because they were for a connection of ours that was replaced. */
  staleSignals = 0;
  /** Connections replaced because the other end came back with a new one. */
  linkReplacements = 0;
  #iceServers: IceServer[] = [];

  constructor(opts: MeshOptions, iceServers: IceServer[]) {
    super();
    this.#opts = opts;
    this.#iceServers = iceServers;
  }

  /**
   * A link to `peer`. From presence (the default) both ends make theirs at about the same time, so
   * the polite end waits for the other's offer; a link that replaces one (`fromPresence` false)
   * offers at once, since the other end may be waiting on it.
   */
  addPeer(peer: PeerInfo, fromPresence = true): void {
    const known = this.#links.get(peer.id);
    if (known) {
      known.link.remoteName = peer.name;
      return;
    }
    const link = new PeerLink({
      localId: this.#opts.localId(),
      remoteId: peer.id,
      remoteName: peer.name,
      iceServers: this.#iceServers,
      iceTransportPolicy: this.#opts.iceTransportPolicy,
      send: this.#opts.send,
      stream: this.#opts.stream(),
      awaitFirstOffer: fromPresence,
      ...(this.#opts.offerTimeoutMs !== undefined ? { offerTimeoutMs: this.#opts.offerTimeoutMs } : {}),
      ...(this.#opts.disconnectGraceMs !== undefined
        ? { disconnectGraceMs: this.#opts.disconnectGraceMs }
        : {}),
    });
    const receiver = new FileReceiver(
      peer.id,
      (rec) => this.emit('file', rec),
      (rec) => this.emit('file', rec),
    );
    const entry: Entry = { link, receiver, sending: Promise.resolve(), pendingChat: [] };
    this.#links.set(peer.id, entry);
    link.on('channel-open', (which) => {
      if (which !== 'chat') return;
      for (const text of entry.pendingChat.splice(0)) link.chat.send(text);
    });
    link.on('track', (stream) => this.emit('track', peer.id, stream));
    link.on('state', (state) => this.emit('peer-state', peer.id, state));
    link.on('connected', (ms) => this.emit('report', 'connected', peer.id, ms));
    link.on('failed', () => this.emit('report', 'ice-failed', peer.id));
    link.on('ice-restart', () => this.emit('report', 'ice-restart', peer.id));
    link.on('chat', (text) => {
      let msg: { text?: unknown; name?: unknown; at?: unknown };
      try {
        msg = JSON.parse(text) as typeof msg;
      } catch {
        return;
      }
      if (typeof msg.text !== 'string') return;
      this.emit('chat', {
        from: peer.id,
        name: typeof msg.name === 'string' ? msg.name.slice(0, 64) : link.remoteName,
        text: msg.text.slice(0, 4000),
        at: typeof msg.at === 'number' ? msg.at : Date.now(),
      });
    });
    link.on('file', (data) => receiver.handle(data));
    this.emit('peer-added', peer.id);
  }

  removePeer(id: string): void {
    const e = this.#links.get(id);
    if (!e) return;
    this.#links.delete(id);
    e.link.close();
    this.emit('peer-removed', id);
  }

  reset(): void {
    for (const id of [...this.#links.keys()]) this.removePeer(id);
  }

  handleSignal(msg: RemoteSignal): void {
    let e = this.#links.get(msg.from);
    if (!e) return; // from a peer we have not heard join: presence comes first
    // For a connection of ours that we have since replaced: it is gone, drop the frame.
    if (msg.toLink !== undefined && msg.toLink !== e.link.id) {
      this.staleSignals++;
      if (msg.type !== 'candidate') e.link.note(`${msg.type} for our old link ${msg.toLink} dropped`);
      return;
    }
    if (msg.link !== undefined) {
      const bound = e.link.remoteLink;
      if (bound !== undefined && bound !== msg.link && e.link.pc.remoteDescription !== null) {
        // The other end has a new connection for us (it dropped ours and found us again), and ours
        // already took a description from the old one: it can never pair with the new one (other
        // certificate, other ICE agent). Start over with a fresh connection, which takes this frame.
        const peer: PeerInfo = { id: msg.from, name: e.link.remoteName };
        this.removePeer(peer.id);
        this.addPeer(peer, false);
        e = this.#links.get(peer.id);
        if (!e) return;
        this.linkReplacements++;
        e.link.note(`replaces our link to ${bound}: the other end now has ${msg.link}`);
      }
      // Not bound yet, or nothing of the old remote connection applied: bind to this one. (A fresh
      // connection is never replaced, so two ends cannot keep replacing each other.)
      e.link.remoteLink = msg.link;
    }
    void e.link.handleSignal(msg);
  }

  setIceServers(servers: IceServer[]): void {
    this.#iceServers = servers;
    for (const { link } of this.#links.values()) link.setIceServers(servers);
  }

  resync(): void {
    for (const { link } of this.#links.values()) {
      void link.renegotiateIfStuck();
      const s = link.connectionState;
      if (s === 'failed' || s === 'disconnected') link.restartIce();
    }
  }

  restartIce(): void {
    for (const { link } of this.#links.values()) link.restartIce();
  }

  hasPeer(id: string): boolean {
    return this.#links.has(id);
  }

  sendChat(msg: ChatMessage): void {
    const text = JSON.stringify({ text: msg.text, name: msg.name, at: msg.at });
    for (const e of this.#links.values()) {
      if (e.link.chat.readyState === 'open') e.link.chat.send(text);
      else if (e.pendingChat.length < MAX_PENDING_CHAT) e.pendingChat.push(text);
    }
  }

  async sendFile(name: string, bytes: Uint8Array): Promise<FileRecord[]> {
    const sha256 = await sha256Hex(bytes);
    const sends: Promise<FileRecord>[] = [];
    for (const [peer, e] of this.#links) {
      const rec = outgoingFile(newFileId(), name, bytes, peer, sha256);
      this.emit('file', rec);
      const run = e.sending.then(() =>
        sendFile(e.link.fileChannel, rec, bytes, (r) => this.emit('file', r)).then(
          () => {
            this.emit('file', rec);
            return rec;
          },
          (err: Error) => {
            rec.done = true;
            rec.ok = false;
            rec.error = err.message;
            this.emit('file', rec);
            return rec;
          },
        ),
      );
      e.sending = run;
      sends.push(run);
    }
    return Promise.all(sends);
  }

  async updateStats(): Promise<StatsEntry[]> {
    const out: StatsEntry[] = [];
    for (const { link } of this.#links.values()) {
      try {
        const s = await link.updateStats();
        out.push({
          peerId: link.remoteId,
          connectionState: link.connectionState,
          pathType: s.pathType,
          localCandidateType: s.localCandidateType,
          remoteCandidateType: s.remoteCandidateType,
          rttMs: s.rttMs,
          bitrateInKbps: s.bitrateInKbps,
          bitrateOutKbps: s.bitrateOutKbps,
          packetLoss: s.packetLoss,
          framesDecoded: s.framesDecoded,
        });
      } catch {
        // closed while we asked
      }
    }
    return out;
  }

  peers(): RemotePeerView[] {
    return [...this.#links.values()].map(({ link }) => ({
      id: link.remoteId,
      name: link.remoteName,
      connectionState: link.pc.connectionState,
      iceConnectionState: link.pc.iceConnectionState,
      signalingState: link.pc.signalingState,
      stats: link.stats,
      stream: link.remoteStream,
      negotiations: link.negotiations,
      rollbacks: link.rollbacks,
      ignoredOffers: link.ignoredOffers,
      iceRestarts: link.iceRestarts,
      offerRetries: link.offerRetries,
      staleAnswers: link.staleAnswers,
      events: link.events,
      makingOffer: link.makingOffer,
      chatOpen: link.chat.readyState === 'open',
      fileOpen: link.fileChannel.readyState === 'open',
      lastError: link.lastError,
      iceUsernames: (link.pc.getConfiguration().iceServers ?? []).flatMap((s) =>
        s.username ? [s.username] : [],
      ),
    }));
  }

  close(): void {
    this.reset();
  }
}
