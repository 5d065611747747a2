/**
 * The check list of one data stream (RFC 8445 §6.1.2): pairing, pruning, ordering, foundation
 * freezing and the triggered-check queue. Pure bookkeeping; the agent sends the checks.
 */

import { familyOf } from '../core/net.js';
import type { CandidatePair, LocalCandidate, RemoteCandidate } from './pair.js';
import { byPriorityDesc, CandidatePair as Pair } from './pair.js';

/** RFC 8445 §6.1.2.5: a limit on pairs keeps checks finite (Chromium and pion use 100). */
export const DEFAULT_MAX_PAIRS = 100;

/** Can these two candidates form a pair? Same component, transport and address family. */
/**
 * Whether two candidates can form a pair. `proven`: a check already arrived on this exact path
 * (RFC 8445 §7.3.1.4), so the reachability heuristics (loopback only to loopback, link-local only
 * to link-local) do not apply: on one host the kernel does route between them.
 */
export function canPair(local: LocalCandidate, remote: RemoteCandidate, proven = false): boolean {
  if (local.component !== remote.component) return false;
  if (local.protocol !== remote.protocol) return false;
  // srflx locals are represented by their base (RFC 8445 §6.1.2.4): only host/prflx/relay pair.
  if (local.type === 'srflx') return false;
  const raddr = remote.resolvedAddress ?? remote.address;
  if (raddr.endsWith('.local')) return false;
  if (familyOf(local.baseAddress) !== familyOf(raddr)) return false;
  if (local.protocol === 'tcp') {
    // RFC 6544 §6.2: active pairs with passive, simultaneous-open with simultaneous-open.
    const ok =
      (local.tcpType === 'active' && remote.tcpType === 'passive') ||
      (local.tcpType === 'passive' && remote.tcpType === 'active') ||
      (local.tcpType === 'so' && remote.tcpType === 'so');
    if (!ok) return false;
  }
  if (proven) return true;
  // Loopback only reaches loopback.
  const lo = (a: string): boolean => a.startsWith('127.') || a === '::1';
  if (lo(local.baseAddress) !== lo(raddr)) return false;
  // A link-local IPv6 only reaches link-local (RFC 8445 §6.1.2.2).
  const ll = (a: string): boolean => /^fe80:/i.test(a);
  if (ll(local.baseAddress) !== ll(raddr)) return false;
  return true;
}

export class CheckList {
  readonly maxPairs: number;
  #pairs: CandidatePair[] = [];
  #triggered: CandidatePair[] = [];

  constructor(maxPairs = DEFAULT_MAX_PAIRS) {
    this.maxPairs = maxPairs;
  }

  get pairs(): readonly CandidatePair[] {
    return this.#pairs;
  }

  /**
   * Form a pair and insert it in priority order. Returns the pair (existing one if redundant:
   * same local base and same remote transport address, RFC 8445 §6.1.2.4), or undefined when the
   * candidates cannot pair or the list is full of higher-priority pairs.
   */
  add(
    local: LocalCandidate,
    remote: RemoteCandidate,
    controlling: boolean,
    proven = false,
  ): CandidatePair | undefined {
    if (!canPair(local, remote, proven)) return undefined;
    const pair = new Pair(local, remote, controlling);
    const dup = this.#pairs.find(
      (p) =>
        p.local.baseId === local.baseId &&
        p.remote.port === remote.port &&
        (p.remote.resolvedAddress ?? p.remote.address) === (remote.resolvedAddress ?? remote.address),
    );
    if (dup) {
      if (dup.priority >= pair.priority || (dup.state !== 'frozen' && dup.state !== 'waiting')) return dup;
      this.remove(dup);
    }
    if (this.#pairs.length >= this.maxPairs) {
      const last = this.#pairs[this.#pairs.length - 1];
      if (!last || last.priority >= pair.priority || last.state !== 'frozen') return undefined;
      this.remove(last);
    }
    // RFC 8838 §11 / RFC 8445 §6.1.2.6: a new pair is waiting when no pair of its foundation is
    // already being worked on, frozen otherwise.
    const busy = this.#pairs.some(
      (p) => p.foundation === pair.foundation && (p.state === 'waiting' || p.state === 'in-progress'),
    );
    pair.state = busy ? 'frozen' : 'waiting';
    let i = this.#pairs.length;
    while (i > 0 && byPriorityDesc(this.#pairs[i - 1]!, pair) > 0) i--;
    this.#pairs.splice(i, 0, pair);
    return pair;
  }

  remove(pair: CandidatePair): void {
    this.#pairs = this.#pairs.filter((p) => p !== pair);
    this.#triggered = this.#triggered.filter((p) => p !== pair);
  }

  find(localBaseId: string, remoteAddress: string, remotePort: number): CandidatePair | undefined {
    return this.#pairs.find(
      (p) =>
        p.local.baseId === localBaseId &&
        p.remote.port === remotePort &&
        (p.remote.resolvedAddress ?? p.remote.address) === remoteAddress,
    );
  }

  /** RFC 8445 §7.3.1.4: queue a triggered check (front of the line, FIFO among triggered). */
  trigger(pair: CandidatePair): void {
    if (!this.#triggered.includes(pair)) this.#triggered.push(pair);
  }

  /**
   * RFC 8445 §6.1.4.2: the pair to check on the next Ta tick: a triggered one if queued, else the
   * highest-priority waiting pair, else the highest frozen pair whose foundation is idle (unfrozen).
   */
  next(): { pair: CandidatePair; triggered: boolean } | undefined {
    const t = this.#triggered.shift();
    if (t) return { pair: t, triggered: true };
    // RFC 6544 §7.1: a passive TCP candidate never opens connections; its pairs are checked only
    // as triggered checks once the peer connected.
    const waiting = this.#pairs.find((p) => p.state === 'waiting' && p.local.tcpType !== 'passive');
    if (waiting) return { pair: waiting, triggered: false };
    for (const p of this.#pairs) {
      if (p.state !== 'frozen' || p.local.tcpType === 'passive') continue;
      const busy = this.#pairs.some(
        (q) => q.foundation === p.foundation && (q.state === 'waiting' || q.state === 'in-progress'),
      );
      if (!busy) return { pair: p, triggered: false };
    }
    return undefined;
  }

  /** Only a triggered check (after nomination ordinary checks stop). */
  nextTriggered(): CandidatePair | undefined {
    return this.#triggered.shift();
  }

  get hasTriggered(): boolean {
    return this.#triggered.length > 0;
  }

  /** RFC 8445 §7.2.5.3.3: a success unfreezes the pairs sharing its foundation. */
  unfreezeFoundation(foundation: string): void {
    for (const p of this.#pairs) if (p.foundation === foundation && p.state === 'frozen') p.state = 'waiting';
  }

  /** Role change: priorities move, so re-sort (RFC 8445 §7.3.1.1). */
  recompute(controlling: boolean): void {
    for (const p of this.#pairs) p.updatePriority(controlling);
    this.#pairs.sort(byPriorityDesc);
  }

  /** Work for the pacing timer: triggered checks, waiting or frozen pairs (in-progress ones retransmit on their own). */
  get hasPendingWork(): boolean {
    return (
      this.#triggered.length > 0 || this.#pairs.some((p) => p.state === 'waiting' || p.state === 'frozen')
    );
  }

  allFailed(): boolean {
    return this.#pairs.every((p) => p.state === 'failed');
  }

  clear(): void {
    this.#pairs = [];
    this.#triggered = [];
  }
}
