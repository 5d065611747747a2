/**
 * Real browsers through our TURN server: two Chromium pages with `iceTransportPolicy: 'relay'` and
 * only our server (TURN REST credentials) connect a data channel and echo messages; getStats shows
 * relay candidates on the selected pair, and the server relayed the traffic. Once over UDP, once
 * over TCP (turn:...?transport=tcp).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { silentLogger } from '../../src/core/log.js';
import { makeRestCredentials } from '../../src/server/turn/credentials.js';
import { startTurnServer, type TurnServerHandle } from '../../src/server/turn/server.js';
import { type ChromiumHandle, launchChromium } from '../helpers/chromium.js';
import { needs, PREREQS } from '../helpers/prereq.js';

const SECRET = 'browser-test-secret';

declare global {
  interface Window {
    pc: RTCPeerConnection;
    dc: RTCDataChannel | undefined;
    got: string[];
  }
}

async function setup(page: Page, iceServer: RTCIceServer): Promise<void> {
  await page.evaluate((server) => {
    window.got = [];
    window.pc = new RTCPeerConnection({ iceServers: [server], iceTransportPolicy: 'relay' });
  }, iceServer);
}

/** Gather all candidates and return the local description. */
async function localDescription(page: Page, kind: 'offer' | 'answer'): Promise<RTCSessionDescriptionInit> {
  return page.evaluate(async (k) => {
    const pc = window.pc;
    const done = new Promise<void>((resolve) => {
      if (pc.iceGatheringState === 'complete') resolve();
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') resolve();
      });
    });
    if (k === 'offer') {
      const dc = pc.createDataChannel('echo');
      window.dc = dc;
      dc.onmessage = (e) => window.got.push(String(e.data));
      await pc.setLocalDescription(await pc.createOffer());
    } else {
      pc.ondatachannel = (e) => {
        window.dc = e.channel;
        e.channel.onmessage = (m) => {
          window.got.push(String(m.data));
          e.channel.send(`echo:${m.data}`);
        };
      };
      await pc.setLocalDescription(await pc.createAnswer());
    }
    await done;
    return { type: pc.localDescription!.type, sdp: pc.localDescription!.sdp };
  }, kind);
}

describe('Chromium relays through our TURN server', needs(PREREQS.chromium), () => {
  let browser: ChromiumHandle;
  let turn: TurnServerHandle;
  before(async () => {
    turn = await startTurnServer({
      listeningIps: ['127.0.0.1'],
      listeningPort: 0,
      tls: false,
      minPort: 0,
      maxPort: 0,
      realm: 'browser',
      secrets: ['an-old-secret', SECRET],
      allowLoopbackPeers: true,
      logger: silentLogger,
    });
    browser = await launchChromium({ loopbackIce: true });
  });
  after(async () => {
    await browser?.close();
    await turn?.close();
  });

  for (const transport of ['udp', 'tcp'] as const) {
    test(`data channel echo over relay candidates (TURN over ${transport})`, async () => {
      const port = transport === 'udp' ? turn.ports.udp[0]! : turn.ports.tcp[0]!;
      const cred = makeRestCredentials(SECRET, `chromium-${transport}`, 600);
      const server: RTCIceServer = {
        urls: `turn:127.0.0.1:${port}?transport=${transport}`,
        username: cred.username,
        credential: cred.password,
      };
      const before = { ...turn.stats };
      const a = await browser.newPage();
      const b = await browser.newPage();
      try {
        await setup(a, server);
        await setup(b, server);
        const offer = await localDescription(a, 'offer');
        assert.match(offer.sdp ?? '', /typ relay/, 'offer has relay candidates');
        assert.doesNotMatch(offer.sdp ?? '', /typ host/, 'relay policy: no host candidates');
        await b.evaluate((o) => window.pc.setRemoteDescription(o), offer);
        const answer = await localDescription(b, 'answer');
        await a.evaluate((o) => window.pc.setRemoteDescription(o), answer);
        await a.waitForFunction(() => window.dc?.readyState === 'open', undefined, { timeout: 20_000 });
        await a.evaluate(() => {
          for (let i = 0; i < 20; i++) window.dc!.send(`m${i}`);
        });
        await a.waitForFunction(() => window.got.length === 20, undefined, { timeout: 20_000 });
        const got = await a.evaluate(() => window.got);
        assert.deepEqual(
          got,
          Array.from({ length: 20 }, (_, i) => `echo:m${i}`),
        );
        const stats = await a.evaluate(async () => {
          const report = await window.pc.getStats();
          let pair: Record<string, unknown> | undefined;
          const byId = new Map<string, Record<string, unknown>>();
          report.forEach((s: Record<string, unknown>) => {
            byId.set(String(s.id), s);
          });
          report.forEach((s: Record<string, unknown>) => {
            if (s.type === 'transport' && s.selectedCandidatePairId)
              pair = byId.get(String(s.selectedCandidatePairId));
          });
          const local = pair ? byId.get(String(pair.localCandidateId)) : undefined;
          const remote = pair ? byId.get(String(pair.remoteCandidateId)) : undefined;
          return {
            local: local?.candidateType,
            remote: remote?.candidateType,
            relayProtocol: local?.relayProtocol,
          };
        });
        assert.equal(stats.local, 'relay');
        assert.equal(stats.remote, 'relay');
        assert.equal(stats.relayProtocol, transport);
        assert.ok(turn.stats.allocationsCreated - before.allocationsCreated >= 2);
        assert.ok(turn.stats.packetsToPeer - before.packetsToPeer >= 40, 'the server relayed the messages');
        assert.equal(turn.stats.authFailures, before.authFailures);
      } finally {
        await a.close();
        await b.close();
      }
    });
  }
});
