/** Join/resume tokens, TURN REST credentials, and the signaling schema under fuzzing. */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { SeededRandom } from '../../src/core/random.js';
import { CLIENT_SCHEMAS, parseClientMessage } from '../../src/server/signaling/protocol.js';
import {
  mintJoinToken,
  mintResumeToken,
  turnRestCredential,
  verifyJoinToken,
  verifyResumeToken,
} from '../../src/server/signaling/tokens.js';

const NOW = 1_800_000_000_000;

test('join tokens verify, and fail when tampered, expired, or signed by another secret', () => {
  const t = mintJoinToken('k', { room: 'r', exp: NOW / 1000 + 60, name: 'ann' });
  const ok = verifyJoinToken('k', t, NOW);
  assert.deepEqual(ok, { ok: true, claims: { room: 'r', exp: NOW / 1000 + 60, name: 'ann' } });
  assert.deepEqual(verifyJoinToken('k', t, NOW + 60_000), { ok: false, reason: 'expired' });
  assert.deepEqual(verifyJoinToken('other', t, NOW), { ok: false, reason: 'invalid' });
  const [payload, mac] = t.split('.') as [string, string];
  const forged = Buffer.from(JSON.stringify({ k: 'j', room: 'admin', exp: NOW / 1000 + 60 })).toString(
    'base64url',
  );
  assert.deepEqual(verifyJoinToken('k', `${forged}.${mac}`, NOW), { ok: false, reason: 'invalid' });
  assert.deepEqual(verifyJoinToken('k', `${payload}.${mac.slice(1)}`, NOW), { ok: false, reason: 'invalid' });
  for (const junk of ['', '.', 'a.b.c', 'nodot', `${payload}.`]) {
    assert.equal(verifyJoinToken('k', junk, NOW).ok, false);
  }
});

test('a resume token is not a join token and vice versa', () => {
  const r = mintResumeToken('k', { room: 'r', exp: NOW / 1000 + 60, peer: 'p1', name: 'n' });
  const j = mintJoinToken('k', { room: 'r', exp: NOW / 1000 + 60 });
  assert.equal(verifyJoinToken('k', r, NOW).ok, false);
  assert.equal(verifyResumeToken('k', j, NOW).ok, false);
  assert.deepEqual(verifyResumeToken('k', r, NOW), {
    ok: true,
    claims: { room: 'r', exp: NOW / 1000 + 60, peer: 'p1', name: 'n' },
  });
});

test('TURN REST credentials match coturn use-auth-secret (username expiry:user, base64 HMAC-SHA1)', () => {
  const c = turnRestCredential('north', 'p42', 1_700_000_600);
  assert.equal(c.username, '1700000600:p42');
  assert.equal(c.credential, createHmac('sha1', 'north').update('1700000600:p42').digest('base64'));
  assert.equal(Buffer.from(c.credential, 'base64').length, 20);
});

test('fuzz: parseClientMessage returns a result for any frame, never throws', () => {
  const rnd = new SeededRandom(4);
  const valid = [
    { v: 1, type: 'join', room: 'r', name: 'n', token: 't' },
    { v: 1, type: 'offer', to: 'p1', sdp: 'v=0' },
    { v: 1, type: 'candidate', to: 'p1', candidate: { candidate: 'c', sdpMid: '0', sdpMLineIndex: 0 } },
    {
      v: 1,
      type: 'stats',
      peers: [
        {
          peerId: 'p',
          connectionState: 'connected',
          pathType: null,
          localCandidateType: null,
          remoteCandidateType: null,
          rttMs: null,
          bitrateInKbps: 0,
          bitrateOutKbps: 0,
          packetLoss: 0,
          framesDecoded: 0,
        },
      ],
    },
    { v: 1, type: 'event', name: 'connected', peer: 'p', setupMs: 5 },
  ];
  for (const v of valid) assert.equal(parseClientMessage(JSON.stringify(v)).ok, true, JSON.stringify(v));
  const junk = [null, true, 0, -1, 1e308, '', 'x'.repeat(70), [], {}, { v: 1 }, '__proto__'];
  const mutate = (x: unknown, depth: number): unknown => {
    if (depth > 3 || rnd.float() < 0.2) return junk[rnd.int(junk.length)];
    if (Array.isArray(x)) return x.map((e) => mutate(e, depth + 1));
    if (x && typeof x === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, val] of Object.entries(x)) {
        const r = rnd.float();
        if (r < 0.1) continue;
        out[r < 0.15 ? `${k}x` : k] = r < 0.5 ? mutate(val, depth + 1) : val;
      }
      return out;
    }
    return x;
  };
  let accepted = 0;
  for (let i = 0; i < 5000; i++) {
    const base = valid[rnd.int(valid.length)]!;
    let text = JSON.stringify(mutate(base, 0));
    if (rnd.float() < 0.2) {
      const at = rnd.int(text.length + 1);
      text = text.slice(0, at) + String.fromCharCode(rnd.int(128)) + text.slice(at + 1);
    }
    const r = parseClientMessage(text);
    if (r.ok) {
      accepted++;
      // Whatever passes is exactly what the schema of its type allows.
      assert.ok(Object.hasOwn(CLIENT_SCHEMAS, r.msg.type));
    } else assert.match(r.code, /^ERR_SIGNALING_/);
  }
  assert.ok(accepted > 0);
});
