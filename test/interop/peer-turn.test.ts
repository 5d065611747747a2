/**
 * rtcstack's RTCPeerConnection and Chromium connected only through a TURN relay
 * (`iceTransportPolicy: 'relay'` on both sides): our TURN server, then coturn. getStats on both
 * sides must show a relayed selected pair.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { type RTCDataChannel, RTCPeerConnection } from '../../src/peer/index.js';
import { startTurnServer } from '../../src/server/turn/server.js';
import { type ChromiumHandle, launchChromium } from '../helpers/chromium.js';
import { needs, PREREQS } from '../helpers/prereq.js';
import { startCoturn } from './ice-harness-real.js';

const opts = needs(PREREQS.chromium, PREREQS.coturn);
let browser: ChromiumHandle;
before(async () => {
  if (!opts.skip) browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

interface IceServer {
  urls: string;
  username: string;
  credential: string;
}

function waitFor(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (cond()) resolve();
      else if (Date.now() > end) reject(new Error(`timeout: ${what}`));
      else setTimeout(tick, 20);
    };
    tick();
  });
}

/** Connect rtcstack (offerer) and a Chromium page (answerer) over `server` with relay policy only. */
async function relayCall(
  server: IceServer,
): Promise<{ node: RTCPeerConnection; page: Page; dc: RTCDataChannel }> {
  const config = { iceServers: [server], iceTransportPolicy: 'relay' as const };
  const node = new RTCPeerConnection(config, { ipv6: false });
  const page = await browser.newPage();
  await page.evaluate('globalThis.__name = (f) => f');
  await page.exposeFunction('toNode', (c: { candidate: string; sdpMid: string } | null) => {
    void node.addIceCandidate(c ?? undefined).catch(() => {});
  });
  await page.evaluate((cfg) => {
    const w = window as unknown as Record<string, unknown>;
    const Ctor = (window as unknown as { RTCPeerConnection: new (c: unknown) => RTCPeerConnection })
      .RTCPeerConnection;
    const pc = new Ctor(cfg);
    w.pc = pc;
    pc.onicecandidate = (e) => (w.toNode as (c: unknown) => void)(e.candidate ? e.candidate.toJSON() : null);
    pc.ondatachannel = (e) => {
      const ch = e.channel;
      ch.onmessage = (m) => ch.send(`echo:${(m as MessageEvent).data}`);
    };
  }, config);
  node.onicecandidate = (e) => {
    const c = e.candidate ? e.candidate.toJSON() : null;
    void page.evaluate((cand) => {
      const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
      return pc.addIceCandidate(cand ?? undefined).catch(() => {});
    }, c);
  };
  const dc = node.createDataChannel('relayed');
  await node.setLocalDescription();
  const answer = await page.evaluate(async (offer) => {
    const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
    await pc.setRemoteDescription(offer);
    await pc.setLocalDescription();
    return pc.localDescription!.toJSON();
  }, node.localDescription!.toJSON());
  await node.setRemoteDescription(answer);
  await waitFor(() => dc.readyState === 'open', 'channel open through the relay');
  return { node, page, dc };
}

async function assertRelayed(node: RTCPeerConnection, page: Page): Promise<void> {
  const stats = [...(await node.getStats()).values()];
  const transport = stats.find((s) => s.type === 'transport')!;
  const pairStats = stats.find((s) => s.id === transport.selectedCandidatePairId)!;
  const local = stats.find((s) => s.id === pairStats.localCandidateId)!;
  assert.equal(local.candidateType, 'relay', 'rtcstack sends from a relayed candidate');
  assert.ok(
    stats.filter((s) => s.type === 'local-candidate').every((s) => s.candidateType === 'relay'),
    'relay policy gathers relayed candidates only',
  );
  const browserLocal = await page.evaluate(async () => {
    type Report = { forEach(cb: (s: Record<string, string>) => void): void };
    const pc = (window as unknown as { pc: { getStats(): Promise<Report> } }).pc;
    const report = await pc.getStats();
    let pairId = '';
    report.forEach((s) => {
      if (s.type === 'transport') pairId = s.selectedCandidatePairId ?? '';
    });
    let localId = '';
    report.forEach((s) => {
      if (s.id === pairId) localId = s.localCandidateId ?? '';
    });
    let type = '';
    report.forEach((s) => {
      if (s.id === localId) type = s.candidateType ?? '';
    });
    return type;
  });
  assert.equal(browserLocal, 'relay', 'Chromium sends from a relayed candidate');
}

async function echo(dc: RTCDataChannel, text: string): Promise<string> {
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
      secrets: [secret],
      allowLoopbackPeers: true,
      logger: (await import('../../src/core/log.js')).silentLogger,
    });
    const { makeRestCredentials } = await import('../../src/server/turn/credentials.js');
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
