/**
 * Packetization Layer Path MTU Discovery (RFC 8899) for SCTP: probe packets are a HEARTBEAT plus a
 * PAD chunk (RFC 4820) filling the packet to the probed size; a HEARTBEAT ACK confirms the size.
 * Search: double the confirmed size up to the ceiling; MAX_PROBES losses end the search, which is
 * tried again after PMTU_RAISE_TIMER.
 */
import type { Clock } from '../core/clock.js';
import type { Random } from '../core/random.js';
import type { Chunk } from './chunk-types.js';
import { COMMON_HEADER_SIZE } from './constants.js';
import { LazyTimer } from './timer.js';

/** PAD chunk, RFC 4820 §3. */
export const CHUNK_PAD = 132;
/** Heartbeat info of a probe: time (f64), nonce (u32), probed size (u32). */
export const PROBE_INFO_SIZE = 16;
/** RFC 8899 §5.1.2 MAX_PROBES. */
const MAX_PROBES = 3;
/** RFC 8899 §5.1.1 PMTU_RAISE_TIMER. */
const PMTU_RAISE_MS = 600_000;

export interface ProberHost {
  readonly clock: Clock;
  readonly random: Random;
  rto(): number;
  /** Send one packet made of these chunks. */
  sendChunks(chunks: Chunk[]): void;
  /** A larger size is confirmed. */
  confirmed(size: number): void;
}

export class PathMtuProber {
  readonly #host: ProberHost;
  readonly #max: number;
  readonly #timer: LazyTimer;
  #mtu: number;
  #probeSize = 0;
  #tries = 0;
  #active = false;

  constructor(host: ProberHost, mtu: number, max: number) {
    this.#host = host;
    this.#mtu = mtu;
    this.#max = max;
    this.#timer = new LazyTimer(host.clock, () => this.#onTimer());
  }

  get enabled(): boolean {
    return this.#max > this.#mtu;
  }

  start(): void {
    if (!this.enabled) return;
    this.#active = true;
    this.#timer.start(0);
  }

  #onTimer(): void {
    if (!this.#active) return;
    if (this.#probeSize !== 0 && ++this.#tries >= MAX_PROBES) {
      this.#probeSize = 0;
      this.#tries = 0;
      this.#timer.start(PMTU_RAISE_MS);
      return;
    }
    if (this.#mtu >= this.#max) return;
    if (this.#probeSize === 0) this.#probeSize = Math.min(this.#max, this.#mtu * 2);
    this.#send(this.#probeSize);
    this.#timer.start(Math.max(this.#host.rto(), 200));
  }

  #send(size: number): void {
    const info = new Uint8Array(PROBE_INFO_SIZE);
    const dv = new DataView(info.buffer);
    dv.setFloat64(0, this.#host.clock.now());
    dv.setUint32(8, this.#host.random.u32());
    dv.setUint32(12, size);
    // HEARTBEAT (4 + 4 + 16 bytes), then a PAD chunk filling the packet to `size`.
    const padLength = size - (COMMON_HEADER_SIZE + 8 + PROBE_INFO_SIZE);
    if (padLength < 4) return;
    this.#host.sendChunks([
      { type: 4, info },
      { type: -1, chunkType: CHUNK_PAD, flags: 0, body: new Uint8Array(padLength - 4) },
    ]);
  }

  /** A HEARTBEAT ACK whose info has PROBE_INFO_SIZE bytes. */
  onProbeAck(info: Uint8Array): void {
    const size = new DataView(info.buffer, info.byteOffset, PROBE_INFO_SIZE).getUint32(12);
    if (size !== this.#probeSize || size <= this.#mtu) return;
    this.#mtu = size;
    this.#probeSize = 0;
    this.#tries = 0;
    this.#host.confirmed(size);
    this.#timer.start(0);
  }

  cancel(): void {
    this.#active = false;
    this.#timer.cancel();
  }
}
