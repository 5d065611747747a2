/**
 * A small typed emitter for engines (not the W3C EventTarget, which `peer/` builds on top).
 * `Events` maps event names to listener argument tuples.
 */
// biome-ignore lint/suspicious/noExplicitAny: a map from event name to argument tuple; the constraint must accept any tuple
export type EventMap = Record<string, any[]>;

type Listener = (...args: unknown[]) => void;

export class Emitter<Events extends EventMap> {
  #listeners = new Map<keyof Events, Set<Listener>>();

  on<K extends keyof Events>(name: K, fn: (...args: Events[K]) => void): () => void {
    let set = this.#listeners.get(name);
    if (!set) this.#listeners.set(name, (set = new Set()));
    set.add(fn as unknown as Listener);
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
  }
  emit<K extends keyof Events>(name: K, ...args: Events[K]): void {
    const set = this.#listeners.get(name);
    if (!set) return;
    for (const fn of [...set]) (fn as unknown as (...a: Events[K]) => void)(...args);
  }
  listenerCount(name: keyof Events): number {
    return this.#listeners.get(name)?.size ?? 0;
  }
  removeAllListeners(): void {
    this.#listeners.clear();
  }
}
