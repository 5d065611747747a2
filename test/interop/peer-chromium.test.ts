/**
 * rtcstack's RTCPeerConnection against Chromium (Debian package, driven by playwright-core): both
 * offer/answer roles, channels opened from each side, reliable and unreliable, a large transfer
 * byte-identical, DTLS 1.2 and 1.3 as Chromium reports them, and Chromium's mDNS-hidden hosts.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { type RTCDataChannel, RTCPeerConnection } from '../../src/peer/index.js';
import {
  acceptAnswerInPage,
  answerInPage,
  browserPeer,
  type CandidateInit,
  pageTransport,
  waitFor,
} from '../helpers/browser-peer.js';
import { launchChromium } from '../helpers/chromium.js';
import { chromiumForFile } from '../helpers/chromium-file.js';
import { needs, PREREQS } from '../helpers/prereq.js';

const opts = needs(PREREQS.chromium);
const chromium = chromiumForFile(opts);

const LOCAL = { includeLoopback: true, ipv6: false } as const;

function echo(ch: RTCDataChannel, text: string): Promise<string> {
  return new Promise((resolve) => {
    ch.addEventListener('message', (e) => resolve((e as MessageEvent).data as string), { once: true });
    ch.send(text);
  });
}

for (const [versions, expected] of [
  [['1.2'], 'FEFD'],
  [['1.3', '1.2'], 'FEFC'],
] as const) {
  test(`rtcstack offers (DTLS ${versions.join('+')}), Chromium answers: echo both ways`, opts, async () => {
    const node = new RTCPeerConnection({}, { ...LOCAL, dtlsVersions: [...versions] });
    const page = await browserPeer(chromium.browser, node, { echo: true });
    try {
      const dc = node.createDataChannel('from-node');
      await node.setLocalDescription();
      await node.setRemoteDescription(await answerInPage(page, node.localDescription!.toJSON()));
      await waitFor(() => dc.readyState === 'open', 'node channel open');
      assert.equal(await echo(dc, 'hi chromium'), 'echo:hi chromium');

      // Chromium opens a channel toward us over the same association.
      // Handlers go on in the datachannel event itself: the page's first message can arrive before
      // page.evaluate() below has even returned.
      let first!: Promise<string>;
      const fromBrowser = new Promise<RTCDataChannel>((resolve) => {
        node.ondatachannel = (e) => {
          first = new Promise<string>((got) => {
            e.channel.onmessage = (m) => got((m as MessageEvent).data as string);
          });
          resolve(e.channel);
        };
      });
      await page.evaluate(() => {
        type Pc = {
          createDataChannel(l: string, o: unknown): { onopen: (() => void) | null; send(s: string): void };
        };
        const w = window as unknown as { pc: Pc; keep: unknown };
        const ch = w.pc.createDataChannel('from-browser', { ordered: false, maxRetransmits: 0 });
        // Keep a reference: a channel nothing refers to may be collected before it opens.
        w.keep = ch;
        ch.onopen = () => ch.send('hello node');
      });
      const ch = await fromBrowser;
      assert.equal(ch.label, 'from-browser');
      assert.equal(ch.ordered, false);
      assert.equal(ch.maxRetransmits, 0);
      assert.equal(await first, 'hello node');

      const t = await pageTransport(page);
      assert.equal(t.dtlsState, 'connected');
      console.log(
        `# Chromium negotiated with rtcstack: tlsVersion=${t.tlsVersion} dtlsCipher=${t.dtlsCipher}`,
      );
      assert.equal(t.tlsVersion, expected, 'the DTLS version Chromium reports');
      assert.equal(node.connectionState, 'connected');
    } finally {
      node.close();
      await page.close();
    }
  });
}

test('Chromium offers, rtcstack answers; 16 MiB arrive byte-identical', opts, async () => {
  const node = new RTCPeerConnection({}, LOCAL);
  const page = await browserPeer(chromium.browser, node);
  try {
    const offer = await page.evaluate(async () => {
      type Pc = {
        createDataChannel(l: string): unknown;
        setLocalDescription(): Promise<void>;
        localDescription: { toJSON(): unknown };
      };
      const w = window as unknown as { pc: Pc; wire: (c: unknown) => void };
      w.wire(w.pc.createDataChannel('bulk'));
      await w.pc.setLocalDescription();
      return w.pc.localDescription.toJSON();
    });
    const got = new Promise<RTCDataChannel>((resolve) => {
      node.ondatachannel = (e) => resolve(e.channel);
    });
    await node.setRemoteDescription(offer as { type: 'offer'; sdp: string });
    await node.setLocalDescription();
    await acceptAnswerInPage(page, node.localDescription!.toJSON());
    const ch = await got;
    await waitFor(() => ch.readyState === 'open', 'channel open');

    // Send 16 MiB to Chromium, which echoes each message back; compare hashes of what returns.
    const total = 16 * 1024 * 1024;
    const payload = randomBytes(total);
    const back: Buffer[] = [];
    let received = 0;
    ch.onmessage = (e) => {
      const b = Buffer.from((e as MessageEvent).data as ArrayBuffer);
      back.push(b);
      received += b.length;
    };
    ch.bufferedAmountLowThreshold = 1024 * 1024;
    let off = 0;
    const pump = (): void => {
      while (off < total && ch.bufferedAmount < 4 * 1024 * 1024) {
        ch.send(payload.subarray(off, off + 65536));
        off += 65536;
      }
    };
    ch.onbufferedamountlow = pump;
    pump();
    await waitFor(() => received >= total, `16 MiB echoed (got ${received})`, 300_000);
    const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    assert.equal(sha(Buffer.concat(back)), sha(payload));
    // We were the DTLS client here (Chromium offered actpass, we answered active), on DTLS 1.3.
    const t = await pageTransport(page);
    assert.equal(t.tlsVersion, 'FEFC');
    assert.equal(t.dtlsRole, 'server');
  } finally {
    node.close();
    await page.close();
  }
});

test(
  'Chromium hiding host addresses behind mDNS names: rtcstack connects (peer-reflexive when names do not resolve)',
  opts,
  async () => {
    const mdnsBrowser = await launchChromium({ media: false });
    const node = new RTCPeerConnection({}, LOCAL);
    const remoteCandidates: string[] = [];
    const page = await browserPeer(mdnsBrowser, node, {
      onPageCandidate: (c: CandidateInit) => {
        if (c?.candidate) remoteCandidates.push(c.candidate);
      },
    });
    try {
      const dc = node.createDataChannel('mdns');
      await node.setLocalDescription();
      await node.setRemoteDescription(await answerInPage(page, node.localDescription!.toJSON()));
      await waitFor(() => dc.readyState === 'open', 'channel open with an mDNS peer');
      assert.ok(remoteCandidates.length > 0);
      assert.ok(
        remoteCandidates.every((c) => /\.local /.test(c)),
        `Chromium without media permission hides host addresses: ${remoteCandidates.join(' | ')}`,
      );
      const stats = [...(await node.getStats()).values()];
      const remoteTypes = stats
        .filter((s) => s.type === 'remote-candidate')
        .map((s) => `${s.candidateType}:${s.address}`);
      console.log(`# remote candidates seen by rtcstack: ${remoteTypes.join(', ')}`);
    } finally {
      node.close();
      await page.close();
      await mdnsBrowser.close();
    }
  },
);
