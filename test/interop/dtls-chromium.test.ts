/**
 * rtcstack's DTLS against Chromium, through rtcstack's RTCPeerConnection (ICE, DTLS, SCTP): DTLS
 * 1.3 when we offer it (Chromium negotiates 1.3) and 1.2 when we offer only 1.2, with rtcstack as
 * DTLS server (rtcstack offers, Chromium answers `a=setup:active`) and as DTLS client (Chromium
 * offers). Both sides' transport stats must agree on version, cipher and SRTP profile, and a data
 * channel message must make the round trip over the DTLS connection.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DtlsVersion } from '../../src/dtls/endpoint.js';
import { type RTCDataChannel, RTCPeerConnection } from '../../src/peer/index.js';
import {
  acceptAnswerInPage,
  answerInPage,
  browserPeer,
  pageTransport,
  waitFor,
} from '../helpers/browser-peer.js';
import { chromiumForFile } from '../helpers/chromium-file.js';
import { needs, PREREQS } from '../helpers/prereq.js';

const opts = needs(PREREQS.chromium);
const chromium = chromiumForFile(opts);

type Stats = Record<string, unknown>;

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
        const page = await browserPeer(chromium.browser, node, { echo: true });
        try {
          let dc: RTCDataChannel;
          if (nodeRole === 'server') {
            // rtcstack offers (actpass); Chromium answers active and becomes the DTLS client.
            dc = node.createDataChannel('dtls-probe');
            await node.setLocalDescription();
            await node.setRemoteDescription(await answerInPage(page, node.localDescription!.toJSON()));
          } else {
            // Chromium offers; rtcstack answers active and becomes the DTLS client.
            const incoming = new Promise<RTCDataChannel>((resolve) => {
              node.ondatachannel = (e) => resolve(e.channel);
            });
            const offer = await page.evaluate(async () => {
              type Pc = {
                createDataChannel(l: string): unknown;
                setLocalDescription(): Promise<void>;
                localDescription: { toJSON(): unknown };
              };
              const w = window as unknown as { pc: Pc; wire: (c: unknown) => void };
              w.wire(w.pc.createDataChannel('dtls-probe'));
              await w.pc.setLocalDescription();
              return w.pc.localDescription.toJSON();
            });
            await node.setRemoteDescription(offer as { type: 'offer'; sdp: string });
            await node.setLocalDescription();
            await acceptAnswerInPage(page, node.localDescription!.toJSON());
            dc = await incoming;
          }
          await waitFor(() => dc.readyState === 'open', 'data channel open');
          assert.equal(await echo(dc, 'over dtls'), 'echo:over dtls');
          const b = await pageTransport(page);
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
