/**
 * rtcstack's RTCPeerConnection against two stacks nobody here wrote, both installed from npm:
 * werift (pure TypeScript) and node-datachannel (libdatachannel, native). Data channel echo in both
 * directions with rtcstack as offerer and as answerer, trickled candidates, over loopback UDP.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RTCPeerConnection } from '../../src/peer/index.js';
import { waitFor } from '../helpers/wait.js';

/** The part of the W3C API both foreign stacks share with browsers. */
interface ForeignChannel {
  label: string;
  readyState: string;
  send(data: string): void;
  onopen?: unknown;
  onmessage?: unknown;
  close(): void;
}
interface ForeignPeer {
  createOffer(): Promise<{ type: string; sdp?: string }>;
  createAnswer(): Promise<{ type: string; sdp?: string }>;
  setLocalDescription(d: { type: string; sdp?: string }): Promise<unknown>;
  setRemoteDescription(d: { type: string; sdp?: string }): Promise<unknown>;
  addIceCandidate(c: unknown): Promise<unknown>;
  createDataChannel(label: string): ForeignChannel;
  localDescription: { type: string; sdp?: string } | null;
  onicecandidate: unknown;
  ondatachannel: unknown;
  close(): unknown;
}

interface Stack {
  readonly name: string;
  make(): Promise<ForeignPeer>;
}

const STACKS: Stack[] = [
  {
    name: 'werift',
    async make() {
      const { RTCPeerConnection: Werift } = await import('werift');
      // No ICE servers (werift would otherwise contact a public STUN server); loopback host only.
      return new Werift({
        iceServers: [],
        iceAdditionalHostAddresses: ['127.0.0.1'],
        iceUseIpv6: false,
      }) as unknown as ForeignPeer;
    },
  },
  {
    name: 'node-datachannel',
    async make() {
      const { RTCPeerConnection: Ndc } = await import('node-datachannel/polyfill');
      return new Ndc({ iceServers: [] }) as unknown as ForeignPeer;
    },
  },
];

/** Make the foreign peer echo every string it receives on any channel, prefixed. */
function echoOn(ch: ForeignChannel): void {
  ch.onmessage = (e: { data: unknown }) => {
    const text = typeof e.data === 'string' ? e.data : Buffer.from(e.data as Uint8Array).toString();
    ch.send(`echo:${text}`);
  };
}

function wireTrickle(ours: RTCPeerConnection, theirs: ForeignPeer): void {
  ours.onicecandidate = (e) => {
    if (e.candidate) void theirs.addIceCandidate(e.candidate.toJSON()).catch(() => {});
  };
  theirs.onicecandidate = (e: { candidate?: { toJSON?: () => unknown; candidate?: string } | null }) => {
    const c = e?.candidate;
    if (!c?.candidate) return;
    const init = typeof c.toJSON === 'function' ? c.toJSON() : c;
    void ours.addIceCandidate(init as { candidate: string; sdpMid: string }).catch(() => {});
  };
}

async function roundTrip(
  ch: { send(d: string): void; addEventListener: EventTarget['addEventListener'] },
  text: string,
): Promise<string> {
  return new Promise((resolve) => {
    ch.addEventListener('message', (e) => resolve((e as MessageEvent).data as string), { once: true });
    ch.send(text);
  });
}

for (const stack of STACKS) {
  test(`${stack.name}: rtcstack offers, ${stack.name} answers, echo both ways`, async () => {
    const ours = new RTCPeerConnection({}, { includeLoopback: true, ipv6: false });
    const theirs = await stack.make();
    try {
      wireTrickle(ours, theirs);
      let theirChannel: ForeignChannel | undefined;
      theirs.ondatachannel = (e: { channel: ForeignChannel }) => {
        theirChannel = e.channel;
        echoOn(e.channel);
      };
      const dc = ours.createDataChannel('from-rtcstack');
      await ours.setLocalDescription(await ours.createOffer());
      await theirs.setRemoteDescription(ours.localDescription!.toJSON());
      const answer = await theirs.createAnswer();
      await theirs.setLocalDescription(answer);
      await ours.setRemoteDescription((theirs.localDescription ?? answer) as { type: 'answer'; sdp: string });
      await waitFor(() => dc.readyState === 'open', 'our channel open');
      await waitFor(() => theirChannel !== undefined, 'their datachannel event');
      assert.equal(theirChannel!.label, 'from-rtcstack');
      assert.equal(await roundTrip(dc, 'ping 1'), 'echo:ping 1');
      assert.equal(await roundTrip(dc, 'ping 2'), 'echo:ping 2');
      assert.equal(ours.connectionState, 'connected');
    } finally {
      ours.close();
      await theirs.close();
    }
  });

  test(`${stack.name}: ${stack.name} offers, rtcstack answers, echo both ways`, async () => {
    const ours = new RTCPeerConnection({}, { includeLoopback: true, ipv6: false });
    const theirs = await stack.make();
    try {
      wireTrickle(ours, theirs);
      const theirChannel = theirs.createDataChannel('from-foreign');
      const got: string[] = [];
      theirChannel.onmessage = (e: { data: unknown }) =>
        got.push(typeof e.data === 'string' ? e.data : Buffer.from(e.data as Uint8Array).toString());
      ours.ondatachannel = (e) => {
        const ch = e.channel;
        ch.onmessage = (m) => ch.send(`echo:${(m as MessageEvent).data}`);
      };
      const offer = await theirs.createOffer();
      await theirs.setLocalDescription(offer);
      await ours.setRemoteDescription((theirs.localDescription ?? offer) as { type: 'offer'; sdp: string });
      await ours.setLocalDescription(await ours.createAnswer());
      await theirs.setRemoteDescription(ours.localDescription!.toJSON());
      await waitFor(() => theirChannel.readyState === 'open', 'their channel open');
      theirChannel.send('hello from the other stack');
      await waitFor(() => got.length > 0, 'echo back');
      assert.equal(got[0], 'echo:hello from the other stack');
    } finally {
      ours.close();
      await theirs.close();
    }
  });
}
