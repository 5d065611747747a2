/**
 * A small typed emitter for engines (not the W3C EventTarget, which `peer/` builds on top).
 * `Events` maps event names to listener argument tuples.
 */
// biome-ignore lint/suspicious/noExplicitAny: a map from event name to argument tuple; the constraint must accept any tuple
export type EventMap = Record<string, any[]>;

type Listener = (...args: unknown[]) => void;

export class Emitter<Events extends EventMap> {
  #listeners = new Map<keyof Events, Set<Listener>>();
  /**
   * Per event, the listeners as an array, made on the first emit after a change: an emit calls
   * the listeners there were when it began (as a copy per emit would) without copying each time.
   */
  #snapshots = new Map<keyof Events, Listener[]>();

  on<K extends keyof Events>(name: K, fn: (...args: Events[K]) => void): () => void {
    let set = this.#listeners.get(name);
    if (!set) this.#listeners.set(name, (set = new Set()));
    set.add(fn as unknown as Listener);
    this.#snapshots.delete(name);
    return () => this.off(name, fn);
  }
  once<K extends keyof Events>(name: K, fn: (...args: Events[K]) => void): () => void {
    const off = this.on(name, (...args) => {
      off();
      fn(...args);
    });
    return off;
  }
  off<K extends keyof Events>(name: K, fn: (...args: Events[K]) => void): void {
    this.#listeners.get(name)?.delete(fn as unknown as Listener);
    this.#snapshots.delete(name);
  }
  emit<K extends keyof Events>(name: K, ...args: Events[K]): void {
    let list = this.#snapshots.get(name);
    if (!list) {
      const set = this.#listeners.get(name);
      if (!set) return;
      this.#snapshots.set(name, (list = [...set]));
    }
    for (const fn of list) (fn as unknown as (...a: Events[K]) => void)(...args);
  }
  listenerCount(name: keyof Events): number {
    return this.#listeners.get(name)?.size ?? 0;
  }
  removeAllListeners(): void {
    this.#listeners.clear();
    this.#snapshots.clear();
  }
}
