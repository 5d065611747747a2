/**
 * Data channels through the SFU: the relay frame codec (round trip, fuzz, the browser client's
 * encoder and decoder agree with the server's), the relay's rules on fake channels (broadcast,
 * to-one, the sender id set by the server, backpressure drops, garbage), and chat plus a file
 * between rtcstack peer connections through a real SfuServer on loopback.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { decodeRelayFrame, encodeRelayFrame } from '../../src/client/sfu.js';
import { ParseError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { SeededRandom } from '../../src/core/random.js';
import { type RTCDataChannel, RTCPeerConnection } from '../../src/peer/index.js';
import type { ServerMessage } from '../../src/protocol/signaling.js';
import {
  DataRelay,
  parseRelayFrame,
  RELAY_MAX_BUFFERED,
  RELAY_MAX_PENDING,
  type RelayChannel,
  serializeRelayFrame,
} from '../../src/server/sfu/data-relay.js';
import { SfuServer } from '../../src/server/sfu/sfu-server.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

test('relay frame: round trip, and the browser codec agrees with the server codec', () => {
  const frames = [
    { peer: '', text: true, payload: new TextEncoder().encode('{"t":"start"}') },
    { peer: 'p0123456789abcdef', text: false, payload: Uint8Array.of(0, 1, 2, 255) },
    { peer: 'ü', text: false, payload: new Uint8Array(0) },
  ];
  for (const f of frames) {
    const bytes = serializeRelayFrame(f);
    assert.deepEqual(parseRelayFrame(bytes), f);
    const enc = encodeRelayFrame(f.peer, f.text ? text(f.payload) : f.payload);
    assert.deepEqual(enc, bytes, 'client encoder = server serializer');
    const dec = decodeRelayFrame(bytes)!;
    assert.equal(dec.peer, f.peer);
    if (f.text) assert.equal(dec.data, text(f.payload));
    else assert.deepEqual(new Uint8Array(dec.data as ArrayBuffer), f.payload);
  }
  assert.throws(() => parseRelayFrame(Uint8Array.of(0x02, 0)), ParseError, 'reserved flag bits');
  assert.throws(() => parseRelayFrame(Uint8Array.of(0, 5, 65)), ParseError, 'short peer id');
  assert.throws(
    () => parseRelayFrame(Uint8Array.of(0, 65, ...new Uint8Array(65))),
    ParseError,
    'id too long',
  );
  assert.throws(() => parseRelayFrame(Uint8Array.of(0, 1, 0xff)), ParseError, 'id not UTF-8');
  assert.equal(decodeRelayFrame(Uint8Array.of(0, 5, 65)), undefined);
});

test('fuzz: random and mutated relay frames give a value or ParseError; values round-trip', () => {
  const rnd = new SeededRandom(1010);
  const seed = serializeRelayFrame({ peer: 'abc', text: true, payload: Uint8Array.of(1, 2, 3, 4) });
  let ok = 0;
  for (let i = 0; i < 20000; i++) {
    let input: Uint8Array;
    if (i % 2 === 0) input = rnd.bytes(rnd.int(80));
    else {
      input = Uint8Array.from(seed);
      for (let k = 0; k < 1 + rnd.int(3); k++) input[rnd.int(input.length)] = rnd.u32() & 0xff;
    }
    try {
      const f = parseRelayFrame(input);
      assert.deepEqual(serializeRelayFrame(f), input);
      ok++;
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
    }
    // The browser decoder never throws either.
    decodeRelayFrame(input);
  }
  assert.ok(ok > 100, `${ok} valid frames`);
});

class FakeChannel implements RelayChannel {
  readyState = 'open';
  bufferedAmount = 0;
  readonly sent: (string | Uint8Array)[] = [];
  send(data: string | Uint8Array): void {
    this.sent.push(data);
  }
}

test('relay: chat to everyone else or to one, sender id from the server, files relayed by recipient', () => {
  const relay = new DataRelay();
  const ch = new Map<string, { chat: FakeChannel; file: FakeChannel }>();
  for (const id of ['a', 'b', 'c']) {
    const c = { chat: new FakeChannel(), file: new FakeChannel() };
    ch.set(id, c);
    relay.attach(id, c);
  }
  relay.chat('a', JSON.stringify({ text: 'hi all', name: 'ann', at: 5, from: 'spoofed' }));
  assert.equal(ch.get('a')!.chat.sent.length, 0, 'not echoed to the sender');
  for (const id of ['b', 'c']) {
    const m = JSON.parse(ch.get(id)!.chat.sent[0] as string);
    assert.deepEqual(m, { from: 'a', text: 'hi all', name: 'ann', at: 5 });
  }
  relay.chat('b', JSON.stringify({ text: 'just you', name: 'bob', to: 'c' }));
  assert.equal(ch.get('a')!.chat.sent.length, 0);
  assert.equal(JSON.parse(ch.get('c')!.chat.sent[1] as string).text, 'just you');
  relay.chat('b', JSON.stringify({ text: 'nobody', to: 'zzz' }));
  relay.chat('b', '{not json');
  relay.chat('b', JSON.stringify({ text: 7 }));
  relay.chat('b', new Uint8Array(3));
  assert.equal(relay.stats.malformed, 3);
  assert.equal(ch.get('c')!.chat.sent.length, 2, 'unknown recipient and garbage relayed nowhere');

  // Files: broadcast upload, relayed with the sender's id.
  relay.file('c', encodeRelayFrame('', '{"t":"start"}'));
  relay.file('c', encodeRelayFrame('', Uint8Array.of(9, 9)));
  for (const id of ['a', 'b']) {
    const got = ch.get(id)!.file.sent.map((d) => decodeRelayFrame(d as Uint8Array)!);
    assert.deepEqual(
      got.map((f) => f.peer),
      ['c', 'c'],
    );
    assert.equal(got[0]!.data, '{"t":"start"}');
    assert.deepEqual(new Uint8Array(got[1]!.data as ArrayBuffer), Uint8Array.of(9, 9));
  }
  // To one; then the recipient's channel is over the limit: dropped and counted, not queued.
  relay.file('a', encodeRelayFrame('b', Uint8Array.of(1)));
  assert.equal(ch.get('b')!.file.sent.length, 3);
  assert.equal(ch.get('c')!.file.sent.length, 0);
  ch.get('b')!.file.bufferedAmount = RELAY_MAX_BUFFERED + 1;
  relay.file('a', encodeRelayFrame('b', Uint8Array.of(2)));
  assert.equal(ch.get('b')!.file.sent.length, 3);
  assert.equal(relay.stats.dropped, 1);
  relay.file('a', 'text on the file channel');
  relay.file('a', Uint8Array.of(0x80, 0));
  assert.equal(relay.stats.malformed, 5);
  // A participant that left gets nothing.
  relay.detach('b');
  relay.chat('a', JSON.stringify({ text: 'after b left' }));
  assert.equal(ch.get('b')!.chat.sent.length, 1);
});

test('relay: frames for a receiver whose channel is still connecting are held and sent in order when it opens', () => {
  const relay = new DataRelay();
  const a = { chat: new FakeChannel(), file: new FakeChannel() };
  const late = { chat: new FakeChannel(), file: new FakeChannel() };
  late.chat.readyState = late.file.readyState = 'connecting';
  relay.attach('a', a);
  relay.attach('late', late);
  // A file sent the moment the room moved to the SFU: start, chunks, end, before late's channel opened.
  const chunks = [Uint8Array.of(1, 2), Uint8Array.of(3), Uint8Array.of(4, 5, 6)];
  relay.file('a', encodeRelayFrame('', '{"t":"start"}'));
  for (const c of chunks.slice(0, 2)) relay.file('a', encodeRelayFrame('', c));
  relay.chat('a', JSON.stringify({ text: 'early' }));
  assert.equal(late.file.sent.length + late.chat.sent.length, 0, 'nothing sent on a connecting channel');
  assert.equal(relay.stats.held, 4);
  // The chat channel opens first; the file channel a little later, while the upload goes on.
  late.chat.readyState = 'open';
  relay.opened('late');
  assert.deepEqual(
    late.chat.sent.map((d) => JSON.parse(d as string).text),
    ['early'],
  );
  assert.equal(late.file.sent.length, 0, 'the file channel is still connecting');
  late.file.readyState = 'open';
  relay.file('a', encodeRelayFrame('', chunks[2]!)); // opened, but before `opened` ran: stays behind
  relay.opened('late');
  relay.file('a', encodeRelayFrame('', '{"t":"end"}'));
  const got = late.file.sent.map((d) => decodeRelayFrame(d as Uint8Array)!);
  assert.deepEqual(
    got.map((f) => (typeof f.data === 'string' ? f.data : [...new Uint8Array(f.data)])),
    ['{"t":"start"}', [1, 2], [3], [4, 5, 6], '{"t":"end"}'],
    'the whole transfer, in order',
  );
  assert.ok(got.every((f) => f.peer === 'a'));
  assert.equal(relay.stats.fileBytesOut, '{"t":"start"}'.length + 6 + '{"t":"end"}'.length);
  // A channel that closed holds nothing; past RELAY_MAX_PENDING frames are dropped, not held.
  late.file.readyState = 'closed';
  relay.file('a', encodeRelayFrame('', Uint8Array.of(7)));
  assert.equal(late.file.sent.length, 5);
  const slow = { chat: new FakeChannel(), file: new FakeChannel() };
  slow.file.readyState = 'connecting';
  relay.attach('slow', slow);
  const big = new Uint8Array(1024 * 1024);
  const dropped = relay.stats.dropped;
  for (let i = 0; i < 5; i++) relay.file('a', encodeRelayFrame('slow', big));
  assert.equal(relay.stats.dropped, dropped + 2, `at most ${RELAY_MAX_PENDING} bytes held`);
  slow.file.readyState = 'open';
  relay.opened('slow');
  assert.equal(slow.file.sent.length, 3);
});

const OPTS = { includeLoopback: true, ipv6: false };

async function waitFor(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A participant with only data (no media): the publishing connection carries the two channels. */
class DataClient {
  readonly pc = new RTCPeerConnection({}, OPTS);
  readonly chat: RTCDataChannel;
  readonly file: RTCDataChannel;
  readonly chats: { from: string; text: string }[] = [];
  readonly files: { from: string; data: string | Uint8Array }[] = [];
  constructor(
    readonly id: string,
    readonly sfu: SfuServer,
  ) {
    this.chat = this.pc.createDataChannel('chat', { negotiated: true, id: 0 });
    this.file = this.pc.createDataChannel('file', { negotiated: true, id: 1 });
    this.chat.onmessage = (e) => this.chats.push(JSON.parse((e as MessageEvent).data as string));
    this.file.onmessage = (e) => {
      const f = decodeRelayFrame((e as MessageEvent).data as ArrayBuffer)!;
      this.files.push({
        from: f.peer,
        data: typeof f.data === 'string' ? f.data : new Uint8Array(f.data),
      });
    };
    this.pc.onicecandidate = (e) => {
      if (e.candidate)
        sfu.handle('r', id, {
          v: 1,
          type: 'sfu-candidate',
          pc: 'pub',
          candidate: e.candidate.toJSON() as never,
        });
    };
  }
  async offer(): Promise<void> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    this.sfu.handle('r', this.id, { v: 1, type: 'sfu-offer', pc: 'pub', sdp: this.pc.localDescription!.sdp });
  }
  async onMessage(m: ServerMessage): Promise<void> {
    if (m.type === 'sfu-answer') await this.pc.setRemoteDescription({ type: 'answer', sdp: m.sdp });
    else if (m.type === 'sfu-candidate' && m.pc === 'pub') await this.pc.addIceCandidate(m.candidate);
  }
}

test('chat and a file between rtcstack peers through the SfuServer (data-only participants)', async () => {
  const sfu = new SfuServer({ log: silentLogger, peerOptions: OPTS });
  const clients = new Map<string, DataClient>();
  let chain = Promise.resolve();
  sfu.attach({
    send: (_room, peerId, msg) => {
      const c = peerId === undefined ? undefined : clients.get(peerId);
      if (c) chain = chain.then(() => c.onMessage(msg)).catch(() => {});
    },
  });
  try {
    sfu.openRoom('r', ['A', 'B', 'C']);
    for (const id of ['A', 'B', 'C']) clients.set(id, new DataClient(id, sfu));
    for (const c of clients.values()) await c.offer();
    const [a, b, c] = [clients.get('A')!, clients.get('B')!, clients.get('C')!];
    await waitFor(
      () => [...clients.values()].every((x) => x.chat.readyState === 'open'),
      'chat channels open',
    );
    await waitFor(
      () => [...clients.values()].every((x) => x.file.readyState === 'open'),
      'file channels open',
    );
    // The server's ends open on their own schedule (SCTP COOKIE-ACK): wait for them too.
    await waitFor(
      () => ['A', 'B', 'C'].every((id) => sfu.relay('r')!.ready(id)),
      "the server's channels open",
    );
    a.chat.send(JSON.stringify({ text: 'hello from A', name: 'ann', at: 1 }));
    b.chat.send(JSON.stringify({ text: 'secret for C', name: 'bob', at: 2, to: 'C' }));
    await waitFor(() => b.chats.length === 1 && c.chats.length === 2, 'chat relayed');
    assert.deepEqual(b.chats[0], { from: 'A', text: 'hello from A', name: 'ann', at: 1 });
    assert.deepEqual(c.chats.map((m) => `${m.from}:${m.text}`).sort(), ['A:hello from A', 'B:secret for C']);
    assert.equal(a.chats.length, 0, 'nothing to A: its own broadcast and a private message to C');
    // A 600 KB file from C to everyone, in 16 KiB relay frames.
    const data = randomBytes(600 * 1024);
    c.file.send(encodeRelayFrame('', '{"t":"start","id":"f1","name":"x.bin"}') as Uint8Array<ArrayBuffer>);
    for (let off = 0; off < data.length; off += 16384)
      c.file.send(encodeRelayFrame('', data.subarray(off, off + 16384)) as Uint8Array<ArrayBuffer>);
    c.file.send(encodeRelayFrame('', '{"t":"end","id":"f1"}') as Uint8Array<ArrayBuffer>);
    const ends = (x: DataClient) => x.files.some((f) => f.data === '{"t":"end","id":"f1"}');
    await waitFor(() => ends(a) && ends(b), 'the file at A and B', 60_000);
    for (const x of [a, b]) {
      assert.ok(x.files.every((f) => f.from === 'C'));
      const bytes = Buffer.concat(x.files.flatMap((f) => (typeof f.data === 'string' ? [] : [f.data])));
      assert.equal(
        createHash('sha256').update(bytes).digest('hex'),
        createHash('sha256').update(data).digest('hex'),
      );
    }
    assert.equal(c.files.length, 0);
    await chain;
  } finally {
    sfu.close();
    for (const c of clients.values()) c.pc.close();
  }
});
