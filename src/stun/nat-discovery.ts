/**
 * NAT behaviour discovery (RFC 5780 §4.3-§4.5) on any `Network`: the real one (rtcstack
 * nat-check) or the virtual one in tests. Needs a server that returns OTHER-ADDRESS and honours
 * CHANGE-REQUEST (ours with --alt-ip, coturn with --rfc5780 and two listening IPs).
 *
 * Order matters: the filtering tests run before any packet goes to the alternate address, or the
 * mapping tests would open the very holes the filtering tests probe.
 */
import type { Clock } from '../core/clock.js';
import { ParseError } from '../core/errors.js';
import { familyOf, type Network, sameAddress, type TransportAddress, type UdpSocket } from '../core/net.js';
import { attr, read } from './attributes.js';
import { METHOD } from './constants.js';
import { createMessage, type ParsedStunMessage, parseStunMessage } from './message.js';
import {
  newTransactionId,
  type StunResponse,
  StunTransactions,
  type TransactionOptions,
} from './transactions.js';

export type NatBehaviorKind = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent';

export interface NatBehavior {
  readonly server: TransportAddress;
  /** The local socket address used (may be the unspecified address). */
  readonly local: TransportAddress;
  /** Our address as the server saw it (test I), or null without an answer. */
  readonly mapped: TransportAddress | null;
  /** The server's RFC 5780 alternate address, or null when it has none. */
  readonly otherAddress: TransportAddress | null;
  /** The server answered over UDP at all. */
  readonly udp: boolean;
  /** The server supports RFC 5780 (OTHER-ADDRESS present). */
  readonly rfc5780: boolean;
  /** True when the mapped address differs from every local one; null when unknown. */
  readonly natDetected: boolean | null;
  readonly mapping: NatBehaviorKind | 'unknown';
  readonly filtering: NatBehaviorKind | 'unknown';
  /** RFC 5780 §4.5 hairpinning; null when not tested (no NAT, disabled, or no answer). */
  readonly hairpinning: boolean | null;
  /**
   * What it means for calls: 'direct' (endpoint-independent mapping or no NAT: peer-to-peer via
   * ICE works), 'relay' (mapping depends on the destination, a symmetric NAT: calls need TURN),
   * 'udp-blocked' (no UDP answer: TURN over TCP/TLS), 'unknown' (server lacks RFC 5780).
   */
  readonly verdict: 'direct' | 'relay' | 'udp-blocked' | 'unknown';
  /** Mapped address per test, for the curious. */
  readonly tests: {
    readonly mappingI: TransportAddress | null;
    readonly mappingII: TransportAddress | null;
    readonly mappingIII: TransportAddress | null;
    readonly filteringII: boolean | null;
    readonly filteringIII: boolean | null;
  };
  readonly durationMs: number;
}

export interface NatDiscoveryOptions {
  /** Local address to bind (default: unspecified address of the server's family). */
  readonly localAddress?: string;
  readonly localPort?: number;
  /** Retransmission settings for each probe (default rto 200 ms, rc 4, rm 8: 3 s per lost probe). */
  readonly transaction?: TransactionOptions;
  /** Run the hairpinning test (default true). */
  readonly hairpin?: boolean;
}

const DEFAULT_TX: TransactionOptions = { rto: 200, rc: 4, rm: 8 };

/** Run the RFC 5780 tests against `server` and classify the NAT in front of this host. */
export async function discoverNatBehavior(
  network: Network,
  server: TransportAddress,
  clock: Clock,
  options: NatDiscoveryOptions = {},
): Promise<NatBehavior> {
  const started = clock.now();
  const family = familyOf(server.address);
  const sock = await network.bindUdp({
    family,
    address: options.localAddress,
    port: options.localPort ?? 0,
  });
  const sockets: UdpSocket[] = [sock];
  const txOptions = { ...DEFAULT_TX, ...options.transaction };
  const tx = new StunTransactions({ clock, send: (b, to) => sock.send(b, to), defaults: txOptions });
  /** Requests that reached our main socket (the hairpin test looks for its own). */
  const requestsSeen = new Set<string>();
  let onRequest: (() => void) | undefined;
  sock.onMessage = (data, from) => {
    let m: ParsedStunMessage;
    try {
      m = parseStunMessage(new Uint8Array(data));
    } catch (e) {
      if (e instanceof ParseError) return;
      throw e;
    }
    if (m.cls === 'request') {
      requestsSeen.add(Buffer.from(m.transactionId).toString('hex'));
      onRequest?.();
      return;
    }
    tx.handle(m, from);
  };
  const ask = async (to: TransportAddress, change?: { changeIp: boolean; changePort: boolean }) => {
    const attrs = change ? [attr.changeRequest(change)] : [];
    try {
      const r: StunResponse = await tx.request(
        createMessage(METHOD.BINDING, 'request', newTransactionId(), attrs),
        to,
        {
          serialize: { fingerprint: true },
        },
      );
      return r.message.cls === 'success' ? r : undefined;
    } catch {
      return undefined;
    }
  };
  const mappedOf = (r: StunResponse | undefined): TransportAddress | null =>
    r ? (read.xorMappedAddress(r.message) ?? read.mappedAddress(r.message) ?? null) : null;

  try {
    // Test I: plain Binding to the primary address.
    const r1 = await ask(server);
    const m1 = mappedOf(r1);
    const other = r1 ? (read.otherAddress(r1.message) ?? null) : null;
    const local = sock.local;
    const done = (partial: Partial<NatBehavior>): NatBehavior => ({
      server,
      local,
      mapped: m1,
      otherAddress: other,
      udp: r1 !== undefined,
      rfc5780: other !== null,
      natDetected: null,
      mapping: 'unknown',
      filtering: 'unknown',
      hairpinning: null,
      verdict: 'unknown',
      tests: { mappingI: m1, mappingII: null, mappingIII: null, filteringII: null, filteringIII: null },
      durationMs: clock.now() - started,
      ...partial,
    });
    if (!r1 || !m1) return done({ verdict: 'udp-blocked' });
    const locals = new Set(network.interfaces().map((i) => i.address));
    if (local.address !== '0.0.0.0' && local.address !== '::') locals.add(local.address);
    const natDetected = !(locals.has(m1.address) && m1.port === local.port);
    if (!other) {
      return done({
        natDetected,
        verdict: natDetected ? 'unknown' : 'direct',
        ...(natDetected ? {} : { mapping: 'endpoint-independent' }),
      });
    }
    // Filtering (RFC 5780 §4.4): before anything is sent to the alternate address.
    const [f2, f3] = await Promise.all([
      ask(server, { changeIp: true, changePort: true }),
      ask(server, { changeIp: false, changePort: true }),
    ]);
    // A server that ignored CHANGE-REQUEST and answered from the address we sent to would make
    // any NAT look open: only answers from the changed address count.
    const ignoredChange =
      (f2 !== undefined && sameAddress(f2.from, server)) ||
      (f3 !== undefined && f3.from.port === server.port);
    const filtering: NatBehaviorKind | 'unknown' = ignoredChange
      ? 'unknown'
      : f2
        ? 'endpoint-independent'
        : f3
          ? 'address-dependent'
          : 'address-and-port-dependent';

    // Mapping (RFC 5780 §4.3) and hairpinning (§4.5), in parallel.
    const hairpinTest = async (): Promise<boolean | null> => {
      if (!natDetected || options.hairpin === false) return null;
      const b = await network.bindUdp({ family, address: options.localAddress });
      sockets.push(b);
      const tid = newTransactionId();
      const key = Buffer.from(tid).toString('hex');
      const btx = new StunTransactions({
        clock,
        send: (bytes, to) => b.send(bytes, to),
        defaults: txOptions,
      });
      onRequest = () => {
        if (requestsSeen.has(key)) btx.cancel(tid);
      };
      try {
        await btx.request(createMessage(METHOD.BINDING, 'request', tid), m1);
      } catch {
        // cancelled (it arrived) or timed out
      } finally {
        btx.close();
      }
      return requestsSeen.has(key);
    };
    const [r2, r3, hairpinning] = await Promise.all([
      ask({ address: other.address, port: server.port }),
      ask(other),
      hairpinTest(),
    ]);
    const m2 = mappedOf(r2);
    const m3 = mappedOf(r3);
    let mapping: NatBehaviorKind | 'unknown' = 'unknown';
    if (!natDetected) mapping = 'endpoint-independent';
    else if (m2 && sameAddress(m1, m2)) mapping = 'endpoint-independent';
    else if (m2 && m3) mapping = sameAddress(m2, m3) ? 'address-dependent' : 'address-and-port-dependent';
    const verdict =
      mapping === 'endpoint-independent' ? 'direct' : mapping === 'unknown' ? 'unknown' : 'relay';
    return done({
      natDetected,
      mapping,
      filtering,
      hairpinning,
      verdict,
      tests: {
        mappingI: m1,
        mappingII: m2,
        mappingIII: m3,
        filteringII: f2 !== undefined,
        filteringIII: f3 !== undefined,
      },
    });
  } finally {
    tx.close();
    for (const s of sockets) s.close();
  }
}
