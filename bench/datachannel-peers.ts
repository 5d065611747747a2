/**
 * Data channel pairs for bench/datachannel.ts: two peers in one process, behind one small interface,
 * for rtcstack (in-memory pipe, and plain UDP on loopback without DTLS) and the anchors
 * (node-datachannel, werift, @roamhq/wrtc: real peer connections with ICE + DTLS on loopback).
 */
import { createSocket } from 'node:dgram';
import { Worker } from 'node:worker_threads';
import { SystemClock } from '../src/core/clock.js';
import type { RTCDataChannel } from '../src/datachannel/data-channel.js';
import { DataChannelManager } from '../src/datachannel/manager.js';
import { SctpAssociation } from '../src/sctp/association.js';

export interface ChannelOptions {
  readonly unordered: boolean;
  readonly maxRetransmits?: number;
}

export interface BenchChannel {
  send(data: Uint8Array): void;
  bufferedAmount(): number;
  onLow(threshold: number, cb: () => void): void;
  /** Messages received: in-thread receivers call per message, worker receivers in batches. */
  onMessage(cb: (count: number, bytes: number, at: number) => void): void;
}

export interface BenchPair {
  readonly sender: BenchChannel;
  readonly receiver: BenchChannel;
  close(): Promise<void>;
}

export interface Contender {
  readonly name: string;
  readonly note: string;
  make(o: ChannelOptions): Promise<BenchPair>;
}

function wrapW3C(ch: RTCDataChannel): BenchChannel {
  return {
    send: (d) => ch.send(d),
    bufferedAmount: () => ch.bufferedAmount,
    onLow: (t, cb) => {
      ch.bufferedAmountLowThreshold = t;
      ch.onbufferedamountlow = cb;
    },
    onMessage: (cb) => {
      ch.onmessage = (e) => {
        const d = (e as MessageEvent).data as ArrayBuffer | string;
        cb(1, typeof d === 'string' ? d.length : d.byteLength, performance.now());
      };
    },
  };
}

async function rtcstackPair(
  o: ChannelOptions,
  link: Link,
  sendRef: { a?: (p: Uint8Array) => void; b?: (p: Uint8Array) => void },
  maxMtu?: number,
): Promise<BenchPair> {
  const clock = new SystemClock();
  const rw = process.env.BENCH_RWND ? { receiveWindow: Number(process.env.BENCH_RWND) } : {};
  const a = new SctpAssociation({ clock, send: (p) => sendRef.a!(p), isClient: true, maxMtu, ...rw });
  const b = new SctpAssociation({ clock, send: (p) => sendRef.b!(p), maxMtu, ...rw });
  const l = await link(a, b);
  sendRef.a = l.sendA;
  sendRef.b = l.sendB;
  const ma = new DataChannelManager(a, { isDtlsClient: true, remoteMaxMessageSize: 262144 });
  const mb = new DataChannelManager(b, { isDtlsClient: false, remoteMaxMessageSize: 262144 });
  const remote = new Promise<RTCDataChannel>((resolve) => mb.on('datachannel', resolve));
  const ch = ma.createDataChannel('bench', { ordered: !o.unordered, maxRetransmits: o.maxRetransmits });
  const opened = new Promise<void>((resolve) => (ch.onopen = () => resolve()));
  a.start();
  b.start();
  const [rc] = await Promise.all([remote, opened]);
  if (maxMtu) {
    // Let PLPMTUD finish its search before measuring.
    const t0 = Date.now();
    while (a.mtu < maxMtu && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 5));
  }
  return {
    sender: wrapW3C(ch),
    receiver: wrapW3C(rc),
    close: async () => {
      if (process.env.BENCH_DEBUG) console.log(a.fullStats, b.fullStats);
      a.close();
      b.close();
      l.close();
    },
  };
}

type Link = (
  a: SctpAssociation,
  b: SctpAssociation,
) => Promise<{ sendA: (p: Uint8Array) => void; sendB: (p: Uint8Array) => void; close: () => void }>;

/** Deliver in batches on setImmediate, like a socket would, never re-entrantly. */
const memoryLink: Link = async (a, b) => {
  const toA: Uint8Array[] = [];
  const toB: Uint8Array[] = [];
  let scheduled = false;
  let closed = false;
  const pump = () => {
    scheduled = false;
    if (closed) return;
    const x = toB.splice(0);
    for (const p of x) b.handle(p);
    const y = toA.splice(0);
    for (const p of y) a.handle(p);
    if ((toA.length || toB.length) && !scheduled) {
      scheduled = true;
      setImmediate(pump);
    }
  };
  const kick = () => {
    if (!scheduled) {
      scheduled = true;
      setImmediate(pump);
    }
  };
  return {
    sendA: (p) => {
      toB.push(p);
      kick();
    },
    sendB: (p) => {
      toA.push(p);
      kick();
    },
    close: () => {
      closed = true;
    },
  };
};

const udpLink: Link = async (a, b) => {
  const sa = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  const sb = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  await Promise.all([
    new Promise<void>((r) => sa.bind(0, '127.0.0.1', r)),
    new Promise<void>((r) => sb.bind(0, '127.0.0.1', r)),
  ]);
  sa.on('message', (m) => a.handle(m));
  sb.on('message', (m) => b.handle(m));
  const pa = sa.address().port;
  const pb = sb.address().port;
  return {
    sendA: (p) => sa.send(p, pb, '127.0.0.1'),
    sendB: (p) => sb.send(p, pa, '127.0.0.1'),
    close: () => {
      sa.close();
      sb.close();
    },
  };
};

/** PLPMTUD ceiling for the probing rows: one DTLS record's worth. */
const PMTU = 16000;

export const rtcstackMemory: Contender = {
  name: 'rtcstack (pipe)',
  note: 'SCTP + data channels over an in-memory pipe, no DTLS, MTU 1200',
  make: (o) => rtcstackPair(o, memoryLink, {}),
};
export const rtcstackMemoryPmtu: Contender = {
  name: 'rtcstack (pipe+pmtu)',
  note: `same, PLPMTUD up to ${PMTU}`,
  make: (o) => rtcstackPair(o, memoryLink, {}, PMTU),
};
export const rtcstackUdp: Contender = {
  name: 'rtcstack (udp)',
  note: 'SCTP + data channels over UDP on loopback, no DTLS, MTU 1200',
  make: (o) => rtcstackPair(o, udpLink, {}),
};
export const rtcstackUdpPmtu: Contender = {
  name: 'rtcstack (udp+pmtu)',
  note: `same, PLPMTUD up to ${PMTU}`,
  make: (o) => rtcstackPair(o, udpLink, {}, PMTU),
};

/** BENCH_DEBUG: remember the associations the peer connections start, to print their stats. */
function captureAssociations(): SctpAssociation[] {
  const list: SctpAssociation[] = [];
  if (!process.env.BENCH_DEBUG) return list;
  const proto = SctpAssociation.prototype as unknown as { start(): void; __orig?: () => void };
  proto.__orig ??= proto.start;
  const orig = proto.__orig;
  proto.start = function (this: SctpAssociation) {
    list.push(this);
    orig.call(this);
  };
  return list;
}

/**
 * The full stack: two RTCPeerConnections in this process, ICE on loopback host candidates, DTLS
 * (1.3 when both offer it, as here), SCTP and data channels, real UDP sockets.
 */
export const rtcstackPeer: Contender = {
  name: 'rtcstack (1 thread)',
  note: 'RTCPeerConnection: ICE + DTLS + SCTP over UDP on loopback (TypeScript)',
  make: async (o) => {
    const { RTCPeerConnection } = await import('../src/peer/index.js');
    const assocs = captureAssociations();
    const opts = { includeLoopback: true, ipv6: false };
    const p1 = new RTCPeerConnection({}, opts);
    const p2 = new RTCPeerConnection({}, opts);
    p1.onicecandidate = (e) => e.candidate && void p2.addIceCandidate(e.candidate).catch(() => {});
    p2.onicecandidate = (e) => e.candidate && void p1.addIceCandidate(e.candidate).catch(() => {});
    const dc = p1.createDataChannel('bench', {
      ordered: !o.unordered,
      ...(o.maxRetransmits !== undefined ? { maxRetransmits: o.maxRetransmits } : {}),
    });
    const remote = new Promise<RTCDataChannel>((resolve) => {
      p2.ondatachannel = (e) => resolve((e as unknown as { channel: RTCDataChannel }).channel);
    });
    const opened = new Promise<void>((resolve) => (dc.onopen = () => resolve()));
    await p1.setLocalDescription(await p1.createOffer());
    await p2.setRemoteDescription(p1.localDescription!);
    await p2.setLocalDescription(await p2.createAnswer());
    await p1.setRemoteDescription(p2.localDescription!);
    const [rc] = await Promise.all([remote, opened]);
    if (rc.readyState !== 'open') await new Promise<void>((resolve) => (rc.onopen = () => resolve()));
    return {
      sender: wrapW3C(dc),
      receiver: wrapW3C(rc),
      close: async () => {
        if (process.env.BENCH_DEBUG) for (const a of assocs) console.log(a.fullStats);
        p1.close();
        p2.close();
      },
    };
  },
};

/** The offering peer of a W3C-style stack, in this thread (the answerer runs in a worker). */
interface Offerer {
  createOffer(): Promise<unknown>;
  setLocalDescription(d: unknown): Promise<unknown>;
  setRemoteDescription(d: unknown): Promise<unknown>;
  addIceCandidate(c: unknown): Promise<unknown>;
  localDescription: unknown;
  onicecandidate: unknown;
  close(): unknown;
}

/**
 * A pair whose receiving peer lives in a worker thread (bench/_datachannel-worker.ts): each peer gets
 * its own thread, as the native stacks' peers do (libdatachannel and libwebrtc run their network and
 * SCTP work on their own threads). `offerer` builds the sending peer and its channel here.
 */
async function splitPair(
  stack: 'rtcstack' | 'werift',
  offerer: () => Promise<{ pc: Offerer; channel: BenchChannel; opened: Promise<void> }>,
): Promise<BenchPair> {
  // Workers do not inherit tsx's loader hooks: register them in the worker, then load the script.
  const script = new URL('./_datachannel-worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(script)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: { stack } });
  const inbox = new Map<string, ((m: { [k: string]: unknown }) => void)[]>();
  const once = (type: string) =>
    new Promise<{ [k: string]: unknown }>((resolve) =>
      inbox.set(type, [...(inbox.get(type) ?? []), resolve]),
    );
  let progress: ((count: number, bytes: number, at: number) => void) | undefined;
  let seen = 0;
  let seenBytes = 0;
  const { pc, channel, opened } = await offerer();
  worker.on('message', (m: { type: string; [k: string]: unknown }) => {
    if (m.type === 'candidate') void pc.addIceCandidate(m.candidate).catch(() => {});
    else if (m.type === 'progress') {
      const count = m.count as number;
      const bytes = m.bytes as number;
      progress?.(count - seen, bytes - seenBytes, (m.at as number) - performance.timeOrigin);
      seen = count;
      seenBytes = bytes;
    }
    const waiting = inbox.get(m.type);
    if (waiting?.length) waiting.shift()!(m);
  });
  await once('ready');
  pc.onicecandidate = (e: { candidate?: { toJSON?: () => unknown; candidate?: string } | null }) => {
    const c = e?.candidate;
    if (!c?.candidate) return;
    worker.postMessage({ type: 'candidate', candidate: typeof c.toJSON === 'function' ? c.toJSON() : c });
  };
  await pc.setLocalDescription(await pc.createOffer());
  const d = pc.localDescription as { type: string; sdp: string };
  const answered = once('answer');
  const remoteChannel = once('channel');
  worker.postMessage({ type: 'offer', sdp: { type: d.type, sdp: d.sdp } });
  await pc.setRemoteDescription((await answered).sdp);
  await Promise.all([opened, remoteChannel]);
  return {
    sender: channel,
    receiver: {
      send: () => {
        throw new Error('the worker peer only receives');
      },
      bufferedAmount: () => 0,
      onLow: () => {},
      onMessage: (cb) => {
        progress = cb;
      },
    },
    close: async () => {
      const closed = once('closed');
      worker.postMessage({ type: 'close' });
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
      await pc.close();
      await worker.terminate();
    },
  };
}

export const rtcstackSplit: Contender = {
  name: 'rtcstack',
  note: 'RTCPeerConnection: ICE + DTLS + SCTP over UDP on loopback; receiving peer in a worker thread',
  make: (o) =>
    splitPair('rtcstack', async () => {
      const { RTCPeerConnection } = await import('../src/peer/index.js');
      const pc = new RTCPeerConnection({}, { includeLoopback: true, ipv6: false });
      const dc = pc.createDataChannel('bench', {
        ordered: !o.unordered,
        ...(o.maxRetransmits !== undefined ? { maxRetransmits: o.maxRetransmits } : {}),
      });
      const opened = new Promise<void>((resolve) => (dc.onopen = () => resolve()));
      return { pc: pc as unknown as Offerer, channel: wrapW3C(dc), opened };
    }),
};

export const weriftSplit: Contender = {
  name: 'werift',
  note: 'TypeScript, ICE + DTLS on loopback; receiving peer in a worker thread',
  make: (o) =>
    splitPair('werift', async () => {
      const { RTCPeerConnection } = await import('werift');
      const pc = new RTCPeerConnection({
        iceServers: [],
        iceAdditionalHostAddresses: ['127.0.0.1'],
        iceUseIpv6: false,
      });
      const dc = pc.createDataChannel('bench', {
        ordered: !o.unordered,
        ...(o.maxRetransmits !== undefined ? { maxRetransmits: o.maxRetransmits } : {}),
      });
      const opened = new Promise<void>((resolve) => {
        if (dc.readyState === 'open') resolve();
        else dc.stateChanged.subscribe((st) => st === 'open' && resolve());
      });
      const channel: BenchChannel = {
        send: (d) => dc.send(Buffer.from(d.buffer, d.byteOffset, d.byteLength)),
        bufferedAmount: () => dc.bufferedAmount,
        onLow: (t, cb) => {
          dc.bufferedAmountLowThreshold = t;
          dc.bufferedAmountLow.subscribe(cb);
        },
        onMessage: () => {},
      };
      return { pc: pc as unknown as Offerer, channel, opened };
    }),
};

export const nodeDatachannel: Contender = {
  name: 'node-datachannel',
  note: 'libdatachannel (C++, usrsctp) with ICE + DTLS on loopback',
  make: async (o) => {
    const ndc = (await import('node-datachannel')).default;
    const p1 = new ndc.PeerConnection('p1', { iceServers: [], bindAddress: '127.0.0.1' });
    const p2 = new ndc.PeerConnection('p2', { iceServers: [], bindAddress: '127.0.0.1' });
    p1.onLocalDescription((sdp, type) => p2.setRemoteDescription(sdp, type));
    p2.onLocalDescription((sdp, type) => p1.setRemoteDescription(sdp, type));
    p1.onLocalCandidate((c, mid) => p2.addRemoteCandidate(c, mid));
    p2.onLocalCandidate((c, mid) => p1.addRemoteCandidate(c, mid));
    const remote = new Promise<import('node-datachannel').DataChannel>((resolve) =>
      p2.onDataChannel(resolve),
    );
    const dc = p1.createDataChannel('bench', {
      unordered: o.unordered,
      ...(o.maxRetransmits !== undefined ? { maxRetransmits: o.maxRetransmits } : {}),
    });
    await new Promise<void>((resolve) => dc.onOpen(resolve));
    const rc = await remote;
    const wrap = (c: import('node-datachannel').DataChannel): BenchChannel => ({
      send: (d) => {
        c.sendMessageBinary(d);
      },
      bufferedAmount: () => c.bufferedAmount(),
      onLow: (t, cb) => {
        c.setBufferedAmountLowThreshold(t);
        c.onBufferedAmountLow(cb);
      },
      onMessage: (cb) =>
        c.onMessage((m) => cb(1, typeof m === 'string' ? m.length : m.byteLength, performance.now())),
    });
    return {
      sender: wrap(dc),
      receiver: wrap(rc),
      close: async () => {
        dc.close();
        p1.close();
        p2.close();
      },
    };
  },
};

export const werift: Contender = {
  name: 'werift (1 thread)',
  note: 'TypeScript, ICE + DTLS on loopback',
  make: async (o) => {
    const { RTCPeerConnection } = await import('werift');
    const cfg = { iceServers: [], iceAdditionalHostAddresses: ['127.0.0.1'], iceUseIpv6: false };
    const p1 = new RTCPeerConnection(cfg);
    const p2 = new RTCPeerConnection(cfg);
    const dc = p1.createDataChannel('bench', {
      ordered: !o.unordered,
      ...(o.maxRetransmits !== undefined ? { maxRetransmits: o.maxRetransmits } : {}),
    });
    const remote = new Promise<typeof dc>((resolve) =>
      p2.onDataChannel.subscribe((c) => resolve(c as typeof dc)),
    );
    await p1.setLocalDescription(await p1.createOffer());
    await p2.setRemoteDescription(p1.localDescription!);
    await p2.setLocalDescription(await p2.createAnswer());
    await p1.setRemoteDescription(p2.localDescription!);
    await new Promise<void>((resolve) => {
      if (dc.readyState === 'open') resolve();
      else dc.stateChanged.subscribe((s) => s === 'open' && resolve());
    });
    const rc = await remote;
    const wrap = (c: typeof dc): BenchChannel => ({
      send: (d) => c.send(Buffer.from(d.buffer, d.byteOffset, d.byteLength)),
      bufferedAmount: () => c.bufferedAmount,
      onLow: (t, cb) => {
        c.bufferedAmountLowThreshold = t;
        c.bufferedAmountLow.subscribe(cb);
      },
      onMessage: (cb) =>
        c.onMessage.subscribe((m) =>
          cb(1, typeof m === 'string' ? m.length : m.byteLength, performance.now()),
        ),
    });
    return {
      sender: wrap(dc),
      receiver: wrap(rc),
      close: async () => {
        await p1.close();
        await p2.close();
      },
    };
  },
};

export const wrtc: Contender = {
  name: '@roamhq/wrtc',
  note: 'libwebrtc (Chromium, dcsctp) with ICE + DTLS on loopback',
  make: async (o) => {
    // biome-ignore lint/suspicious/noExplicitAny: the package ships no types
    const mod: any = (await import('@roamhq/wrtc')).default;
    const p1 = new mod.RTCPeerConnection({ iceServers: [] });
    const p2 = new mod.RTCPeerConnection({ iceServers: [] });
    // biome-ignore lint/suspicious/noExplicitAny: untyped candidate events
    p1.onicecandidate = (e: any) => e.candidate && p2.addIceCandidate(e.candidate);
    // biome-ignore lint/suspicious/noExplicitAny: untyped candidate events
    p2.onicecandidate = (e: any) => e.candidate && p1.addIceCandidate(e.candidate);
    const dc = p1.createDataChannel('bench', {
      ordered: !o.unordered,
      ...(o.maxRetransmits !== undefined ? { maxRetransmits: o.maxRetransmits } : {}),
    });
    dc.binaryType = 'arraybuffer';
    // biome-ignore lint/suspicious/noExplicitAny: untyped channel
    const remote = new Promise<any>((resolve) => (p2.ondatachannel = (e: any) => resolve(e.channel)));
    await p1.setLocalDescription(await p1.createOffer());
    await p2.setRemoteDescription(p1.localDescription);
    await p2.setLocalDescription(await p2.createAnswer());
    await p1.setRemoteDescription(p2.localDescription);
    await new Promise<void>((resolve) => (dc.onopen = () => resolve()));
    const rc = await remote;
    rc.binaryType = 'arraybuffer';
    // biome-ignore lint/suspicious/noExplicitAny: untyped channel
    const wrap = (c: any): BenchChannel => ({
      send: (d) => c.send(d),
      bufferedAmount: () => c.bufferedAmount,
      onLow: (t, cb) => {
        c.bufferedAmountLowThreshold = t;
        c.onbufferedamountlow = cb;
      },
      onMessage: (cb) => {
        c.onmessage = (e: { data: string | ArrayBuffer }) =>
          cb(1, typeof e.data === 'string' ? e.data.length : e.data.byteLength, performance.now());
      },
    });
    return {
      sender: wrap(dc),
      receiver: wrap(rc),
      close: async () => {
        dc.close();
        p1.close();
        p2.close();
      },
    };
  },
};
