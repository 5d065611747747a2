/** Ephemeral port allocation for a host: sequential from 49152 (IANA dynamic range), skipping ports in use. */
export const EPHEMERAL_MIN = 49152;
export const EPHEMERAL_MAX = 65535;

export class PortAllocator {
  #next = EPHEMERAL_MIN;

  /** The next free port, or undefined if every ephemeral port is taken. */
  allocate(inUse: (port: number) => boolean): number | undefined {
    const span = EPHEMERAL_MAX - EPHEMERAL_MIN + 1;
    for (let i = 0; i < span; i++) {
      const port = this.#next;
      this.#next = port === EPHEMERAL_MAX ? EPHEMERAL_MIN : port + 1;
      if (!inUse(port)) return port;
    }
    return undefined;
  }
}
