/**
 * The SFU transport: two peer connections with the server instead of one per remote peer.
 * `pub` sends our camera (simulcast: rids q/h/f, low to high) and microphone, offered by us;
 * `sub` receives everyone else, offered by the server and re-offered as participants come and go.
 * Each remote participant's tracks arrive in one MediaStream whose id is that participant's peer id.
 * Chat and files ride two negotiated data channels on `pub` (ids 0 and 1, as on the mesh's links),
 * relayed by the server: chat as JSON, files as relay frames naming the recipient (upstream) or the
 * sender (downstream) around the mesh's file-transfer frames (see src/server/sfu/data-relay.ts).
 * A connection that fails (or stays disconnected) restarts ICE alone (IceRecovery): `pub` with a
 * restart offer of ours, `sub` by asking the server for one (`sfu-restart`); the call goes on.
 * See docs/signaling.md, "SFU mode".
 */

import type {
  IceServer,
  PeerInfo,
  RemoteSignal,
  SfuPc,
  SfuServerSignal,
  SfuSignal,
  SfuTrackInfo,
  StatsEntry,
} from '../protocol/signaling.js';
import { Emitter } from './emitter.js';
import {
  FileReceiver,
  type FileRecord,
  newFileId,
  outgoingFile,
  sendFile,
  sha256Hex,
} from './file-transfer.js';
import { IceRecovery } from './ice-recovery.js';
import { EMPTY_STATS, type LinkStats, summarize } from './stats.js';
import type { ChatMessage, RemotePeerView, Transport, TransportEvents } from './transport.js';

export interface SfuOptions {
  readonly send: (sig: SfuSignal) => void;
  readonly iceTransportPolicy: RTCIceTransportPolicy;
  readonly stream: () => MediaStream | undefined;
  /** Publish 3 simulcast layers (default) or one encoding. */
  readonly simulcast?: boolean;
  /**
   * Publish video as one scalable stream with this scalabilityMode (e.g. 'L3T3_KEY') in `svcCodec`
   * instead of simulcast: the SFU forwards each subscriber the spatial/temporal layers it can take.
   */
  readonly svc?: string;
  /** The codec of `svc` (default 'vp9'). */
  readonly svcCodec?: 'vp9' | 'av1';
  /** Ask the SFU for video of at most this many lines (an `sfu-prefs` frame): layers above are not sent to us. */
  readonly maxHeight?: number;
  /** The server answered our publishing offer: our tracks are in its room now. */
  readonly onPublished?: () => void;
  /** How long a connection may stay `disconnected` before an ICE restart, ms (default 10000). */
  readonly disconnectGraceMs?: number;
}

/** The state of our two connections with the server (call snapshot, tests). */
export interface SfuLinksView {
  readonly pub: string;
  readonly sub: string;
  /** ICE restarts made on each (after a failure or by restartIce()). */
  readonly pubRestarts: number;
  readonly subRestarts: number;
  /** Our current ICE username fragment on each (changes with every restart). */
  readonly pubUfrag: string | null;
  readonly subUfrag: string | null;
}

/** Simulcast layers we publish, low to high (the SFU picks one per subscriber). */
export const SIMULCAST_ENCODINGS: RTCRtpEncodingParameters[] = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'f', maxBitrate: 1_500_000 },
];

/** Relay frame flag: the payload is text (a file-transfer control frame). */
const RELAY_TEXT = 0x01;
const utf8 = new TextEncoder();

/** A relay frame (data-relay.ts): flags, peer id length, peer id, payload. */
export function encodeRelayFrame(peer: string, data: string | Uint8Array): Uint8Array {
  const id = utf8.encode(peer);
  const payload = typeof data === 'string' ? utf8.encode(data) : data;
  const out = new Uint8Array(2 + id.length + payload.length);
  out[0] = typeof data === 'string' ? RELAY_TEXT : 0;
  out[1] = id.length;
  out.set(id, 2);
  out.set(payload, 2 + id.length);
  return out;
}

export function decodeRelayFrame(
  buf: ArrayBuffer | Uint8Array,
): { peer: string; data: string | ArrayBuffer } | undefined {
  const b = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  if (b.length < 2 || (b[0]! & ~RELAY_TEXT) !== 0 || b.length < 2 + b[1]!) return undefined;
  const end = 2 + b[1]!;
  try {
    const peer = new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(2, end));
    const body = b.subarray(end);
    return {
      peer,
      data: b[0]! & RELAY_TEXT ? new TextDecoder().decode(body) : body.slice().buffer,
    };
  } catch {
    return undefined;
  }
}

interface Remote {
  info: PeerInfo;
  stream: MediaStream | undefined;
  framesDecoded: number;
  audioPackets: number;
}

type Stat = Record<string, unknown> & { type: string; id: string };

export class SfuTransport extends Emitter<TransportEvents> implements Transport {
  readonly mode = 'sfu' as const;
  readonly #opts: SfuOptions;
  #iceServers: IceServer[];
  #pub: RTCPeerConnection | undefined;
  #sub: RTCPeerConnection | undefined;
  readonly #remotes = new Map<string, Remote>();
  /** mid on `sub` -> whose track it carries (from the server's offers). */
  readonly #mids = new Map<string, SfuTrackInfo>();
  #stats: LinkStats = EMPTY_STATS;
  #pubStats: LinkStats = EMPTY_STATS;
  #negotiations = 0;
  readonly #recovery: Record<SfuPc, IceRecovery>;
  readonly #restarts: Record<SfuPc, number> = { pub: 0, sub: 0 };
  #closed = false;
  #chat: RTCDataChannel | undefined;
  /** Chat sent before the chat channel opened (at most 100), delivered when it opens. */
  #pendingChat: string[] = [];
  #file: RTCDataChannel | undefined;
  /** One file receiver per sender (transfers of one sender arrive in order, one at a time). */
  readonly #receivers = new Map<string, FileReceiver>();
  /** Serializes our file uploads on the file channel. */
  #sending: Promise<unknown> = Promise.resolve();
  lastError: string | undefined;
  /** outbound-rtp video streams of the publishing connection (its simulcast layers). */
  outboundVideoStreams = 0;

  constructor(opts: SfuOptions, iceServers: IceServer[]) {
    super();
    this.#opts = opts;
    this.#iceServers = iceServers;
    const recovery = (which: SfuPc): IceRecovery =>
      new IceRecovery({
        restart: () => void this.#restart(which),
        ...(opts.disconnectGraceMs !== undefined && { graceMs: opts.disconnectGraceMs }),
      });
    this.#recovery = { pub: recovery('pub'), sub: recovery('sub') };
  }

  /** Publish what we have and open the data channels (called once the room is in SFU mode). */
  async start(): Promise<void> {
    if (this.#pub) return;
    const stream = this.#opts.stream();
    if (this.#opts.maxHeight) this.#opts.send({ type: 'sfu-prefs', maxHeight: this.#opts.maxHeight });
    const pc = this.#pc('pub');
    for (const track of stream?.getTracks() ?? []) {
      if (!stream) break;
      const t = pc.addTransceiver(track, {
        direction: 'sendonly',
        streams: [stream],
        ...(track.kind === 'video' && this.#opts.svc
          ? { sendEncodings: [svcEncoding(this.#opts.svc)] }
          : track.kind === 'video' && this.#opts.simulcast !== false
            ? { sendEncodings: SIMULCAST_ENCODINGS.map((e) => ({ ...e })) }
            : {}),
      });
      if (track.kind === 'video') preferCodec(t, this.#opts.svc ? (this.#opts.svcCodec ?? 'vp9') : 'vp8');
    }
    try {
      await pc.setLocalDescription(await pc.createOffer());
      this.#opts.send({ type: 'sfu-offer', pc: 'pub', sdp: pc.localDescription!.sdp });
    } catch (err) {
      this.lastError = String(err);
    }
  }

  /** A frame from the server for this transport. */
  async handleServer(m: SfuServerSignal): Promise<void> {
    try {
      if (m.type === 'sfu-answer') {
        await this.#pub?.setRemoteDescription({ type: 'answer', sdp: m.sdp });
        this.#opts.onPublished?.();
      } else if (m.type === 'sfu-offer') {
        for (const t of m.tracks) this.#mids.set(t.mid, t);
        const pc = this.#pc('sub');
        await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
        await pc.setLocalDescription(await pc.createAnswer());
        this.#negotiations++;
        this.#opts.send({ type: 'sfu-answer', pc: 'sub', sdp: pc.localDescription!.sdp });
      } else if (m.type === 'sfu-candidate') {
        await (m.pc === 'pub' ? this.#pub : this.#sub)?.addIceCandidate(m.candidate);
      }
    } catch (err) {
      this.lastError = String(err);
    }
  }

  #pc(which: SfuPc): RTCPeerConnection {
    const existing = which === 'pub' ? this.#pub : this.#sub;
    if (existing) return existing;
    const pc = new RTCPeerConnection({
      iceServers: this.#iceServers.map((s) => ({ ...s })),
      iceTransportPolicy: this.#opts.iceTransportPolicy,
    });
    pc.onicecandidate = (e) => {
      if (this.#closed) return;
      if (e.candidate)
        this.#opts.send({ type: 'sfu-candidate', pc: which, candidate: e.candidate.toJSON() as never });
      else this.#opts.send({ type: 'sfu-end-of-candidates', pc: which });
    };
    pc.onconnectionstatechange = () => {
      if (this.#closed) return;
      const state = pc.connectionState;
      if (state === 'failed') this.emit('report', 'ice-failed', `sfu-${which}`);
      this.#recovery[which].update(state);
      for (const id of this.#remotes.keys()) this.emit('peer-state', id, state);
    };
    if (which === 'pub') this.#openDataChannels(pc);
    if (which === 'sub') {
      this.#sub = pc;
      pc.ontrack = (e) => {
        const peerId = e.streams[0]?.id ?? this.#mids.get(e.transceiver.mid ?? '')?.peerId;
        if (!peerId) return;
        const r = this.#remote(peerId);
        r.stream ??= e.streams[0] ?? new MediaStream();
        if (!r.stream.getTracks().includes(e.track)) r.stream.addTrack(e.track);
        this.emit('track', peerId, r.stream);
      };
    } else this.#pub = pc;
    return pc;
  }

  /**
   * ICE restart on one connection with the server: `pub` is ours to offer (a restart offer now, or
   * at the next retry if an offer is still unanswered); `sub` is the server's (it re-offers).
   */
  async #restart(which: SfuPc): Promise<void> {
    if (this.#closed) return;
    this.#restarts[which]++;
    this.emit('report', 'ice-restart', `sfu-${which}`);
    if (which === 'sub') {
      this.#opts.send({ type: 'sfu-restart', pc: 'sub' });
      return;
    }
    const pc = this.#pub;
    if (pc?.signalingState === 'have-local-offer' && pc.localDescription) {
      // Our last offer is still unanswered (lost in a signaling outage, or refused): again.
      this.#opts.send({ type: 'sfu-offer', pc: 'pub', sdp: pc.localDescription.sdp });
      return;
    }
    if (pc?.signalingState !== 'stable') return;
    try {
      pc.restartIce();
      await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
      this.#opts.send({ type: 'sfu-offer', pc: 'pub', sdp: pc.localDescription!.sdp });
    } catch (err) {
      this.lastError = String(err);
    }
  }

  /** Our two connections with the server. */
  links(): SfuLinksView {
    const ufrag = (pc: RTCPeerConnection | undefined) =>
      /^a=ice-ufrag:(\S+)/m.exec(pc?.localDescription?.sdp ?? '')?.[1] ?? null;
    return {
      pub: this.#pub?.connectionState ?? 'new',
      sub: this.#sub?.connectionState ?? 'new',
      pubRestarts: this.#restarts.pub,
      subRestarts: this.#restarts.sub,
      pubUfrag: ufrag(this.#pub),
      subUfrag: ufrag(this.#sub),
    };
  }

  #openDataChannels(pc: RTCPeerConnection): void {
    const chat = pc.createDataChannel('chat', { negotiated: true, id: 0 });
    const file = pc.createDataChannel('file', { negotiated: true, id: 1, ordered: true });
    file.binaryType = 'arraybuffer';
    chat.onmessage = (e) => {
      if (typeof e.data !== 'string') return;
      let m: { from?: unknown; text?: unknown; name?: unknown; at?: unknown };
      try {
        m = JSON.parse(e.data) as typeof m;
      } catch {
        return;
      }
      if (typeof m.from !== 'string' || typeof m.text !== 'string') return;
      this.emit('chat', {
        from: m.from,
        name:
          typeof m.name === 'string' && m.name
            ? m.name.slice(0, 64)
            : (this.#remotes.get(m.from)?.info.name ?? m.from),
        text: m.text.slice(0, 4000),
        at: typeof m.at === 'number' ? m.at : Date.now(),
      });
    };
    file.onmessage = (e) => {
      if (typeof e.data === 'string') return;
      const f = decodeRelayFrame(e.data as ArrayBuffer);
      if (!f?.peer) return;
      let r = this.#receivers.get(f.peer);
      if (!r) {
        r = new FileReceiver(
          f.peer,
          (rec) => this.emit('file', rec),
          (rec) => this.emit('file', rec),
        );
        this.#receivers.set(f.peer, r);
      }
      r.handle(f.data);
    };
    chat.onopen = () => {
      for (const text of this.#pendingChat.splice(0)) chat.send(text);
    };
    this.#chat = chat;
    this.#file = file;
  }

  #remote(id: string): Remote {
    let r = this.#remotes.get(id);
    if (!r) {
      r = { info: { id, name: id }, stream: undefined, framesDecoded: 0, audioPackets: 0 };
      this.#remotes.set(id, r);
    }
    return r;
  }

  addPeer(peer: PeerInfo): void {
    const known = this.#remotes.get(peer.id);
    if (known) known.info = peer;
    else {
      this.#remote(peer.id).info = peer;
      this.emit('peer-added', peer.id);
    }
  }

  removePeer(id: string): void {
    if (!this.#remotes.delete(id)) return;
    this.emit('peer-removed', id);
  }

  reset(): void {
    this.close();
  }

  handleSignal(_msg: RemoteSignal): void {
    // Peer-to-peer signals belong to the mesh; in SFU mode they are stale.
  }

  setIceServers(servers: IceServer[]): void {
    this.#iceServers = servers;
    for (const pc of [this.#pub, this.#sub])
      pc?.setConfiguration({ ...pc.getConfiguration(), iceServers: servers.map((s) => ({ ...s })) });
  }

  resync(): void {
    // Connections to the server survive signaling outages; an offer lost in flight is re-made.
    if (this.#pub?.signalingState === 'have-local-offer' && this.#pub.localDescription)
      this.#opts.send({ type: 'sfu-offer', pc: 'pub', sdp: this.#pub.localDescription.sdp });
  }

  restartIce(): void {
    void this.#restart('pub');
    void this.#restart('sub');
  }

  /** To everyone through the server, or (`to`) to one participant only. */
  sendChat(msg: ChatMessage & { readonly to?: string }): void {
    const text = JSON.stringify({
      text: msg.text,
      name: msg.name,
      at: msg.at,
      ...(msg.to ? { to: msg.to } : {}),
    });
    if (this.#chat?.readyState === 'open') this.#chat.send(text);
    else if (!this.#closed && this.#pendingChat.length < 100) this.#pendingChat.push(text);
  }

  /**
   * Uploads the file once; the server relays it to everyone else (or, with `to`, to one
   * participant). One record per recipient, all advancing together with the upload.
   */
  async sendFile(name: string, bytes: Uint8Array, to?: string): Promise<FileRecord[]> {
    const ch = this.#file;
    const sha256 = await sha256Hex(bytes);
    const id = newFileId();
    const peers = to ? [to] : [...this.#remotes.keys()];
    const recs = peers.map((peer) => outgoingFile(id, name, bytes, peer, sha256));
    for (const r of recs) this.emit('file', r);
    if (recs.length === 0) return recs;
    const upload: FileRecord = { ...recs[0]!, peer: to ?? '' };
    const fail = (err: string): FileRecord[] => {
      for (const r of recs) {
        r.done = true;
        r.ok = false;
        r.error = err;
        this.emit('file', r);
      }
      return recs;
    };
    if (ch?.readyState !== 'open') return fail('data channel to the SFU is not open');
    const relay = relayChannel(ch, to ?? '');
    const run = this.#sending.then(() =>
      sendFile(relay, upload, bytes, (u) => {
        for (const r of recs) {
          r.bytesDone = u.bytesDone;
          this.emit('file', r);
        }
      }).then(
        () => {
          for (const r of recs) {
            r.done = true;
            r.ok = true;
            this.emit('file', r);
          }
          return recs;
        },
        (err: Error) => fail(err.message),
      ),
    );
    this.#sending = run;
    return run;
  }

  async updateStats(): Promise<StatsEntry[]> {
    const sub = this.#sub;
    if (sub) {
      const report = await sub.getStats();
      this.#stats = summarize(report, this.#stats, Date.now());
      for (const r of this.#remotes.values()) {
        r.framesDecoded = 0;
        r.audioPackets = 0;
      }
      report.forEach((s: Stat) => {
        if (s.type !== 'inbound-rtp') return;
        const owner = this.#mids.get(String(s.mid ?? ''));
        const r = owner && this.#remotes.get(owner.peerId);
        if (!r) return;
        if (s.kind === 'video') r.framesDecoded += Number(s.framesDecoded ?? 0);
        else r.audioPackets += Number(s.packetsReceived ?? 0);
      });
    }
    if (this.#pub) {
      const report = await this.#pub.getStats();
      this.#pubStats = summarize(report, this.#pubStats, Date.now());
      let n = 0;
      report.forEach((s: Stat) => {
        if (s.type === 'outbound-rtp' && s.kind === 'video') n++;
      });
      this.outboundVideoStreams = n;
    }
    return [...this.#remotes.values()].map((r) => ({
      peerId: r.info.id,
      connectionState: sub?.connectionState ?? 'new',
      pathType: this.#stats.pathType,
      localCandidateType: this.#stats.localCandidateType,
      remoteCandidateType: this.#stats.remoteCandidateType,
      rttMs: this.#stats.rttMs,
      bitrateInKbps: this.#stats.bitrateInKbps,
      bitrateOutKbps: this.#pubStats.bitrateOutKbps,
      packetLoss: this.#stats.packetLoss,
      framesDecoded: r.framesDecoded,
    }));
  }

  peers(): RemotePeerView[] {
    const sub = this.#sub;
    return [...this.#remotes.values()].map((r) => ({
      id: r.info.id,
      name: r.info.name,
      connectionState: sub?.connectionState ?? 'new',
      iceConnectionState: sub?.iceConnectionState ?? 'new',
      signalingState: sub?.signalingState ?? 'stable',
      stats: { ...this.#stats, framesDecoded: r.framesDecoded, audioPacketsReceived: r.audioPackets },
      stream: r.stream,
      negotiations: this.#negotiations,
      rollbacks: 0,
      ignoredOffers: 0,
      iceRestarts: this.#restarts.pub + this.#restarts.sub,
      offerRetries: 0,
      makingOffer: false,
      chatOpen: this.#chat?.readyState === 'open',
      fileOpen: this.#file?.readyState === 'open',
      lastError: this.lastError,
      iceUsernames: this.#iceServers.flatMap((s) => (s.username ? [s.username] : [])),
    }));
  }

  close(): void {
    this.#closed = true;
    this.#recovery.pub.close();
    this.#recovery.sub.close();
    this.#chat = this.#file = undefined;
    this.#receivers.clear();
    this.#pub?.close();
    this.#sub?.close();
    this.#pub = this.#sub = undefined;
    for (const id of [...this.#remotes.keys()]) this.removePeer(id);
  }
}

/**
 * `ch` as seen by the file sender: every frame it sends goes out wrapped in a relay frame naming
 * the recipient ('' for everyone); backpressure and state are the channel's own.
 */
function relayChannel(ch: RTCDataChannel, to: string): RTCDataChannel {
  const wrapper = {
    get readyState() {
      return ch.readyState;
    },
    get bufferedAmount() {
      return ch.bufferedAmount;
    },
    get bufferedAmountLowThreshold() {
      return ch.bufferedAmountLowThreshold;
    },
    set bufferedAmountLowThreshold(v: number) {
      ch.bufferedAmountLowThreshold = v;
    },
    send(data: string | Uint8Array) {
      ch.send(encodeRelayFrame(to, data) as Uint8Array<ArrayBuffer>);
    },
    addEventListener: ch.addEventListener.bind(ch),
    removeEventListener: ch.removeEventListener.bind(ch),
  };
  return wrapper as unknown as RTCDataChannel;
}

/** One encoding with a scalabilityMode (WebRTC-SVC; not yet in TypeScript's DOM types). */
const svcEncoding = (mode: string): RTCRtpEncodingParameters => {
  const e: RTCRtpEncodingParameters & { scalabilityMode: string } = { scalabilityMode: mode };
  return e;
};

/** Put `codec` first: VP8 for simulcast (every browser handles it), VP9/AV1 for SVC. */
function preferCodec(t: RTCRtpTransceiver, codec: string): void {
  const caps = typeof RTCRtpSender !== 'undefined' ? RTCRtpSender.getCapabilities?.('video') : null;
  if (!caps || typeof t.setCodecPreferences !== 'function') return;
  const mime = `video/${codec}`.toLowerCase();
  const first = caps.codecs.filter((c) => c.mimeType.toLowerCase() === mime);
  const rest = caps.codecs.filter((c) => c.mimeType.toLowerCase() !== mime);
  try {
    t.setCodecPreferences([...first, ...rest]);
  } catch {
    // keep the browser's order
  }
}
