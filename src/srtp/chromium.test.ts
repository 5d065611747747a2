/**
 * Real SRTP from Chromium: Chromium (fake camera and microphone) sends to werift over loopback;
 * we tap the encrypted datagrams under werift's ICE and take the SRTP master key werift derived
 * from DTLS, then unprotect every packet with our SrtpContext and parse it with our RTP/RTCP
 * codecs. Once with Chromium as DTLS server (it picks AES_CM_128_HMAC_SHA1_80) and once as DTLS
 * client (werift picks AEAD_AES_128_GCM). And the other way: Chromium decodes RTP our SRTP
 * protected and counts PLIs our SRTCP carried.
 *
 * With RTCS_WRITE_FIXTURES=1 the decrypted packets are saved under src/rtp/fixtures/ for the
 * codec tests that run without Chromium.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { needs, PREREQS } from '../../test/helpers/prereq.js';
import { toHex } from '../core/bytes.js';
import { ProtocolError } from '../core/errors.js';
import { isRtcp, parseRtcp, type RtcpPacket, SDES_CNAME, serializeRtcp } from '../rtcp/index.js';
import {
  EXT_ABS_SEND_TIME,
  EXT_AUDIO_LEVEL,
  EXT_DEPENDENCY_DESCRIPTOR,
  EXT_MID,
  EXT_TRANSPORT_CC,
  findExtension,
  parseAbsSendTime,
  parseAudioLevel,
  parseDependencyDescriptor,
  parseRtp,
  parseSdesExtension,
  parseTransportCc,
  serializeRtp,
  type TemplateStructure,
} from '../rtp/index.js';
import { parseSdp } from '../sdp/parse.js';
import { SrtpContext, srtpProfileById } from './index.js';

interface Capture {
  profileId: number;
  key: Uint8Array;
  salt: Uint8Array;
  datagrams: Uint8Array[];
  /** The answer: its extmaps are what was negotiated. */
  answer: string;
}

// biome-ignore lint/suspicious/noExplicitAny: werift's internals (transports, ICE connection) are untyped here
type Any = any;

const opts = needs(PREREQS.chromium);
let ctx: BrowserContext | undefined;
let page: Page | undefined;
let server: ReturnType<typeof createServer> | undefined;
let dir: string | undefined;

before(async () => {
  if (opts.skip) return;
  const { chromium } = await import('playwright-core');
  server = createServer((_q, r) => r.end('<html></html>'));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  dir = mkdtempSync(join(tmpdir(), 'rtcs-srtp-'));
  ctx = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: false,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--allow-loopback-in-peer-connection',
    ],
  });
  await ctx.route(
    () => true,
    (r) => (r.request().url().startsWith('http://127.0.0.1') ? r.continue() : r.abort()),
  );
  page = ctx.pages()[0] ?? (await ctx.newPage());
  const addr = server.address();
  await page.goto(`http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`);
});

after(async () => {
  await ctx?.close();
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * werift's close() leaves its ICE UDP sockets open; record the sockets made while it runs and
 * close them ourselves so the test process can exit.
 */
async function withSocketsClosed<T>(fn: () => Promise<T>): Promise<T> {
  const original = dgram.createSocket;
  const made: dgram.Socket[] = [];
  (dgram as Any).createSocket = (...args: Any[]) => {
    const sock = (original as Any)(...args);
    made.push(sock);
    return sock;
  };
  // werift's ESM build imports { createSocket } from 'dgram': named builtin bindings follow only after a sync.
  syncBuiltinESMExports();
  try {
    return await fn();
  } finally {
    (dgram as Any).createSocket = original;
    syncBuiltinESMExports();
    for (const sock of made) {
      try {
        sock.close();
      } catch {
        // already closed
      }
    }
  }
}

async function capture(chromiumOffers: boolean): Promise<Capture> {
  return withSocketsClosed(() => captureInner(chromiumOffers));
}

async function captureInner(chromiumOffers: boolean): Promise<Capture> {
  const w = (await import('werift')) as Any;
  const common = [w.useSdesMid(), w.useAbsSendTime(), w.useTransportWideCC()];
  const wpc = new w.RTCPeerConnection({
    iceServers: [],
    iceAdditionalHostAddresses: ['127.0.0.1'],
    headerExtensions: {
      audio: [...common, w.useAudioLevelIndication()],
      video: [...common, w.useVideoOrientation(), w.useDependencyDescriptor()],
    },
  });
  const datagrams: Uint8Array[] = [];
  let tapped = false;
  const tap = (): void => {
    const dt = wpc.getTransceivers()[0]?.receiver.dtlsTransport;
    if (tapped || !dt) return;
    tapped = true;
    dt.iceTransport.connection.onData.subscribe((d: Buffer) => {
      if (datagrams.length < 4000) datagrams.push(Uint8Array.from(d));
    });
  };
  try {
    let chromiumSdp: string;
    if (chromiumOffers) {
      chromiumSdp = await page!.evaluate(async () => {
        const s = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
        const pc = new RTCPeerConnection();
        (globalThis as Any).pc = pc;
        for (const t of s.getTracks()) pc.addTransceiver(t, { direction: 'sendonly' });
        await pc.setLocalDescription();
        await new Promise<void>((r) => {
          if (pc.iceGatheringState === 'complete') r();
          pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
        });
        return pc.localDescription!.sdp;
      });
      await wpc.setRemoteDescription({ type: 'offer', sdp: chromiumSdp });
      await wpc.setLocalDescription(await wpc.createAnswer());
      tap();
      await sleep(1000);
      await page!.evaluate(
        async (sdp) => (globalThis as Any).pc.setRemoteDescription({ type: 'answer', sdp }),
        wpc.localDescription.sdp,
      );
    } else {
      wpc.addTransceiver('audio', { direction: 'recvonly' });
      wpc.addTransceiver('video', { direction: 'recvonly' });
      await wpc.setLocalDescription(await wpc.createOffer());
      tap();
      await sleep(1000);
      chromiumSdp = await page!.evaluate(async (sdp) => {
        const s = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
        const pc = new RTCPeerConnection();
        (globalThis as Any).pc = pc;
        await pc.setRemoteDescription({ type: 'offer', sdp });
        for (const tr of pc.getTransceivers()) {
          const track = s.getTracks().find((t) => t.kind === tr.receiver.track.kind)!;
          await tr.sender.replaceTrack(track);
          tr.direction = 'sendonly';
          await tr.sender.setStreams?.(s);
        }
        await pc.setLocalDescription();
        await new Promise<void>((r) => {
          if (pc.iceGatheringState === 'complete') r();
          pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
        });
        return pc.localDescription!.sdp;
      }, wpc.localDescription.sdp);
      await wpc.setRemoteDescription({ type: 'answer', sdp: chromiumSdp });
    }
    // Collect about 3 s of media after DTLS is up.
    for (let i = 0; i < 100 && wpc.getTransceivers()[0]?.receiver.dtlsTransport?.srtp === undefined; i++)
      await sleep(100);
    await sleep(3000);
    const dt = wpc.getTransceivers()[0].receiver.dtlsTransport;
    const rc = dt.srtp.remoteContext;
    return {
      profileId: dt.dtls.srtp.srtpProfile,
      key: Uint8Array.from(rc.masterKey),
      // werift keeps a 14-byte salt for GCM too; the exporter output is one stream, so for the
      // DTLS client's keys (ours to read here) its first 12 bytes are the RFC 7714 salt.
      salt: Uint8Array.from(rc.masterSalt).subarray(
        0,
        srtpProfileById(dt.dtls.srtp.srtpProfile)?.saltLength ?? 14,
      ),
      datagrams: datagrams.filter((d) => d[0]! >= 128 && d[0]! <= 191),
      answer: chromiumOffers ? wpc.localDescription.sdp : chromiumSdp,
    };
  } finally {
    await page!.evaluate(() => (globalThis as Any).pc?.close());
    await wpc.close();
  }
}

function check(c: Capture, expectedProfile: string): { rtp: Uint8Array[]; rtcp: Uint8Array[] } {
  const profile = srtpProfileById(c.profileId);
  assert.equal(profile?.name, expectedProfile);
  const ctx = new SrtpContext(profile!, { key: c.key, salt: c.salt });
  const sdp = parseSdp(c.answer);
  const extId = (kind: string, uri: string): number => {
    const e = sdp.media.find((m) => m.kind === kind)?.extmaps.find((x) => x.uri === uri);
    assert.ok(e, `${uri} negotiated for ${kind}`);
    return e.id;
  };
  const midId = extId('video', EXT_MID);
  assert.equal(extId('audio', EXT_MID), midId, 'BUNDLE: one id per URI');
  const twccId = extId('video', EXT_TRANSPORT_CC);
  const astId = extId('video', EXT_ABS_SEND_TIME);
  const levelId = extId('audio', EXT_AUDIO_LEVEL);
  const ddId = sdp.media
    .find((m) => m.kind === 'video')
    ?.extmaps.find((x) => x.uri === EXT_DEPENDENCY_DESCRIPTOR)?.id;
  let structure: TemplateStructure | undefined;
  let descriptors = 0;
  let levels = 0;
  const rtp: Uint8Array[] = [];
  const rtcp: Uint8Array[] = [];
  const mids = new Map<string, number>();
  const twcc: number[] = [];
  let sawSr = false;
  let sawCname = false;
  for (const d of c.datagrams) {
    if (isRtcp(d)) {
      const plain = ctx.unprotectRtcp(d);
      const packets = parseRtcp(plain);
      assert.equal(toHex(serializeRtcp(packets)), toHex(plain), 'RTCP re-serializes byte for byte');
      for (const p of packets) {
        if (p.type === 'sr') sawSr = true;
        if (
          p.type === 'sdes' &&
          p.chunks.some((ch) => ch.items.some((it) => it.type === SDES_CNAME && it.value.length > 0))
        ) {
          sawCname = true;
        }
      }
      rtcp.push(plain);
    } else {
      const plain = ctx.unprotectRtp(d);
      const p = parseRtp(plain);
      assert.equal(toHex(serializeRtp(p)), toHex(plain), 'RTP re-serializes byte for byte');
      const mid = findExtension(p, midId);
      if (mid) mids.set(parseSdesExtension(mid), (mids.get(parseSdesExtension(mid)) ?? 0) + 1);
      const seq = findExtension(p, twccId);
      if (seq) twcc.push(parseTransportCc(seq));
      const ast = findExtension(p, astId);
      assert.ok(ast && parseAbsSendTime(ast) < 2 ** 24, 'abs-send-time on every packet');
      const level = findExtension(p, levelId);
      if (level && parseAudioLevel(level).level <= 127) levels++;
      const dd = ddId === undefined ? undefined : findExtension(p, ddId);
      if (dd) {
        const d = parseDependencyDescriptor(dd, structure);
        structure = d.structure ?? structure;
        if (d.frame) descriptors++;
      }
      rtp.push(plain);
      // Replay protection on real traffic.
      if (rtp.length === 10)
        assert.throws(
          () => ctx.unprotectRtp(d),
          (e: unknown) => e instanceof ProtocolError && e.code === 'ERR_SRTP_REPLAY',
        );
    }
  }
  assert.ok(rtp.length > 100, `${rtp.length} RTP packets`);
  assert.ok(rtcp.length > 0, 'some RTCP');
  assert.ok(sawSr, 'a sender report');
  assert.ok(sawCname, 'SDES carries a CNAME');
  assert.deepEqual(
    [...mids.keys()].sort(),
    sdp.media.map((m) => m.mid!).sort(),
    'mid extension names both sections',
  );
  assert.ok(levels > 10, `${levels} audio levels`);
  if (ddId !== undefined) assert.ok(descriptors > 10, `${descriptors} dependency descriptors resolved`);
  // Transport-wide sequence numbers: one per packet across both streams (a loaded machine may drop
  // a few datagrams on loopback, so allow small gaps).
  const sorted = [...new Set(twcc)].sort((a, b) => a - b);
  assert.ok(sorted.length > 100);
  const span = sorted[sorted.length - 1]! - sorted[0]! + 1;
  assert.ok(sorted.length >= 0.95 * span, `${sorted.length} transport-cc numbers over a span of ${span}`);
  return { rtp, rtcp };
}

test(
  'Chromium offers (DTLS server): our AES_CM_128_HMAC_SHA1_80 unprotects its SRTP/SRTCP',
  opts,
  async () => {
    const c = await capture(true);
    const { rtp, rtcp } = check(c, 'SRTP_AES128_CM_HMAC_SHA1_80');
    if (process.env.RTCS_WRITE_FIXTURES) {
      const fixtures = new URL('../rtp/fixtures/', import.meta.url);
      writeFileSync(
        new URL('chromium-rtp.json', fixtures),
        JSON.stringify({ sdp: c.answer, packets: rtp.slice(0, 200).map((p) => toHex(p)) }, null, 1),
      );
      writeFileSync(
        new URL('chromium-rtcp.json', fixtures),
        JSON.stringify({ packets: rtcp.slice(0, 40).map((p) => toHex(p)) }, null, 1),
      );
    }
  },
);

test('Chromium answers (DTLS client): our AEAD_AES_128_GCM unprotects its SRTP/SRTCP', opts, async () => {
  check(await capture(false), 'SRTP_AEAD_AES_128_GCM');
});

/**
 * The other direction: Chromium's own video and audio come back to it re-protected by our SRTP
 * (new SSRCs, same MIDs), and we send it PLIs through our SRTCP. Chromium must decode the echoed
 * frames and count the PLIs.
 */
test('our protect: Chromium decodes RTP we protect and counts PLIs we send', opts, async () => {
  await withSocketsClosed(async () => {
    const w = (await import('werift')) as Any;
    const common = [w.useSdesMid(), w.useAbsSendTime(), w.useTransportWideCC()];
    const wpc = new w.RTCPeerConnection({
      iceServers: [],
      iceAdditionalHostAddresses: ['127.0.0.1'],
      headerExtensions: { audio: common, video: common },
    });
    try {
      const offer = await page!.evaluate(async () => {
        const s = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
        const pc = new RTCPeerConnection();
        (globalThis as Any).pc = pc;
        for (const t of s.getTracks()) pc.addTransceiver(t, { direction: 'sendrecv', streams: [s] });
        await pc.setLocalDescription();
        await new Promise<void>((r) => {
          if (pc.iceGatheringState === 'complete') r();
          pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
        });
        return pc.localDescription!.sdp;
      });
      await wpc.setRemoteDescription({ type: 'offer', sdp: offer });
      for (const t of wpc.getTransceivers()) t.setDirection('sendrecv');
      await wpc.setLocalDescription(await wpc.createAnswer());
      await sleep(1000);
      await page!.evaluate(
        async (sdp) => (globalThis as Any).pc.setRemoteDescription({ type: 'answer', sdp }),
        wpc.localDescription.sdp,
      );
      for (let i = 0; i < 100 && wpc.getTransceivers()[0]?.receiver.dtlsTransport?.srtp === undefined; i++)
        await sleep(100);
      const dt = wpc.getTransceivers()[0].receiver.dtlsTransport;
      const profile = srtpProfileById(dt.srtp.config.profile)!;
      const saltOf = (b: Buffer) => Uint8Array.from(b).subarray(0, profile.saltLength);
      const remote = new SrtpContext(profile, {
        key: Uint8Array.from(dt.srtp.remoteContext.masterKey),
        salt: saltOf(dt.srtp.remoteContext.masterSalt),
      });
      const local = new SrtpContext(profile, {
        key: Uint8Array.from(dt.srtp.localContext.masterKey),
        salt: saltOf(dt.srtp.localContext.masterSalt),
      });
      const connection = dt.iceTransport.connection;
      const videoSsrcs = new Set<number>();
      let echoed = 0;
      const feedback: RtcpPacket[] = [];
      let exactFeedback = 0;
      let feedbackDatagrams = 0;
      connection.onData.subscribe((d: Buffer) => {
        if (d[0]! < 128 || d[0]! > 191) return;
        if (isRtcp(d)) {
          try {
            const plain = remote.unprotectRtcp(d);
            feedback.push(...parseRtcp(plain));
            // Byte for byte, RTCP padding (Chromium pads transport-cc feedback) included; a
            // transport-cc packet may come back with other (equally valid) chunk choices.
            feedbackDatagrams++;
            if (toHex(serializeRtcp(parseRtcp(plain))) === toHex(plain)) exactFeedback++;
          } catch {
            // werift's own stream state is not ours to mirror; count only what parses
          }
          return;
        }
        let p: ReturnType<typeof parseRtp>;
        try {
          p = parseRtp(remote.unprotectRtp(d));
        } catch {
          return;
        }
        if (p.payloadType === 96) videoSsrcs.add(p.ssrc);
        // A new SSRC: Chromium routes it by the MID extension it carries.
        connection
          .send(Buffer.from(local.protectRtp(serializeRtp({ ...p, ssrc: (p.ssrc ^ 0x5a5a5a5a) >>> 0 }))))
          .catch(() => {});
        echoed++;
      });
      for (let i = 0; i < 8; i++) {
        await sleep(500);
        for (const mediaSsrc of videoSsrcs) {
          const pli = serializeRtcp([{ type: 'pli', senderSsrc: 0x0badcafe, mediaSsrc }]);
          connection.send(Buffer.from(local.protectRtcp(pli))).catch(() => {});
        }
      }
      const stats = (await page!.evaluate(async () => {
        const out: Record<string, number>[] = [];
        (await (globalThis as Any).pc.getStats()).forEach((r: Any) => {
          if (r.type === 'inbound-rtp' || r.type === 'outbound-rtp') {
            out.push({
              inbound: r.type === 'inbound-rtp' ? 1 : 0,
              video: r.kind === 'video' ? 1 : 0,
              packetsReceived: r.packetsReceived ?? 0,
              framesDecoded: r.framesDecoded ?? 0,
              pliCount: r.pliCount ?? 0,
            });
          }
        });
        return out;
      })) as Record<string, number>[];
      assert.ok(echoed > 100, `${echoed} packets echoed`);
      const inVideo = stats.find((r) => r.inbound && r.video);
      const inAudio = stats.find((r) => r.inbound && !r.video);
      const outVideo = stats.find((r) => !r.inbound && r.video);
      assert.ok((inVideo?.packetsReceived ?? 0) > 50, `video packets received ${JSON.stringify(stats)}`);
      assert.ok((inVideo?.framesDecoded ?? 0) > 10, `video frames decoded ${JSON.stringify(stats)}`);
      assert.ok((inAudio?.packetsReceived ?? 0) > 50, `audio packets received ${JSON.stringify(stats)}`);
      assert.ok((outVideo?.pliCount ?? 0) > 0, `PLIs counted ${JSON.stringify(stats)}`);
      // Chromium reports on the streams we sent it: receiver reports and transport-cc feedback
      // for the sequence numbers our packets carried; our codec reads them and writes them back.
      const echoedSsrcs = new Set([...videoSsrcs].map((x) => (x ^ 0x5a5a5a5a) >>> 0));
      const blocks = feedback.flatMap((f) => (f.type === 'rr' || f.type === 'sr' ? f.reports : []));
      assert.ok(
        blocks.some((b) => echoedSsrcs.has(b.ssrc)),
        'report blocks about our video SSRC',
      );
      const twcc = feedback.filter((f) => f.type === 'twcc');
      assert.ok(twcc.length > 5, `${twcc.length} transport-cc feedback packets`);
      const received = twcc.flatMap((f) => f.packets.filter((x) => x.received)).length;
      assert.ok(received > 50, `${received} packets acknowledged`);
      // Padding is kept only for exact re-serialization, which a transport-cc packet re-encoded with
      // other (equally valid) chunk choices cannot keep (its body length changes): compare without.
      for (const f of feedback) {
        const { padding: _padding, ...bare } = f;
        assert.deepEqual(parseRtcp(serializeRtcp([bare as RtcpPacket])), [bare]);
      }
      assert.ok(
        exactFeedback >= 0.8 * feedbackDatagrams,
        `${exactFeedback} of ${feedbackDatagrams} byte for byte`,
      );
    } finally {
      await page!.evaluate(() => (globalThis as Any).pc?.close());
      await wpc.close();
    }
  });
});
