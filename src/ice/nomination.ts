/**
 * Regular nomination policy of the controlling agent (RFC 8445 §8.1.1 leaves "when" to the agent):
 * after the first valid pair, wait for higher-priority pairs still being checked, a few round trips
 * for a direct path and longer before settling for a relay, then nominate the best valid pair.
 * Also the role conflict rule of RFC 8445 §7.3.1.1.
 */
import type { CandidatePair } from './pair.js';

export interface NominationInput {
  /** Checked pair -> the valid pair its success produced. */
  readonly validOf: ReadonlyMap<CandidatePair, CandidatePair>;
  /** The check list, ordered by priority. */
  readonly pairs: readonly CandidatePair[];
  /** ms since the first valid pair. */
  readonly waited: number;
  /** Explicit waits (undefined: the defaults). */
  readonly nominationTimeout: number | undefined;
  readonly relayNominationTimeout: number | undefined;
}

export type NominationDecision = { nominate: CandidatePair } | { waitMs: number } | undefined;

export function decideNomination(o: NominationInput): NominationDecision {
  let best: CandidatePair | undefined;
  for (const checked of o.validOf.keys()) {
    if (checked.state !== 'succeeded') continue;
    if (!best || checked.priority > best.priority) best = checked;
  }
  if (!best) return undefined;
  const top = best;
  const better = o.pairs.some(
    (p) =>
      p.priority > top.priority &&
      (p.state === 'waiting' || p.state === 'in-progress' || p.state === 'frozen'),
  );
  if (!better) return { nominate: top };
  const relay = top.local.type === 'relay' || top.remote.type === 'relay';
  // A better direct pair that works answers within a few of the best pair's round trips.
  const rttMs = (o.validOf.get(top)?.currentRoundTripTime ?? top.currentRoundTripTime ?? 0.1) * 1000;
  const timeout = relay
    ? (o.relayNominationTimeout ?? 2000)
    : (o.nominationTimeout ?? Math.min(500, Math.max(100, 3 * rttMs)));
  return o.waited >= timeout ? { nominate: top } : { waitMs: timeout - o.waited };
}

/**
 * RFC 8445 §7.3.1.1: what to do with a request whose ICE-CONTROLLING/CONTROLLED attribute clashes
 * with our role: 'ok' (no conflict), 'switch' (we change role and answer), 'reject' (answer 487).
 */
export function resolveRoleConflict(
  controlling: boolean,
  ourTieBreaker: bigint,
  theirControlling: bigint | undefined,
  theirControlled: bigint | undefined,
): 'ok' | 'switch' | 'reject' {
  if (controlling && theirControlling !== undefined)
    return ourTieBreaker >= theirControlling ? 'reject' : 'switch';
  if (!controlling && theirControlled !== undefined)
    return ourTieBreaker >= theirControlled ? 'switch' : 'reject';
  return 'ok';
}
