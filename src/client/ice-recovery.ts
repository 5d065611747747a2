/**
 * When to restart ICE on a connection with the server (SFU mode): at once when it goes `failed`,
 * after a grace period when it goes `disconnected` (a loss it may still leave by itself), and
 * again, with a growing interval, while a restart has not brought it back to `connected`. The
 * restart itself (restartIce + renegotiation) is the caller's; this only decides when. Timers are
 * injected, so the policy runs in Node tests without a browser.
 */
export interface IceRecoveryOptions {
  /** Restart ICE now (the caller renegotiates). */
  readonly restart: () => void;
  /**
   * How long `disconnected` may last before a restart, ms (default 10000: a loaded machine leaves
   * consent checks unanswered for a few seconds now and then; a restart then costs more than it saves).
   */
  readonly graceMs?: number;
  /** After a restart: look again this long after it (default 5000), doubled each time up to maxRetryMs. */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
  readonly setTimeout?: (fn: () => void, ms: number) => unknown;
  readonly clearTimeout?: (handle: unknown) => void;
}

type Handle = unknown;

export class IceRecovery {
  readonly #o: IceRecoveryOptions;
  readonly #set: (fn: () => void, ms: number) => Handle;
  readonly #clear: (h: Handle) => void;
  #state: RTCPeerConnectionState = 'new';
  /** `disconnected` seen: restart when it lasts. */
  #grace: Handle | undefined;
  /** A restart made: look again when it is due. */
  #retry: Handle | undefined;
  /** The next retry interval (grows while restarts do not help). */
  #retryMs: number;
  #closed = false;
  /** Restarts made so far. */
  restarts = 0;
  /** Times the connection went `failed`. */
  failures = 0;

  constructor(o: IceRecoveryOptions) {
    this.#o = o;
    this.#set = o.setTimeout ?? ((fn, ms) => setTimeout(fn, ms));
    this.#clear = o.clearTimeout ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
    this.#retryMs = o.retryMs ?? 5000;
  }

  /** A restart is due or under way (a timer is set). */
  get pending(): boolean {
    return this.#grace !== undefined || this.#retry !== undefined;
  }

  /** The connection's state changed (connectionState). */
  update(state: RTCPeerConnectionState): void {
    if (this.#closed || state === this.#state) return;
    this.#state = state;
    if (state === 'connected' || state === 'closed') {
      this.#cancel();
      this.#retryMs = this.#o.retryMs ?? 5000;
      if (state === 'closed') this.#closed = true;
      return;
    }
    if (state === 'failed') {
      this.failures++;
      // A restart under way gets its time (its retry follows); otherwise restart now.
      if (this.#retry === undefined) this.#restart();
      return;
    }
    if (state === 'disconnected' && !this.pending)
      this.#grace = this.#set(() => {
        this.#grace = undefined;
        if (this.#state === 'disconnected' || this.#state === 'failed') this.#restart();
      }, this.#o.graceMs ?? 10_000);
  }

  close(): void {
    this.#closed = true;
    this.#cancel();
  }

  #restart(): void {
    this.#cancel();
    if (this.#closed) return;
    this.restarts++;
    this.#o.restart();
    const wait = this.#retryMs;
    this.#retryMs = Math.min(wait * 2, this.#o.maxRetryMs ?? 20_000);
    this.#retry = this.#set(() => {
      this.#retry = undefined;
      if (this.#state !== 'connected' && this.#state !== 'closed') this.#restart();
    }, wait);
  }

  #cancel(): void {
    if (this.#grace !== undefined) this.#clear(this.#grace);
    if (this.#retry !== undefined) this.#clear(this.#retry);
    this.#grace = this.#retry = undefined;
  }
}
