/**
 * The NAT matrix on the virtual network: every pair of {no NAT, full cone, restricted cone,
 * port-restricted cone, symmetric}, with STUN only and with STUN+TURN (our TURN server).
 * Direct paths must be found whenever they exist (and never relayed); the relay carries exactly
 * the cases where NAT filtering leaves no direct path.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentPair, pairTypes } from './ice-harness.js';
import { SITES, type Site, world } from './ice-world.js';

/** Can two sites reach each other without a relay (RFC 4787 behaviours)? */
function directPossible(a: Site, b: Site): boolean {
  if (a !== 'symmetric' && b !== 'symmetric') return true;
  const other = a === 'symmetric' ? b : a;
  // A symmetric NAT's new port per destination passes only filters that ignore the source port.
  return other === 'none' || other === 'fullCone' || other === 'restrictedCone';
}

/** The type a site's own address shows up as on a direct path. */
function directType(s: Site): string {
  return s === 'none' ? 'host' : s === 'symmetric' ? 'prflx' : 'srflx';
}

const results: string[] = [];

for (const withTurn of [false, true]) {
  for (let i = 0; i < SITES.length; i++) {
    for (let j = i; j < SITES.length; j++) {
      const sa = SITES[i]!;
      const sb = SITES[j]!;
      const direct = directPossible(sa, sb);
      const expect = direct || withTurn ? 'connected' : 'failed';
      test(`${sa} <-> ${sb} with ${withTurn ? 'STUN+TURN' : 'STUN only'}: ${expect}${!direct && withTurn ? ' via relay' : ''}`, async () => {
        const w = await world(i * 10 + j + (withTurn ? 100 : 0));
        const servers = withTurn ? w.stunTurn : w.stun;
        const p = agentPair({
          clock: w.clock,
          a: w.peer('a', sa),
          b: w.peer('b', sb),
          optsA: { iceServers: servers },
          optsB: { iceServers: servers },
        });
        await p.settle(120_000);
        const ok = (s: string): boolean => s === 'connected' || s === 'completed';
        if (expect === 'failed') {
          // both sides fail once their checks run out after end-of-candidates
          await w.clock.runUntil(() => p.a.state === 'failed' && p.b.state === 'failed', 60_000);
          assert.equal(p.a.state, 'failed');
          assert.equal(p.b.state, 'failed');
          assert.ok(!p.statesA.includes('connected') && !p.statesB.includes('connected'));
          assert.equal(p.a.selectedPair, undefined);
        } else {
          assert.ok(ok(p.a.state), `a is ${p.a.state}`);
          assert.ok(ok(p.b.state), `b is ${p.b.state}`);
          const ta = pairTypes(p.a)!;
          const tb = pairTypes(p.b)!;
          // Both ends agree on the path: a's local is b's remote address and vice versa.
          const pa = p.a.selectedPair!;
          const pb = p.b.selectedPair!;
          assert.equal(pa.remote.port, pb.local.port);
          assert.equal(pa.local.port, pb.remote.port);
          if (direct) {
            assert.equal(ta, `${directType(sa)}/${directType(sb)}`);
            assert.equal(tb, `${directType(sb)}/${directType(sa)}`);
          } else {
            assert.ok(ta.includes('relay') || tb.includes('relay'), `relay expected, got ${ta} / ${tb}`);
          }
          // data flows both ways on the selected pair
          const got: number[] = [];
          p.b.on('data', (d) => got.push(d[1]!));
          p.a.on('data', (d) => got.push(d[1]!));
          p.a.send(new Uint8Array([0x80, 1]));
          p.b.send(new Uint8Array([0x80, 2]));
          await w.clock.runUntil(() => got.length === 2, 2000);
          assert.deepEqual(got.sort(), [1, 2]);
          results.push(
            `${sa.padEnd(18)} ${sb.padEnd(18)} ${withTurn ? 'turn' : 'stun'}  ${ta.padEnd(13)} ${tb}`,
          );
        }
        await p.close();
        await w.close();
        w.net.assertNoOpenSockets();
        assert.equal(w.clock.activeTimers, 0, 'timers left');
      });
    }
  }
}

test('matrix summary', () => {
  if (process.env.ICE_MATRIX_PRINT) console.log(results.join('\n'));
  assert.ok(results.length > 0);
});
