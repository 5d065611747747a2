/** A minimal typed event emitter for the browser library (the client imports nothing outside src/client). */
// biome-ignore lint/suspicious/noExplicitAny: event name -> argument tuple; the constraint must accept any tuple
export type EventMap = Record<string, any[]>;

type Listener = (...args: unknown[]) => void;

export class Emitter<E extends EventMap> {
  #listeners = new Map<keyof E, Set<Listener>>();

  on<K extends keyof E>(name: K, fn: (...args: E[K]) => void): () => void {
    let set = this.#listeners.get(name);
    if (!set) this.#listeners.set(name, (set = new Set()));
    const l = fn as unknown as Listener;
    set.add(l);
    return () => set.delete(l);
  }

  protected emit<K extends keyof E>(name: K, ...args: E[K]): void {
    const set = this.#listeners.get(name);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(...args);
      } catch (err) {
        console.error(`listener for '${String(name)}' threw`, err);
      }
    }
  }
}
