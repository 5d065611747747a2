/**
 * Map from a client transport address (IP string, port) to a value, without building a string key
 * per packet: each distinct IP gets a small integer id (refcounted), and the key is the number
 * `id * 65536 + port`. One string-keyed lookup (the IP, whose hash V8 caches per string) and one
 * numeric lookup per datagram.
 */
export class ClientTable<V> {
  readonly #ids = new Map<string, { id: number; refs: number }>();
  readonly #values = new Map<number, V>();
  #nextId = 1;

  get size(): number {
    return this.#values.size;
  }

  get(address: string, port: number): V | undefined {
    const e = this.#ids.get(address);
    if (e === undefined) return undefined;
    return this.#values.get(e.id * 65536 + port);
  }

  set(address: string, port: number, value: V): void {
    let e = this.#ids.get(address);
    if (!e) {
      e = { id: this.#nextId++, refs: 0 };
      this.#ids.set(address, e);
    }
    const key = e.id * 65536 + port;
    if (!this.#values.has(key)) e.refs++;
    this.#values.set(key, value);
  }

  delete(address: string, port: number): boolean {
    const e = this.#ids.get(address);
    if (!e) return false;
    const key = e.id * 65536 + port;
    if (!this.#values.delete(key)) return false;
    if (--e.refs === 0) this.#ids.delete(address);
    return true;
  }

  values(): IterableIterator<V> {
    return this.#values.values();
  }

  /** Distinct IPs remembered (for memory-bound checks). */
  get addressCount(): number {
    return this.#ids.size;
  }
}
