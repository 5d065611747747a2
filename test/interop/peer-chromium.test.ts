/**
 * rtcstack's RTCPeerConnection against Chromium (Debian package, driven by playwright-core): both
 * offer/answer roles, channels opened from each side, reliable and unreliable, a large transfer
 * byte-identical, and what DTLS Chromium negotiates with us. Signaling is page.evaluate and an
 * exposed function for trickled candidates.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
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

/** A page holding one RTCPeerConnection (window.pc) whose candidates trickle to `node`. */
async function browserPeer(node: RTCPeerConnection): Promise<Page> {
  const page = await browser.newPage();
  // tsx compiles functions passed to page.evaluate with esbuild's keepNames helper; define it.
  await page.evaluate('globalThis.__name = (f) => f');
  await page.exposeFunction('toNode', (c: Cand) => {
    void node.addIceCandidate(c ?? undefined).catch(() => {});
  });
  await page.evaluate(() => {
    const w = window as unknown as Record<string, unknown>;
    const pc = new RTCPeerConnection();
    w.pc = pc;
    w.log = [] as string[];
    w.channels = [] as RTCDataChannel[];
    pc.onicecandidate = (e) => (w.toNode as (c: unknown) => void)(e.candidate ? e.candidate.toJSON() : null);
    const wire = (ch: RTCDataChannel): void => {
      (w.channels as RTCDataChannel[]).push(ch);
      ch.binaryType = 'arraybuffer';
      ch.onmessage = (ev) => {
        // Echo everything back: strings prefixed, binary as is.
        const data = (ev as MessageEvent).data as string | ArrayBuffer;
        if (typeof data === 'string') ch.send(`echo:${data}`);
        else ch.send(data);
      };
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

function echo(ch: RTCDataChannel, text: string): Promise<string> {
  return new Promise((resolve) => {
    ch.addEventListener('message', (e) => resolve((e as MessageEvent).data as string), { once: true });
    ch.send(text);
  });
}

async function browserTransport(page: Page): Promise<Record<string, unknown>> {
  return page.evaluate(async () => {
    const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
    const stats = await pc.getStats();
    let out: Record<string, unknown> = {};
    stats.forEach((s) => {
      if (s.type === 'transport') out = { ...s };
    });
    return out;
  });
}

for (const [versions, expected] of [
  [['1.2'], 'FEFD'],
  [['1.3', '1.2'], 'FEFC'],
] as const) {
  test(`rtcstack offers (DTLS ${versions.join('+')}), Chromium answers: echo both ways`, opts, async () => {
    const node = new RTCPeerConnection(
      {},
      { includeLoopback: true, ipv6: false, dtlsVersions: [...versions] },
    );
    const page = await browserPeer(node);
    try {
      const dc = node.createDataChannel('from-node');
      await node.setLocalDescription();
      const answer = await page.evaluate(async (offer) => {
        const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
        await pc.setRemoteDescription(offer);
        await pc.setLocalDescription();
        return pc.localDescription!.toJSON();
      }, node.localDescription!.toJSON());
      await node.setRemoteDescription(answer);
      await waitFor(() => dc.readyState === 'open', 'node channel open');
      assert.equal(await echo(dc, 'hi chromium'), 'echo:hi chromium');

      // Chromium opens a channel toward us over the same association.
      const fromBrowser = new Promise<RTCDataChannel>((resolve) => {
        node.ondatachannel = (e) => resolve(e.channel);
      });
      await page.evaluate(() => {
        const w = window as unknown as { pc: RTCPeerConnection; wire: (c: RTCDataChannel) => void };
        const ch = w.pc.createDataChannel('from-browser', { ordered: false, maxRetransmits: 0 });
        ch.onopen = () => ch.send('hello node');
      });
      const ch = await fromBrowser;
      assert.equal(ch.label, 'from-browser');
      assert.equal(ch.ordered, false);
      assert.equal(ch.maxRetransmits, 0);
      const first = await new Promise<string>((resolve) => {
        ch.onmessage = (e) => resolve((e as MessageEvent).data as string);
      });
      assert.equal(first, 'hello node');

      const t = await browserTransport(page);
      assert.equal(t.dtlsState, 'connected');
      console.log(
        `# Chromium negotiated with rtcstack: tlsVersion=${t.tlsVersion} dtlsCipher=${t.dtlsCipher} srtpCipher=${t.srtpCipher}`,
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
  const node = new RTCPeerConnection({}, { includeLoopback: true, ipv6: false });
  const page = await browserPeer(node);
  try {
    const offer = await page.evaluate(async () => {
      const w = window as unknown as { pc: RTCPeerConnection; wire: (c: RTCDataChannel) => void };
      const ch = w.pc.createDataChannel('bulk');
      w.wire(ch);
      await w.pc.setLocalDescription();
      return w.pc.localDescription!.toJSON();
    });
    const got = new Promise<RTCDataChannel>((resolve) => {
      node.ondatachannel = (e) => resolve(e.channel);
    });
    await node.setRemoteDescription(offer);
    await node.setLocalDescription();
    await page.evaluate(async (answer) => {
      await (window as unknown as { pc: RTCPeerConnection }).pc.setRemoteDescription(answer);
    }, node.localDescription!.toJSON());
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
    await waitFor(() => received >= total, `16 MiB echoed (got ${received})`, 120_000);
    const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    assert.equal(sha(Buffer.concat(back)), sha(payload));
    // We were the DTLS client here (Chromium offered actpass, we answered active), on DTLS 1.3.
    const t = await browserTransport(page);
    assert.equal(t.tlsVersion, 'FEFC');
    assert.equal(t.dtlsRole, 'server');
  } finally {
    node.close();
    await page.close();
  }
});

test(
  'Chromium hiding host addresses behind mDNS names: rtcstack resolves them and connects',
  opts,
  async () => {
    const mdnsBrowser = await launchChromium({ media: false });
    const node = new RTCPeerConnection({}, { includeLoopback: true, ipv6: false });
    const page = await mdnsBrowser.newPage();
    try {
      await page.evaluate('globalThis.__name = (f) => f');
      const remoteCandidates: string[] = [];
      await page.exposeFunction('toNode', (c: Cand) => {
        if (c?.candidate) remoteCandidates.push(c.candidate);
        void node.addIceCandidate(c ?? undefined).catch(() => {});
      });
      await page.evaluate(() => {
        const w = window as unknown as Record<string, unknown>;
        const Ctor = (window as unknown as { RTCPeerConnection: new () => RTCPeerConnection })
          .RTCPeerConnection;
        const pc = new Ctor();
        w.pc = pc;
        pc.onicecandidate = (e) =>
          (w.toNode as (c: unknown) => void)(e.candidate ? e.candidate.toJSON() : null);
      });
      node.onicecandidate = (e) => {
        const c = e.candidate ? e.candidate.toJSON() : null;
        void page.evaluate((cand) => {
          const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
          return pc.addIceCandidate(cand ?? undefined).catch(() => {});
        }, c);
      };
      const dc = node.createDataChannel('mdns');
      await node.setLocalDescription();
      const answer = await page.evaluate(async (offer) => {
        const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
        await pc.setRemoteDescription(offer);
        await pc.setLocalDescription();
        return pc.localDescription!.toJSON();
      }, node.localDescription!.toJSON());
      await node.setRemoteDescription(answer);
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
