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
import type { PeerSignal, RemoteSignal } from '../../src/client/protocol.js';
import { RTCPeerConnection } from '../../src/peer/index.js';

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

/** Two mesh transports; frames from one reach the other in order, one event-loop turn later. */
function pair(): { a: Side; b: Side; dropped: () => number; close: () => void } {
  const sides = new Map<string, Side>();
  let dropped = 0;
  let chain = Promise.resolve();
  const relay = (from: string) => (sig: PeerSignal) => {
    chain = chain.then(
      () =>
        new Promise<void>((resolve) =>
          setImmediate(() => {
            const target = sides.get(sig.to);
            if (!target) dropped++;
            else {
              const { to: _to, ...rest } = sig;
              target.mesh.handleSignal({ v: 1, ...rest, from } as RemoteSignal);
            }
            resolve();
          }),
        ),
    );
  };
  const make = (id: string): Side => {
    const mesh = new MeshTransport(
      { localId: () => id, send: relay(id), iceTransportPolicy: 'all', stream: () => undefined },
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
    dropped: () => dropped,
    close: () => {
      a.mesh.close();
      b.mesh.close();
    },
  };
}

/** Polls until `pred` holds (a safety net against hangs, not a timing assertion). */
async function until(pred: () => boolean, what: string, limitMs = 60_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function connected(s: Side, other: string): boolean {
  const v = s.mesh.peers().find((p) => p.id === other);
  return v?.connectionState === 'connected' && v.signalingState === 'stable';
}

function chatOpen(s: Side): boolean {
  return s.mesh.peers().every((p) => p.chatOpen);
}

test('mesh links: a glare converges; a replaced connection at one end is replaced at the other', async () => {
  const { a, b, close } = pair();
  try {
    // Both ends create their link at once and both offer: the polite one rolls back.
    a.mesh.addPeer({ id: b.id, name: 'bob' });
    b.mesh.addPeer({ id: a.id, name: 'ann' });
    await until(() => connected(a, b.id) && connected(b, a.id), 'first connection');
    await until(() => chatOpen(a) && chatOpen(b), 'chat channels open');
    assert.equal(a.mesh.linkReplacements + b.mesh.linkReplacements, 0);

    // b loses a and finds it again (what an unknown-peer error or a rejoin does): a fresh link.
    b.mesh.removePeer(a.id);
    b.mesh.addPeer({ id: a.id, name: 'ann' });
    await until(() => a.mesh.linkReplacements === 1, 'a to replace its link');
    await until(() => connected(a, b.id) && connected(b, a.id), 'reconnection');
    await until(() => chatOpen(a) && chatOpen(b), 'chat channels open again');
    assert.equal(b.mesh.linkReplacements, 0, 'the end that started over does not replace again');

    const at = Date.now();
    a.mesh.sendChat({ text: 'after the replacement', name: 'ann', at });
    b.mesh.sendChat({ text: 'heard you', name: 'bob', at });
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
