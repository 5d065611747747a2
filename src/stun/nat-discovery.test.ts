/**
 * RFC 5780 discovery against every mapping x filtering combination, on a small in-memory NAT
 * driven by a ManualClock (the full virtual network lives in core/vnet; this keeps the STUN layer's
 * test self-contained). The server side is a hand-written RFC 5780 responder over this codec.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../core/clock.js';
import type { Network, TransportAddress, UdpSocket } from '../core/net.js';
import { attr, read } from './attributes.js';
import { METHOD } from './constants.js';
import { createMessage, parseStunMessage } from './message.js';
import { discoverNatBehavior, type NatBehaviorKind } from './nat-discovery.js';
import { serializeStunMessage } from './serialize.js';

const IP1 = '203.0.113.1';
const IP2 = '203.0.113.2';
const P1 = 3478;
const P2 = 3479;
const PUBLIC_IP = '198.51.100.1';
const LAN_IP = '10.0.0.2';

interface Options {
  mapping?: NatBehaviorKind | 'none';
  filtering?: NatBehaviorKind;
  hairpin?: boolean;
  rfc5780?: boolean;
  serverUp?: boolean;
  /** The server answers CHANGE-REQUEST from the address it was sent to (a broken server). */
  ignoreChange?: boolean;
}

/** A host behind a NAT, a server with 2 IPs x 2 ports, packets delayed 1 ms on the manual clock. */
function lab(clock: ManualClock, o: Options): Network & { open: () => number } {
  const mappingKind = o.mapping ?? 'endpoint-independent';
  const filteringKind = o.filtering ?? 'endpoint-independent';
  const sockets = new Map<number, UdpSocket>();
  let nextLocal = 40000;
  let nextPublic = 50000;
  const mappings = new Map<string, number>(); // key -> public port
  const owner = new Map<number, { local: number; allowed: Set<string> }>();
  const later = (f: () => void): void => void clock.setTimeout(f, 1);
  const key = (kind: NatBehaviorKind, a: TransportAddress): string =>
    kind === 'endpoint-independent'
      ? ''
      : kind === 'address-dependent'
        ? a.address
        : `${a.address}:${a.port}`;

  const deliverToHost = (publicPort: number, from: TransportAddress, data: Uint8Array): void => {
    if (mappingKind === 'none') {
      sockets.get(publicPort)?.onMessage?.(data, from);
      return;
    }
    const m = owner.get(publicPort);
    if (!m) return;
    if (filteringKind !== 'endpoint-independent' && !m.allowed.has(key(filteringKind, from))) return;
    sockets.get(m.local)?.onMessage?.(data, from);
  };

  const serverReceive = (data: Uint8Array, from: TransportAddress, at: TransportAddress): void => {
    if (o.serverUp === false) return;
    const req = parseStunMessage(data);
    if (req.cls !== 'request') return;
    const change = read.changeRequest(req);
    if (change && o.rfc5780 === false) return;
    let src = at;
    if (change && !o.ignoreChange) {
      src = {
        address: change.changeIp ? (at.address === IP1 ? IP2 : IP1) : at.address,
        port: change.changePort ? (at.port === P1 ? P2 : P1) : at.port,
      };
    }
    const attrs = [attr.xorMappedAddress(from, req.transactionId)];
    if (o.rfc5780 !== false) {
      attrs.push(
        attr.otherAddress({ address: at.address === IP1 ? IP2 : IP1, port: at.port === P1 ? P2 : P1 }),
        attr.responseOrigin(src),
      );
    }
    const resp = serializeStunMessage(createMessage(METHOD.BINDING, 'success', req.transactionId, attrs));
    later(() => deliverToHost(from.port, src, resp));
  };

  const fromHost = (localPort: number, data: Uint8Array, to: TransportAddress): void => {
    let pub = localPort;
    if (mappingKind !== 'none') {
      const k = `${localPort}|${key(mappingKind, to)}`;
      let p = mappings.get(k);
      if (p === undefined) {
        p = nextPublic++;
        mappings.set(k, p);
        owner.set(p, { local: localPort, allowed: new Set() });
      }
      if (filteringKind !== 'endpoint-independent') owner.get(p)!.allowed.add(key(filteringKind, to));
      pub = p;
    }
    const from = { address: mappingKind === 'none' ? LAN_IP : PUBLIC_IP, port: pub };
    later(() => {
      if (to.address === PUBLIC_IP && mappingKind !== 'none') {
        if (o.hairpin) deliverToHost(to.port, from, data);
        return;
      }
      if ((to.address === IP1 || to.address === IP2) && (to.port === P1 || to.port === P2))
        serverReceive(data, from, to);
    });
  };

  return {
    open: () => sockets.size,
    interfaces: () => [{ name: 'eth0', address: LAN_IP, family: 'IPv4', internal: false }],
    bindUdp: async () => {
      const port = nextLocal++;
      const s: UdpSocket = {
        local: { address: '0.0.0.0', port },
        closed: false,
        onMessage: null,
        send: (data, to) => {
          fromHost(port, data.slice(), to);
          return true;
        },
        close: () => {
          sockets.delete(port);
        },
      };
      sockets.set(port, s);
      return s;
    },
    listenTcp: () => Promise.reject(new Error('no TCP here')),
    connectTcp: () => Promise.reject(new Error('no TCP here')),
  };
}

async function run(o: Options) {
  const clock = new ManualClock();
  const net = lab(clock, o);
  let result: Awaited<ReturnType<typeof discoverNatBehavior>> | undefined;
  let error: unknown;
  discoverNatBehavior(net, { address: IP1, port: P1 }, clock).then(
    (r) => (result = r),
    (e) => (error = e),
  );
  assert.ok(await clock.runUntil(() => result !== undefined || error !== undefined, 60_000));
  if (error) throw error;
  assert.equal(net.open(), 0, 'sockets left open');
  assert.equal(clock.activeTimers, 0, 'timers left running');
  return result!;
}

const KINDS: NatBehaviorKind[] = ['endpoint-independent', 'address-dependent', 'address-and-port-dependent'];

for (const mapping of KINDS) {
  for (const filtering of KINDS) {
    test(`mapping ${mapping}, filtering ${filtering}`, async () => {
      const r = await run({ mapping, filtering, hairpin: true });
      assert.equal(r.udp, true);
      assert.equal(r.rfc5780, true);
      assert.equal(r.natDetected, true);
      assert.equal(r.mapping, mapping);
      assert.equal(r.filtering, filtering);
      assert.equal(r.verdict, mapping === 'endpoint-independent' ? 'direct' : 'relay');
      assert.equal(r.mapped?.address, PUBLIC_IP);
      assert.deepEqual(r.otherAddress, { address: IP2, port: P2 });
      // Hairpinning through an endpoint-independent mapping works when the NAT loops back and
      // its filter lets the host's own public address in.
      if (mapping === 'endpoint-independent' && filtering === 'endpoint-independent')
        assert.equal(r.hairpinning, true);
    });
  }
}

test('hairpinning off is reported as false', async () => {
  const r = await run({ mapping: 'endpoint-independent', filtering: 'endpoint-independent', hairpin: false });
  assert.equal(r.hairpinning, false);
});

test('no NAT: endpoint-independent, direct, hairpinning not tested', async () => {
  const r = await run({ mapping: 'none' });
  assert.equal(r.natDetected, false);
  assert.equal(r.mapping, 'endpoint-independent');
  assert.equal(r.verdict, 'direct');
  assert.equal(r.hairpinning, null);
});

test('a server without RFC 5780: mapped address only, verdict unknown', async () => {
  const r = await run({ rfc5780: false });
  assert.equal(r.rfc5780, false);
  assert.equal(r.mapping, 'unknown');
  assert.equal(r.verdict, 'unknown');
  assert.equal(r.mapped?.address, PUBLIC_IP);
});

test('no answer: udp-blocked after the retransmissions (3 s of virtual time)', async () => {
  const r = await run({ serverUp: false });
  assert.equal(r.udp, false);
  assert.equal(r.verdict, 'udp-blocked');
  assert.equal(r.durationMs, 3000);
});

test('a server that ignores CHANGE-REQUEST: filtering unknown, not "open"', async () => {
  const r = await run({
    mapping: 'endpoint-independent',
    filtering: 'address-and-port-dependent',
    ignoreChange: true,
  });
  assert.equal(r.filtering, 'unknown');
  assert.equal(r.mapping, 'endpoint-independent');
});
