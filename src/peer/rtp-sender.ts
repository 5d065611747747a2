/**
 * RTCRtpSender: packetizes the encoded frames its track writes (or rewrites forwarded RTP),
 * keeps a send history for NACK (answered over RTX when negotiated, RFC 4588), turns PLI/FIR into
 * 'keyframerequest' on the track, and counts what outbound-rtp stats report. With simulcast
 * (`sendEncodings` with rids) each encoding is a layer with its own SSRC; a frame written with a
 * `rid` goes to that layer, one without to every active layer; packets carry the rid header
 * extension and RTX packets the repaired-rid one (RFC 8852).
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { Emitter } from '../core/events.js';
import { rtxPacket } from '../interceptor/nack.js';
import { createPacketizer, isKeyframe, payloadCodecName } from '../media/payload/index.js';
import {
  EXT_ABS_SEND_TIME,
  EXT_DEPENDENCY_DESCRIPTOR,
  EXT_MID,
  EXT_REPAIRED_RID,
  EXT_RID,
  serializeSdesExtension,
} from '../rtp/extensions.js';
import type { RtpHeaderExtension } from '../rtp/header-extensions.js';
import type { RtpPacket } from '../rtp/packet.js';
import { parseFmtpParameters } from '../sdp/attributes.js';
import { type Codec, isRtx } from '../sdp/codecs.js';
import type { Extmap } from '../sdp/types.js';
import { absSendTimeData } from './abs-send-time.js';
import { type RTCRtpCodec, toRtcCodec } from './media-codecs.js';
import type { EncodedFrameInit, MediaStreamTrack } from './media-track.js';
import type { ForwardedSource, PacketHistory } from './send-history.js';
import { type OutboundLayerStats, SendLayer } from './send-layer.js';

/** How a forwarded RTP packet is sent (MediaStreamTrack.writeRtp). */
export interface ForwardOptions {
  readonly rid?: string;
  readonly dependencyDescriptor?: Uint8Array;
}

/** Room left in a 1200-byte datagram for the payload (RTP header, extensions, SRTP tag). */
const MAX_PAYLOAD = 1100;
const NO_OPTIONS: ForwardOptions = Object.freeze({});

/**
 * A layer's last header-extension list and what it was made from: packets written in the same
 * millisecond (abs-send-time unchanged) with the same dependency descriptor share one list, so a
 * packet kept in the send history holds no list of its own.
 */
interface ExtensionList {
  /** Clock time it was made at. */
  readonly at: number;
  readonly negotiation: SenderNegotiation | undefined;
  /** The abs-send-time data in the list (undefined: not negotiated). */
  readonly absSendTime: Uint8Array | undefined;
  readonly dependencyDescriptor: Uint8Array | undefined;
  readonly list: readonly RtpHeaderExtension[];
}

export interface RTCRtpEncodingParameters {
  rid?: string;
  active?: boolean;
  maxBitrate?: number;
  scaleResolutionDownBy?: number;
  ssrc?: number;
}

export interface RTCRtpSendParameters {
  transactionId: string;
  encodings: RTCRtpEncodingParameters[];
  codecs: RTCRtpCodec[];
  headerExtensions: { uri: string; id: number }[];
  rtcp: { cname: string; reducedSize: boolean };
}

export interface SenderNegotiation {
  readonly mid: string;
  readonly codecs: readonly Codec[];
  readonly extmaps: readonly Extmap[];
}

export interface RTCRtpSenderEvents {
  [key: string]: unknown[];
  /** The congestion controller's bitrate for this sender changed (bits/s). */
  targetbitrate: [number];
}

export class RTCRtpSender extends Emitter<RTCRtpSenderEvents> {
  readonly kind: 'audio' | 'video';
  #track: MediaStreamTrack | null = null;
  /** One per encoding (simulcast layer), in sendEncodings order. */
  readonly layers: readonly SendLayer[];
  readonly cname: string;
  readonly #clock: Clock;
  #codec: Codec | undefined;
  #rtxPt: number | undefined;
  #negotiation: SenderNegotiation | undefined;
  readonly #tsBase = randomInt(0, 2 ** 31);
  #firstFrameMs: number | undefined;
  #transactionId = '';
  #encodings: RTCRtpEncodingParameters[];
  /** Set by the media session once SRTP is keyed; undefined drops (not connected yet). */
  out: ((packet: RtpPacket, retransmission?: boolean) => void) | undefined;
  /**
   * @internal Set by the media session with `out`: it re-stamps abs-send-time on every packet as
   * it leaves the pacer, so the extension list written here need not carry a fresh one per packet
   * (see #extensions).
   */
  absSendTimeAtSend = false;
  /**
   * @internal Set by an SFU whose packet cache keeps what it forwards: the packet a forwarded one
   * was made from, by its source's SSRC and sequence number. With it the send history keeps no
   * reference to a forwarded packet's payload (see PacketHistory.addForwarded) and NACKs for
   * forwarded packets are answered from that cache (nothing once the cache no longer has it).
   */
  forwardedSource: ForwardedSource | undefined;
  /** RTT from the peer's report blocks, ms. */
  roundTripTime: number | undefined;
  #targetBitrate: number | undefined;
  #emittedBitrate = 0;

  readonly #onWrite = (f: EncodedFrameInit): void => this.writeFrame(f);
  readonly #onWriteRtp = (p: RtpPacket, o?: ForwardOptions): void => this.writeRtp(p, o);

  constructor(
    kind: 'audio' | 'video',
    clock: Clock,
    cname: string,
    encodings: RTCRtpEncodingParameters[] = [{}],
  ) {
    super();
    this.kind = kind;
    this.#clock = clock;
    this.cname = cname;
    this.#encodings = encodings.map((e) => ({ active: true, ...e }));
    const simulcast = encodings.length > 1;
    this.layers = this.#encodings.map((e, i) => new SendLayer(simulcast ? (e.rid ?? String(i)) : undefined));
  }

  /** The first layer's SSRC (the only one without simulcast). */
  get ssrc(): number {
    return this.layers[0]!.ssrc;
  }
  get rtxSsrc(): number {
    return this.layers[0]!.rtxSsrc;
  }
  get history(): PacketHistory {
    return this.layers[0]!.history;
  }
  /** The first layer's outbound statistics (see `layers` for each simulcast layer's). */
  get stats(): OutboundLayerStats {
    return this.layers[0]!.stats;
  }
  get remoteReport(): SendLayer['remoteReport'] {
    return this.layers[0]!.remoteReport;
  }
  /**
   * The bitrate the transport's congestion controller (GCC-style, from the peer's transport-wide
   * feedback, capped by its REMB) allots this sender, bits/s; undefined until the first feedback.
   * An encoder feeding the track should aim at it (with simulcast: the sum of the layers it keeps
   * active). A 'targetbitrate' event fires when it moves by more than 2%.
   */
  get targetBitrate(): number | undefined {
    return this.#targetBitrate;
  }
  /** @internal */
  setTargetBitrate(bps: number): void {
    this.#targetBitrate = Math.round(bps);
    if (Math.abs(bps - this.#emittedBitrate) > 0.02 * this.#emittedBitrate) {
      this.#emittedBitrate = bps;
      this.emit('targetbitrate', this.#targetBitrate);
    }
  }
  /** @internal The negotiated header extensions (ids the peer knows). */
  get extmaps(): readonly Extmap[] {
    return this.#negotiation?.extmaps ?? [];
  }

  /** @internal The layer sending on `ssrc` (media or RTX), if any. */
  layerBySsrc(ssrc: number): SendLayer | undefined {
    return this.layers.find((l) => l.ssrc === ssrc || l.rtxSsrc === ssrc);
  }

  get track(): MediaStreamTrack | null {
    return this.#track;
  }
  get codec(): Codec | undefined {
    return this.#codec;
  }
  get mid(): string | undefined {
    return this.#negotiation?.mid;
  }

  /** W3C replaceTrack: swap the source without renegotiation. */
  async replaceTrack(track: MediaStreamTrack | null): Promise<void> {
    if (track && track.kind !== this.kind)
      throw new TypeError(`cannot send a ${track.kind} track on a ${this.kind} sender`);
    this.setTrack(track);
  }

  /** @internal */
  setTrack(track: MediaStreamTrack | null): void {
    if (this.#track === track) return;
    this.#track?.off('write', this.#onWrite);
    this.#track?.off('writertp', this.#onWriteRtp);
    this.#track = track;
    track?.on('write', this.#onWrite);
    track?.on('writertp', this.#onWriteRtp);
  }

  /** @internal After negotiation: the codecs (first usable one sends) and extension ids. */
  configure(n: SenderNegotiation): void {
    this.#negotiation = n;
    const codec = n.codecs.find((c) => !isRtx(c) && payloadCodecName(c.name) !== undefined);
    if (codec?.payloadType !== this.#codec?.payloadType || codec?.name !== this.#codec?.name) {
      this.#codec = codec;
      for (const l of this.layers)
        l.packetizer = codec ? createPacketizer(payloadCodecName(codec.name)!) : undefined;
    }
    const rtx = codec
      ? n.codecs.find(
          (c) => isRtx(c) && parseFmtpParameters(c.fmtp ?? '').get('apt') === String(codec.payloadType),
        )
      : undefined;
    this.#rtxPt = rtx?.payloadType;
  }

  get rtxPayloadType(): number | undefined {
    return this.#rtxPt;
  }

  getParameters(): RTCRtpSendParameters {
    this.#transactionId = randomBytes(8).toString('hex');
    const n = this.#negotiation;
    return {
      transactionId: this.#transactionId,
      encodings: this.#encodings.map((e, i) => ({ ...e, ssrc: this.layers[i]!.ssrc })),
      codecs: (n?.codecs ?? []).map((c) => toRtcCodec(this.kind, c)),
      headerExtensions: (n?.extmaps ?? []).map((e) => ({ uri: e.uri, id: e.id })),
      rtcp: { cname: this.cname, reducedSize: true },
    };
  }

  async setParameters(p: RTCRtpSendParameters): Promise<void> {
    if (p.transactionId !== this.#transactionId) {
      throw Object.assign(new Error('stale transactionId'), { name: 'InvalidModificationError' });
    }
    if (p.encodings.length !== this.#encodings.length) {
      throw Object.assign(new Error('encodings cannot be added or removed'), {
        name: 'InvalidModificationError',
      });
    }
    this.#encodings = p.encodings.map((e, i) => ({
      ...this.#encodings[i],
      ...e,
      rid: this.#encodings[i]!.rid,
    }));
  }

  /** Whether any encoding is active. */
  get active(): boolean {
    return this.#encodings.some((e) => e.active !== false);
  }

  #layerActive(i: number): boolean {
    return this.#encodings[i]?.active !== false;
  }

  /** Whether layer i takes a frame or packet written with `rid`. */
  #takes(i: number, rid: string | undefined): boolean {
    return this.#layerActive(i) && (rid === undefined || this.layers[i]!.rid === rid);
  }

  /** The mid extension, encoded once per mid rather than per packet. */
  #mid: { readonly mid: string; readonly ext: RtpHeaderExtension } | undefined;
  /** Per layer: its rid extension (encoded once). */
  readonly #rid: (RtpHeaderExtension | undefined)[] = [];
  /** Per layer: its last extension list (see ExtensionList). */
  readonly #extLists: (ExtensionList | undefined)[] = [];

  #extensions(
    i: number,
    dependencyDescriptor?: Uint8Array,
    now = this.#clock.now(),
  ): readonly RtpHeaderExtension[] {
    const n = this.#negotiation;
    const last = this.#extLists[i];
    if (
      last &&
      last.negotiation === n &&
      last.dependencyDescriptor === dependencyDescriptor &&
      (last.at === now ||
        last.absSendTime === undefined ||
        this.absSendTimeAtSend ||
        last.absSendTime === absSendTimeData(now))
    )
      return last.list;
    const layer = this.layers[i]!;
    const out: RtpHeaderExtension[] = [];
    let absSendTime: Uint8Array | undefined;
    for (const e of n?.extmaps ?? []) {
      if (e.uri === EXT_MID) {
        const mid = n!.mid;
        const m = this.#mid;
        if (m?.mid !== mid || m.ext.id !== e.id)
          this.#mid = { mid, ext: { id: e.id, data: serializeSdesExtension(mid) } };
        out.push(this.#mid!.ext);
      } else if (e.uri === EXT_ABS_SEND_TIME) {
        absSendTime = absSendTimeData(now);
        out.push({ id: e.id, data: absSendTime });
      } else if (e.uri === EXT_RID && layer.rid !== undefined) {
        let r = this.#rid[i];
        if (r?.id !== e.id) this.#rid[i] = r = { id: e.id, data: serializeSdesExtension(layer.rid) };
        out.push(r);
      } else if (e.uri === EXT_DEPENDENCY_DESCRIPTOR && dependencyDescriptor)
        out.push({ id: e.id, data: dependencyDescriptor });
    }
    // Exactly as long as it is (a pushed-to array keeps spare capacity, and the history keeps it).
    const list = out.slice();
    this.#extLists[i] = { at: now, negotiation: n, absSendTime, dependencyDescriptor, list };
    return list;
  }

  /** Packetize and send one encoded frame (dropped while not negotiated or not connected). */
  writeFrame(f: EncodedFrameInit): void {
    const codec = this.#codec;
    if (!codec || !this.out) return;
    const name = payloadCodecName(codec.name)!;
    if (this.#firstFrameMs === undefined) this.#firstFrameMs = f.timestamp;
    const ts =
      (this.#tsBase + Math.round(((f.timestamp - this.#firstFrameMs) * codec.clockRate) / 1000)) >>> 0;
    const keyframe = f.keyframe ?? isKeyframe(name, f.data);
    for (let li = 0; li < this.layers.length; li++) {
      if (!this.#takes(li, f.rid)) continue;
      const layer = this.layers[li]!;
      const packetizer = layer.packetizer;
      if (!packetizer) continue;
      const payloads = packetizer.packetize(f.data, MAX_PAYLOAD, keyframe);
      const extensions = this.#extensions(li);
      payloads.forEach((payload, i) => {
        const p: RtpPacket = {
          marker: this.kind === 'video' ? i === payloads.length - 1 : false,
          payloadType: codec.payloadType,
          sequenceNumber: layer.nextSeq(),
          timestamp: ts,
          ssrc: layer.ssrc,
          csrcs: [],
          extensions,
          payload,
          paddingSize: 0,
        };
        layer.history.add(p);
        this.#send(layer, p);
      });
      layer.stats.framesSent++;
      if (this.kind === 'video') {
        if (keyframe) layer.stats.keyFramesSent++;
        layer.video.onFrame(this.#clock.wallNow(), codec.name, f.data, keyframe);
      }
    }
  }

  /**
   * Forward an RTP packet from elsewhere as ours: our SSRC, payload type, sequence and timestamps;
   * with simulcast, `rid` picks the layer (every active layer without it); `dependencyDescriptor`
   * is sent in that extension where negotiated (an SFU forwarding SVC keeps the publisher's).
   */
  writeRtp(p: RtpPacket, o: ForwardOptions = NO_OPTIONS): void {
    this.forwardRtp(p, p, o.rid, o.dependencyDescriptor);
  }

  /**
   * @internal writeRtp for an SFU's forwarding, without a rewritten packet object: `p` as received,
   * `source` its source's SSRC, timestamp and marker as the room rewrote them.
   */
  forwardRtp(
    p: RtpPacket,
    source: { readonly ssrc: number; readonly timestamp: number; readonly marker?: boolean | undefined },
    rid?: string,
    dependencyDescriptor?: Uint8Array,
  ): void {
    const codec = this.#codec;
    if (!codec || !this.out) return;
    const ssrc = source.ssrc;
    const timestamp = source.timestamp;
    const marker = source.marker ?? p.marker;
    // One clock read for the packet's extensions and stats (the time does not move in between).
    const now = this.#clock.now();
    for (let i = 0; i < this.layers.length; i++) {
      if (!this.#takes(i, rid)) continue;
      const layer = this.layers[i]!;
      if (!layer.fwd || layer.fwd.ssrc !== ssrc) {
        // A new source: continue our timeline one frame after the last timestamp we sent.
        const next = layer.fwd ? layer.fwd.lastTs + Math.round(codec.clockRate / 30) : this.#tsBase;
        layer.fwd = { ssrc, tsOffset: (next - timestamp) >>> 0, lastTs: next };
      }
      const ts = (timestamp + layer.fwd.tsOffset) >>> 0;
      layer.fwd.lastTs = ts;
      // One literal of one shape (a spread copies property by property through a generic path),
      // extensionProfile in it: added after the literal, as parseRtp does, it went past the
      // literal's in-object slots into a property array allocated per packet.
      const profile = p.extensionProfile;
      let out: RtpPacket = {
        marker,
        payloadType: codec.payloadType,
        sequenceNumber: layer.nextSeq(),
        timestamp: ts,
        ssrc: layer.ssrc,
        csrcs: p.csrcs,
        extensionProfile: profile,
        extensions: this.#extensions(i, dependencyDescriptor, now),
        payload: p.payload,
        paddingSize: 0,
      };
      if (profile === undefined || p.extensionData !== undefined) {
        // Rare (no extension block, or a raw one): the optional fields only where present, no
        // own property holding undefined.
        const { extensionProfile: _, ...rest } = out;
        const o: { -readonly [K in keyof RtpPacket]: RtpPacket[K] } = rest;
        if (profile !== undefined) o.extensionProfile = profile;
        if (p.extensionData !== undefined) o.extensionData = p.extensionData;
        out = o;
      }
      if (this.forwardedSource) layer.history.addForwarded(out, p.ssrc, p.sequenceNumber);
      else layer.history.add(out);
      this.#send(layer, out, now);
      if (marker || this.kind === 'audio') layer.stats.framesSent++;
    }
  }

  /** Stats and out (the caller has put `p` in the layer's history). */
  #send(layer: SendLayer, p: RtpPacket, now = this.#clock.now()): void {
    const st = layer.stats;
    st.packetsSent++;
    st.bytesSent += p.payload.length;
    st.headerBytesSent += 12;
    st.lastRtpTimestamp = p.timestamp;
    st.lastPacketSentAt = now;
    this.out?.(p);
  }

  /** @internal NACK from the peer for the media SSRC `ssrc`: resend what the history still has. */
  onNack(lost: readonly number[], ssrc = this.ssrc): void {
    const layer = this.layerBySsrc(ssrc);
    if (!layer) return;
    layer.stats.nackCount++;
    const rridId = this.#negotiation?.extmaps.find((e) => e.uri === EXT_REPAIRED_RID)?.id;
    const ridId = this.#negotiation?.extmaps.find((e) => e.uri === EXT_RID)?.id;
    for (const seq of lost) {
      const p = layer.history.get(seq, this.forwardedSource);
      if (!p || !this.out) continue;
      let again = p;
      if (this.#rtxPt !== undefined) {
        again = rtxPacket(p, layer.rtxSsrc, this.#rtxPt, layer.nextRtxSeq());
        // RFC 8852 §3.2: RTX names the layer it repairs with repaired-rid, not rid.
        if (layer.rid !== undefined && rridId !== undefined) {
          again = {
            ...again,
            extensions: [
              ...again.extensions.filter((e) => e.id !== ridId),
              { id: rridId, data: serializeSdesExtension(layer.rid) },
            ],
          };
        }
      }
      layer.stats.retransmittedPacketsSent++;
      layer.stats.retransmittedBytesSent += p.payload.length;
      this.out(again, true);
    }
  }

  /** @internal PLI or FIR from the peer (for the layer sending on `ssrc`). */
  onKeyframeRequest(kind: 'pli' | 'fir', ssrc = this.ssrc): void {
    const layer = this.layerBySsrc(ssrc) ?? this.layers[0]!;
    if (kind === 'pli') layer.stats.pliCount++;
    else layer.stats.firCount++;
    this.#track?.emit('keyframerequest', layer.rid !== undefined ? { rid: layer.rid } : {});
  }

  /** @internal */
  stop(): void {
    this.setTrack(null);
    this.out = undefined;
  }
}
