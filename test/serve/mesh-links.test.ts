/**
 * The browser library's mesh transport run in Node on rtcstack's own RTCPeerConnection, two peers
 * wired by an in-memory relay that behaves like the signaling server (ordered, asynchronous).
 * What is checked: perfect negotiation converges from a glare, and when one end replaces its
 * connection (it lost the other and found it again: a fresh identity, an unknown-peer error) the
 * other end notices the new connection id, replaces its own, and the pair reconnects and carries
 * chat. Without link ids the old connection would answer a connection that no longer exists.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { MeshTransport } from '../../src/client/mesh.js';
import { PeerLink } from '../../src/client/peer-link.js';
import { RTCPeerConnection } from '../../src/peer/index.js';
import type { PeerSignal, RemoteSignal } from '../../src/protocol/signaling.js';
import { waitFor } from '../helpers/wait.js';

interface Side {
  readonly id: string;
  readonly mesh: MeshTransport;
  readonly chat: string[];
}

const globals = globalThis as unknown as { RTCPeerConnection?: unknown };
const hadPc = 'RTCPeerConnection' in globals;
const previousPc = globals.RTCPeerConnection;
before(() => {
  globals.RTCPeerConnection = RTCPeerConnection;
});
after(() => {
  if (hadPc) globals.RTCPeerConnection = previousPc;
  else delete globals.RTCPeerConnection;
});

interface Held {
  readonly from: string;
  readonly sig: PeerSignal;
}

/**
 * Two mesh transports; frames from one reach the other in order, one event-loop turn later. Frames
 * for which `hold` says yes are kept in `held` instead, for the test to deliver (`deliver`).
 */
function pair(): {
  a: Side;
  b: Side;
  held: Held[];
  hold: (pred: ((h: Held) => boolean) | undefined) => void;
  deliver: (h: Held) => void;
  close: () => void;
} {
  const sides = new Map<string, Side>();
  const held: Held[] = [];
  let holdPred: ((h: Held) => boolean) | undefined;
  let chain = Promise.resolve();
  const deliver = ({ from, sig }: Held): void => {
    const { to, ...rest } = sig;
    sides.get(to)?.mesh.handleSignal({ v: 1, ...rest, from } as RemoteSignal);
  };
  const relay = (from: string) => (sig: PeerSignal) => {
    chain = chain.then(
      () =>
        new Promise<void>((resolve) =>
          setImmediate(() => {
            if (holdPred?.({ from, sig })) held.push({ from, sig });
            else deliver({ from, sig });
            resolve();
          }),
        ),
    );
  };
  const make = (id: string): Side => {
    const mesh = new MeshTransport(
      {
        localId: () => id,
        send: relay(id),
        iceTransportPolicy: 'all',
        stream: () => undefined,
        offerTimeoutMs: 4000,
      },
      [],
    );
    const side: Side = { id, mesh, chat: [] };
    mesh.on('chat', (m) => side.chat.push(m.text));
    sides.set(id, side);
    return side;
  };
  const a = make('pa');
  const b = make('pb');
  return {
    a,
    b,
    held,
    hold: (pred) => {
      holdPred = pred;
    },
    deliver,
    close: () => {
      a.mesh.close();
      b.mesh.close();
    },
  };
}

/** Polls until `pred` holds (a safety net against hangs, not a timing assertion). */
const until = (pred: () => boolean, what: string): Promise<void> => waitFor(pred, what, 60_000);

function connected(s: Side, other: string): boolean {
  const v = s.mesh.peers().find((p) => p.id === other);
  return v?.connectionState === 'connected' && v.signalingState === 'stable';
}

function chatOpen(s: Side): boolean {
  return s.mesh.peers().every((p) => p.chatOpen);
}

test('mesh links: the first offer comes from one end; a replaced connection at one end is replaced at the other', async () => {
  const { a, b, close } = pair();
  try {
    // Both ends create their link at once; the polite one waits for the other's offer (no glare).
    a.mesh.addPeer({ id: b.id, name: 'bob' });
    b.mesh.addPeer({ id: a.id, name: 'ann' });
    await until(() => connected(a, b.id) && connected(b, a.id), 'first connection');
    await until(() => chatOpen(a) && chatOpen(b), 'chat channels open');
    assert.equal(a.mesh.linkReplacements + b.mesh.linkReplacements, 0);
    const first = [a, b].map((s) => s.mesh.peers()[0]!);
    assert.deepEqual(
      first.map((p) => p.rollbacks + p.ignoredOffers),
      [0, 0],
      'no glare when the link starts',
    );

    // b loses a and finds it again (what an unknown-peer error or a rejoin does): a fresh link.
    b.mesh.removePeer(a.id);
    b.mesh.addPeer({ id: a.id, name: 'ann' });
    await until(() => a.mesh.linkReplacements === 1, 'a to replace its link');
    await until(() => connected(a, b.id) && connected(b, a.id), 'reconnection');
    await until(() => chatOpen(a) && chatOpen(b), 'chat channels open again');
    assert.equal(b.mesh.linkReplacements, 0, 'the end that started over does not replace again');

    const at = Date.now();
    a.mesh.sendChat({ from: a.id, text: 'after the replacement', name: 'ann', at });
    b.mesh.sendChat({ from: b.id, text: 'heard you', name: 'bob', at });
    await until(() => b.chat.includes('after the replacement') && a.chat.includes('heard you'), 'chat');
  } finally {
    close();
  }
});

test('mesh links: frames for a connection that was replaced are dropped, not applied', async () => {
  const { a, b, close } = pair();
  try {
    a.mesh.addPeer({ id: b.id, name: 'bob' });
    b.mesh.addPeer({ id: a.id, name: 'ann' });
    await until(() => connected(a, b.id) && connected(b, a.id), 'connection');
    const before = a.mesh.staleSignals;
    // A candidate addressed to a connection of a's that does not exist.
    a.mesh.handleSignal({
      v: 1,
      type: 'candidate',
      from: b.id,
      candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0' },
      link: 'somebody',
      toLink: 'not-a-link-of-a',
    });
    assert.equal(a.mesh.staleSignals, before + 1);
    assert.equal(a.mesh.linkReplacements, 0);
    assert.ok(connected(a, b.id));
  } finally {
    close();
  }
});

test('mesh links: an offer whose answer is slow is sent again unchanged; the second answer is dropped', async () => {
  const { a, b, held, hold, deliver, close } = pair();
  try {
    a.mesh.addPeer({ id: b.id, name: 'bob' });
    b.mesh.addPeer({ id: a.id, name: 'ann' });
    await until(() => connected(a, b.id) && connected(b, a.id), 'connection');
    hold((h) => h.from === b.id && h.sig.type === 'answer');
    a.mesh.restartIce(); // a offers; b's answer is held (as if slow)
    await until(() => held.length === 1, 'the first answer');
    a.mesh.resync(); // what a's offer timer does: the same offer again
    await until(() => held.length === 2, 'the answer to the offer sent again');
    hold(undefined);
    const forOffer = held.map((h) => (h.sig.type === 'answer' ? h.sig.forOffer : undefined));
    assert.ok(forOffer[0] !== undefined && forOffer[0] === forOffer[1], 'both answer the one offer');
    const view = () => a.mesh.peers().find((p) => p.id === b.id);
    deliver(held[0]!);
    await until(() => view()?.signalingState === 'stable', 'the first answer applied');
    deliver(held[1]!);
    await until(() => view()?.staleAnswers === 1, 'the duplicate answer dropped');
    await until(() => connected(a, b.id) && connected(b, a.id), 'connection after the restart');
    assert.equal(view()?.lastError, undefined);
    assert.equal(b.mesh.peers()[0]?.lastError, undefined);
  } finally {
    close();
  }
});

test('mesh links: a connection that took nothing from the other end is rebound, not replaced', async () => {
  const { a, b, close } = pair();
  try {
    a.mesh.addPeer({ id: b.id, name: 'bob' }); // b has not heard of a: nothing comes back
    const candidate = (link: string): RemoteSignal => ({
      v: 1,
      type: 'candidate',
      from: b.id,
      candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0' },
      link,
    });
    a.mesh.handleSignal(candidate('first'));
    a.mesh.handleSignal(candidate('second'));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(a.mesh.linkReplacements, 0, 'no remote description yet: nothing to start over from');
    assert.equal(a.mesh.peers().length, 1);
  } finally {
    close();
  }
});

test('mesh links: chat sent before the link is up arrives once its channel opens', async () => {
  const { a, b, close } = pair();
  try {
    a.mesh.addPeer({ id: b.id, name: 'bob' });
    b.mesh.addPeer({ id: a.id, name: 'ann' });
    assert.equal(chatOpen(a), false);
    a.mesh.sendChat({ from: a.id, text: 'early bird', name: 'ann', at: Date.now() });
    await until(() => b.chat.includes('early bird'), 'the early chat at b');
    assert.deepEqual(b.chat, ['early bird'], 'delivered once');
  } finally {
    close();
  }
});

test('mesh link: a negotiationneeded queued behind a remote offer answers it, and each description goes out as what it is', async () => {
  const frames: PeerSignal[] = [];
  const link = new PeerLink({
    localId: 'pb',
    remoteId: 'pa',
    remoteName: 'ann',
    iceServers: [],
    iceTransportPolicy: 'all',
    send: (sig) => frames.push(sig),
    stream: undefined,
  });
  const remote = new RTCPeerConnection();
  const of = (type: string, from: number) => frames.slice(from).filter((f) => f.type === type);
  try {
    // The link's first offer, answered by the remote end.
    await until(() => of('offer', 0).length === 1, "the link's first offer");
    await remote.setRemoteDescription({ type: 'offer', sdp: (of('offer', 0)[0] as { sdp: string }).sdp });
    await remote.setLocalDescription();
    await link.handleSignal({ v: 1, type: 'answer', from: 'pa', sdp: remote.localDescription!.sdp });
    await until(() => link.pc.signalingState === 'stable', 'the first negotiation done');
    // The remote end renegotiates; while the link applies that offer, its own negotiationneeded
    // fires (as when a track or channel is added meanwhile): its implicit setLocalDescription is
    // queued right behind the setRemoteDescription, so it makes the answer.
    remote.addTransceiver('audio', { direction: 'sendrecv' });
    await remote.setLocalDescription();
    const sent = frames.length;
    const pc = link.pc;
    const setRemote = pc.setRemoteDescription.bind(pc);
    let raced = false;
    pc.setRemoteDescription = (d: RTCSessionDescriptionInit) => {
      const done = setRemote(d);
      if (d.type === 'offer' && !raced) {
        raced = true;
        void pc.onnegotiationneeded?.(new Event('negotiationneeded'));
      }
      return done;
    };
    await link.handleSignal({ v: 1, type: 'offer', from: 'pa', sdp: remote.localDescription!.sdp });
    await until(
      () => of('answer', sent).length > 0 && pc.signalingState !== 'have-remote-offer',
      'an answer',
    );
    assert.ok(raced);
    const answers = of('answer', sent) as { sdp: string }[];
    for (const a of answers)
      assert.doesNotMatch(a.sdp, /a=setup:actpass/, 'an answer, not an offer sent as one');
    await remote.setRemoteDescription({ type: 'answer', sdp: answers[0]!.sdp });
    assert.equal(remote.signalingState, 'stable', 'the remote end took the answer');
  } finally {
    link.close();
    remote.close();
  }
});
