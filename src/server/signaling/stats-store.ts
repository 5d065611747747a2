/**
 * The latest connection summaries clients report (`stats` frames), kept per room and reporting
 * peer. The dashboard and /metrics read aggregates from here. Reports older than `maxAgeMs` are
 * ignored, and a peer's reports go when the peer leaves.
 */
import type { CandidateType, StatsEntry } from '../../protocol/signaling.js';

export interface StoredReport extends StatsEntry {
  readonly from: string;
  readonly at: number;
}

export interface RoomSummary {
  readonly room: string;
  readonly peers: { id: string; name: string; connected: boolean }[];
  readonly links: StoredReport[];
}

export interface PathShares {
  readonly total: number;
  readonly counts: Record<CandidateType, number>;
  /** Fraction of connected links whose selected pair goes through a TURN relay (0 when none). */
  readonly relayShare: number;
}

export class StatsStore {
  readonly #byRoom = new Map<string, Map<string, { at: number; entries: StatsEntry[] }>>();
  readonly #maxAgeMs: number;
  readonly #now: () => number;

  constructor(options: { now: () => number; maxAgeMs?: number }) {
    this.#now = options.now;
    this.#maxAgeMs = options.maxAgeMs ?? 15_000;
  }

  report(room: string, from: string, entries: StatsEntry[]): void {
    let r = this.#byRoom.get(room);
    if (!r) this.#byRoom.set(room, (r = new Map()));
    r.set(from, { at: this.#now(), entries });
  }

  forget(room: string, peer: string): void {
    const r = this.#byRoom.get(room);
    if (!r) return;
    r.delete(peer);
    if (r.size === 0) this.#byRoom.delete(room);
  }

  /** Fresh reports of one room (or all rooms). */
  reports(room?: string): StoredReport[] {
    const out: StoredReport[] = [];
    const cutoff = this.#now() - this.#maxAgeMs;
    for (const [name, r] of this.#byRoom) {
      if (room !== undefined && name !== room) continue;
      for (const [from, { at, entries }] of r) {
        if (at < cutoff) continue;
        for (const e of entries) out.push({ ...e, from, at });
      }
    }
    return out;
  }

  /** Path types of the selected candidate pairs of connected links. */
  pathShares(room?: string): PathShares {
    const counts: Record<CandidateType, number> = { host: 0, srflx: 0, prflx: 0, relay: 0 };
    let total = 0;
    for (const r of this.reports(room)) {
      if (r.connectionState !== 'connected' || !r.pathType) continue;
      counts[r.pathType]++;
      total++;
    }
    return { total, counts, relayShare: total === 0 ? 0 : counts.relay / total };
  }
}
