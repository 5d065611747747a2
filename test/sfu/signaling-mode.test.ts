/** Signaling v1 SFU additions over real WebSockets: mode switching, SFU negotiation frames, events. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SfuClientMessage } from '../../src/server/signaling/protocol.js';
import type { SfuBackend, SfuOutput } from '../../src/server/signaling/sfu-backend.js';
import { nextMode } from '../../src/server/signaling/sfu-backend.js';
import { type Msg, startTestServer, TestClient, until } from '../serve/helpers.js';

/** Records what signaling asks of the SFU and answers offers like a server-side peer would. */
class FakeSfu implements SfuBackend {
  out: SfuOutput | undefined;
  readonly calls: string[] = [];
  readonly handled: { room: string; peer: string; msg: SfuClientMessage }[] = [];
  attach(out: SfuOutput): void {
    this.out = out;
  }
  openRoom(room: string, peers: readonly string[]): void {
    this.calls.push(`open ${room} ${peers.length}`);
    for (const p of peers) this.#offer(room, p);
  }
  closeRoom(room: string): void {
    this.calls.push(`close ${room}`);
  }
  addPeer(room: string, peer: string): void {
    this.calls.push(`add ${room}`);
    this.#offer(room, peer);
  }
  removePeer(room: string): void {
    this.calls.push(`remove ${room}`);
  }
  handle(room: string, peer: string, msg: SfuClientMessage): void {
    this.handled.push({ room, peer, msg });
    if (msg.type === 'sfu-offer')
      this.out!.send(room, peer, { v: 1, type: 'sfu-answer', pc: 'pub', sdp: `answer to ${msg.sdp}` });
  }
  mute(room: string, peer: string, kind: string, muted: boolean): void {
    this.calls.push(`mute ${room} ${peer} ${kind} ${muted}`);
  }
  close(): void {
    this.calls.push('closed');
  }
  #offer(room: string, peer: string): void {
    this.out!.send(room, peer, {
      v: 1,
      type: 'sfu-offer',
      pc: 'sub',
      sdp: 'v=0 sub',
      tracks: [{ mid: '0', peerId: 'px', kind: 'video' }],
    });
  }
}

test('mode policy: up at 5, down at 3, hysteresis in between', () => {
  const p = { switchAt: 5, backAt: 3 };
  assert.equal(nextMode('mesh', 4, p), 'mesh');
  assert.equal(nextMode('mesh', 5, p), 'sfu');
  assert.equal(nextMode('sfu', 4, p), 'sfu');
  assert.equal(nextMode('sfu', 3, p), 'mesh');
  assert.equal(nextMode('mesh', 3, p), 'mesh');
});

describe('signaling: SFU mode', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  const sfu = new FakeSfu();
  const clients: TestClient[] = [];
  const open = async (): Promise<TestClient> => {
    const c = await TestClient.open(srv.wsUrl);
    clients.push(c);
    return c;
  };
  before(async () => {
    srv = await startTestServer({ heartbeatIntervalMs: 600_000 }, { sfu });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await srv.close();
  });

  test('the fifth participant switches the room to SFU; back to mesh at three', async () => {
    const cs: TestClient[] = [];
    const welcomes: Msg[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await open();
      welcomes.push(await c.join('grow'));
      cs.push(c);
    }
    for (const w of welcomes) assert.equal(w.mode, 'mesh');
    assert.equal(sfu.calls.length, 0);
    // mesh-mode SFU frames are refused
    cs[0]!.send({ v: 1, type: 'sfu-offer', pc: 'pub', sdp: 'v=0' });
    const refused = await cs[0]!.next('error');
    assert.equal(refused.code, 'ERR_SIGNALING_NOT_SFU');
    assert.equal(refused.ref, 'sfu-offer');

    const fifth = await open();
    const w5 = await fifth.join('grow');
    assert.equal(w5.mode, 'sfu', 'the newcomer learns the mode from its welcome');
    for (const c of cs) {
      const m = await c.next('mode');
      assert.equal(m.mode, 'sfu');
      assert.equal(m.peers, 5);
    }
    assert.deepEqual(sfu.calls, ['open grow 5']);
    for (const c of [...cs, fifth]) {
      const offer = await c.next('sfu-offer');
      assert.equal(offer.pc, 'sub');
      assert.deepEqual(offer.tracks, [{ mid: '0', peerId: 'px', kind: 'video' }]);
    }
    // Negotiation frames go to the SFU and its answers come back to the sender only.
    fifth.send({ v: 1, type: 'sfu-offer', pc: 'pub', sdp: 'v=0 pub' });
    const ans = await fifth.next('sfu-answer');
    assert.equal(ans.sdp, 'answer to v=0 pub');
    assert.equal(ans.pc, 'pub');
    fifth.send({ v: 1, type: 'sfu-answer', pc: 'sub', sdp: 'v=0 answer' });
    fifth.send({
      v: 1,
      type: 'sfu-candidate',
      pc: 'pub',
      candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0' },
    });
    fifth.send({ v: 1, type: 'sfu-end-of-candidates', pc: 'pub' });
    fifth.send({ v: 1, type: 'sfu-prefs', maxHeight: 360 });
    await fifth.ping(7);
    assert.deepEqual(
      sfu.handled.filter((h) => h.peer === w5.peerId).map((h) => h.msg.type),
      ['sfu-offer', 'sfu-answer', 'sfu-candidate', 'sfu-end-of-candidates', 'sfu-prefs'],
    );
    // Schema: wrong direction, unknown fields and out-of-range prefs are refused before the SFU.
    const before = sfu.handled.length;
    for (const bad of [
      { v: 1, type: 'sfu-offer', pc: 'sub', sdp: 'x' },
      { v: 1, type: 'sfu-answer', pc: 'pub', sdp: 'x' },
      { v: 1, type: 'sfu-offer', pc: 'pub', sdp: 'x', extra: 1 },
      { v: 1, type: 'sfu-prefs', maxHeight: 99999 },
      { v: 1, type: 'sfu-candidate', pc: 'both', candidate: { candidate: '' } },
      { v: 1, type: 'mute', kind: 'screen', muted: true },
      { v: 1, type: 'mute', kind: 'audio', muted: 'yes' },
    ]) {
      fifth.send(bad);
      const e = await fifth.next('error');
      assert.equal(e.code, 'ERR_SIGNALING_BAD_MESSAGE', JSON.stringify(bad));
    }
    assert.equal(sfu.handled.length, before);

    // Active speaker events from the SFU reach everyone in the room.
    sfu.out!.send('grow', undefined, { v: 1, type: 'active-speaker', peerId: String(w5.peerId) });
    for (const c of [...cs, fifth]) assert.equal((await c.next('active-speaker')).peerId, w5.peerId);

    // Mute: the others are told, and the SFU stops forwarding.
    fifth.send({ v: 1, type: 'mute', kind: 'video', muted: true });
    for (const c of cs) {
      const m = await c.next('peer-muted');
      assert.deepEqual([m.peerId, m.kind, m.muted], [w5.peerId, 'video', true]);
    }
    assert.ok(sfu.calls.includes(`mute grow ${w5.peerId} video true`));

    const sixth = await open();
    assert.equal((await sixth.join('grow')).mode, 'sfu');
    assert.equal((await sixth.next('sfu-offer')).pc, 'sub', 'a newcomer in SFU mode gets its offer');
    assert.equal(sfu.calls.at(-1), 'add grow');

    // Down: 6 -> 4 stays SFU (hysteresis), 3 goes back to mesh.
    // The sixth drops its connection: its seat stays for the resume window (still 6 participants).
    await sixth.close();
    for (const c of [fifth, cs[3]!]) {
      c.send({ v: 1, type: 'leave' });
      await c.next('left');
    }
    await until(() => sfu.calls.filter((x) => x === 'remove grow').length === 2, 'two removals');
    assert.ok(!sfu.calls.includes('close grow'), 'still SFU at 4 (with the away sixth)');
    cs[2]!.send({ v: 1, type: 'leave' });
    await cs[2]!.next('left');
    await until(() => sfu.calls.includes('close grow'), 'room back to mesh');
    for (const c of cs.slice(0, 2)) {
      const m = await c.next((x) => x.type === 'mode' && x.mode === 'mesh');
      assert.equal(m.peers, 3);
    }
  });

  test('without an SFU (--sfu=false) rooms stay in mesh mode at any size', async () => {
    const plain = await startTestServer({ heartbeatIntervalMs: 600_000, sfu: false });
    assert.equal(plain.sfu, undefined);
    const cs: TestClient[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        const c = await TestClient.open(plain.wsUrl);
        cs.push(c);
        assert.equal((await c.join('big')).mode, 'mesh');
      }
      for (const c of cs)
        assert.equal(
          c.inbox.some((m) => m.type === 'mode'),
          false,
        );
      cs[0]!.send({ v: 1, type: 'sfu-prefs', maxHeight: 180 });
      assert.equal((await cs[0]!.next('error')).code, 'ERR_SIGNALING_NOT_SFU');
    } finally {
      await Promise.all(cs.map((c) => c.close()));
      await plain.close();
    }
  });

  test('a configurable policy: SFU from 3, mesh again at 1', async () => {
    const fake = new FakeSfu();
    const s = await startTestServer(
      { heartbeatIntervalMs: 600_000 },
      { sfu: fake, modePolicy: { switchAt: 3, backAt: 1 } },
    );
    const cs: TestClient[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const c = await TestClient.open(s.wsUrl);
        cs.push(c);
        await c.join('small');
      }
      assert.deepEqual(fake.calls, ['open small 3']);
      for (const c of cs.slice(1)) {
        c.send({ v: 1, type: 'leave' });
        await c.next('left');
      }
      assert.equal((await cs[0]!.next((m) => m.type === 'mode' && m.mode === 'mesh')).peers, 1);
      assert.deepEqual(fake.calls, ['open small 3', 'remove small', 'remove small', 'close small']);
    } finally {
      await Promise.all(cs.map((c) => c.close()));
      await s.close();
    }
  });
});
