/**
 * STUN client transactions (RFC 8489 §6.2). Sans-IO: requests go out through an injected `send`,
 * time comes from an injected `Clock`, and the owner feeds every received STUN response to
 * `handle()`. Over UDP a request is retransmitted after RTO, 2·RTO, 4·RTO, ... up to Rc
 * transmissions, then fails Rm·RTO after the last one (500 ms, 7, 16: 39.5 s). Over reliable
 * transports it is sent once and fails after Ti (39.5 s).
 */
import { randomFillSync } from 'node:crypto';
import type { Clock, Timer } from '../core/clock.js';
import { StateError, TimeoutError } from '../core/errors.js';
import type { TransportAddress } from '../core/net.js';
import { TRANSACTION_ID_SIZE } from './constants.js';
import type { ParsedStunMessage, StunMessage } from './message.js';
import { type SerializeOptions, serializeStunMessage } from './serialize.js';

/** RFC 8489 §6.2.1 defaults. */
export const DEFAULT_RTO_MS = 500;
export const DEFAULT_RC = 7;
export const DEFAULT_RM = 16;
/** RFC 8489 §6.2.2: Ti for reliable transports. */
export const DEFAULT_TI_MS = 39_500;

export interface TransactionOptions {
  /** Initial retransmission timeout in ms (default 500). */
  readonly rto?: number;
  /** Maximum number of transmissions over UDP (default 7). */
  readonly rc?: number;
  /** Final wait after the last transmission, in multiples of the initial RTO (default 16). */
  readonly rm?: number;
  /** Reliable transport (TCP/TLS): send once, no retransmission, fail after `ti`. */
  readonly reliable?: boolean;
  /** Timeout for reliable transports in ms (default 39 500). */
  readonly ti?: number;
}

export interface StunResponse {
  /** The success or error response. */
  readonly message: ParsedStunMessage;
  readonly from: TransportAddress;
  /** Milliseconds from the first transmission to the response. */
  readonly rtt: number;
  /** How many times the request was sent. */
  readonly transmissions: number;
}

export class StunTimeoutError extends TimeoutError {
  readonly transmissions: number;
  constructor(transmissions: number, elapsedMs: number) {
    super(
      'ERR_STUN_TIMEOUT',
      `STUN transaction timed out after ${transmissions} transmission(s), ${elapsedMs} ms`,
    );
    this.transmissions = transmissions;
  }
}

interface Pending {
  readonly bytes: Uint8Array;
  readonly to: TransportAddress;
  readonly started: number;
  transmissions: number;
  timer: Timer | undefined;
  resolve(r: StunResponse): void;
  reject(e: Error): void;
}

export interface StunTransactionsInit {
  readonly send: (bytes: Uint8Array, to: TransportAddress) => void;
  readonly clock: Clock;
  readonly defaults?: TransactionOptions;
}

function tidKey(tid: Uint8Array): string {
  let s = '';
  for (let i = 0; i < tid.length; i++) s += String.fromCharCode(tid[i]!);
  return s;
}

/** A fresh random transaction id (RFC 8489 §6: cryptographically random). */
export function newTransactionId(): Uint8Array {
  return randomFillSync(new Uint8Array(TRANSACTION_ID_SIZE));
}

export class StunTransactions {
  readonly #send: (bytes: Uint8Array, to: TransportAddress) => void;
  readonly #clock: Clock;
  readonly #defaults: TransactionOptions;
  readonly #pending = new Map<string, Pending>();
  #closed = false;

  constructor(init: StunTransactionsInit) {
    this.#send = init.send;
    this.#clock = init.clock;
    this.#defaults = init.defaults ?? {};
  }

  /** Transactions in flight. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Send a request and wait for its response (success or error class: both resolve). Rejects with
   * StunTimeoutError when no response comes, or StateError when cancelled or closed.
   */
  request(
    request: StunMessage | Uint8Array,
    to: TransportAddress,
    options: TransactionOptions & { readonly serialize?: SerializeOptions } = {},
  ): Promise<StunResponse> {
    if (this.#closed) return Promise.reject(new StateError('ERR_STUN_CLOSED', 'transactions closed'));
    const bytes = request instanceof Uint8Array ? request : serializeStunMessage(request, options.serialize);
    if (bytes.length < 20) return Promise.reject(new TypeError('not a STUN message'));
    const key = tidKey(bytes.subarray(8, 20));
    if (this.#pending.has(key)) {
      return Promise.reject(
        new StateError('ERR_STUN_DUPLICATE_TRANSACTION', 'transaction id already in flight'),
      );
    }
    const o = { ...this.#defaults, ...options };
    const rto0 = o.rto ?? DEFAULT_RTO_MS;
    const rc = Math.max(1, o.rc ?? DEFAULT_RC);
    const rm = o.rm ?? DEFAULT_RM;
    return new Promise<StunResponse>((resolve, reject) => {
      const p: Pending = {
        bytes,
        to,
        started: this.#clock.now(),
        transmissions: 0,
        timer: undefined,
        resolve,
        reject,
      };
      this.#pending.set(key, p);
      const fail = (): void => {
        this.#pending.delete(key);
        reject(new StunTimeoutError(p.transmissions, this.#clock.now() - p.started));
      };
      const transmit = (rto: number): void => {
        p.transmissions++;
        this.#send(bytes, to);
        if (o.reliable) p.timer = this.#clock.setTimeout(fail, o.ti ?? DEFAULT_TI_MS);
        else if (p.transmissions >= rc) p.timer = this.#clock.setTimeout(fail, rm * rto0);
        else p.timer = this.#clock.setTimeout(() => transmit(rto * 2), rto);
      };
      transmit(rto0);
    });
  }

  /**
   * Offer a received message. Returns true when it answered a pending transaction (which then
   * resolves); false for anything else (requests, indications, unknown or late responses).
   */
  handle(message: ParsedStunMessage, from: TransportAddress): boolean {
    if (message.cls !== 'success' && message.cls !== 'error') return false;
    const key = tidKey(message.transactionId);
    const p = this.#pending.get(key);
    if (!p) return false;
    this.#pending.delete(key);
    p.timer?.cancel();
    p.resolve({ message, from, rtt: this.#clock.now() - p.started, transmissions: p.transmissions });
    return true;
  }

  /** Stop a transaction (its promise rejects with StateError). */
  cancel(transactionId: Uint8Array): boolean {
    const key = tidKey(transactionId);
    const p = this.#pending.get(key);
    if (!p) return false;
    this.#pending.delete(key);
    p.timer?.cancel();
    p.reject(new StateError('ERR_STUN_CANCELLED', 'transaction cancelled'));
    return true;
  }

  /** Cancel everything in flight; later requests reject. */
  close(): void {
    this.#closed = true;
    for (const [key, p] of this.#pending) {
      this.#pending.delete(key);
      p.timer?.cancel();
      p.reject(new StateError('ERR_STUN_CLOSED', 'transactions closed'));
    }
  }
}
