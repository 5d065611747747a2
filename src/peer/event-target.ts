/**
 * The W3C event surface on Node: classes extend the platform EventTarget, and each `onx` attribute
 * is an event-handler property that behaves like the browser's (one handler per attribute, set to
 * null to remove, called in order with addEventListener listeners).
 */
type Handler = ((this: unknown, ev: Event) => unknown) | null;

/**
 * Define `on<type>` handler properties on a prototype. The value is stored per instance; setting a
 * new handler replaces the previous one's listener.
 */
export function defineEventHandlers(proto: EventTarget, types: readonly string[]): void {
  for (const type of types) {
    const slot = Symbol(`on${type}`);
    Object.defineProperty(proto, `on${type}`, {
      configurable: true,
      enumerable: true,
      get(this: Record<symbol, { handler: Handler; listener: (ev: Event) => void } | undefined>) {
        return this[slot]?.handler ?? null;
      },
      set(
        this: EventTarget & Record<symbol, { handler: Handler; listener: (ev: Event) => void } | undefined>,
        value: Handler,
      ) {
        const prev = this[slot];
        if (prev) this.removeEventListener(type, prev.listener);
        if (typeof value !== 'function') {
          this[slot] = undefined;
          return;
        }
        const listener = (ev: Event): void => {
          value.call(this, ev);
        };
        this[slot] = { handler: value, listener };
        this.addEventListener(type, listener);
      },
    });
  }
}

/** A W3C-style event that carries extra readonly fields (RTCPeerConnectionIceEvent, RTCDataChannelEvent...). */
export function makeEvent<T extends object>(type: string, fields: T): Event & T {
  const ev = new Event(type);
  for (const [k, v] of Object.entries(fields)) Object.defineProperty(ev, k, { value: v, enumerable: true });
  return ev as Event & T;
}
