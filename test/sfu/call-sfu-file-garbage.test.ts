/**
 * Real Chromium call pages in an SFU room (`rtcstack serve`, rooms of three in SFU mode):
 * - a 200 KB file sent by one page goes up once to the SFU and arrives byte-identical (SHA-256) at
 *   the two others: sent the moment the room is in SFU mode (before every page's data channels
 *   to the SFU are open), and again once everything is settled;
 * - garbage on the SFU's UDP ports (random bytes, RTP/RTCP-looking, DTLS-looking, STUN-looking
 *   junk, from a socket of the test on 127.0.0.1) while it serves: every page keeps decoding
 *   every other, no connection drops, the SFU refuses the STUN junk (error responses), and the
 *   process stays up; /metrics counts the junk as dropped by ICE (no pair has that address);
 * - the same junk forged from the pages' own addresses reaches the demultiplexer, DTLS and SRTP:
 *   each layer's dropped-datagram counter rises on /metrics, and still every page decodes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hasCommand, isRoot, needs, PREREQS } from '../helpers/prereq.js';
import { openCall, sha256, snapshot, waitSnap } from '../serve/call-helpers.js';
import { until } from '../serve/helpers.js';
import { framesFrom, othersOf, sfuOf, waitDecodingAll, withSfuCall } from './call-sfu-helpers.js';

const ROOM = 'data';

/** rtcstack_sfu_dropped_datagrams_total by reason, as the server's /metrics shows it. */
async function droppedOnMetrics(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^rtcstack_sfu_dropped_datagrams_total\{reason="([a-z_]+)"\} (\d+)$/gm))
    out.set(m[1]!, Number(m[2]));
  return out;
}

/** How much each reason rose from `before` to `now`. */
const rise = (before: Map<string, number>, now: Map<string, number>, reason: string): number =>
  (now.get(reason) ?? 0) - (before.get(reason) ?? 0);

/** Forged datagrams need a raw socket: root, and python3 to open one. */
const RAW_SOCKETS = {
  name: 'root and python3 (raw sockets)',
  install: 'run as root; apt-get install -y python3',
  ok: () => isRoot() && hasCommand('python3'),
};

/**
 * Sends length-prefixed payloads from a file as UDP datagrams with a forged source (IPv4 raw
 * socket, header included; the kernel fills the IP checksum and id; UDP checksum 0 = none).
 * argv: source address, source port, destination address, destination port, file. Prints the count.
 */
const SPOOF = `
import socket, struct, sys
sip, sport, dip, dport, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
data = open(path, 'rb').read()
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
off = n = 0
while off < len(data):
    (l,) = struct.unpack('>H', data[off:off + 2]); off += 2
    p = data[off:off + l]; off += l
    udp = struct.pack('>HHHH', sport, dport, 8 + len(p), 0) + p
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, socket.inet_aton(sip), socket.inet_aton(dip))
    s.sendto(ip + udp, (dip, 0)); n += 1
print(n)
`;

describe('call page in an SFU room: a file through the SFU, garbage on its ports (Chromium)', {
  ...needs(PREREQS.chromium),
  timeout: 900_000,
}, () => {
  const call = withSfuCall();
  const { pages } = call;
  let self: string[] = [];

  /**
   * Every SFU connection is up and chat from page `from` still reaches the others. A connection may
   * pass through 'disconnected' while the junk and a loaded box delay consent checks (W3C: a state
   * it leaves by itself); it must be 'connected' again, never 'failed' or closed.
   */
  async function stillServing(from: number, text: string): Promise<void> {
    for (const id of self) {
      const c = sfuOf(call.server).connections(ROOM, id);
      for (const pc of [c.pub, c.sub]) {
        assert.ok(pc, `page ${id}: both SFU connections exist`);
        assert.notEqual(pc.connectionState, 'failed');
        await until(() => pc.connectionState === 'connected', `page ${id}: SFU connection connected`, 30_000);
      }
    }
    await pages[from]!.evaluate((t) => window.rtcstackCall.sendChat(t), text);
    for (const [i, p] of pages.entries())
      if (i !== from) await waitSnap(p, (s) => s.chat.some((c) => c.text === text), `chat at page ${i}`);
  }

  /** On failure: what the SFU relayed and what its file channels carried (which leg stalled). */
  async function dumpRelay<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      const sfu = sfuOf(call.server);
      console.error('relay', JSON.stringify(sfu.relay(ROOM)?.stats));
      for (const id of self) {
        const pub = sfu.connections(ROOM, id).pub;
        const report = await pub?.getStats();
        const rows: string[] = [];
        report?.forEach((s: Record<string, unknown>) => {
          if (s.type === 'data-channel') rows.push(JSON.stringify(s));
        });
        console.error(`server side of ${id}: sctp ${JSON.stringify(pub?.sctp)} ${rows.join(' ')}`);
      }
      throw err;
    }
  }

  /** `bytes` from page `from` arrives intact (name, size, SHA-256) at every other page. */
  async function sendAndCheck(from: number, name: string, bytes: Uint8Array): Promise<void> {
    const sent = await pages[from]!.evaluate(
      ([n, b64]) => window.rtcstackCall.sendFile(n!, b64!),
      [name, Buffer.from(bytes).toString('base64')],
    );
    assert.equal(sent.length, 2, 'one record per recipient');
    assert.ok(
      sent.every((r) => r.ok),
      `uploaded: ${JSON.stringify(sent)}`,
    );
    for (const [i, p] of pages.entries()) {
      if (i === from) continue;
      const s = await dumpRelay(
        waitSnap(
          p,
          (x) => x.files.some((f) => f.name === name && f.direction === 'in' && f.done),
          `${name} at page ${i}`,
          60_000,
        ),
      );
      const rec = s.files.find((f) => f.name === name && f.direction === 'in')!;
      assert.equal(rec.ok, true, `${name} at page ${i}: ${rec.error}`);
      assert.equal(rec.peer, self[from]);
      const b64 = await p.evaluate(
        ([id, n]) => window.rtcstackCall.receivedFile(id!, n!),
        [self[from]!, name],
      );
      assert.ok(b64, `${name}'s bytes at page ${i}`);
      assert.equal(sha256(Buffer.from(b64, 'base64')), sha256(bytes), `${name} byte-identical at page ${i}`);
    }
  }

  test('a 200 KB file from one page arrives byte-identical at the others', { timeout: 240_000 }, async () => {
    for (const name of ['ann', 'bob']) pages.push(await openCall(call.browser, call.server.url, ROOM, name));
    // The third page makes the room switch to SFU mode; ann sends as soon as its own channel to the
    // SFU opens, while the others may still be connecting theirs.
    pages.push(await openCall(call.browser, call.server.url, ROOM, 'cat'));
    self = await Promise.all(pages.map(async (p) => (await snapshot(p)).peerId));
    await waitSnap(
      pages[0]!,
      (s) => s.mode === 'sfu' && s.peers.length === 2 && s.peers.every((x) => x.fileOpen),
      'ann’s file channel to the SFU open',
    );
    await sendAndCheck(0, 'early.bin', randomBytes(200 * 1024));
    await waitDecodingAll(pages, othersOf(self), 'three pages decode each other through the SFU');
    await sendAndCheck(2, 'settled.bin', randomBytes(200 * 1024));
    assert.ok(
      sfuOf(call.server).relay(ROOM)!.stats.fileBytesOut >= 4 * 200 * 1024,
      'relayed once per recipient',
    );
  });

  test('garbage on the SFU’s UDP ports: forwarding goes on, the process stays up', {
    timeout: 240_000,
  }, async () => {
    const sfu = sfuOf(call.server);
    const room = sfu.room(ROOM)!;
    // Every UDP port the SFU's connections with the pages are bound to.
    const ports = new Set<number>();
    for (const id of self)
      for (const pc of Object.values(sfu.connections(ROOM, id))) {
        const report = await pc.getStats();
        report.forEach((s: { type: string; port?: number; address?: string }) => {
          if (s.type === 'local-candidate' && s.address === '127.0.0.1' && s.port) ports.add(s.port);
        });
      }
    assert.ok(ports.size >= 6, `the SFU's ports: ${[...ports].join(' ')}`);
    const before = await Promise.all(pages.map((p) => snapshot(p)));
    const forwardedBefore = room.stats.rtpOut;
    const droppedBefore = await droppedOnMetrics(call.server.url);

    const sock = createSocket('udp4');
    let stunErrors = 0;
    sock.on('message', (m) => {
      // A STUN error response (class bits 0b11 of a Binding) to our junk requests.
      if (m.length >= 20 && m[0] === 0x01 && m[1] === 0x11) stunErrors++;
    });
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
    try {
      let sent = 0;
      for (let round = 0; round < 40; round++) {
        for (const port of ports)
          for (const junk of garbage(round)) {
            sock.send(junk, port, '127.0.0.1');
            sent++;
          }
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.ok(sent > 3000, `${sent} datagrams of garbage`);
      // Media keeps flowing through the SFU to every page, from every page.
      await waitDecodingAll(
        pages,
        othersOf(self),
        'every page keeps decoding after the garbage',
        (i, id) => framesFrom(before[i]!, id),
        24,
      );
    } finally {
      sock.close();
    }
    assert.ok(stunErrors > 0, 'the SFU refused STUN-looking junk with error responses');
    assert.ok(room.stats.rtpOut > forwardedBefore + 500, 'the SFU kept forwarding');
    // From an address no pair has, every datagram stops at ICE (some may be lost in socket buffers).
    const dropped = await droppedOnMetrics(call.server.url);
    assert.ok(
      rise(droppedBefore, dropped, 'ice') > 1000,
      `dropped at ICE on /metrics: ${JSON.stringify(Object.fromEntries(dropped))}`,
    );
    await stillServing(1, 'after the garbage');
    const health = await fetch(`${call.server.url}/healthz`);
    assert.equal(health.status, 200, 'the server still answers');
  });

  test('garbage from the pages’ own addresses (spoofed, raw socket): forwarding goes on', {
    ...needs(PREREQS.chromium, RAW_SOCKETS),
    timeout: 240_000,
  }, async () => {
    const sfu = sfuOf(call.server);
    // Each SFU connection's selected pair: our port and the page's address, which the junk forges.
    const legs: { local: number; remote: string; port: number }[] = [];
    for (const id of self)
      for (const pc of Object.values(sfu.connections(ROOM, id))) {
        const stats = new Map<string, Record<string, unknown>>();
        (await pc.getStats()).forEach((x: Record<string, unknown>) => {
          stats.set(String(x.id), x);
        });
        const pair = [...stats.values()].find((x) => x.type === 'candidate-pair' && x.selected);
        const l = stats.get(String(pair?.localCandidateId));
        const r = stats.get(String(pair?.remoteCandidateId));
        if (l && r) legs.push({ local: Number(l.port), remote: String(r.address), port: Number(r.port) });
      }
    assert.equal(legs.length, 6, 'a selected pair on every connection');
    const before = await Promise.all(pages.map((p) => snapshot(p)));
    const droppedBefore = await droppedOnMetrics(call.server.url);
    const dir = mkdtempSync(join(tmpdir(), 'rtcs-junk-'));
    try {
      for (const [n, leg] of legs.entries()) {
        const frames: Buffer[] = [];
        for (let round = 0; round < 30; round++)
          for (const j of garbage(round))
            frames.push(Buffer.from([j.length >> 8, j.length & 0xff]), Buffer.from(j));
        const file = join(dir, `junk-${n}.bin`);
        writeFileSync(file, Buffer.concat(frames));
        const sent = execFileSync('python3', [
          '-c',
          SPOOF,
          leg.remote,
          String(leg.port),
          '127.0.0.1',
          String(leg.local),
          file,
        ])
          .toString()
          .trim();
        assert.ok(Number(sent) > 300, `${sent} forged datagrams to port ${leg.local}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await waitDecodingAll(
      pages,
      othersOf(self),
      'every page keeps decoding after the forged garbage',
      (i, id) => framesFrom(before[i]!, id),
      24,
    );
    await stillServing(2, 'after the forged garbage');
    // Each layer refused what was meant for it, and /metrics says so: STUN that does not
    // authenticate (ICE), first bytes no protocol owns (demux), DTLS-looking junk, RTP/RTCP without
    // a valid SRTP tag (or too short for one).
    const dropped = await droppedOnMetrics(call.server.url);
    const what = JSON.stringify(Object.fromEntries(dropped));
    assert.ok(rise(droppedBefore, dropped, 'ice') >= 6 * 30, `ICE: ${what}`);
    assert.ok(rise(droppedBefore, dropped, 'demux') > 0, `demux: ${what}`);
    const dtls = ['dtls_malformed', 'dtls_bad_record', 'dtls_replay', 'dtls_unknown_epoch'];
    // (Margins: forged datagrams may be lost in socket buffers.)
    assert.ok(dtls.reduce((a, r) => a + rise(droppedBefore, dropped, r), 0) >= 6 * 10, `DTLS: ${what}`);
    assert.ok(rise(droppedBefore, dropped, 'srtp_auth') >= 6 * 30, `SRTP tags: ${what}`);
    const srtp = ['srtp_auth', 'srtp_malformed', 'srtp_replay'];
    assert.ok(srtp.reduce((a, r) => a + rise(droppedBefore, dropped, r), 0) >= 6 * 30 * 2, `SRTP: ${what}`);
  });
});

/** One round of junk of every kind (RFC 7983 demultiplexing ranges: STUN, DTLS, RTP/RTCP, other). */
function garbage(round: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const rnd = (n: number) => new Uint8Array(randomBytes(n));
  // Random bytes of random sizes.
  for (let i = 0; i < 4; i++) out.push(rnd(1 + ((round * 37 + i * 101) % 1400)));
  // RTP-looking: version 2, random payload type, sequence, SSRC, payload (no valid SRTP tag).
  for (let i = 0; i < 4; i++) {
    const b = rnd(12 + ((round + i) % 300));
    b[0] = 0x80 | (b[0]! & 0x0f);
    b[1] = (b[1]! & 0x80) | (96 + (i % 32));
    out.push(b);
  }
  // RTCP-looking: PT 200-206, lengths that lie.
  for (let i = 0; i < 2; i++) {
    const b = rnd(8 + ((round * 3 + i) % 200));
    b[0] = 0x80 | (i % 32);
    b[1] = 200 + ((round + i) % 7);
    out.push(b);
  }
  // DTLS-looking: content type 20-23, version bytes, random epoch/length.
  const d = rnd(13 + (round % 100));
  d[0] = 20 + (round % 4);
  d[1] = 0xfe;
  d[2] = 0xfd;
  out.push(d);
  // STUN-looking: a Binding request with the magic cookie, a USERNAME that is not ours and a
  // MESSAGE-INTEGRITY that cannot verify (answered with an error); and one with a length that lies.
  out.push(stunJunk(round, true), stunJunk(round, false));
  return out;
}

function stunJunk(round: number, wellFormed: boolean): Uint8Array {
  const user = Buffer.from(`junk${round}:x`.padEnd(12, 'x'));
  const attrs = Buffer.concat([
    Buffer.from([0x00, 0x06, 0x00, user.length]),
    user,
    Buffer.from([0x00, 0x08, 0x00, 0x14]),
    randomBytes(20),
  ]);
  const head = Buffer.alloc(20);
  head.writeUInt16BE(0x0001, 0); // Binding request
  head.writeUInt16BE(wellFormed ? attrs.length : attrs.length + 400, 2);
  head.writeUInt32BE(0x2112a442, 4);
  randomBytes(12).copy(head, 8);
  return new Uint8Array(Buffer.concat([head, attrs]));
}
