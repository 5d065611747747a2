/**
 * rtcstack's DTLS against Chromium, through rtcstack's RTCPeerConnection (ICE, DTLS, SCTP): DTLS
 * 1.3 when we offer it (Chromium negotiates 1.3) and 1.2 when we offer only 1.2, with rtcstack as
 * DTLS server (rtcstack offers, Chromium answers `a=setup:active`) and as DTLS client (Chromium
 * offers). Both sides' transport stats must agree on version, cipher and SRTP profile, and a data
 * channel message must make the round trip over the DTLS connection.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { DtlsVersion } from '../../src/dtls/endpoint.js';
import { type RTCDataChannel, RTCPeerConnection } from '../../src/peer/index.js';
import { type ChromiumHandle, launchChromium } from '../helpers/chromium.js';
import { needs, PREREQS } from '../helpers/prereq.js';

const opts = needs(PREREQS.chromium);
let browser: ChromiumHandle;

before(async () => {
  if (!opts.skip) browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

type Cand = { candidate: string; sdpMid: string | null; sdpMLineIndex: number | null } | null;
type Stats = Record<string, unknown>;

async function browserPeer(node: RTCPeerConnection): Promise<Page> {
  const page = await browser.newPage();
  await page.evaluate('globalThis.__name = (f) => f');
  await page.exposeFunction('toNode', (c: Cand) => {
    void node.addIceCandidate(c ?? undefined).catch(() => {});
  });
  await page.evaluate(() => {
    const w = window as unknown as Record<string, unknown>;
    const pc = new RTCPeerConnection();
    w.pc = pc;
    pc.onicecandidate = (e) => (w.toNode as (c: unknown) => void)(e.candidate ? e.candidate.toJSON() : null);
    const wire = (ch: RTCDataChannel): void => {
      ch.onmessage = (ev) => ch.send(`echo:${(ev as MessageEvent).data as string}`);
    };
    w.wire = wire;
    pc.ondatachannel = (e) => wire(e.channel);
  });
  node.onicecandidate = (e) => {
    const c = e.candidate ? e.candidate.toJSON() : null;
    void page.evaluate((cand) => {
      const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
      return pc.addIceCandidate(cand ?? undefined).catch(() => {});
    }, c);
  };
  return page;
}

function waitFor(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
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

async function browserTransport(page: Page): Promise<Stats> {
  return page.evaluate(async () => {
    const stats = await (window as unknown as { pc: RTCPeerConnection }).pc.getStats();
    let out: Record<string, unknown> = {};
    stats.forEach((s) => {
      if (s.type === 'transport') out = { ...s };
    });
    return out;
  });
}

async function nodeTransport(pc: RTCPeerConnection): Promise<Stats> {
  const stats = await pc.getStats();
  let out: Stats = {};
  stats.forEach((s: Stats) => {
    if (s.type === 'transport') out = { ...s };
  });
  return out;
}

function echo(ch: RTCDataChannel, text: string): Promise<string> {
  return new Promise((resolve) => {
    ch.addEventListener('message', (e) => resolve((e as MessageEvent).data as string), { once: true });
    ch.send(text);
  });
}

const CASES: Array<{ versions: DtlsVersion[]; wire: string }> = [
  { versions: ['1.3', '1.2'], wire: 'FEFC' },
  { versions: ['1.2'], wire: 'FEFD' },
];

for (const { versions, wire } of CASES) {
  for (const nodeRole of ['server', 'client'] as const) {
    test(
      `Chromium with rtcstack as DTLS ${nodeRole}, rtcstack offering DTLS ${versions.join('+')}: ${wire}`,
      opts,
      async () => {
        const node = new RTCPeerConnection(
          {},
          { includeLoopback: true, ipv6: false, dtlsVersions: versions },
        );
        const page = await browserPeer(node);
        try {
          let dc: RTCDataChannel;
          if (nodeRole === 'server') {
            // rtcstack offers (actpass); Chromium answers active and becomes the DTLS client.
            dc = node.createDataChannel('dtls-probe');
            await node.setLocalDescription();
            const answer = await page.evaluate(async (offer) => {
              const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
              await pc.setRemoteDescription(offer);
              await pc.setLocalDescription();
              return pc.localDescription!.toJSON();
            }, node.localDescription!.toJSON());
            await node.setRemoteDescription(answer);
          } else {
            // Chromium offers; rtcstack answers active and becomes the DTLS client.
            const incoming = new Promise<RTCDataChannel>((resolve) => {
              node.ondatachannel = (e) => resolve(e.channel);
            });
            const offer = await page.evaluate(async () => {
              const w = window as unknown as { pc: RTCPeerConnection; wire: (c: RTCDataChannel) => void };
              w.wire(w.pc.createDataChannel('dtls-probe'));
              await w.pc.setLocalDescription();
              return w.pc.localDescription!.toJSON();
            });
            await node.setRemoteDescription(offer);
            await node.setLocalDescription();
            await page.evaluate(async (answer) => {
              await (window as unknown as { pc: RTCPeerConnection }).pc.setRemoteDescription(answer);
            }, node.localDescription!.toJSON());
            dc = await incoming;
          }
          await waitFor(() => dc.readyState === 'open', 'data channel open');
          assert.equal(await echo(dc, 'over dtls'), 'echo:over dtls');
          const b = await browserTransport(page);
          const n = await nodeTransport(node);
          console.log(
            `# Chromium (${b.dtlsRole}) <-> rtcstack: tlsVersion=${b.tlsVersion} dtlsCipher=${b.dtlsCipher} srtpCipher=${b.srtpCipher}`,
          );
          assert.equal(b.dtlsState, 'connected');
          assert.equal(b.dtlsRole, nodeRole === 'server' ? 'client' : 'server');
          assert.equal(b.tlsVersion, wire);
          assert.equal(n.tlsVersion, wire);
          assert.equal(n.dtlsCipher, b.dtlsCipher);
          assert.equal(n.srtpCipher, b.srtpCipher);
        } finally {
          node.close();
          await page.close();
        }
      },
    );
  }
}
