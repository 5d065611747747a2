/**
 * Node <-> Node chat over the signaling of `rtcstack serve` (docs/signaling.md): each process
 * joins a room, the newcomer offers to everyone already there, candidates trickle through the
 * server, and lines typed on stdin go to every peer over a data channel.
 *
 *   npm start                                   # rtcstack serve on http://127.0.0.1:8080
 *   npx tsx examples/chat-over-serve.ts alice   # in one terminal
 *   npx tsx examples/chat-over-serve.ts bob     # in another
 *
 * Options: SIGNALING=ws://127.0.0.1:8080/ws ROOM=lobby.
 */
import { createInterface } from 'node:readline';
import { type RTCDataChannel, RTCPeerConnection } from 'rtcstack';
import WebSocket from 'ws';

const name = process.argv[2] ?? `node-${process.pid}`;
const url = process.env.SIGNALING ?? 'ws://127.0.0.1:8080/ws';
const room = process.env.ROOM ?? 'lobby';

interface Link {
  pc: RTCPeerConnection;
  channel?: RTCDataChannel;
}
const links = new Map<string, Link>();
let iceServers: { urls: string | string[]; username?: string; credential?: string }[] = [];

const ws = new WebSocket(url);
const send = (msg: Record<string, unknown>): void => ws.send(JSON.stringify({ v: 1, ...msg }));

function link(peerId: string): Link {
  let l = links.get(peerId);
  if (l) return l;
  const pc = new RTCPeerConnection({ iceServers }, { includeLoopback: true });
  l = { pc };
  links.set(peerId, l);
  pc.onicecandidate = (e) => {
    if (e.candidate) send({ type: 'candidate', to: peerId, candidate: e.candidate.toJSON() });
  };
  pc.ondatachannel = (e) => attach(peerId, e.channel);
  pc.onconnectionstatechange = () => console.log(`[${peerId}] ${pc.connectionState}`);
  return l;
}

function attach(peerId: string, channel: RTCDataChannel): void {
  links.get(peerId)!.channel = channel;
  channel.onmessage = (e) => console.log(`${(e as MessageEvent).data}`);
}

ws.on('open', () => send({ type: 'join', room, name }));
ws.on('message', async (raw) => {
  const msg = JSON.parse(String(raw));
  switch (msg.type) {
    case 'welcome': {
      iceServers = msg.iceServers;
      console.log(`joined ${msg.room} as ${msg.peerId}; ${msg.peers.length} other(s) here`);
      for (const p of msg.peers as { id: string }[]) {
        const l = link(p.id);
        attach(p.id, l.pc.createDataChannel('chat'));
        await l.pc.setLocalDescription();
        send({ type: 'offer', to: p.id, sdp: l.pc.localDescription!.sdp });
      }
      break;
    }
    case 'offer': {
      const l = link(msg.from);
      await l.pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
      await l.pc.setLocalDescription();
      send({ type: 'answer', to: msg.from, sdp: l.pc.localDescription!.sdp });
      break;
    }
    case 'answer':
      await links.get(msg.from)?.pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
      break;
    case 'candidate':
      await links
        .get(msg.from)
        ?.pc.addIceCandidate(msg.candidate)
        .catch(() => {});
      break;
    case 'peer-left':
      links.get(msg.peerId)?.pc.close();
      links.delete(msg.peerId);
      break;
    case 'error':
      console.error(`signaling error ${msg.code}: ${msg.message}`);
      break;
  }
});

createInterface({ input: process.stdin }).on('line', (line) => {
  for (const l of links.values()) if (l.channel?.readyState === 'open') l.channel.send(`${name}: ${line}`);
});
process.on('SIGINT', () => {
  for (const l of links.values()) l.pc.close();
  ws.close();
  process.exit(0);
});
