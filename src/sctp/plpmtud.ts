/**
 * Packetization Layer Path MTU Discovery (RFC 8899) for SCTP. A probe is a HEARTBEAT whose info is
 * padded to the probed size; the HEARTBEAT ACK echoes it, so a confirmed size has crossed the path both
 * ways. (RFC 8899 §6.2.1.2 suggests HEARTBEAT + PAD (RFC 4820); every RFC 9260 peer echoes heartbeat
 * info, while some skip-on-unknown implementations throw on PAD, werift among them.)
 * Search: double the confirmed size up to the ceiling; MAX_PROBES losses end the search, which is
 * tried again after PMTU_RAISE_TIMER.
 */
import type { Clock } from '../core/clock.js';
import type { Random } from '../core/random.js';
import type { Chunk } from './chunk-types.js';
import { COMMON_HEADER_SIZE } from './constants.js';
import { LazyTimer } from './timer.js';

/** Heartbeat info of a probe: time (f64), nonce (u32), probed size (u32), then zero padding. */
export const PROBE_INFO_SIZE = 16;
/** Chunk header (4) and Heartbeat Info parameter header (4), RFC 9260 §3.3.5. */
const HEARTBEAT_OVERHEAD = 8;
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
  #max: number;
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
    this.#active = true;
    if (this.enabled) this.#timer.start(0);
  }

  /** The largest size worth probing (PL_MAX); probing starts or resumes when it rises. */
  get max(): number {
    return this.#max;
  }
  set max(v: number) {
    this.#max = v;
    if (this.#mtu > v) this.#mtu = v;
    if (this.#probeSize > v) {
      this.#probeSize = 0;
      this.#tries = 0;
    }
    if (this.#active && this.#probeSize === 0 && this.#mtu < v) this.#timer.start(0);
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
    const infoLength = size - (COMMON_HEADER_SIZE + HEARTBEAT_OVERHEAD);
    if (infoLength < PROBE_INFO_SIZE) return;
    const info = new Uint8Array(infoLength);
    const dv = new DataView(info.buffer);
    dv.setFloat64(0, this.#host.clock.now());
    dv.setUint32(8, this.#host.random.u32());
    dv.setUint32(12, size);
    this.#host.sendChunks([{ type: 4, info }]);
  }

  /** A HEARTBEAT ACK whose info has at least PROBE_INFO_SIZE bytes (see isProbeInfo). */
  onProbeAck(info: Uint8Array): void {
    const size = new DataView(info.buffer, info.byteOffset, PROBE_INFO_SIZE).getUint32(12);
    if (size !== info.length + COMMON_HEADER_SIZE + HEARTBEAT_OVERHEAD) return;
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
