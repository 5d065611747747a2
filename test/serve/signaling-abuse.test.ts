/**
 * Bad input on the signaling socket: malformed JSON, unknown types, schema violations, oversized
 * frames, floods, a client that never reads, a client that stops answering heartbeats, bad tokens.
 * Each gets a clear error or is disconnected, and a bystander in the same room keeps being served.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mintJoinToken, mintResumeToken } from '../../src/server/signaling/tokens.js';
import { startTestServer, TestClient, tick, until } from './helpers.js';

describe('signaling: bad input', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let bystander: TestClient;
  const clients: TestClient[] = [];
  const open = async (opts: { autoPong?: boolean } = {}): Promise<TestClient> => {
    const c = await TestClient.open(srv.wsUrl, opts);
    clients.push(c);
    return c;
  };
  before(async () => {
    srv = await startTestServer({
      maxPayload: 16 * 1024,
      rateLimitPerSec: 5,
      rateLimitBurst: 20,
      heartbeatIntervalMs: 1000,
    });
    bystander = await open();
    await bystander.join('bad');
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await srv.close();
  });

  const errorFor = async (c: TestClient, frame: unknown): Promise<Record<string, unknown>> => {
    c.send(frame);
    return c.next('error');
  };

  test('malformed JSON, wrong shapes, unknown types, bad version: an error each, socket stays usable', async () => {
    const c = await open();
    assert.equal((await errorFor(c, '{"v":1,"type":')).code, 'ERR_SIGNALING_BAD_JSON');
    assert.equal((await errorFor(c, '[1,2]')).code, 'ERR_SIGNALING_BAD_MESSAGE');
    assert.equal((await errorFor(c, 'null')).code, 'ERR_SIGNALING_BAD_MESSAGE');
    const unknown = await errorFor(c, { v: 1, type: 'teleport' });
    assert.equal(unknown.code, 'ERR_SIGNALING_UNKNOWN_TYPE');
    assert.match(String(unknown.message), /teleport/);
    assert.equal((await errorFor(c, { v: 2, type: 'join', room: 'x' })).code, 'ERR_SIGNALING_BAD_VERSION');
    assert.equal((await errorFor(c, { type: 'join', room: 'x' })).code, 'ERR_SIGNALING_BAD_VERSION');
    const extra = await errorFor(c, { v: 1, type: 'join', room: 'x', admin: true });
    assert.equal(extra.code, 'ERR_SIGNALING_BAD_MESSAGE');
    assert.match(String(extra.message), /admin: unknown field/);
    const badRoom = await errorFor(c, { v: 1, type: 'join', room: '../etc' });
    assert.match(String(badRoom.message), /room: must match/);
    assert.equal(badRoom.ref, 'join');
    const badCand = await errorFor(c, { v: 1, type: 'candidate', to: 'p1', candidate: { candidate: 5 } });
    assert.match(String(badCand.message), /candidate\.candidate: must be a string/);
    const missing = await errorFor(c, { v: 1, type: 'offer', to: 'p1' });
    assert.match(String(missing.message), /sdp: is required/);
    assert.equal(
      (await errorFor(c, { v: 1, type: 'offer', to: 'p1', sdp: 'x' })).code,
      'ERR_SIGNALING_NOT_JOINED',
    );
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    assert.equal((await c.next('error')).code, 'ERR_SIGNALING_BINARY_FRAME');
    await c.ping();
    await bystander.ping();
  });

  test('an oversized frame closes that socket with 1009; others are unaffected', async () => {
    const c = await open();
    await c.join('bad');
    c.send({ v: 1, type: 'offer', to: 'p1', sdp: 'x'.repeat(20_000) });
    const closed = await c.closed;
    assert.equal(closed.code, 1009);
    await bystander.ping();
  });

  test('a flood gets one rate-limit error, then the socket is closed (4003); others are unaffected', async () => {
    const c = await open();
    for (let i = 0; i < 20; i++) c.send({ v: 1, type: 'ping', id: i });
    for (let i = 0; i < 20; i++) await c.next((m) => m.type === 'pong' && m.id === i);
    c.send({ v: 1, type: 'ping', id: 99 });
    const err = await c.next('error');
    assert.equal(err.code, 'ERR_SIGNALING_RATE_LIMIT');
    // Time refills the bucket (5/s): one second later one frame per 200 ms passes again.
    srv.clock.advance(400);
    await bystander.ping(400);
    c.send({ v: 1, type: 'ping', id: 100 });
    await c.next((m) => m.type === 'pong' && m.id === 100);
    for (let i = 0; i < 60; i++) c.send({ v: 1, type: 'ping', id: 1000 + i });
    const closed = await c.closed;
    assert.equal(closed.code, 4003);
    assert.equal(
      c.inbox.filter((m) => m.type === 'error').length,
      1,
      'one error per episode, not one per frame',
    );
    await bystander.ping(401);
  });

  test('a client that never reads is dropped once its unsent data passes the cap', async () => {
    const srv2 = await startTestServer({
      maxBufferedBytes: 256 * 1024,
      rateLimitPerSec: 1e6,
      rateLimitBurst: 1e6,
    });
    try {
      const sender = await TestClient.open(srv2.wsUrl);
      const sink = await TestClient.open(srv2.wsUrl);
      const other = await TestClient.open(srv2.wsUrl);
      await sender.join('slow');
      const ws = await sink.join('slow');
      await other.join('slow');
      // The sink stops reading from its socket: kernel buffers fill, then the server's queue.
      (sink.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      const sdp = 'a'.repeat(60_000);
      let sent = 0;
      while (srv2.signaling.connectionCount === 3 && sent < 2000) {
        sender.send({ v: 1, type: 'offer', to: ws.peerId, sdp });
        sent++;
        if (sent % 20 === 0) await sender.ping(sent);
      }
      await until(() => srv2.signaling.connectionCount === 2, 'the sink to be dropped');
      assert.ok(sent < 2000, 'dropped before the sender gave up');
      await sender.ping(5000);
      await other.ping(5001);
      const metrics = await (await fetch(`${srv2.url}/metrics`)).text();
      assert.match(metrics, /rtcstack_signaling_rejected_total\{code="ERR_SIGNALING_TOO_SLOW"\} 1/);
      sink.ws.terminate();
      await Promise.all([sender.close(), other.close()]);
    } finally {
      await srv2.close();
    }
  });

  test('a client that stops answering heartbeats is dropped; one that answers stays', async () => {
    const deaf = await open({ autoPong: false });
    const alive = await open();
    await tick();
    const before = srv.signaling.connectionCount;
    const answer = async (n: number): Promise<void> => {
      await alive.ping(n); // alive answers (auto pong and this frame); deaf sends nothing
      await bystander.ping(n + 1);
      for (const c of clients) if (c !== deaf && !c.closeInfo) await c.ping(n + 2 + clients.indexOf(c));
    };
    srv.clock.advance(1000); // first ping
    await answer(2000);
    srv.clock.advance(1000); // deaf has been silent for two periods: not yet more
    await answer(3000);
    assert.equal(deaf.closeInfo, undefined, 'two silent periods are tolerated');
    srv.clock.advance(1000); // deaf silent for more than two periods
    const closed = await deaf.closed;
    assert.equal(closed.code, 1006, 'terminated without a close handshake');
    await alive.ping(3000);
    assert.equal(srv.signaling.connectionCount, before - 1);
  });
});

describe('signaling: join tokens', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  const clients: TestClient[] = [];
  before(async () => {
    srv = await startTestServer({ open: false, secret: 's3cret', apiKey: 'k3y' });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await srv.close();
  });
  const open = async (): Promise<TestClient> => {
    const c = await TestClient.open(srv.wsUrl);
    clients.push(c);
    return c;
  };
  const exp = (deltaSec: number): number => Math.floor(srv.clock.wallNow() / 1000) + deltaSec;

  test('without a token, with a bad, expired, wrong-room or resume token: refused with a clear code', async () => {
    const c = await open();
    assert.equal((await c.join('t')).code, 'ERR_SIGNALING_TOKEN_REQUIRED');
    assert.equal((await c.join('t', { token: 'garbage' })).code, 'ERR_SIGNALING_TOKEN_INVALID');
    const forged = mintJoinToken('other-secret', { room: 't', exp: exp(60) });
    assert.equal((await c.join('t', { token: forged })).code, 'ERR_SIGNALING_TOKEN_INVALID');
    const expired = mintJoinToken('s3cret', { room: 't', exp: exp(-1) });
    const e = await c.join('t', { token: expired });
    assert.equal(e.code, 'ERR_SIGNALING_TOKEN_EXPIRED');
    assert.match(String(e.message), /expired/);
    const wrongRoom = mintJoinToken('s3cret', { room: 'u', exp: exp(60) });
    assert.equal((await c.join('t', { token: wrongRoom })).code, 'ERR_SIGNALING_TOKEN_WRONG_ROOM');
    const resume = mintResumeToken('s3cret', { room: 't', exp: exp(60), peer: 'p1', name: 'x' });
    assert.equal((await c.join('t', { token: resume })).code, 'ERR_SIGNALING_TOKEN_INVALID');
    const ok = await c.join('t', {
      token: mintJoinToken('s3cret', { room: 't', exp: exp(60), name: 'pinned' }),
      name: 'ignored',
    });
    assert.equal(ok.type, 'welcome');
    assert.equal(ok.name, 'pinned');
  });

  test('a token expires on the clock', async () => {
    const c = await open();
    const token = mintJoinToken('s3cret', { room: 'later', exp: exp(10) });
    srv.clock.advance(11_000);
    assert.equal((await c.join('later', { token })).code, 'ERR_SIGNALING_TOKEN_EXPIRED');
  });

  test('POST /api/token needs the API key, and its tokens work', async () => {
    const post = (body: unknown, key?: string) =>
      fetch(`${srv.url}/api/token`, {
        method: 'POST',
        headers: key ? { authorization: `Bearer ${key}` } : {},
        body: JSON.stringify(body),
      });
    assert.equal((await post({ room: 'api' })).status, 401);
    assert.equal((await post({ room: 'api' }, 'wrong')).status, 401);
    assert.equal((await post({ room: 'no spaces' }, 'k3y')).status, 400);
    assert.equal((await post({ room: 'api', ttl: -5 }, 'k3y')).status, 400);
    const res = await post({ room: 'api', ttl: 120, name: 'viaapi' }, 'k3y');
    assert.equal(res.status, 200);
    const { token, exp: e } = (await res.json()) as { token: string; exp: number };
    assert.ok(Math.abs(e - exp(120)) <= 1);
    const c = await open();
    const w = await c.join('api', { token });
    assert.equal(w.type, 'welcome');
    assert.equal(w.name, 'viaapi');
  });

  test('without an API key a closed server does not mint tokens over HTTP', async () => {
    const srv3 = await startTestServer({ open: false });
    try {
      const res = await fetch(`${srv3.url}/api/token`, { method: 'POST', body: '{"room":"a"}' });
      assert.equal(res.status, 403);
    } finally {
      await srv3.close();
    }
  });
});
