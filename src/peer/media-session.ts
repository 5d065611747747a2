/**
 * The media half of the bundled transport: SRTP keyed from DTLS (RFC 5764 §4.2), routing of
 * incoming RTP to receivers by SSRC, then mid / rid header extensions (RFC 8843 §9.2, RFC 8852),
 * RTX unwrapping (RFC 4588), RTCP in both directions (SR/RR with RTT, SDES, NACK, PLI/FIR), transport-
 * wide congestion control (MediaCongestion: TWCC feedback out, GCC estimate in) and a 20 ms tick that
 * sends NACKs and feedback and releases stalled jitter-buffer gaps.
 */
import type { Clock, Timer } from '../core/clock.js';
import { isInputError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { sendSettled } from '../core/net.js';
import type { SrtpKeyingMaterial } from '../dtls/srtp-profiles.js';
import { unwrapRtx } from '../interceptor/nack.js';
import { type PacedPacket, Pacer } from '../interceptor/pacer.js';
import { rttFromReportBlock } from '../interceptor/receive-stats.js';
import { ntpFromWallMs, ntpMiddle32, wallMsFromNtp } from '../interceptor/sequence.js';
import { isRtcp, parseRtcp, type RtcpPacket, serializeRtcp } from '../rtcp/compound.js';
import type { ReportBlock } from '../rtcp/reports.js';
import { SDES_CNAME } from '../rtcp/source.js';
import { EXT_MID, EXT_REPAIRED_RID, EXT_RID, parseSdesExtension } from '../rtp/extensions.js';
import {
  findExtension,
  layoutRtp,
  newRtpLayout,
  parseRtp,
  type RtpPacket,
  serializeRtpLaidOut,
} from '../rtp/packet.js';
import { parseFmtpParameters } from '../sdp/attributes.js';
import { isRtx } from '../sdp/codecs.js';
import { SrtpContext } from '../srtp/context.js';
import { SRTP_PROFILES } from '../srtp/profiles.js';
import { SrtpSession } from '../srtp/session.js';
import { MediaCongestion } from './media-congestion.js';
import { paddingPackets } from './padding.js';
import type { RTCRtpTransceiver } from './rtp-transceiver.js';
import { everyTick } from './shared-tick.js';

const TICK_MS = 20;
const REPORT_INTERVAL_MS = 1000;

/** An RTP packet waiting in the pacer. */
interface Outgoing extends PacedPacket {
  readonly packet: RtpPacket;
}

/** Bytes an RTP packet takes on the wire (header, CSRCs, extensions, payload, SRTP tag). */
function wireSize(p: RtpPacket): number {
  let ext = 0;
  for (const e of p.extensions) ext += 2 + e.data.length;
  return 12 + 4 * p.csrcs.length + (ext ? 4 + ext : 0) + p.payload.length + p.paddingSize + 10;
}

interface Route {
  readonly transceiver: RTCRtpTransceiver;
  readonly rid?: string;
  /** An RTX stream: the media SSRC it repairs (when known). */
  readonly rtxFor?: number;
  readonly rtx: boolean;
}

export interface MediaSessionStats {
  /** SRTP/SRTCP packets dropped: all reasons (the two below and malformed ones). */
  srtpErrors: number;
  /** Of srtpErrors: authentication tags that did not verify. */
  srtpAuthFailures: number;
  /** Of srtpErrors: replays and packets too old for the replay window. */
  srtpReplays: number;
  parseErrors: number;
  unroutable: number;
  rtcpPacketsReceived: number;
  rtcpPacketsSent: number;
}

export class MediaSession {
  readonly #clock: Clock;
  readonly #send: (d: Uint8Array) => void;
  readonly #log: Logger;
  readonly #transceivers: () => readonly RTCRtpTransceiver[];
  #srtp: SrtpSession | undefined;
  readonly #routes = new Map<number, Route>();
  /** SSRCs the remote description announced: ssrc -> mid (and the FID pairs). */
  #signaled = new Map<number, { mid: string; rtxFor?: number }>();
  /** Stops this session's share of the clock's 20 ms tick. */
  #stopTick: (() => void) | undefined;
  #feedbackTimer: Timer | undefined;
  #lastReport = -Infinity;
  #closed = false;
  /** The packet #emitRtp is sending, laid out (size and extension block) once for both uses. */
  readonly #layout = newRtpLayout();
  readonly #write = (p: RtpPacket, out: Uint8Array, offset: number): number =>
    serializeRtpLaidOut(p, this.#layout, out, offset);
  /** Transport-wide congestion control: feedback for what we receive, the estimate for what we send. */
  readonly congestion: MediaCongestion;
  /** RTP leaves through the pacer at 2.5 x the estimate (audio first, then retransmissions, video). */
  readonly pacer: Pacer<Outgoing>;
  readonly stats: MediaSessionStats = {
    srtpErrors: 0,
    srtpAuthFailures: 0,
    srtpReplays: 0,
    parseErrors: 0,
    unroutable: 0,
    rtcpPacketsReceived: 0,
    rtcpPacketsSent: 0,
  };

  constructor(o: {
    clock: Clock;
    send: (d: Uint8Array) => void;
    log: Logger;
    transceivers: () => readonly RTCRtpTransceiver[];
    /** The congestion controller's start estimate, bits/s (MediaCongestion's default otherwise). */
    initialBitrate?: number;
  }) {
    this.#clock = o.clock;
    this.#send = o.send;
    this.#log = o.log;
    this.#transceivers = o.transceivers;
    this.congestion = new MediaCongestion(o.initialBitrate);
    this.pacer = new Pacer<Outgoing>({
      clock: o.clock,
      send: (q) => this.#emitRtp(q.packet),
      onOverflow: (ssrcs) => this.#keyframeNeeded(ssrcs),
      // Probes and a padding rate: padding-only packets on a video RTX stream (padding.ts).
      padding: (bytes) =>
        paddingPackets(this.#transceivers(), bytes).map((packet) => ({
          packet,
          size: wireSize(packet),
          ssrc: packet.ssrc,
          cls: 'padding' as const,
        })),
    });
  }

  get keyed(): boolean {
    return this.#srtp !== undefined;
  }

  /** DTLS is connected: key SRTP and start sending. */
  start(m: SrtpKeyingMaterial): void {
    if (this.#srtp || this.#closed) return;
    const profile = SRTP_PROFILES[m.profile];
    this.#srtp = new SrtpSession(
      new SrtpContext(profile, { key: m.localKey, salt: m.localSalt }),
      new SrtpContext(profile, { key: m.remoteKey, salt: m.remoteSalt }),
    );
    this.refresh();
    this.#schedule();
  }

  /** After each negotiation: attach senders, learn signaled SSRCs. */
  refresh(signaled?: Map<number, { mid: string; rtxFor?: number }>): void {
    if (signaled) {
      this.#signaled = signaled;
      for (const [ssrc, route] of [...this.#routes])
        if (!route.rid && !signaled.has(ssrc)) this.#routes.delete(ssrc);
    }
    this.congestion.configure(this.#transceivers());
    this.pacer.bitrate = this.congestion.pacingBitrate;
    for (const t of this.#transceivers()) {
      const s = t.sender;
      const sends = t.currentDirection === 'sendrecv' || t.currentDirection === 'sendonly';
      const kind = t.kind;
      s.out = this.#srtp && sends ? (p, rtx) => this.#sendRtp(p, kind, rtx === true) : undefined;
      // #emitRtp re-stamps abs-send-time as each packet leaves (congestion.stamp).
      s.absSendTimeAtSend = s.out !== undefined;
      t.receiver.requestKeyframe = (mediaSsrc) =>
        this.#sendRtcp([{ type: 'pli', senderSsrc: s.ssrc, mediaSsrc }]);
    }
  }

  #sendRtp(packet: RtpPacket, kind: 'audio' | 'video', retransmission: boolean): void {
    if (!this.#srtp || this.#closed) return;
    const cls = kind === 'audio' ? 'audio' : retransmission ? 'retransmission' : 'video';
    this.pacer.enqueue({ packet, size: wireSize(packet), ssrc: packet.ssrc, cls });
  }

  /** The pacer flushed queued packets of these SSRCs: their sources should send a keyframe. */
  #keyframeNeeded(ssrcs: ReadonlySet<number>): void {
    for (const t of this.#transceivers())
      for (const layer of t.sender.layers)
        if (ssrcs.has(layer.ssrc) || ssrcs.has(layer.rtxSsrc))
          t.sender.track?.emit('keyframerequest', layer.rid !== undefined ? { rid: layer.rid } : {});
  }

  /** A packet leaves the pacer: transport-wide sequence and send time, SRTP, the socket. */
  #emitRtp(p: RtpPacket): void {
    if (!this.#srtp || this.#closed) return;
    try {
      const size = 12 + p.payload.length + p.paddingSize;
      const q = this.congestion.stamp(p, size, this.#clock.now());
      // Serialized straight into the SRTP output buffer (no intermediate packet per send). When
      // the socket was done with the bytes as its send returned (the kernel took them), the next
      // packet is written over the same memory instead of fresh slab memory.
      // Laid out once: the size for the SRTP buffer and the extension block for the write.
      const n = layoutRtp(q, this.#layout);
      const out = this.#srtp.protectRtpWith(q, n, n - q.payload.length - q.paddingSize, this.#write);
      this.#send(out);
      if (sendSettled(out)) this.#srtp.releaseProtected(out);
    } catch (err) {
      this.#log.warn('rtp send failed', { error: String(err) });
    }
  }

  #sendRtcp(packets: RtcpPacket[]): void {
    if (!this.#srtp || this.#closed || packets.length === 0) return;
    this.stats.rtcpPacketsSent++;
    this.#send(this.#srtp.protectRtcp(serializeRtcp(packets)));
  }

  /** An RTP or RTCP datagram from the transport. */
  handle(d: Uint8Array): void {
    // Arrival time first (transport-wide feedback reports it): before SRTP, parsing and routing.
    const now = this.#clock.now();
    const srtp = this.#srtp;
    if (!srtp || this.#closed) return;
    const rtcp = isRtcp(d);
    let plain: Uint8Array;
    try {
      plain = rtcp ? srtp.unprotectRtcp(d) : srtp.unprotectRtp(d);
    } catch (err) {
      if (!isInputError(err)) throw err;
      this.stats.srtpErrors++;
      if (err.code === 'ERR_SRTP_AUTH_FAILED') this.stats.srtpAuthFailures++;
      else if (err.code === 'ERR_SRTP_REPLAY') this.stats.srtpReplays++;
      return;
    }
    try {
      if (rtcp) this.#onRtcp(parseRtcp(plain));
      else this.#onRtp(parseRtp(plain), plain.length, now);
    } catch (err) {
      if (!isInputError(err)) throw err;
      this.stats.parseErrors++;
    }
  }

  #extId(t: RTCRtpTransceiver, uri: string): number | undefined {
    return t.receiver.getParameters().headerExtensions.find((e) => e.uri === uri)?.id;
  }

  #route(p: RtpPacket): Route | undefined {
    const known = this.#routes.get(p.ssrc);
    if (known) return known;
    const all = this.#transceivers();
    let t: RTCRtpTransceiver | undefined;
    const sig = this.#signaled.get(p.ssrc);
    if (sig) t = all.find((x) => x.mid === sig.mid);
    if (!t) {
      // RFC 8843 §9.2: the mid header extension names the m= section.
      for (const x of all) {
        const id = this.#extId(x, EXT_MID);
        const v = id !== undefined ? findExtension(p, id) : undefined;
        if (v && parseSdesExtension(v) === x.mid) {
          t = x;
          break;
        }
      }
    }
    if (!t) {
      // Last resort: a payload type only one receiving section uses.
      const cands = all.filter((x) => x.receiver.codecs.some((c) => c.payloadType === p.payloadType));
      if (cands.length === 1) t = cands[0];
    }
    if (!t) return undefined;
    const codec = t.receiver.codecs.find((c) => c.payloadType === p.payloadType);
    const rtx = codec !== undefined && isRtx(codec);
    const ridId = this.#extId(t, EXT_RID);
    const rridId = this.#extId(t, EXT_REPAIRED_RID);
    const ridBytes = ridId !== undefined ? findExtension(p, ridId) : undefined;
    const rridBytes = rridId !== undefined ? findExtension(p, rridId) : undefined;
    const rid = ridBytes
      ? parseSdesExtension(ridBytes)
      : rridBytes
        ? parseSdesExtension(rridBytes)
        : undefined;
    let rtxFor = sig?.rtxFor;
    if (rtx && rtxFor === undefined) {
      const streams = [...t.receiver.streams.values()];
      rtxFor = (
        rid !== undefined ? streams.find((s) => s.rid === rid) : streams.length === 1 ? streams[0] : undefined
      )?.ssrc;
      // Without the media stream yet, do not pin the route: try again on the next packet.
      if (rtxFor === undefined) return { transceiver: t, rtx: true, ...(rid !== undefined && { rid }) };
    }
    const route: Route = {
      transceiver: t,
      rtx,
      ...(rid !== undefined && { rid }),
      ...(rtxFor !== undefined && { rtxFor }),
    };
    this.#routes.set(p.ssrc, route);
    return route;
  }

  #onRtp(p: RtpPacket, size: number, now: number): void {
    this.congestion.onRtp(p, now, size);
    // Feedback due: send it once this batch of reads is done (next turn of the loop), not at the
    // next tick; a late feedback holds the peer's congestion window (libwebrtc pushes back).
    if (this.#feedbackTimer === undefined && this.congestion.feedbackDue(now))
      this.#feedbackTimer = this.#clock.setTimeout(() => this.#sendFeedbackNow(), 0);
    const route = this.#route(p);
    if (!route) {
      this.stats.unroutable++;
      return;
    }
    const receiver = route.transceiver.receiver;
    if (!route.rtx) {
      if (!receiver.handleRtp(p, size, route.rid)) this.stats.unroutable++;
      return;
    }
    if (route.rtxFor === undefined || p.payload.length === 0) return; // padding probes
    const rtxCodec = receiver.codecs.find((c) => c.payloadType === p.payloadType);
    const apt = Number(parseFmtpParameters(rtxCodec?.fmtp ?? '').get('apt'));
    receiver.handleRtp(unwrapRtx(p, route.rtxFor, apt), size, route.rid, true);
  }

  #onRtcp(packets: RtcpPacket[]): void {
    this.stats.rtcpPacketsReceived++;
    const senders = this.#transceivers().map((t) => t.sender);
    const bySsrc = (ssrc: number) => senders.find((s) => s.layerBySsrc(ssrc) !== undefined);
    const nowNtp = ntpMiddle32(ntpFromWallMs(this.#clock.wallNow()));
    const blocks = (reports: readonly ReportBlock[]): void => {
      for (const b of reports) {
        const s = bySsrc(b.ssrc);
        const layer = s?.layerBySsrc(b.ssrc);
        if (!s || !layer) continue;
        const rtt = rttFromReportBlock(b, nowNtp);
        if (rtt !== undefined) s.roundTripTime = rtt;
        layer.remoteReport = {
          fractionLost: b.fractionLost / 256,
          packetsLost: b.packetsLost,
          jitter: b.jitter,
        };
      }
    };
    for (const p of packets) {
      switch (p.type) {
        case 'sr': {
          for (const t of this.#transceivers()) {
            const stream = t.receiver.streams.get(p.ssrc);
            if (!stream) continue;
            stream.stats.onSenderReport(
              ntpMiddle32({ seconds: p.ntpSeconds, fraction: p.ntpFraction }),
              this.#clock.now(),
            );
            stream.remoteSender = {
              remoteTimestamp: wallMsFromNtp(p.ntpSeconds, p.ntpFraction),
              packetsSent: p.packetCount,
              bytesSent: p.octetCount,
              reportsSent: (stream.remoteSender?.reportsSent ?? 0) + 1,
            };
          }
          blocks(p.reports);
          break;
        }
        case 'rr':
          blocks(p.reports);
          break;
        case 'nack':
          bySsrc(p.mediaSsrc)?.onNack(p.lost, p.mediaSsrc);
          break;
        case 'pli':
          bySsrc(p.mediaSsrc)?.onKeyframeRequest('pli', p.mediaSsrc);
          break;
        case 'fir':
          for (const e of p.entries) bySsrc(e.ssrc)?.onKeyframeRequest('fir', e.ssrc);
          break;
        case 'twcc':
          this.congestion.onFeedback(
            p,
            this.#clock.now(),
            senders.find((s) => s.roundTripTime)?.roundTripTime,
          );
          this.congestion.distribute(this.#transceivers());
          this.pacer.bitrate = this.congestion.pacingBitrate;
          this.#probe();
          break;
        case 'remb':
          this.congestion.remb = p.bitrate;
          this.congestion.distribute(this.#transceivers());
          this.pacer.bitrate = this.congestion.pacingBitrate;
          break;
        default:
          break;
      }
    }
  }

  /** A probe the congestion controller asks for runs through the pacer (padding up to its rate). */
  #probe(): void {
    const p = this.congestion.takeProbe(this.#clock.now());
    if (p) this.pacer.probe(p.bitrate, p.durationMs);
  }

  /** The 20 ms tick, on one timer shared by every session on this clock (see everyTick). */
  #schedule(): void {
    if (this.#closed || this.#stopTick) return;
    this.#stopTick = everyTick(this.#clock, TICK_MS, () => this.#onTick());
  }

  #sendFeedbackNow(): void {
    this.#feedbackTimer = undefined;
    const reporter = this.#transceivers()[0]?.sender.ssrc;
    const fb = reporter !== undefined ? this.congestion.feedback(this.#clock.now(), reporter) : undefined;
    if (fb) this.#sendRtcp([fb]);
  }

  #onTick(): void {
    const now = this.#clock.now();
    const transceivers = this.#transceivers();
    const nacks: RtcpPacket[] = [];
    for (const t of transceivers) {
      t.receiver.poll(now);
      if (t.kind !== 'video') continue;
      for (const s of t.receiver.streams.values()) {
        const lost = s.nack.poll(now, t.sender.roundTripTime ?? 100);
        if (lost.length)
          nacks.push({
            type: 'nack',
            senderSsrc: t.sender.ssrc,
            mediaSsrc: s.ssrc,
            lost: lost.map((x) => x & 0xffff),
          });
      }
    }
    const reporter = transceivers[0]?.sender.ssrc;
    const fb = reporter !== undefined ? this.congestion.feedback(now, reporter) : undefined;
    if (fb) nacks.push(fb);
    const remb = reporter !== undefined ? this.congestion.rembToSend(now, reporter) : undefined;
    if (remb) nacks.push(remb);
    if (nacks.length) this.#sendRtcp(nacks);
    this.#probe();
    if (now - this.#lastReport >= REPORT_INTERVAL_MS) {
      this.#lastReport = now;
      this.#sendReports(now);
    }
  }

  /** RFC 3550 §6.4: an SR per active sender (the first carries the report blocks) or an RR; SDES. */
  #sendReports(now: number): void {
    const transceivers = this.#transceivers();
    const blocks: ReportBlock[] = [];
    for (const t of transceivers)
      for (const s of t.receiver.streams.values()) blocks.push(s.stats.reportBlock(now));
    const packets: RtcpPacket[] = [];
    const wall = this.#clock.wallNow();
    const ntp = ntpFromWallMs(wall);
    let first = true;
    for (const t of transceivers) {
      const s = t.sender;
      const codec = s.codec;
      if (!s.out || !codec) continue;
      for (const layer of s.layers) {
        const st = layer.stats;
        if (st.packetsSent === 0) continue;
        const elapsed = Math.max(0, now - st.lastPacketSentAt);
        packets.push({
          type: 'sr',
          ssrc: layer.ssrc,
          ntpSeconds: ntp.seconds,
          ntpFraction: ntp.fraction,
          rtpTimestamp: (st.lastRtpTimestamp + Math.round((elapsed * codec.clockRate) / 1000)) >>> 0,
          packetCount: st.packetsSent >>> 0,
          octetCount: st.bytesSent >>> 0,
          reports: first ? blocks.slice(0, 31) : [],
        });
        first = false;
      }
    }
    const reporter = transceivers[0]?.sender;
    if (!reporter) return;
    if (packets.length === 0) {
      if (blocks.length === 0) return;
      packets.push({ type: 'rr', ssrc: reporter.ssrc, reports: blocks.slice(0, 31) });
    }
    packets.push({
      type: 'sdes',
      chunks: [
        { ssrc: (packets[0] as { ssrc: number }).ssrc, items: [{ type: SDES_CNAME, value: reporter.cname }] },
      ],
    } as RtcpPacket);
    this.#sendRtcp(packets);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopTick?.();
    this.#stopTick = undefined;
    this.#feedbackTimer?.cancel();
    this.#feedbackTimer = undefined;
    this.pacer.close();
    for (const t of this.#transceivers()) t.sender.out = undefined;
  }
}
