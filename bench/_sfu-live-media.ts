/**
 * For bench/sfu-live.ts: the publisher's media (synthetic VP8 simulcast + Opus written as encoded
 * frames to rtcstack tracks, packetized by our own RTCRtpSender) and the subscribers' receive
 * counters (inbound-rtp of rtcstack RTCPeerConnections).
 */
import { MediaStreamTrack, type RTCPeerConnection } from '../src/peer/index.js';

/** Simulcast layers as Chromium names them, low to high, with the bytes of one frame at 30 fps. */
export const LAYERS = [
  { rid: 'q', width: 320, height: 180, frameBytes: 600 },
  { rid: 'h', width: 640, height: 360, frameBytes: 2_000 },
  // 4 packets of ~1,100 bytes a frame: ~1.06 Mbit/s of RTP payload at 30 fps.
  { rid: 'f', width: 1280, height: 720, frameBytes: 4_200 },
] as const;
export const FPS = 30;
/** A keyframe on each layer at least this often (frames), as encoders do. */
const GOP = 90;

/**
 * VP8 frame bytes (RFC 6386 §9.1): a 3-byte frame tag (bit 0 clear on a keyframe, show_frame
 * set), then on keyframes the start code 9d 01 2a and 14-bit width and height, which Janus reads
 * to tell keyframes; the rest is filler.
 */
function vp8Frame(bytes: number, key: boolean, width: number, height: number, n: number): Uint8Array {
  const data = new Uint8Array(bytes).fill(n & 0xff);
  data[0] = key ? 0x10 : 0x11;
  data[1] = 0x02;
  data[2] = 0x00;
  if (key) data.set([0x9d, 0x01, 0x2a, width & 0xff, width >> 8, height & 0xff, height >> 8], 3);
  return data;
}

/** The publisher's tracks and the timer that writes into them; `simulcast` false: one layer (f). */
export class LiveSource {
  readonly video = new MediaStreamTrack({ kind: 'video' });
  readonly audio = new MediaStreamTrack({ kind: 'audio' });
  readonly #wantKey = new Set<string>();
  #frame = 0;
  #timer: NodeJS.Timeout | undefined;
  keyRequests = 0;

  constructor(readonly simulcast: boolean) {
    this.video.on('keyframerequest', ({ rid }) => {
      this.keyRequests++;
      for (const l of LAYERS) if (rid === undefined || rid === l.rid) this.#wantKey.add(l.rid);
    });
  }

  get encodings(): { rid: string }[] | undefined {
    return this.simulcast ? LAYERS.map((l) => ({ rid: l.rid })) : undefined;
  }

  /** Every 1/30 s a frame on each layer; audio every 20 ms (written in pairs/triples per tick). */
  start(): void {
    const t0 = performance.now();
    let audioSent = 0;
    const tick = (): void => {
      const now = performance.now() - t0;
      while (this.#frame * (1000 / FPS) <= now) {
        const n = this.#frame++;
        const timestamp = (n * 1000) / FPS;
        for (const l of this.simulcast ? LAYERS : LAYERS.slice(2)) {
          const key = n % GOP === 0 || this.#wantKey.delete(l.rid);
          const data = vp8Frame(l.frameBytes, key, l.width, l.height, n);
          this.video.writeFrame({ data, timestamp, ...(this.simulcast ? { rid: l.rid } : {}) });
        }
      }
      while (audioSent * 20 <= now) {
        this.audio.writeFrame({ data: new Uint8Array(80).fill(0xfc), timestamp: audioSent * 20 });
        audioSent++;
      }
    };
    this.#timer = setInterval(tick, 10);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}

export interface ReceiveCounters {
  /**
   * Media RTP packets received, without retransmissions (NACK answers and our SFU's probes
   * resending media over RTX). Packets lost are not counted: a gap may be the SFU's own ingress
   * loss (an overloaded SFU drops the publisher's packets and forwards gaps).
   */
  packets: number;
  received: number;
  lost: number;
  /** Packets that came as retransmissions (RTX), not in `packets`. */
  retransmitted: number;
  /** SRTP datagram bytes of `packets` (header + payload + 10-byte auth tag). */
  bytes: number;
  videoBytes: number;
  framesVideo: number;
}

const ZERO: ReceiveCounters = {
  packets: 0,
  received: 0,
  lost: 0,
  retransmitted: 0,
  bytes: 0,
  videoBytes: 0,
  framesVideo: 0,
};

/** The sum of every subscriber's inbound-rtp counters. */
export async function receiveCounters(pcs: readonly RTCPeerConnection[]): Promise<ReceiveCounters> {
  const c: ReceiveCounters = { ...ZERO };
  for (const pc of pcs) {
    for (const s of (await pc.getStats()).values()) {
      if (s.type !== 'inbound-rtp') continue;
      const st = s as unknown as {
        kind: string;
        packetsReceived: number;
        packetsLost: number;
        bytesReceived: number;
        headerBytesReceived: number;
        retransmittedPacketsReceived?: number;
        framesReceived?: number;
      };
      const lost = Math.max(0, st.packetsLost);
      const rtx = st.retransmittedPacketsReceived ?? 0;
      const media = st.packetsReceived - rtx;
      const wire = st.bytesReceived + st.headerBytesReceived + 10 * st.packetsReceived;
      const bytes = st.packetsReceived > 0 ? (wire * media) / st.packetsReceived : 0;
      c.packets += media;
      c.received += st.packetsReceived;
      c.lost += lost;
      c.retransmitted += rtx;
      c.bytes += bytes;
      if (st.kind === 'video') {
        c.videoBytes += bytes;
        c.framesVideo += st.framesReceived ?? 0;
      }
    }
  }
  return c;
}

const combine =
  (sign: 1 | -1) =>
  (a: ReceiveCounters, b: ReceiveCounters): ReceiveCounters => {
    const d = { ...ZERO };
    for (const k of Object.keys(d) as (keyof ReceiveCounters)[]) d[k] = b[k] + sign * a[k];
    return d;
  };
/** b - a */
export const diffCounters = combine(-1);
export const sumCounters = combine(1);

/** Bytes the publisher sent (outbound-rtp, every layer and audio) and its sender's target bitrate. */
export async function sentBytes(pc: RTCPeerConnection): Promise<number> {
  let bytes = 0;
  for (const s of (await pc.getStats()).values())
    if (s.type === 'outbound-rtp') {
      const st = s as unknown as { bytesSent: number; headerBytesSent?: number };
      bytes += st.bytesSent + (st.headerBytesSent ?? 0);
    }
  return bytes;
}
