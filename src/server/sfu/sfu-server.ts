/**
 * The SFU behind `rtcstack serve`: the signaling server hands it rooms that grew past the mesh
 * threshold; it runs one forwarding `Room` per signaling room on top of rtcstack's own
 * RTCPeerConnection.
 *
 * Two peer connections per participant, one per direction (see docs/signaling.md, "SFU mode"):
 * - `pub`: the client offers its camera/microphone with simulcast encodings (browsers send
 *   simulcast when they make the offer with `sendEncodings`); we answer. Its remote tracks' `rtp`
 *   events feed the room.
 * - `sub`: we offer one sendonly m-line per remote track the participant receives (stream id = the
 *   publisher's peer id), and offer again whenever tracks come and go. Only we offer here and only
 *   the client offers on `pub`, so there is never glare and no perfect negotiation with the server;
 *   renegotiating what someone receives never touches what it sends. The cost is a second ICE/DTLS
 *   handshake per participant.
 *
 * RTCP stays per leg: each connection's receivers send RR/NACK to the publisher, its senders answer
 * the subscriber's NACKs (their send history names each forwarded packet's source, the room's
 * packet cache has the packet) and report PLI as 'keyframerequest', which the room turns into its
 * own throttled PLI on the layer that subscriber is fed.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import type { Logger } from '../../core/log.js';
import { cryptoRandom } from '../../core/random.js';
import { payloadCodecName } from '../../media/payload/index.js';
import {
  getCapabilities,
  MediaStream,
  MediaStreamTrack,
  type PeerOptions,
  RTCPeerConnection,
  type RTCRtpTransceiver,
  type RTCTrackEvent,
} from '../../peer/index.js';
import type { SfuTrackInfo } from '../../protocol/signaling.js';
import { EXT_AUDIO_LEVEL, EXT_DEPENDENCY_DESCRIPTOR, EXT_TRANSPORT_CC } from '../../rtp/extensions.js';
import { serializeRtp } from '../../rtp/packet.js';
import { parseSdp } from '../../sdp/parse.js';
import type { SfuClientMessage } from '../signaling/protocol.js';
import type { SfuBackend, SfuOutput } from '../signaling/sfu-backend.js';
import { CHAT_CHANNEL_ID, DataRelay, FILE_CHANNEL_ID } from './data-relay.js';
import {
  addDropped,
  emptyDropped,
  emptyTotals,
  type SfuDropped,
  type SfuFigures,
  type SfuParticipantFigure,
  type SfuTotals,
  svcFigure,
} from './figures.js';
import { type ForwardingSender, forwardingSink, TrackMap } from './forward-sink.js';
import { PAUSED } from './layer-selector.js';
import { Room } from './room.js';
import type { PublishedTrack } from './track.js';
import { TrackRecording, type TrackRecordingInfo } from './track-recorder.js';

export interface SfuServerOptions {
  readonly log: Logger;
  readonly clock?: Clock;
  /** For the server-side peer connections (loopback candidates in tests, a network, ...). */
  readonly peerOptions?: PeerOptions;
  /**
   * Downlink assumed per subscriber until an estimate exists, bits/s (default 8 Mbit/s without
   * TWCC; with it 2 Mbit/s: the estimate climbs from there by probing).
   */
  readonly initialBandwidth?: number;
  /**
   * Estimate each subscriber's downlink from transport-wide congestion control (default true):
   * transport-cc is negotiated on the subscribing connections, the connection stamps every packet
   * it sends with a transport-wide sequence number and feeds the subscriber's TWCC feedback to its
   * congestion controller (pacing, probes), which starts at `initialBandwidth`; the subscriber's
   * estimator in the room (SubscriberBwe) reads that controller after each feedback to drive its
   * layers (one controller per leg).
   */
  readonly twcc?: boolean;
  /**
   * Negotiate transport-cc on publishing connections too (default false). With it Chromium
   * estimates its upload from our TWCC feedback, whose arrival times are when this process read
   * the packets: on a busy host those reads come late and Chromium's delay-based estimator takes
   * them for congestion (43078d1 saw it throttle simulcast). Without it Chromium's estimate follows
   * the loss in our receiver reports, which a late read does not fake; in six-page runs its
   * availableOutgoingBitrate then reached its maximum (with it, ~55 kbit/s was seen, though there
   * the fake camera had also stopped, so part of that was GCC's application-limited clamp).
   */
  readonly publisherTransportCc?: boolean;
  /** Peer options for one connection over `peerOptions` (a test shapes one subscriber's downlink). */
  readonly peerOptionsFor?: (room: string, peerId: string, which: 'pub' | 'sub') => PeerOptions | undefined;
  /**
   * Trickle our candidates to clients (default true, as any WebRTC endpoint does). False: clients
   * learn our address from our connectivity checks (peer-reflexive) only. `rtcstack serve` used
   * that on loopback because in six-page runs with them announced video of the later pages never
   * reached the SFU; the cause was not ICE: the pages asked the fake camera for 6 fps, and it
   * delivered ~18 frames and then none (media-source frames stopped, the track live). At 15 fps six
   * pages decode each other with candidates announced (test/sfu/six-pages.test.ts).
   */
  readonly announceCandidates?: boolean;
}

interface Participant {
  readonly id: string;
  pub: RTCPeerConnection | undefined;
  sub: RTCPeerConnection | undefined;
  /** (publisherId, trackId) -> the sender's local track and transceiver on `sub`. */
  readonly senders: TrackMap<
    ForwardingSender & { transceiver: RTCRtpTransceiver; info: Omit<SfuTrackInfo, 'mid'> }
  >;
  negotiating: boolean;
  again: boolean;
  /** Tracks announced by the publishing connection, published once its answer is set. */
  pendingTracks: RTCTrackEvent[];
  /** Published track id -> the publishing connection's receiving track (frames, for recording). */
  readonly remoteTracks: Map<string, MediaStreamTrack>;
  /** ICE restarts of `pub` (the client's restart offers) and `sub` (ours). */
  iceRestarts: number;
  /** The client's offers on `pub`, answered one at a time in arrival order. */
  publishing: Promise<void>;
  /** How far `sub` may probe (the room's figure, bits/s; 0 until it tells). */
  probeLimit: number;
}

interface RoomState {
  readonly name: string;
  readonly room: Room;
  activeSpeaker: string | null;
  /** While recording: the directory, and one recording per published track. */
  recording: { dir: string; tracks: TrackMap<TrackRecording>; done: TrackRecordingInfo[] } | undefined;
  /** Chat and file transfer between participants (data channels on their pub connections). */
  readonly relay: DataRelay;
  readonly participants: Map<string, Participant>;
  /** Publisher id -> the dependency descriptor extension id of its publishing connection. */
  readonly dd: Map<string, number>;
}

export class SfuServer implements SfuBackend {
  readonly #o: SfuServerOptions;
  readonly #clock: Clock;
  readonly #twcc: boolean;
  readonly #rooms = new Map<string, RoomState>();
  /** Counters of closed rooms and departed participants (figures() adds the live ones). */
  readonly #retired: SfuTotals = emptyTotals();
  /** Datagrams dropped by connections already closed (figures() adds the live ones). */
  readonly #retiredDropped: SfuDropped = emptyDropped();
  #out: SfuOutput | undefined;

  constructor(o: SfuServerOptions) {
    this.#o = o;
    this.#clock = o.clock ?? systemClock;
    this.#twcc = o.twcc ?? true;
  }

  /** The forwarding room of a signaling room in SFU mode (for stats and tests). */
  room(name: string): Room | undefined {
    return this.#rooms.get(name)?.room;
  }

  /**
   * Record every track of room `name` (and tracks published later) to one WebM file each in
   * `dir` (`<room>-<peer>-<track>.webm`), until stopRecording. False if the room is not in SFU mode.
   */
  startRecording(name: string, dir: string): boolean {
    const state = this.#rooms.get(name);
    if (!state) return false;
    if (state.recording) return true;
    mkdirSync(dir, { recursive: true });
    state.recording = { dir, tracks: new TrackMap(), done: [] };
    for (const p of state.participants.values())
      for (const trackId of p.remoteTracks.keys()) this.#record(state, p, trackId);
    this.#o.log.info('sfu recording', { room: name, dir });
    return true;
  }

  /** What is being recorded in room `name` now (files and frames written so far). */
  recordings(name: string): TrackRecordingInfo[] {
    const rec = this.#rooms.get(name)?.recording;
    return rec ? [...rec.done, ...[...rec.tracks.values()].map((r) => r.info)] : [];
  }

  /** Stop recording room `name`; resolves with the files once they are closed. */
  async stopRecording(name: string): Promise<TrackRecordingInfo[]> {
    const state = this.#rooms.get(name);
    return state ? this.#stopRecording(state) : [];
  }

  /** The data relay of a room in SFU mode (for stats and tests). */
  relay(name: string): DataRelay | undefined {
    return this.#rooms.get(name)?.relay;
  }

  /** A participant's two connections with us (for stats and tests). */
  connections(room: string, peerId: string): { pub?: RTCPeerConnection; sub?: RTCPeerConnection } {
    const p = this.#rooms.get(room)?.participants.get(peerId);
    return { ...(p?.pub && { pub: p.pub }), ...(p?.sub && { sub: p.sub }) };
  }

  /** Rooms, publishers, subscribers, what each subscriber gets, and counters (dashboard, /metrics). */
  figures(): SfuFigures {
    const totals = { ...this.#retired };
    const dropped = { ...this.#retiredDropped };
    let publishers = 0;
    let subscribers = 0;
    const now = this.#clock.now();
    const rooms = [...this.#rooms.values()].map((state) => {
      addTotals(totals, roomTotals(state));
      const participants = [...state.participants.values()].map((p): SfuParticipantFigure => {
        for (const pc of [p.pub, p.sub]) if (pc) addDropped(dropped, pc.droppedDatagrams());
        const down = state.room.downTracksOf(p.id);
        const bw = state.room.bandwidthOf(p.id);
        const bwe = state.room.estimatorOf(p.id);
        let forwarded = 0;
        const videoLayers = down.flatMap((d) => {
          const l = d.current === PAUSED ? undefined : d.track.layers[d.current];
          const bitrate = l ? l.meter.bitrate(now) : 0;
          forwarded += bitrate;
          if (d.track.kind !== 'video') return [];
          return [
            {
              publisher: d.track.publisherId,
              track: d.track.id,
              layer: d.current,
              target: d.target,
              rid: l?.rid ?? null,
              height: l?.height ?? null,
              bitrate,
              svc: svcFigure(d.svc, d.current === PAUSED),
            },
          ];
        });
        const published = state.room.tracksOf(p.id).length;
        if (published > 0) publishers++;
        if (down.length > 0) subscribers++;
        const senders = senderTotals(p);
        return {
          id: p.id,
          publishedTracks: published,
          subscribedTracks: down.length,
          estimatedBandwidth: bw?.effective ?? 0,
          estimateSource: bw?.source ?? 'initial',
          twccFeedback: bwe?.feedbacks ?? 0,
          queuingDelayMs: Math.round(bwe?.queuingDelay ?? 0),
          forwardedBitrate: forwarded,
          videoLayers,
          nacksReceived: senders.nacks,
          plisReceived: down.reduce((a, d) => a + d.stats.plisReceived, 0),
          iceRestarts: p.iceRestarts,
        };
      });
      return { name: state.name, participants, activeSpeaker: state.activeSpeaker };
    });
    return { rooms, publishers, subscribers, totals, dropped };
  }

  attach(out: SfuOutput): void {
    this.#out = out;
  }

  openRoom(name: string, peerIds: readonly string[]): void {
    if (this.#rooms.has(name)) return;
    const state: RoomState = {
      name,
      participants: new Map(),
      dd: new Map(),
      room: this.#newRoom(name),
      activeSpeaker: null,
      recording: undefined,
      relay: new DataRelay(),
    };
    this.#rooms.set(name, state);
    this.#o.log.info('sfu room open', { room: name, peers: peerIds.length });
    for (const id of peerIds) this.addPeer(name, id);
  }

  closeRoom(name: string): void {
    const state = this.#rooms.get(name);
    if (!state) return;
    this.#rooms.delete(name);
    void this.#stopRecording(state);
    addTotals(this.#retired, roomTotals(state));
    for (const p of state.participants.values()) this.#closeParticipant(p);
    state.room.close();
    this.#o.log.info('sfu room closed', { room: name });
  }

  addPeer(name: string, peerId: string): void {
    const state = this.#rooms.get(name);
    if (!state || state.participants.has(peerId)) return;
    const p: Participant = {
      id: peerId,
      pub: undefined,
      sub: undefined,
      senders: new TrackMap(),
      negotiating: false,
      again: false,
      pendingTracks: [],
      remoteTracks: new Map(),
      iceRestarts: 0,
      publishing: Promise.resolve(),
      probeLimit: 0,
    };
    state.participants.set(peerId, p);
    state.room.join(peerId);
    // What the others already publish.
    for (const other of state.room.participantIds)
      if (other !== peerId) for (const t of state.room.tracksOf(other)) this.#addSender(state, p, t);
    void this.#negotiate(state, p);
  }

  removePeer(name: string, peerId: string): void {
    const state = this.#rooms.get(name);
    const p = state?.participants.get(peerId);
    if (!state || !p) return;
    state.participants.delete(peerId);
    state.dd.delete(peerId);
    state.relay.detach(peerId);
    this.#retired.nacks += senderTotals(p).nacks;
    this.#retired.iceRestarts += p.iceRestarts;
    state.room.leave(peerId); // trackRemoved -> the others renegotiate
    this.#closeParticipant(p);
  }

  handle(name: string, peerId: string, msg: SfuClientMessage): void {
    const state = this.#rooms.get(name);
    const p = state?.participants.get(peerId);
    if (!state || !p) return;
    const fail = (what: string) => (err: unknown) =>
      this.#o.log.warn(`sfu ${what} failed`, { room: name, peer: peerId, err: String(err) });
    switch (msg.type) {
      case 'sfu-offer':
        // One at a time: a restart offer may follow the last before its answer was made, or come
        // twice (re-sent after a signaling outage); interleaved, one answer would spoil the other.
        p.publishing = p.publishing
          .then(() => this.#answerPublish(state, p, msg.sdp))
          .catch(fail('publish answer'));
        return;
      case 'sfu-answer':
        this.#subscribeAnswered(state, p, msg.sdp).catch(fail('subscribe answer'));
        return;
      case 'sfu-candidate':
        // A publishing candidate waits for the offers before it: a restart offer's candidates
        // follow it at once, and added before it is taken they belong to another ICE generation
        // (every pub restart of a six-page run at load ~20 lost its candidates so).
        if (msg.pc === 'pub')
          p.publishing = p.publishing
            .then(() => p.pub?.addIceCandidate(msg.candidate))
            .catch(fail('candidate'));
        else p.sub?.addIceCandidate(msg.candidate).catch(fail('candidate'));
        return;
      case 'sfu-end-of-candidates':
        return; // trickle ends are implicit for us: checks run on what arrived
      case 'sfu-restart':
        this.#restartSub(state, p, 'asked by the client');
        return;
      case 'sfu-prefs':
        if (msg.peer === undefined)
          state.room.setMaxResolution(peerId, msg.maxHeight || Number.POSITIVE_INFINITY);
        else
          for (const t of state.room.tracksOf(msg.peer))
            state.room.setMaxResolution(peerId, msg.maxHeight || Number.POSITIVE_INFINITY, t.id);
        return;
    }
  }

  mute(name: string, peerId: string, kind: 'audio' | 'video', muted: boolean): void {
    const state = this.#rooms.get(name);
    if (!state) return;
    for (const t of state.room.tracksOf(peerId))
      if (t.kind === kind) state.room.setMuted(peerId, t.id, muted);
  }

  close(): void {
    for (const name of [...this.#rooms.keys()]) this.closeRoom(name);
  }

  // ---- internals ----

  get #initialBandwidth(): number {
    return this.#o.initialBandwidth ?? (this.#twcc ? 2_000_000 : 8_000_000);
  }

  #newRoom(name: string): Room {
    const twcc = this.#twcc;
    const room = new Room(name, {
      clock: this.#clock,
      random: cryptoRandom,
      upstreamRtcp: false,
      twcc,
      transportSequence: 'transport',
      initialBandwidth: this.#initialBandwidth,
      sink: {
        sendRtp: forwardingSink(
          (subscriberId) => this.#rooms.get(name)?.participants.get(subscriberId)?.senders,
          (publisherId) => this.#rooms.get(name)?.dd.get(publisherId),
        ),
        probeLimit: (subscriberId, bps) => {
          const p = this.#rooms.get(name)?.participants.get(subscriberId);
          if (!p) return;
          p.probeLimit = bps;
          p.sub?.setProbeBitrateLimit(bps);
        },
        sendRtcp: (participantId, packets) => {
          const pub = this.#rooms.get(name)?.participants.get(participantId)?.pub;
          if (!pub) return;
          for (const r of packets) {
            if (r.type !== 'pli') continue;
            for (const rec of pub.getReceivers())
              if (rec.streams.has(r.mediaSsrc)) rec.requestKeyframe?.(r.mediaSsrc);
          }
        },
      },
    });
    room.on('trackAdded', (t) => {
      const state = this.#rooms.get(name);
      if (!state) return;
      for (const p of state.participants.values())
        if (p.id !== t.publisherId) {
          this.#addSender(state, p, t);
          void this.#negotiate(state, p);
        }
    });
    room.on('trackRemoved', (t) => {
      const state = this.#rooms.get(name);
      if (!state) return;
      this.#finishRecording(state, t.publisherId, t.id);
      for (const p of state.participants.values()) {
        const s = p.senders.get(t.publisherId, t.id);
        if (!s || !p.sub) continue;
        p.senders.delete(t.publisherId, t.id);
        if (p.sub.signalingState !== 'closed') {
          p.sub.removeTrack(s.transceiver.sender);
          void this.#negotiate(state, p);
        }
      }
    });
    room.on('activeSpeaker', (id) => {
      const state = this.#rooms.get(name);
      if (state) state.activeSpeaker = id;
      this.#out?.send(name, undefined, { v: 1, type: 'active-speaker', peerId: id });
    });
    return room;
  }

  #pc(state: RoomState, p: Participant, which: 'pub' | 'sub'): RTCPeerConnection {
    const existing = which === 'pub' ? p.pub : p.sub;
    if (existing) return existing;
    const pc = new RTCPeerConnection(
      {},
      {
        logger: this.#o.log.child('pc'),
        // The subscribing connection's controller is the subscriber's estimate: it starts where
        // the room's budget does (layers and pacing agree from the first packet).
        ...(which === 'sub' && this.#twcc && { initialBitrate: this.#initialBandwidth }),
        ...this.#o.peerOptions,
        ...this.#o.peerOptionsFor?.(state.name, p.id, which),
      },
    );
    pc.onicecandidate = (e) => {
      const c = e.candidate;
      if (!c || this.#o.announceCandidates === false) return;
      this.#out?.send(state.name, p.id, {
        v: 1,
        type: 'sfu-candidate',
        pc: which,
        candidate: {
          candidate: c.candidate,
          sdpMid: c.sdpMid ?? null,
          sdpMLineIndex: c.sdpMLineIndex ?? null,
          usernameFragment: c.usernameFragment ?? null,
        },
      });
    };
    if (which === 'pub') {
      p.pub = pc;
      this.#openDataChannels(state, p, pc);
      // Codecs are known once the answer is set: publish then (see #answerPublish).
      pc.ontrack = (e) => p.pendingTracks.push(e);
    } else {
      p.sub = pc;
      // Our offers make this connection: when it fails, restart ICE on it ourselves (the client
      // asks sooner with sfu-restart when it sees the failure first).
      pc.onconnectionstatechange = () => {
        if (pc.connectionState === 'failed' && p.sub === pc) this.#restartSub(state, p, 'failed');
      };
      // The subscriber's estimator in the room reads this connection's congestion controller
      // after each feedback the connection gets (nothing per packet: the connection records it).
      pc.setProbeBitrateLimit(p.probeLimit);
      if (this.#twcc) {
        state.room.useTransportController(p.id, pc.congestionController);
        pc.observeTransportCc({ feedback: (fb) => state.room.transportFeedback(p.id, fb) });
      }
    }
    return pc;
  }

  async #answerPublish(state: RoomState, p: Participant, sdp: string): Promise<void> {
    const pc = this.#pc(state, p, 'pub');
    if (pc.signalingState === 'closed') return;
    if (pc.signalingState === 'stable' && pc.remoteDescription?.sdp === sdp && pc.localDescription) {
      // The offer we answered, again (the client re-sent it; our answer may have been lost).
      this.#out?.send(state.name, p.id, {
        v: 1,
        type: 'sfu-answer',
        pc: 'pub',
        sdp: pc.localDescription.sdp,
      });
      return;
    }
    const before = iceUfrag(pc.remoteDescription?.sdp);
    await pc.setRemoteDescription({ type: 'offer', sdp });
    // New credentials in a later offer: the client restarts ICE (its publishing connection failed).
    if (before !== undefined && iceUfrag(sdp) !== before) {
      p.iceRestarts++;
      this.#o.log.info('sfu ice restart', { room: state.name, peer: p.id, pc: 'pub' });
    }
    for (const t of pc.getTransceivers()) {
      setTransportCc(t, this.#o.publisherTransportCc ?? false);
      if (t.kind === 'video') setDependencyDescriptor(t, true);
    }
    await pc.setLocalDescription(await pc.createAnswer());
    // Where the publisher puts its dependency descriptor (the room reads AV1 SVC layers from it)
    // and its audio level (the room's active speaker).
    let dependencyDescriptor: number | undefined;
    let audioLevel: number | undefined;
    for (const t of pc.getTransceivers()) {
      const exts = t.receiver.getParameters().headerExtensions;
      dependencyDescriptor ??= exts.find((e) => e.uri === EXT_DEPENDENCY_DESCRIPTOR)?.id;
      if (t.kind === 'audio') audioLevel ??= exts.find((e) => e.uri === EXT_AUDIO_LEVEL)?.id;
    }
    if (dependencyDescriptor !== undefined) state.dd.set(p.id, dependencyDescriptor);
    state.room.setExtensions(p.id, {
      ...(dependencyDescriptor !== undefined && { dependencyDescriptor }),
      ...(audioLevel !== undefined && { audioLevel }),
    });
    this.#out?.send(state.name, p.id, {
      v: 1,
      type: 'sfu-answer',
      pc: 'pub',
      sdp: pc.localDescription!.sdp,
    });
    for (const e of p.pendingTracks.splice(0)) this.#published(state, p, e);
  }

  /**
   * The chat and file channels of `p`'s publishing connection (negotiated: the client creates the
   * same ids before its offer, so no DCEP round trip), relayed to the room.
   */
  #openDataChannels(state: RoomState, p: Participant, pc: RTCPeerConnection): void {
    const chat = pc.createDataChannel('chat', { negotiated: true, id: CHAT_CHANNEL_ID });
    const file = pc.createDataChannel('file', { negotiated: true, id: FILE_CHANNEL_ID, ordered: true });
    const relayed =
      (what: 'chat' | 'file') =>
      (e: Event): void => {
        try {
          state.relay[what](p.id, (e as MessageEvent).data as string | ArrayBuffer);
        } catch (err) {
          this.#o.log.error('sfu relay failed', { room: state.name, peer: p.id, err: String(err) });
        }
      };
    chat.onmessage = relayed('chat');
    file.onmessage = relayed('file');
    // What the others sent before these opened is held by the relay until now.
    chat.onopen = file.onopen = () => state.relay.opened(p.id);
    state.relay.attach(p.id, { chat, file });
  }

  /** A track of `p`'s publishing connection: publish it in the room with its simulcast rids. */
  #published(state: RoomState, p: Participant, e: RTCTrackEvent): void {
    const mid = e.transceiver.mid ?? '';
    const kind = e.track.kind;
    const trackId = `${kind}-${mid}`;
    const codecs = e.receiver.codecs.filter((c) => payloadCodecName(c.name) !== undefined);
    const codec = codecs[0];
    if (!codec) return;
    const remote = p.pub?.remoteDescription?.sdp;
    const m = remote ? parseSdp(remote).media.find((x) => x.mid === mid) : undefined;
    const rids = (m?.simulcast?.send ?? []).map((alts) => alts[0]!.rid);
    const heights = [180, 360, 720, 1080];
    if (state.room.tracksOf(p.id).some((t) => t.id === trackId)) return;
    state.room.publish(p.id, {
      trackId,
      kind,
      codec: payloadCodecName(codec.name)!,
      clockRate: codec.clockRate,
      payloadTypes: codecs.map((c) => c.payloadType),
      mid,
      layers: rids.length > 0 ? rids.map((rid, i) => ({ rid, height: heights[i] ?? 1080 })) : [{}],
    });
    p.remoteTracks.set(trackId, e.track);
    this.#record(state, p, trackId);
    const room = state.room;
    // A bug here must not take the publisher's receive path down with it: log and drop the packet.
    e.track.on('rtp', (packet, info) => {
      try {
        room.forwardRtp(p.id, packet, serializeRtp(packet), { trackId, rid: info.rid });
      } catch (err) {
        this.#o.log.error('sfu forwarding failed', {
          room: state.name,
          peer: p.id,
          err: String((err as Error)?.stack ?? err),
        });
      }
    });
  }

  /** A sendonly m-line on `p`'s subscribing connection for track `t` (stream id: the publisher). */
  #addSender(state: RoomState, p: Participant, t: PublishedTrack): void {
    if (p.senders.has(t.publisherId, t.id)) return;
    const pc = this.#pc(state, p, 'sub');
    const track = new MediaStreamTrack({ kind: t.kind, label: `${t.publisherId} ${t.kind}` });
    const transceiver = pc.addTransceiver(track, {
      direction: 'sendonly',
      streams: [new MediaStream(t.publisherId)],
    });
    setTransportCc(transceiver, this.#twcc);
    preferCodec(transceiver, t.spec.codec);
    if (t.spec.codec === 'av1') setDependencyDescriptor(transceiver, true);
    track.on('keyframerequest', () => state.room.requestKeyframe(p.id, t.publisherId, t.id));
    // NACKs for what this sender forwards are answered from the room's packet cache: its send
    // history keeps no reference to the publisher's packets (one per subscriber per packet).
    const cache = state.room.cache;
    const clock = this.#clock;
    transceiver.sender.forwardedSource = (ssrc, seq) => cache.packet(ssrc, seq, clock.now());
    p.senders.set(t.publisherId, t.id, {
      track,
      sender: transceiver.sender,
      transceiver,
      info: { peerId: t.publisherId, kind: t.kind },
    });
  }

  /**
   * ICE restart on `p`'s subscribing connection: fresh credentials in our next offer (now, or after
   * the negotiation under way). The media and data sessions carry on over the new pair.
   */
  #restartSub(state: RoomState, p: Participant, why: string): void {
    const pc = p.sub;
    if (!pc || pc.signalingState === 'closed') return;
    p.iceRestarts++;
    this.#o.log.info('sfu ice restart', { room: state.name, peer: p.id, pc: 'sub', why });
    pc.restartIce();
    void this.#negotiate(state, p);
  }

  /** Offer `p`'s subscribing connection again (one negotiation at a time; changes meanwhile queue). */
  async #negotiate(state: RoomState, p: Participant): Promise<void> {
    const pc = p.sub;
    // A room closing (or a participant leaving) closes the connection while a renegotiation is due.
    if (!pc || pc.signalingState === 'closed') return;
    if (p.senders.size === 0 && pc.getTransceivers().length === 0) return;
    if (p.negotiating) {
      p.again = true;
      return;
    }
    p.negotiating = true;
    try {
      await pc.setLocalDescription(await pc.createOffer());
      const tracks: SfuTrackInfo[] = [];
      for (const s of p.senders.values())
        if (s.transceiver.mid !== null) tracks.push({ mid: s.transceiver.mid, ...s.info });
      this.#out?.send(state.name, p.id, {
        v: 1,
        type: 'sfu-offer',
        pc: 'sub',
        sdp: pc.localDescription!.sdp,
        tracks,
      });
    } catch (err) {
      p.negotiating = false;
      // (read again: the connection may have closed while the offer was being made)
      if (!isClosed(pc))
        this.#o.log.warn('sfu offer failed', { room: state.name, peer: p.id, err: String(err) });
    }
  }

  async #subscribeAnswered(state: RoomState, p: Participant, sdp: string): Promise<void> {
    const pc = p.sub;
    if (pc?.signalingState !== 'have-local-offer') return;
    await pc.setRemoteDescription({ type: 'answer', sdp });
    p.negotiating = false;
    if (p.again) {
      p.again = false;
      await this.#negotiate(state, p);
    }
  }

  #record(state: RoomState, p: Participant, trackId: string): void {
    const rec = state.recording;
    const source = p.remoteTracks.get(trackId);
    if (!rec || !source || rec.tracks.has(p.id, trackId)) return;
    const safe = (x: string) => x.replace(/[^A-Za-z0-9_-]/g, '_');
    const path = join(rec.dir, `${safe(state.name)}-${safe(p.id)}-${safe(trackId)}.webm`);
    const pickRid = (): string | undefined => {
      const t = state.room.tracksOf(p.id).find((x) => x.id === trackId);
      const now = this.#clock.now();
      return t?.layers.filter((l) => l.rid !== undefined && now - l.lastPacketAt < 1000).at(-1)?.rid;
    };
    rec.tracks.set(p.id, trackId, new TrackRecording({ publisherId: p.id, trackId, path, source }, pickRid));
    // A video file starts at a keyframe; browsers send one only when asked: ask now (every layer).
    if (source.kind === 'video')
      for (const r of p.pub?.getReceivers() ?? [])
        if (r.track === source) for (const ssrc of r.streams.keys()) r.requestKeyframe?.(ssrc);
  }

  /** A recorded track went away (unpublished, its publisher left): close its file. */
  #finishRecording(state: RoomState, publisherId: string, trackId: string): void {
    const rec = state.recording;
    const r = rec?.tracks.get(publisherId, trackId);
    if (!rec || !r) return;
    rec.tracks.delete(publisherId, trackId);
    void r.stop();
    rec.done.push(r.info);
  }

  async #stopRecording(state: RoomState): Promise<TrackRecordingInfo[]> {
    const rec = state.recording;
    if (!rec) return [];
    state.recording = undefined;
    const live = [...rec.tracks.values()];
    await Promise.all(live.map((r) => r.stop()));
    return [...rec.done, ...live.map((r) => r.info)];
  }

  #closeParticipant(p: Participant): void {
    for (const pc of [p.pub, p.sub]) if (pc) addDropped(this.#retiredDropped, pc.droppedDatagrams());
    for (const s of p.senders.values()) s.track.stop();
    p.senders.clear();
    p.pub?.close();
    p.sub?.close();
    p.pub = p.sub = undefined;
  }
}

/**
 * Offer the publisher's codec first on a subscribing m-line: the room forwards its payloads as
 * they are (a VP9 SVC publisher's subscribers must get VP9, not the default VP8).
 */
function preferCodec(t: RTCRtpTransceiver, codec: string): void {
  const all = getCapabilities(t.kind)?.codecs ?? [];
  const mine = (c: { mimeType: string }): boolean => c.mimeType.toLowerCase() === `${t.kind}/${codec}`;
  if (all.some(mine)) t.setCodecPreferences([...all.filter(mine), ...all.filter((c) => !mine(c))]);
}

/** Offer or answer the AV1 dependency descriptor on `t`, or not. */
function setDependencyDescriptor(t: RTCRtpTransceiver, on: boolean): void {
  t.setHeaderExtensionsToNegotiate(
    t
      .getHeaderExtensionsToNegotiate()
      .map((e) =>
        e.uri === EXT_DEPENDENCY_DESCRIPTOR ? { ...e, direction: on ? 'sendrecv' : 'stopped' } : e,
      ),
  );
}

/** Offer or answer transport-cc (and with it TWCC/REMB feedback) on `t`, or not. */
function setTransportCc(t: RTCRtpTransceiver, on: boolean): void {
  t.setHeaderExtensionsToNegotiate(
    t
      .getHeaderExtensionsToNegotiate()
      .map((e) => (e.uri === EXT_TRANSPORT_CC ? { ...e, direction: on ? 'sendrecv' : 'stopped' } : e)),
  );
}

/** The session's ICE username fragment (the first a=ice-ufrag; max-bundle: one transport). */
function iceUfrag(sdp: string | undefined): string | undefined {
  return sdp ? /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1] : undefined;
}

/** NACKs the subscribing connection's senders answered (from their send history). */
function senderTotals(p: Participant): { nacks: number } {
  let nacks = 0;
  for (const s of p.senders.values()) nacks += s.transceiver.sender.stats.nackCount;
  return { nacks };
}

/** A live room's counters (its participants' NACKs included). */
function roomTotals(state: RoomState): SfuTotals {
  const r = state.room.stats;
  const d = state.relay.stats;
  let nacks = 0;
  let iceRestarts = 0;
  for (const p of state.participants.values()) {
    nacks += senderTotals(p).nacks;
    iceRestarts += p.iceRestarts;
  }
  return {
    forwardedPackets: r.rtpOut,
    forwardedBytes: r.bytesOut,
    layerSwitches: r.layerSwitches,
    nacks: nacks + r.nacksIn,
    plis: r.plisIn,
    keyframeRequests: r.keyframeRequests,
    chatMessages: d.chatOut,
    fileBytes: d.fileBytesOut,
    malformed: r.malformed + d.malformed,
    iceRestarts,
  };
}

function addTotals(into: SfuTotals, t: SfuTotals): void {
  for (const k of Object.keys(t) as (keyof SfuTotals)[]) into[k] += t[k];
}

/** A connection's signaling state read afresh (TypeScript keeps an earlier check's narrowing across awaits). */
const isClosed = (pc: RTCPeerConnection): boolean => pc.signalingState === 'closed';
