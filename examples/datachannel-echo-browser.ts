/**
 * A data-channel echo server in Node for browsers: open http://127.0.0.1:8090 in any browser, type,
 * and rtcstack (the W3C RTCPeerConnection on Node) echoes every message back.
 *
 *   npx tsx examples/datachannel-echo-browser.ts [PORT]
 *
 * Signaling is one HTTP POST: the page sends its offer (after gathering), the server answers.
 */
import { createServer } from 'node:http';
import { RTCPeerConnection } from 'rtcstack';

const port = Number(process.argv[2] ?? 8090);

const PAGE = `<!doctype html><meta charset=utf-8><title>rtcstack echo</title>
<input id=msg placeholder="type and press enter" autofocus><pre id=log></pre>
<script>
const log = (t) => (document.getElementById('log').textContent += t + '\\n');
const pc = new RTCPeerConnection();
const dc = pc.createDataChannel('echo');
dc.onopen = () => log('channel open');
dc.onmessage = (e) => log('< ' + e.data);
document.getElementById('msg').onkeydown = (e) => {
  if (e.key === 'Enter' && dc.readyState === 'open') { log('> ' + e.target.value); dc.send(e.target.value); e.target.value = ''; }
};
(async () => {
  await pc.setLocalDescription();
  await new Promise((r) => { if (pc.iceGatheringState === 'complete') r(); else pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); });
  const res = await fetch('/offer', { method: 'POST', body: JSON.stringify(pc.localDescription) });
  await pc.setRemoteDescription(await res.json());
})();
</script>`;

const peers = new Set<RTCPeerConnection>();

async function answer(offer: { type: 'offer'; sdp: string }): Promise<unknown> {
  const pc = new RTCPeerConnection({}, { includeLoopback: true });
  peers.add(pc);
  pc.ondatachannel = ({ channel }) => {
    channel.onmessage = (e) => channel.send(`echo: ${(e as MessageEvent).data}`);
  };
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === 'failed' || pc.connectionState === 'closed') {
      pc.close();
      peers.delete(pc);
    }
  };
  await pc.setRemoteDescription(offer);
  await pc.setLocalDescription();
  // No trickle here: wait for our candidates so the answer carries them.
  await new Promise<void>((resolve) => {
    if (pc.iceGatheringState === 'complete') resolve();
    else pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
  });
  return pc.localDescription!.toJSON();
}

const server = createServer(async (req, res) => {
  if (req.method === 'POST' && req.url === '/offer') {
    let body = '';
    for await (const chunk of req) body += chunk;
    try {
      const reply = await answer(JSON.parse(body));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
    } catch (err) {
      res.writeHead(400).end(String(err));
    }
    return;
  }
  res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
});
server.listen(port, '127.0.0.1', () => console.log(`open http://127.0.0.1:${port} in a browser`));
const stop = (): void => {
  for (const pc of peers) pc.close();
  server.close();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
