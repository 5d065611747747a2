/**
 * Worker thread for bench/datachannel.ts: hosts the answering (receiving) peer of a W3C-style stack
 * (rtcstack or werift) so each peer has its own thread, as the native stacks' peers do. Signaling
 * crosses over postMessage; the receiver reports message counts in batches (at most every 2 ms).
 */
import { parentPort, workerData } from 'node:worker_threads';

interface W3CPeer {
  setRemoteDescription(d: unknown): Promise<unknown>;
  createAnswer(): Promise<unknown>;
  setLocalDescription(d?: unknown): Promise<unknown>;
  addIceCandidate(c: unknown): Promise<unknown>;
  localDescription: unknown;
  onicecandidate: unknown;
  ondatachannel: unknown;
  close(): unknown;
}

const port = parentPort!;
const stack = (workerData as { stack: string }).stack;
let pc: W3CPeer;
if (stack === 'werift') {
  const { RTCPeerConnection } = await import('werift');
  pc = new RTCPeerConnection({
    iceServers: [],
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceUseIpv6: false,
  }) as unknown as W3CPeer;
} else {
  const { RTCPeerConnection } = await import('../src/peer/index.js');
  pc = new RTCPeerConnection({}, { includeLoopback: true, ipv6: false }) as unknown as W3CPeer;
}

let count = 0;
let bytes = 0;
let last = 0;
let posted = 0;
let timer: NodeJS.Timeout | undefined;
const post = (): void => {
  timer = undefined;
  if (count === posted) return;
  posted = count;
  port.postMessage({ type: 'progress', count, bytes, at: performance.timeOrigin + last });
};

pc.onicecandidate = (e: { candidate?: { toJSON?: () => unknown; candidate?: string } | null }) => {
  const c = e?.candidate;
  if (!c?.candidate) return;
  port.postMessage({ type: 'candidate', candidate: typeof c.toJSON === 'function' ? c.toJSON() : c });
};
pc.ondatachannel = (e: { channel: { binaryType: string; onmessage: unknown; readyState: string } }) => {
  const ch = e.channel;
  ch.binaryType = 'arraybuffer';
  ch.onmessage = (m: { data: ArrayBuffer | string }) => {
    count++;
    bytes += typeof m.data === 'string' ? m.data.length : m.data.byteLength;
    last = performance.now();
    timer ??= setTimeout(post, 2);
  };
  port.postMessage({ type: 'channel' });
};

port.on('message', async (m: { type: string; sdp?: unknown; candidate?: unknown }) => {
  switch (m.type) {
    case 'offer': {
      await pc.setRemoteDescription(m.sdp);
      await pc.setLocalDescription(await pc.createAnswer());
      const d = pc.localDescription as { type: string; sdp: string };
      port.postMessage({ type: 'answer', sdp: { type: d.type, sdp: d.sdp } });
      return;
    }
    case 'candidate':
      await pc.addIceCandidate(m.candidate).catch(() => {});
      return;
    case 'flush':
      post();
      return;
    case 'close':
      clearTimeout(timer);
      await pc.close();
      port.postMessage({ type: 'closed' });
      setTimeout(() => process.exit(0), 50);
  }
});
port.postMessage({ type: 'ready' });
