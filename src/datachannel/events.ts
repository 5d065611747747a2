/**
 * Small helpers for the W3C event surface on Node's global EventTarget / Event / MessageEvent
 * (Node 20 has them): `onX = fn` handler attributes and RTCErrorEvent.
 */

/** RTCError (W3C webrtc §11.1): a DOMException with an errorDetail. */
export class RTCError extends DOMException {
  readonly errorDetail: string;
  readonly sctpCauseCode: number | null;
  constructor(init: { errorDetail: string; sctpCauseCode?: number }, message = '') {
    super(message, 'OperationError');
    this.errorDetail = init.errorDetail;
    this.sctpCauseCode = init.sctpCauseCode ?? null;
  }
}

export class RTCErrorEvent extends Event {
  readonly error: RTCError;
  constructor(type: string, init: { error: RTCError }) {
    super(type);
    this.error = init.error;
  }
}

type Handler = ((ev: Event) => unknown) | null;

/** An EventTarget with `on<type>` attribute handlers kept in one place. */
export class HandlerTarget extends EventTarget {
  readonly #handlers = new Map<string, Handler>();

  protected getHandler(type: string): Handler {
    return this.#handlers.get(type) ?? null;
  }
  protected setHandler(type: string, fn: Handler): void {
    if (!this.#handlers.has(type)) {
      // One listener per type, registered on first assignment, dispatching to the current handler.
      this.addEventListener(type, (ev) => {
        const h = this.#handlers.get(type);
        if (h) h.call(this, ev);
      });
    }
    this.#handlers.set(type, typeof fn === 'function' ? fn : null);
  }
}
