/**
 * A sender's SRTP output memory is reused only when its socket was done with the bytes as send
 * returned (core/net.ts sendSettled). Two rtcstack peers on loopback, video frames of known
 * content from A to B:
 * - A's sockets hold every datagram (the same view, no copy) and send it on a later tick, as a
 *   queued send does: had A reused a held packet's memory, later packets would have overwritten it
 *   before it left, and B would see duplicates and lose frames;
 * - A's sockets send at once (NodeNetwork): consecutive RTP packets are written over the same
 *   memory, and everything still arrives intact.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Network, TransportAddress, UdpBindOptions, UdpSocket } from '../../src/core/net.js';
import { nodeNetwork } from '../../src/core/net-node.js';
import { MediaStreamTrack, type ReceivedFrame, type RTCPeerConnection } from '../../src/peer/index.js';
import { negotiate, trickledPair } from '../helpers/trickled-pair.js';
import { waitFor } from '../helpers/wait.js';

/** RTP, not RTCP (RFC 5761 §4) and not STUN/DTLS (RFC 7983). */
const isRtp = (d: Uint8Array): boolean => d[0]! >> 6 === 2 && !(d[1]! >= 192 && d[1]! <= 223);

/** A socket over a real one; `holding` keeps each datagram's view and sends it a tick later. */
class WrappedSocket implements UdpSocket {
  readonly #inner: UdpSocket;
  readonly #holding: boolean;
  readonly #queue: [Uint8Array, TransportAddress][] = [];
  /** Per RTP datagram sent: its memory (buffer, offset). */
  readonly rtpMemory: [ArrayBufferLike, number][] = [];
  /** Most datagrams held at once. */
  maxHeld = 0;

  constructor(inner: UdpSocket, holding: boolean) {
    this.#inner = inner;
    this.#holding = holding;
  }
  get local(): TransportAddress {
    return this.#inner.local;
  }
  get closed(): boolean {
    return this.#inner.closed;
  }
  get onMessage(): UdpSocket['onMessage'] {
    return this.#inner.onMessage;
  }
  set onMessage(h: UdpSocket['onMessage']) {
    this.#inner.onMessage = h;
  }
  send(data: Uint8Array, to: TransportAddress): boolean {
    if (isRtp(data)) this.rtpMemory.push([data.buffer, data.byteOffset]);
    if (!this.#holding) return this.#inner.send(data, to);
    if (this.#queue.length === 0) setImmediate(() => this.#flush());
    this.#queue.push([data, to]);
    this.maxHeld = Math.max(this.maxHeld, this.#queue.length);
    return true;
  }
  #flush(): void {
    for (const [d, to] of this.#queue.splice(0)) this.#inner.send(d, to);
  }
  close(): void {
    this.#queue.length = 0;
    this.#inner.close();
  }
}

function wrappedNetwork(holding: boolean): { network: Network; sockets: WrappedSocket[] } {
  const sockets: WrappedSocket[] = [];
  const network: Network = {
    interfaces: () => nodeNetwork.interfaces(),
    bindUdp: async (o?: UdpBindOptions) => {
      const s = new WrappedSocket(await nodeNetwork.bindUdp(o), holding);
      sockets.push(s);
      return s;
    },
    listenTcp: (o) => nodeNetwork.listenTcp(o),
    connectTcp: (o) => nodeNetwork.connectTcp(o),
  };
  return { network, sockets };
}

/** A VP8-shaped frame (keyframe bit in the frame tag) of `size` bytes, content from `seed`. */
function frame(size: number, seed: number): Uint8Array {
  const f = new Uint8Array(size);
  for (let i = 0; i < size; i++) f[i] = (i * 7 + seed * 13) & 0xff;
  f[0] = seed === 0 ? 0x10 : 0x11;
  return f;
}

async function sendFrames(holding: boolean): Promise<{ sockets: WrappedSocket[]; b: RTCPeerConnection }> {
  const { network, sockets } = wrappedNetwork(holding);
  const { a, b } = trickledPair({ network });
  try {
    const track = new MediaStreamTrack({ kind: 'video' });
    a.addTransceiver(track, { direction: 'sendonly' });
    const got: ReceivedFrame[] = [];
    b.ontrack = (e) => e.track.on('frame', (f) => got.push(f));
    await negotiate(a, b);
    await waitFor(() => a.connectionState === 'connected' && b.connectionState === 'connected', 'connected');
    // Frames of ~8 packets, written in bursts: several packets leave the pacer per call.
    const FRAMES = 30;
    for (let i = 0; i < FRAMES; i++) {
      track.writeFrame({ data: frame(9000, i), timestamp: i * 33 });
      if (i % 3 === 2) await new Promise((r) => setTimeout(r, 20));
    }
    await waitFor(() => got.length === FRAMES, `${FRAMES} frames (have ${got.length})`);
    for (const [i, f] of got.entries()) assert.deepEqual(f.data, frame(9000, i), `frame ${i} intact`);
    const dropped = b.droppedDatagrams();
    assert.equal(dropped.srtpAuth + dropped.srtpReplay + dropped.srtpMalformed, 0, JSON.stringify(dropped));
    return { sockets, b };
  } finally {
    a.close();
    b.close();
  }
}

/** How many RTP datagrams sat in the same memory as the RTP datagram before them. */
function reused(sockets: readonly WrappedSocket[]): number {
  let n = 0;
  for (const s of sockets)
    s.rtpMemory.forEach(([buf, at], i) => {
      const prev = s.rtpMemory[i - 1];
      if (prev && prev[0] === buf && prev[1] === at) n++;
    });
  return n;
}

test('SRTP output held by a socket (sent a tick later) is never written over', async () => {
  const { sockets } = await sendFrames(true);
  const rtp = sockets.reduce((n, s) => n + s.rtpMemory.length, 0);
  assert.ok(rtp >= 240, `RTP datagrams sent: ${rtp}`);
  assert.ok(Math.max(...sockets.map((s) => s.maxHeld)) > 1, 'several datagrams were held at once');
  assert.equal(reused(sockets), 0);
});

test('SRTP output a socket sent at once is reused for the next packet', async () => {
  const { sockets } = await sendFrames(false);
  const rtp = sockets.reduce((n, s) => n + s.rtpMemory.length, 0);
  assert.ok(rtp >= 240, `RTP datagrams sent: ${rtp}`);
  assert.ok(reused(sockets) > rtp / 2, `reused ${reused(sockets)} of ${rtp}`);
});
