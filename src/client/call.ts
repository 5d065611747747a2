/**
 * A call: signaling plus a transport (mesh today), local media, chat, file transfer and periodic
 * stats reported to the server. This is the library's main entry point; the call page is a thin UI
 * on top of it.
 *
 *   const call = new Call({ url: 'ws://127.0.0.1:8080/ws', room: 'demo', name: 'ann' });
 *   call.setLocalStream(await navigator.mediaDevices.getUserMedia({ audio: true, video: true }));
 *   call.on('track', (peerId, stream) => attach(peerId, stream));
 *   await call.join();
 */

import type { IceServer, PeerInfo, RemoteSignal, ServerMessage, Welcome } from '../protocol/signaling.js';
import { Emitter } from './emitter.js';
import type { FileRecord } from './file-transfer.js';
import { MeshTransport } from './mesh.js';
import { type SfuLinksView, SfuTransport } from './sfu.js';
import { SignalingClient, type SignalingState } from './signaling-client.js';
import type { ChatMessage, RemotePeerView, Transport, TransportMode } from './transport.js';

export interface CallOptions {
  /** ws:// URL of the server's /ws endpoint. */
  readonly url: string;
  readonly room: string;
  readonly name?: string;
  /** Join token (needed unless the server runs open rooms). */
  readonly token?: string;
  /** Force every path through TURN (iceTransportPolicy 'relay'). */
  readonly relayOnly?: boolean;
  /** SFU mode: publish video as 3 simulcast layers (default true) or one encoding. */
  readonly simulcast?: boolean;
  /** SFU mode: publish video as one SVC stream with this scalabilityMode (e.g. 'L3T3_KEY'), not simulcast. */
  readonly svc?: string;
  /** The codec of `svc`: 'vp9' (default) or 'av1'. */
  readonly svcCodec?: 'vp9' | 'av1';
  /** SFU mode: receive video of at most this many lines (the SFU forwards lower layers). */
  readonly maxHeight?: number;
  /** getStats period, ms (default 1000); every summary is also reported to the server. */
  readonly statsIntervalMs?: number;
  readonly disconnectGraceMs?: number;
}

export interface CallEvents {
  [key: string]: unknown[];
  joined: [Welcome];
  signaling: [SignalingState];
  'peer-joined': [PeerInfo];
  'peer-left': [string];
  track: [peerId: string, stream: MediaStream];
  'peer-state': [peerId: string, state: string];
  chat: [ChatMessage];
  file: [FileRecord];
  stats: [];
  error: [code: string, message: string];
  /** The room switched between mesh and SFU (the server decides, by room size). */
  mode: [TransportMode];
  'active-speaker': [peerId: string];
  /** A remote participant muted or unmuted its microphone or camera. */
  'peer-muted': [peerId: string, kind: MediaKind, muted: boolean];
  /** The room's recording (SFU mode) started or stopped. */
  recording: [on: boolean, by: string];
}

export type MediaKind = 'audio' | 'video';

export interface CallSnapshot {
  self: { id: string; name: string };
  peerId: string;
  room: string;
  name: string;
  mode: TransportMode;
  /** How often the room switched between mesh and SFU since joining. */
  modeSwitches: number;
  /** The SFU's dominant speaker (SFU mode), or null. */
  activeSpeaker: string | null;
  /** SFU mode: video streams we upload (our simulcast layers, once for everyone); null in mesh. */
  outboundVideoStreams: number | null;
  /** SFU mode: our two connections with the server (states, ICE restarts, ufrags); null in mesh. */
  sfuLinks: SfuLinksView | null;
  /** Our own microphone/camera muted (setMuted). */
  muted: { audio: boolean; video: boolean };
  /** The room is being recorded on the server (SFU mode). */
  recording: boolean;
  signalingState: SignalingState;
  resumes: number;
  iceServers: { urls: string[]; username?: string }[];
  peers: {
    id: string;
    name: string;
    connectionState: string;
    iceConnectionState: string;
    signalingState: string;
    pathType: string | null;
    candidateType: string | null;
    localCandidateType: string | null;
    remoteCandidateType: string | null;
    localAddress: string | null;
    remoteAddress: string | null;
    rttMs: number | null;
    framesDecoded: number;
    /** The peer told the room it muted its microphone / camera. */
    audioMuted: boolean;
    videoMuted: boolean;
    videoFramesDecoded: number;
    audioPacketsReceived: number;
    bitrateInKbps: number;
    bitrateOutKbps: number;
    packetLoss: number;
    negotiations: number;
    rollbacks: number;
    ignoredOffers: number;
    /** Recent negotiation events of the link (mesh), oldest first. */
    events: string[];
    iceRestarts: number;
    offerRetries: number;
    makingOffer: boolean;
    chatOpen: boolean;
    fileOpen: boolean;
    lastError: string | null;
    iceUsernames: string[];
  }[];
  chat: { from: string; name: string; text: string; at: number }[];
  files: {
    id: string;
    name: string;
    size: number;
    direction: 'in' | 'out';
    peer: string;
    sha256: string;
    bytesDone: number;
    done: boolean;
    ok: boolean | null;
    error: string | null;
  }[];
  errors: { code: string; message: string }[];
}

export class Call extends Emitter<CallEvents> {
  readonly options: CallOptions;
  readonly signaling: SignalingClient;
  #transport: Transport;
  #peerId = '';
  #name = '';
  #iceServers: IceServer[] = [];
  #stream: MediaStream | undefined;
  #statsTimer: ReturnType<typeof setInterval> | undefined;
  readonly chatLog: ChatMessage[] = [];
  readonly files = new Map<string, FileRecord>();
  readonly errors: { code: string; message: string }[] = [];
  /** Everyone in the room but us (presence), whatever the transport. */
  readonly #present = new Map<string, PeerInfo>();
  #modeSwitches = 0;
  #activeSpeaker: string | null = null;
  readonly #muted = { audio: false, video: false };
  /** What the others told us they muted (peer-muted), by peer id. */
  readonly #peerMuted = new Map<string, { audio: boolean; video: boolean }>();
  #recording = false;

  constructor(options: CallOptions) {
    super();
    this.options = options;
    this.signaling = new SignalingClient({
      url: options.url,
      room: options.room,
      ...(options.name !== undefined ? { name: options.name } : {}),
      ...(options.token !== undefined ? { token: options.token } : {}),
    });
    this.#transport = this.#makeTransport('mesh');
    this.signaling.on('welcome', (w) => this.#onWelcome(w));
    this.signaling.on('message', (m) => this.#onMessage(m));
    this.signaling.on('state', (s) => this.emit('signaling', s));
    this.signaling.on('fatal', (code, message) => this.#error(code, message));
  }

  get peerId(): string {
    return this.#peerId;
  }

  get name(): string {
    return this.#name;
  }

  get mode(): TransportMode {
    return this.#transport.mode;
  }

  get localStream(): MediaStream | undefined {
    return this.#stream;
  }

  /** Set before join(): the tracks every new link sends. */
  setLocalStream(stream: MediaStream | undefined): void {
    this.#stream = stream;
  }

  /** Connects and joins; resolves with the first welcome. */
  join(): Promise<Welcome> {
    return new Promise((resolve, reject) => {
      const offW = this.on('joined', (w) => {
        offW();
        offE();
        resolve(w);
      });
      const offE = this.on('error', (code, message) => {
        offW();
        offE();
        reject(new Error(`${code}: ${message}`));
      });
      this.signaling.start();
      this.#statsTimer ??= setInterval(() => void this.#reportStats(), this.options.statsIntervalMs ?? 1000);
    });
  }

  leave(): void {
    if (this.#statsTimer !== undefined) clearInterval(this.#statsTimer);
    this.#statsTimer = undefined;
    this.#transport.close();
    this.signaling.close();
  }

  sendChat(text: string): ChatMessage {
    const msg: ChatMessage = { from: this.#peerId, name: this.#name, text, at: Date.now() };
    this.chatLog.push(msg);
    this.#transport.sendChat(msg);
    this.emit('chat', msg);
    return msg;
  }

  sendFile(name: string, bytes: Uint8Array): Promise<FileRecord[]> {
    return this.#transport.sendFile(name, bytes);
  }

  restartIce(): void {
    this.#transport.restartIce();
  }

  /**
   * Mutes or unmutes our microphone/camera: the tracks stop (disabled: silence, black frames) and
   * the room is told, so the others show it and, in SFU mode, the server stops forwarding them.
   */
  setMuted(kind: MediaKind, muted: boolean): void {
    for (const t of this.#stream?.getTracks() ?? []) if (t.kind === kind) t.enabled = !muted;
    this.#muted[kind] = muted;
    this.signaling.sendNow({ v: 1, type: 'mute', kind, muted });
  }

  get muted(): Readonly<{ audio: boolean; video: boolean }> {
    return this.#muted;
  }

  /** What a remote participant told the room it muted. */
  mutedOf(peerId: string): Readonly<{ audio: boolean; video: boolean }> {
    return this.#peerMuted.get(peerId) ?? { audio: false, video: false };
  }

  /** SFU mode: asks the server to start or stop recording the room (it tells everyone). */
  setRecording(on: boolean): void {
    this.signaling.sendNow({ v: 1, type: 'record', on });
  }

  get recording(): boolean {
    return this.#recording;
  }

  /**
   * The server keeps no mute state: say ours again whenever someone may have missed it (a newcomer,
   * a resumed session, tracks the SFU published after we muted).
   */
  #announceMuted(): void {
    for (const kind of ['audio', 'video'] as const)
      if (this.#muted[kind]) this.signaling.sendNow({ v: 1, type: 'mute', kind, muted: true });
  }

  peers(): RemotePeerView[] {
    return this.#transport.peers();
  }

  snapshot(): CallSnapshot {
    return {
      self: { id: this.#peerId, name: this.#name },
      peerId: this.#peerId,
      room: this.options.room,
      name: this.#name,
      mode: this.#transport.mode,
      modeSwitches: this.#modeSwitches,
      activeSpeaker: this.#activeSpeaker,
      outboundVideoStreams:
        this.#transport instanceof SfuTransport ? this.#transport.outboundVideoStreams : null,
      sfuLinks: this.#transport instanceof SfuTransport ? this.#transport.links() : null,
      muted: { ...this.#muted },
      recording: this.#recording,
      signalingState: this.signaling.state,
      resumes: this.signaling.resumes,
      iceServers: this.#iceServers.map((s) => ({
        urls: [...s.urls],
        ...(s.username ? { username: s.username } : {}),
      })),
      peers: this.#transport.peers().map((p) => ({
        id: p.id,
        name: p.name,
        connectionState: p.connectionState,
        iceConnectionState: p.iceConnectionState,
        signalingState: p.signalingState,
        pathType: p.stats.pathType,
        candidateType: p.stats.pathType,
        localCandidateType: p.stats.localCandidateType,
        remoteCandidateType: p.stats.remoteCandidateType,
        localAddress: p.stats.localAddress,
        remoteAddress: p.stats.remoteAddress,
        rttMs: p.stats.rttMs,
        framesDecoded: p.stats.framesDecoded,
        audioMuted: this.mutedOf(p.id).audio,
        videoMuted: this.mutedOf(p.id).video,
        videoFramesDecoded: p.stats.framesDecoded,
        audioPacketsReceived: p.stats.audioPacketsReceived,
        bitrateInKbps: p.stats.bitrateInKbps,
        bitrateOutKbps: p.stats.bitrateOutKbps,
        packetLoss: p.stats.packetLoss,
        negotiations: p.negotiations,
        rollbacks: p.rollbacks,
        ignoredOffers: p.ignoredOffers,
        iceRestarts: p.iceRestarts,
        offerRetries: p.offerRetries,
        makingOffer: p.makingOffer,
        chatOpen: p.chatOpen,
        fileOpen: p.fileOpen,
        lastError: p.lastError ?? null,
        iceUsernames: p.iceUsernames,
        events: p.events ? [...p.events] : [],
      })),
      chat: this.chatLog.map((c) => ({ ...c })),
      files: [...this.files.values()].map((f) => ({
        id: f.id,
        name: f.name,
        size: f.size,
        direction: f.direction,
        peer: f.peer,
        sha256: f.sha256,
        bytesDone: f.bytesDone,
        done: f.done,
        ok: f.ok ?? null,
        error: f.error ?? null,
      })),
      errors: [...this.errors],
    };
  }

  #makeTransport(mode: TransportMode): Transport {
    const policy: RTCIceTransportPolicy = this.options.relayOnly ? 'relay' : 'all';
    const t: Transport =
      mode === 'sfu'
        ? new SfuTransport(
            {
              send: (sig) => this.signaling.signal(sig),
              iceTransportPolicy: policy,
              stream: () => this.#stream,
              simulcast: this.options.simulcast ?? true,
              ...(this.options.svc && { svc: this.options.svc, svcCodec: this.options.svcCodec ?? 'vp9' }),
              ...(this.options.maxHeight && { maxHeight: this.options.maxHeight }),
              onPublished: () => this.#announceMuted(),
              ...(this.options.disconnectGraceMs !== undefined && {
                disconnectGraceMs: this.options.disconnectGraceMs,
              }),
            },
            this.#iceServers,
          )
        : new MeshTransport(
            {
              localId: () => this.#peerId,
              send: (sig) => this.signaling.signal(sig),
              iceTransportPolicy: policy,
              stream: () => this.#stream,
              ...(this.options.disconnectGraceMs !== undefined
                ? { disconnectGraceMs: this.options.disconnectGraceMs }
                : {}),
            },
            this.#iceServers,
          );
    // Events of a transport we switched away from are ignored.
    const live = (): boolean => t === this.#transport;
    t.on('track', (id, stream) => live() && this.emit('track', id, stream));
    t.on('peer-state', (id, state) => live() && this.emit('peer-state', id, state));
    t.on('peer-removed', (id) => live() && this.emit('peer-left', id));
    t.on('chat', (msg) => {
      if (!live()) return;
      this.chatLog.push(msg);
      this.emit('chat', msg);
    });
    t.on('file', (rec) => {
      this.files.set(`${rec.direction}:${rec.peer}:${rec.id}`, rec);
      this.emit('file', rec);
    });
    t.on('report', (name, peer, setupMs) => {
      this.signaling.sendNow({
        v: 1,
        type: 'event',
        name,
        peer,
        ...(setupMs !== undefined ? { setupMs: Math.round(setupMs) } : {}),
      });
    });
    return t;
  }

  #onWelcome(w: Welcome): void {
    let fresh = false;
    if (this.#peerId && w.peerId !== this.#peerId) {
      // A fresh session with a new identity: every link belonged to the old one.
      this.#present.clear();
      this.#peerMuted.clear();
      this.#recording = false;
      if (this.#transport instanceof SfuTransport) {
        // The server dropped our old SFU connections with the old identity: start over.
        const old = this.#transport;
        this.#transport = this.#makeTransport('sfu');
        old.close();
        fresh = true;
      } else this.#transport.reset();
    }
    this.#peerId = w.peerId;
    this.#name = w.name;
    this.#iceServers = w.iceServers;
    this.#transport.setIceServers(w.iceServers);
    for (const p of w.peers) this.#present.set(p.id, p);
    if (w.mode !== this.#transport.mode) this.#switchMode(w.mode);
    for (const p of w.peers) {
      this.#transport.addPeer(p);
      this.emit('peer-joined', p);
    }
    if (w.resumed) this.#transport.resync();
    if (fresh && this.#transport instanceof SfuTransport && w.mode === 'sfu') void this.#transport.start();
    this.#announceMuted();
    this.emit('joined', w);
  }

  /**
   * Mesh <-> SFU: drop the old transport's connections and set up the new one with everyone present.
   * The users do nothing; their video tiles get new streams from the new transport.
   */
  #switchMode(mode: TransportMode): void {
    if (mode === this.#transport.mode) return;
    const old = this.#transport;
    this.#transport = this.#makeTransport(mode);
    old.close();
    this.#modeSwitches++;
    if (mode === 'mesh') {
      this.#activeSpeaker = null;
      this.#recording = false;
    }
    for (const p of this.#present.values()) this.#transport.addPeer(p);
    if (this.#transport instanceof SfuTransport) void this.#transport.start();
    this.emit('mode', mode);
  }

  #onMessage(m: ServerMessage): void {
    switch (m.type) {
      case 'peer-joined':
        this.#present.set(m.peer.id, m.peer);
        this.#transport.addPeer(m.peer);
        this.#announceMuted();
        this.emit('peer-joined', m.peer);
        return;
      case 'peer-left':
        this.#present.delete(m.peerId);
        this.#peerMuted.delete(m.peerId);
        this.#transport.removePeer(m.peerId);
        return;
      case 'mode':
        this.#switchMode(m.mode);
        return;
      case 'sfu-offer':
      case 'sfu-answer':
      case 'sfu-candidate':
      case 'sfu-end-of-candidates':
        if (this.#transport instanceof SfuTransport) void this.#transport.handleServer(m);
        return;
      case 'active-speaker':
        this.#activeSpeaker = m.peerId;
        this.emit('active-speaker', m.peerId);
        return;
      case 'peer-muted': {
        const state = this.#peerMuted.get(m.peerId) ?? { audio: false, video: false };
        state[m.kind] = m.muted;
        this.#peerMuted.set(m.peerId, state);
        this.emit('peer-muted', m.peerId, m.kind, m.muted);
        return;
      }
      case 'recording':
        this.#recording = m.on;
        this.emit('recording', m.on, m.by);
        return;
      case 'offer':
      case 'answer':
      case 'candidate':
      case 'end-of-candidates':
        this.#transport.handleSignal(m as RemoteSignal);
        return;
      case 'ice-servers':
        this.#iceServers = m.iceServers;
        this.#transport.setIceServers(m.iceServers);
        return;
      case 'error':
        // A peer we signal to is gone (e.g. it never came back after a server restart).
        if (m.code === 'ERR_SIGNALING_UNKNOWN_PEER' && m.peer) this.#transport.removePeer(m.peer);
        this.#error(m.code, m.message);
        return;
      default:
        return;
    }
  }

  #error(code: string, message: string): void {
    this.errors.push({ code, message });
    if (this.errors.length > 50) this.errors.shift();
    this.emit('error', code, message);
  }

  async #reportStats(): Promise<void> {
    const peers = await this.#transport.updateStats();
    this.emit('stats');
    if (peers.length > 0) this.signaling.sendNow({ v: 1, type: 'stats', peers });
  }
}
