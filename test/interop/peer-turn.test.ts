/**
 * rtcstack's RTCPeerConnection and Chromium connected only through a TURN relay
 * (`iceTransportPolicy: 'relay'` on both sides): our TURN server, then coturn. getStats on both
 * sides must show a relayed selected pair.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../src/core/log.js';
import { type RTCDataChannel, RTCPeerConnection } from '../../src/peer/index.js';
import { makeRestCredentials } from '../../src/server/turn/credentials.js';
import { startTurnServer } from '../../src/server/turn/server.js';
import {
  answerInPage,
  browserPeer,
  pageStats,
  selectedLocalCandidateType,
  waitFor,
} from '../helpers/browser-peer.js';
import { chromiumForFile } from '../helpers/chromium-file.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import { startCoturn } from './ice-harness-real.js';

const opts = needs(PREREQS.chromium, PREREQS.coturn);
const chromium = chromiumForFile(opts);

interface IceServer {
  urls: string;
  username: string;
  credential: string;
}

/** rtcstack (offerer) and a Chromium page (answerer, echoing) over `server`, relay policy on both. */
async function relayCall(server: IceServer) {
  const config = { iceServers: [server], iceTransportPolicy: 'relay' as const };
  const node = new RTCPeerConnection(config, { ipv6: false });
  const page = await browserPeer(chromium.browser, node, { config, echo: true });
  const dc = node.createDataChannel('relayed');
  await node.setLocalDescription();
  await node.setRemoteDescription(await answerInPage(page, node.localDescription!.toJSON()));
  await waitFor(() => dc.readyState === 'open', 'channel open through the relay');
  return { node, page, dc };
}

async function assertRelayed(
  node: RTCPeerConnection,
  page: Awaited<ReturnType<typeof relayCall>>['page'],
): Promise<void> {
  const stats = [...(await node.getStats()).values()];
  assert.equal(selectedLocalCandidateType(stats), 'relay', 'rtcstack sends from a relayed candidate');
  assert.ok(
    stats.filter((s) => s.type === 'local-candidate').every((s) => s.candidateType === 'relay'),
    'relay policy gathers relayed candidates only',
  );
  assert.equal(
    selectedLocalCandidateType(await pageStats(page)),
    'relay',
    'Chromium sends from a relayed candidate',
  );
}

function echo(dc: RTCDataChannel, text: string): Promise<string> {
  return new Promise((resolve) => {
    dc.addEventListener('message', (e) => resolve((e as MessageEvent).data as string), { once: true });
    dc.send(text);
  });
}

test(
  'rtcstack <-> Chromium through our TURN server only (relay policy, REST credentials)',
  opts,
  async () => {
    const secret = 'test-secret';
    const turn = await startTurnServer({
      listeningIps: ['127.0.0.1'],
      listeningPort: 0,
      tls: false,
      tcp: false,
      secrets: [secret],
      allowLoopbackPeers: true,
      logger: silentLogger,
    });
    const cred = makeRestCredentials(secret, 'alice', 600);
    const server = {
      urls: `turn:127.0.0.1:${turn.ports.udp[0]}`,
      username: cred.username,
      credential: cred.password,
    };
    const { node, page, dc } = await relayCall(server);
    try {
      assert.equal(await echo(dc, 'via rtcstack turn'), 'echo:via rtcstack turn');
      await assertRelayed(node, page);
      assert.ok(turn.stats.allocationsCreated >= 2, 'both peers allocated on our server');
    } finally {
      node.close();
      await page.close();
      await turn.close();
    }
  },
);

test('rtcstack <-> Chromium through coturn only (relay policy)', opts, async () => {
  const coturn = await startCoturn();
  const server = { urls: `turn:127.0.0.1:${coturn.port}`, username: 'u', credential: 'p' };
  const { node, page, dc } = await relayCall(server);
  try {
    assert.equal(await echo(dc, 'via coturn'), 'echo:via coturn');
    await assertRelayed(node, page);
  } finally {
    node.close();
    await page.close();
    await coturn.stop();
  }
});
