/**
 * Which peer addresses the relay may send to (CreatePermission, ChannelBind, Send). A TURN server
 * on a cloud host is otherwise an open proxy into its own private network and metadata service,
 * so the defaults refuse every non-public destination (RFC 8656 §21.2.3 leaves this to policy;
 * coturn allows it all unless told otherwise: we do the opposite).
 *
 * Order, as in coturn: an address in `allowed` is admitted even if it is in a denied range; then
 * `denied`; then the built-in denials (loopback unless `allowLoopback`). IPv4-mapped IPv6 addresses
 * (::ffff:a.b.c.d) are judged as the IPv4 address they carry.
 */
import { BlockList, isIP } from 'node:net';
import { RtcError } from '../../core/errors.js';

/** Built-in IPv4 denials (RFC 6890 special-purpose registry, the ones a relay must not reach). */
const DEFAULT_DENIED_V4: readonly (readonly [string, number])[] = [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8], // RFC 1918
  ['100.64.0.0', 10], // RFC 6598 CGNAT shared space
  ['169.254.0.0', 16], // link-local, includes the 169.254.169.254 metadata service
  ['172.16.0.0', 12], // RFC 1918
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16], // RFC 1918
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and 255.255.255.255 broadcast
];
const LOOPBACK_V4: readonly [string, number] = ['127.0.0.0', 8];

/** Built-in IPv6 denials. ::ffff:0:0/96 is covered by judging the embedded IPv4 address. */
const DEFAULT_DENIED_V6: readonly (readonly [string, number])[] = [
  ['::', 128], // unspecified
  ['::', 96], // deprecated IPv4-compatible
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard-only
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // deprecated site-local
  ['ff00::', 8], // multicast
];
const LOOPBACK_V6: readonly [string, number] = ['::1', 128];

export class PeerPolicyError extends RtcError {}

/** One `--allowed-peer-ip`/`--denied-peer-ip` value: `IP`, `IP1-IP2` (coturn) or `IP/prefix`. */
export function addRangeTo(list: BlockList, spec: string): void {
  const text = spec.trim();
  const dash = text.indexOf('-');
  const slash = text.indexOf('/');
  const fail = (): never => {
    throw new PeerPolicyError('ERR_TURN_BAD_IP_RANGE', `invalid IP address or range: '${spec}'`);
  };
  if (dash > 0) {
    const a = text.slice(0, dash).trim();
    const b = text.slice(dash + 1).trim();
    const fa = isIP(a);
    if (fa === 0 || fa !== isIP(b)) fail();
    try {
      list.addRange(a, b, fa === 6 ? 'ipv6' : 'ipv4');
    } catch {
      fail();
    }
    return;
  }
  if (slash > 0) {
    const a = text.slice(0, slash);
    const prefix = Number(text.slice(slash + 1));
    const fa = isIP(a);
    if (fa === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (fa === 6 ? 128 : 32)) fail();
    list.addSubnet(a, prefix, fa === 6 ? 'ipv6' : 'ipv4');
    return;
  }
  const f = isIP(text);
  if (f === 0) fail();
  list.addAddress(text, f === 6 ? 'ipv6' : 'ipv4');
}

export interface PeerPolicyOptions {
  /** Ranges admitted even when denied otherwise (coturn `--allowed-peer-ip`). */
  readonly allowed?: readonly string[];
  /** Extra ranges refused (coturn `--denied-peer-ip`). */
  readonly denied?: readonly string[];
  /** Admit 127.0.0.0/8 and ::1 (coturn `--allow-loopback-peers`; for tests). Default false. */
  readonly allowLoopback?: boolean;
}

export class PeerPolicy {
  readonly #allowed = new BlockList();
  readonly #denied = new BlockList();
  readonly #builtin = new BlockList();
  readonly #hasAllowed: boolean;
  readonly #hasDenied: boolean;
  readonly #allowLoopback: boolean;
  readonly #loopback = new BlockList();

  /** Throws PeerPolicyError (code ERR_TURN_BAD_IP_RANGE) on a malformed range. */
  constructor(options: PeerPolicyOptions = {}) {
    for (const r of options.allowed ?? []) addRangeTo(this.#allowed, r);
    for (const r of options.denied ?? []) addRangeTo(this.#denied, r);
    this.#hasAllowed = (options.allowed?.length ?? 0) > 0;
    this.#hasDenied = (options.denied?.length ?? 0) > 0;
    for (const [a, p] of DEFAULT_DENIED_V4) this.#builtin.addSubnet(a, p, 'ipv4');
    for (const [a, p] of DEFAULT_DENIED_V6) this.#builtin.addSubnet(a, p, 'ipv6');
    this.#builtin.addSubnet(LOOPBACK_V4[0], LOOPBACK_V4[1], 'ipv4');
    this.#builtin.addSubnet(LOOPBACK_V6[0], LOOPBACK_V6[1], 'ipv6');
    this.#allowLoopback = options.allowLoopback ?? false;
    this.#loopback.addSubnet(LOOPBACK_V4[0], LOOPBACK_V4[1], 'ipv4');
    this.#loopback.addSubnet(LOOPBACK_V6[0], LOOPBACK_V6[1], 'ipv6');
  }

  /** True when the relay may send to `address` (an IP literal; anything else is refused). */
  allows(address: string): boolean {
    const f = isIP(address);
    if (f === 0) return false;
    const fam = f === 6 ? 'ipv6' : 'ipv4';
    const ip = f === 6 ? unmapV4(address) : address;
    const ipFam = ip === address ? fam : 'ipv4';
    if (this.#hasAllowed && (this.#allowed.check(ip, ipFam) || this.#allowed.check(address, fam)))
      return true;
    if (this.#hasDenied && (this.#denied.check(ip, ipFam) || this.#denied.check(address, fam))) return false;
    // ::1 lies inside the deprecated ::/96, so loopback is decided before the built-in denials.
    if (this.#allowLoopback && this.#loopback.check(ip, ipFam)) return true;
    if (this.#builtin.check(ip, ipFam)) return false;
    return true;
  }
}

/** "::ffff:1.2.3.4" or "::ffff:102:304" -> "1.2.3.4"; anything else unchanged. */
function unmapV4(address: string): string {
  const lower = address.toLowerCase();
  if (!lower.startsWith('::ffff:')) return address;
  const rest = lower.slice(7);
  if (isIP(rest) === 4) return rest;
  const m = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(rest);
  if (!m) return address;
  const hi = Number.parseInt(m[1]!, 16);
  const lo = Number.parseInt(m[2]!, 16);
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}
