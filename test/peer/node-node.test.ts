/**
 * Two rtcstack RTCPeerConnections on real UDP over loopback: offer/answer with and without trickle,
 * data channels from both sides, close leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { Network, UdpSocket } from '../../src/core/net.js';
import { nodeNetwork } from '../../src/core/net-node.js';
import {
  MediaStream,
  MediaStreamTrack,
  type RTCDataChannel,
  RTCPeerConnection,
} from '../../src/peer/index.js';
import { waitFor } from '../helpers/wait.js';

const OPTS = { includeLoopback: true, ipv6: false, interfaceFilter: undefined };

function once<T extends Event>(target: EventTarget, type: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${type}`)), timeoutMs);
    target.addEventListener(
      type,
      (ev) => {
        clearTimeout(t);
        resolve(ev as T);
      },
      { once: true },
    );
  });
}

function pair(trickle: boolean): { a: RTCPeerConnection; b: RTCPeerConnection } {
  const a = new RTCPeerConnection({}, OPTS);
  const b = new RTCPeerConnection({}, OPTS);
  if (trickle) {
    a.onicecandidate = (e) => void b.addIceCandidate(e.candidate ?? undefined).catch(() => {});
    b.onicecandidate = (e) => void a.addIceCandidate(e.candidate ?? undefined).catch(() => {});
  }
  return { a, b };
}

async function negotiate(a: RTCPeerConnection, b: RTCPeerConnection, trickle: boolean): Promise<void> {
  await a.setLocalDescription(await a.createOffer());
  if (!trickle) await waitFor(() => a.iceGatheringState === 'complete', 'a gathering');
  await b.setRemoteDescription(a.localDescription!);
  await b.setLocalDescription(await b.createAnswer());
  if (!trickle) await waitFor(() => b.iceGatheringState === 'complete', 'b gathering');
  await a.setRemoteDescription(b.localDescription!);
}

for (const trickle of [true, false]) {
  test(`data channel echo between two rtcstack peers (${trickle ? 'trickle' : 'no trickle'})`, async () => {
    const { a, b } = pair(trickle);
    try {
      const dc = a.createDataChannel('chat');
      assert.equal(dc.id, null, 'id is null until the DTLS role is known');
      const remote = once<Event & { channel: RTCDataChannel }>(b, 'datachannel');
      await negotiate(a, b, trickle);
      const { channel } = await remote;
      assert.equal(channel.label, 'chat');
      channel.onmessage = (e) => channel.send(`echo:${(e as MessageEvent).data}`);
      if (dc.readyState !== 'open') await once(dc, 'open');
      assert.notEqual(dc.id, null);
      const got = once<MessageEvent>(dc, 'message');
      dc.send('hello');
      assert.equal((await got).data, 'echo:hello');
      assert.equal(a.connectionState, 'connected');
      assert.equal(b.connectionState, 'connected');
      assert.equal(a.signalingState, 'stable');

      const stats = await a.getStats();
      const types = new Set([...stats.values()].map((s) => s.type));
      for (const t of [
        'peer-connection',
        'transport',
        'candidate-pair',
        'local-candidate',
        'remote-candidate',
        'certificate',
        'data-channel',
      ]) {
        assert.ok(types.has(t), `getStats has ${t}`);
      }
      const transport = [...stats.values()].find((s) => s.type === 'transport')!;
      assert.equal(transport.dtlsState, 'connected');
      assert.ok(transport.selectedCandidatePairId, 'a selected pair');
    } finally {
      a.close();
      b.close();
    }
    assert.equal(a.connectionState, 'closed');
    assert.equal(a.signalingState, 'closed');
  });
}

test('channels opened from each side, a binary transfer arrives byte-identical', async () => {
  const { a, b } = pair(true);
  try {
    const fromA = a.createDataChannel('a-side');
    const seen: RTCDataChannel[] = [];
    b.ondatachannel = (e) => seen.push(e.channel);
    a.ondatachannel = (e) => seen.push(e.channel);
    await negotiate(a, b, true);
    await waitFor(() => fromA.readyState === 'open', 'a-side open');
    // b opens a channel over the existing association (no renegotiation needed).
    const fromB = b.createDataChannel('b-side', { ordered: false, maxRetransmits: 0 });
    await waitFor(() => fromB.readyState === 'open' && seen.length === 2, 'b-side open');
    assert.deepEqual(seen.map((c) => c.label).sort(), ['a-side', 'b-side']);
    assert.ok(fromA.id! % 2 !== fromB.id! % 2, 'ids of different parity by DTLS role');

    const payload = randomBytes(2 * 1024 * 1024);
    const recv = seen.find((c) => c.label === 'a-side')!;
    const chunks: Buffer[] = [];
    let received = 0;
    recv.onmessage = (ev) => {
      const e = ev as MessageEvent;
      const buf = Buffer.from(e.data as ArrayBuffer);
      chunks.push(buf);
      received += buf.length;
    };
    for (let off = 0; off < payload.length; off += 16384) fromA.send(payload.subarray(off, off + 16384));
    await waitFor(() => received >= payload.length, 'transfer', 30_000);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    assert.equal(sha(Buffer.concat(chunks)), sha(payload));
  } finally {
    a.close();
    b.close();
  }
});

test('API errors are the W3C DOMException names', async () => {
  const pc = new RTCPeerConnection({}, OPTS);
  try {
    await assert.rejects(
      pc.createAnswer(),
      (e: unknown) => e instanceof DOMException && e.name === 'InvalidStateError',
    );
    await assert.rejects(
      pc.setRemoteDescription({ type: 'answer', sdp: 'v=0\r\n' }),
      (e: unknown) => e instanceof DOMException,
    );
    await assert.rejects(
      pc.addIceCandidate({ candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0' }),
      (e: unknown) => e instanceof DOMException && e.name === 'InvalidStateError',
    );
    assert.throws(
      () => new RTCPeerConnection({ iceServers: [{ urls: 'turn:127.0.0.1' }] }),
      (e: unknown) => e instanceof DOMException && e.name === 'InvalidAccessError',
    );
    assert.throws(
      () => new RTCPeerConnection({ iceServers: [{ urls: 'http://x' }] }),
      (e: unknown) => e instanceof DOMException && e.name === 'SyntaxError',
    );
  } finally {
    pc.close();
  }
  await assert.rejects(
    pc.createOffer(),
    (e: unknown) => e instanceof DOMException && e.name === 'InvalidStateError',
  );
});

test('restartIce() renegotiates with new credentials and the channels keep working; close leaves no timer', async () => {
  const { SystemClock } = await import('../../src/core/clock.js');
  const clockA = new SystemClock();
  const clockB = new SystemClock();
  const net = countingNetwork();
  const a = new RTCPeerConnection({}, { ...OPTS, clock: clockA, network: net });
  const b = new RTCPeerConnection({}, { ...OPTS, clock: clockB, network: net });
  a.onicecandidate = (e) => void b.addIceCandidate(e.candidate ?? undefined).catch(() => {});
  b.onicecandidate = (e) => void a.addIceCandidate(e.candidate ?? undefined).catch(() => {});
  // The offerer renegotiates whenever negotiation is needed (the app side of perfect negotiation).
  let negotiations = 0;
  a.onnegotiationneeded = async () => {
    negotiations++;
    await a.setLocalDescription();
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription();
    await a.setRemoteDescription(b.localDescription!);
  };
  try {
    const dc = a.createDataChannel('x');
    let remote: RTCDataChannel | undefined;
    b.ondatachannel = (e) => {
      remote = e.channel;
      remote.onmessage = (m) => remote!.send(`echo:${(m as MessageEvent).data}`);
    };
    await waitFor(() => dc.readyState === 'open' && remote !== undefined, 'first connection');
    assert.equal(negotiations, 1);
    const ufragBefore = /a=ice-ufrag:(\S+)/.exec(a.localDescription!.sdp)![1];
    const remoteUfragBefore = /a=ice-ufrag:(\S+)/.exec(b.localDescription!.sdp)![1];

    const pairChanges = async (): Promise<number> =>
      [...(await a.getStats()).values()].find((r) => r.type === 'transport')!
        .selectedCandidatePairChanges as number;
    assert.equal(await pairChanges(), 1, 'one pair selected so far');
    a.restartIce();
    await waitFor(() => negotiations === 2 && a.signalingState === 'stable', 'restart negotiation');
    const ufragAfter = /a=ice-ufrag:(\S+)/.exec(a.localDescription!.sdp)![1];
    const remoteUfragAfter = /a=ice-ufrag:(\S+)/.exec(b.localDescription!.sdp)![1];
    assert.notEqual(ufragAfter, ufragBefore, 'offerer has new credentials');
    assert.notEqual(remoteUfragAfter, remoteUfragBefore, 'answerer has new credentials');
    await waitFor(
      () => a.iceConnectionState === 'connected' || a.iceConnectionState === 'completed',
      'ICE back',
    );
    const reply = new Promise<string>((resolve) =>
      dc.addEventListener('message', (e) => resolve((e as MessageEvent).data as string), { once: true }),
    );
    dc.send('after restart');
    assert.equal(await reply, 'echo:after restart');
    await waitFor(async () => (await pairChanges()) >= 2, 'the restart selected a new pair', 5000);
    // A channel opened after renegotiation works too.
    const late = a.createDataChannel('late');
    await waitFor(() => late.readyState === 'open', 'late channel');
    assert.equal(negotiations, 2, 'new channels on an existing association need no renegotiation');
  } finally {
    a.close();
    b.close();
  }
  await new Promise((r) => setImmediate(r));
  assert.equal(clockA.activeTimers, 0, 'no timer left on a');
  assert.equal(clockB.activeTimers, 0, 'no timer left on b');
  assert.ok(net.opened > 0);
  assert.equal(net.open(), 0, 'every socket closed');
});

/** The real network, counting sockets opened and still open. */
function countingNetwork(): Network & { opened: number; open(): number } {
  const sockets: UdpSocket[] = [];
  return {
    opened: 0,
    open: () => sockets.filter((s) => !s.closed).length,
    interfaces: () => nodeNetwork.interfaces(),
    async bindUdp(o) {
      const s = await nodeNetwork.bindUdp(o);
      sockets.push(s);
      this.opened++;
      return s;
    },
    listenTcp: (o) => nodeNetwork.listenTcp(o),
    connectTcp: (o) => nodeNetwork.connectTcp(o),
  };
}

test('messages sent as soon as a channel opens reach handlers attached after awaiting the datachannel event', async () => {
  const { a, b } = pair(true);
  try {
    const dc = a.createDataChannel('eager');
    dc.onopen = () => {
      dc.send('first');
      dc.send('second');
    };
    const event = once<Event & { channel: RTCDataChannel }>(b, 'datachannel');
    await negotiate(a, b, true);
    const { channel } = await event; // a promise continuation, as application code writes it
    assert.equal(channel.readyState, 'open', 'open when the datachannel event fires');
    const got: string[] = [];
    let opened = false;
    channel.onopen = () => {
      opened = true;
    };
    channel.onmessage = (e) => got.push((e as MessageEvent).data as string);
    await waitFor(() => got.length === 2, 'both early messages');
    assert.deepEqual(got, ['first', 'second']);
    assert.ok(opened, 'the open event fires after the datachannel event');
  } finally {
    a.close();
    b.close();
  }
});

test('audio added by renegotiation after a data-only connection: SRTP keys then and frames arrive', async () => {
  const { a, b } = pair(true);
  try {
    const dc = a.createDataChannel('first');
    await negotiate(a, b, true);
    if (dc.readyState !== 'open') await once(dc, 'open');
    assert.equal(a.getTransceivers().length, 0);

    const track = new MediaStreamTrack({ kind: 'audio' });
    a.addTrack(track, new MediaStream());
    const remote = once<Event & { track: MediaStreamTrack }>(b, 'track');
    await negotiate(a, b, true);
    const { track: received } = await remote;
    const frames: Uint8Array[] = [];
    received.on('frame', (f) => frames.push(f.data));
    const payload = (i: number): Uint8Array => Uint8Array.from({ length: 40 }, (_, k) => (i * 7 + k) & 0xff);
    for (let i = 0; frames.length < 3 && i < 200; i++) {
      track.writeFrame({ data: payload(i), timestamp: i * 20 });
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(frames.length >= 3, `frames received: ${frames.length}`);
    // Every received frame is one that was sent (SRTP keyed the same on both sides).
    const sent = new Set(Array.from({ length: 200 }, (_, i) => Buffer.from(payload(i)).toString('hex')));
    for (const f of frames) assert.ok(sent.has(Buffer.from(f).toString('hex')));
    assert.equal(dc.readyState, 'open');
  } finally {
    a.close();
    b.close();
  }
});
