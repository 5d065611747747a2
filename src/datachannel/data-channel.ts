/**
 * RTCDataChannel with the W3C semantics (webrtc §6.2) on top of one SCTP stream.
 *
 * Node has no Blob-first world, so `binaryType` defaults to 'arraybuffer' here (browsers default to
 * 'blob'); 'blob' is supported and gives Node's Blob.
 */

import { PPID_BINARY, PPID_BINARY_EMPTY, PPID_STRING, PPID_STRING_EMPTY } from './dcep.js';
import { HandlerTarget, type RTCError, RTCErrorEvent } from './events.js';

export type RTCDataChannelState = 'connecting' | 'open' | 'closing' | 'closed';
export type BinaryType = 'arraybuffer' | 'blob';

export interface RTCDataChannelInit {
  ordered?: boolean;
  maxPacketLifeTime?: number;
  maxRetransmits?: number;
  protocol?: string;
  negotiated?: boolean;
  id?: number;
  /** Not used for scheduling; carried in DATA_CHANNEL_OPEN. */
  priority?: 'very-low' | 'low' | 'medium' | 'high';
}

/** What a channel needs from its manager (one SCTP association). */
export interface ChannelTransport {
  send(channel: RTCDataChannel, ppid: number, data: Uint8Array): void;
  close(channel: RTCDataChannel): void;
  bufferedAmount(channel: RTCDataChannel): number;
  setLowThreshold(channel: RTCDataChannel, threshold: number): void;
  readonly remoteMaxMessageSize: number;
}

const utf8 = new TextEncoder();

// Small messages are copied into a shared slab (one view each instead of one buffer each).
const SLAB_SIZE = 256 * 1024;
const SMALL = 2048;
let slab = new Uint8Array(SLAB_SIZE);
let slabAt = 0;
function copyBytes(src: ArrayBufferLike, offset: number, length: number): Uint8Array {
  const view = new Uint8Array(src, offset, length);
  if (length > SMALL) return view.slice();
  if (slabAt + length > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    slabAt = 0;
  }
  const out = slab.subarray(slabAt, slabAt + length);
  out.set(view);
  slabAt += (length + 7) & ~7;
  return out;
}
const fromUtf8 = new TextDecoder();
const ONE_ZERO = new Uint8Array(1);

export class RTCDataChannel extends HandlerTarget {
  readonly label: string;
  readonly ordered: boolean;
  readonly maxPacketLifeTime: number | null;
  readonly maxRetransmits: number | null;
  readonly protocol: string;
  readonly negotiated: boolean;
  readonly priority: string;
  #id: number | null;
  #state: RTCDataChannelState = 'connecting';
  #binaryType: BinaryType = 'arraybuffer';
  #threshold = 0;
  readonly #transport: ChannelTransport;
  /** Bytes sent after close, so bufferedAmount keeps growing as the spec says. */
  #closedExtra = 0;
  /** A Blob being read: later sends wait behind it to keep order. */
  #blobChain: Promise<void> | null = null;
  #pendingBlobBytes = 0;
  /** Messages received between the datachannel event and its open event (see openHeld). */
  #held: [number, Uint8Array][] | null = null;

  /** @internal created by DataChannelManager */
  constructor(transport: ChannelTransport, label: string, init: RTCDataChannelInit, id: number | null) {
    super();
    this.#transport = transport;
    this.label = label;
    this.ordered = init.ordered ?? true;
    this.maxPacketLifeTime = init.maxPacketLifeTime ?? null;
    this.maxRetransmits = init.maxRetransmits ?? null;
    this.protocol = init.protocol ?? '';
    this.negotiated = init.negotiated ?? false;
    this.priority = init.priority ?? 'low';
    this.#id = id;
  }

  get id(): number | null {
    return this.#id;
  }
  /** @internal */
  setId(id: number): void {
    this.#id = id;
  }
  get readyState(): RTCDataChannelState {
    return this.#state;
  }
  get bufferedAmount(): number {
    if (this.#state === 'closed') return this.#closedExtra;
    return this.#transport.bufferedAmount(this) + this.#pendingBlobBytes + this.#closedExtra;
  }
  get bufferedAmountLowThreshold(): number {
    return this.#threshold;
  }
  set bufferedAmountLowThreshold(v: number) {
    this.#threshold = Math.max(0, Math.floor(Number(v) || 0)) >>> 0;
    this.#transport.setLowThreshold(this, this.#threshold);
  }
  get binaryType(): BinaryType {
    return this.#binaryType;
  }
  set binaryType(v: BinaryType) {
    if (v === 'arraybuffer' || v === 'blob') this.#binaryType = v;
    else throw new DOMException(`binaryType '${String(v)}' is not supported`, 'SyntaxError');
  }

  get onopen() {
    return this.getHandler('open');
  }
  set onopen(fn) {
    this.setHandler('open', fn);
  }
  get onmessage() {
    return this.getHandler('message');
  }
  set onmessage(fn) {
    this.setHandler('message', fn);
  }
  get onbufferedamountlow() {
    return this.getHandler('bufferedamountlow');
  }
  set onbufferedamountlow(fn) {
    this.setHandler('bufferedamountlow', fn);
  }
  get onerror() {
    return this.getHandler('error');
  }
  set onerror(fn) {
    this.setHandler('error', fn);
  }
  get onclosing() {
    return this.getHandler('closing');
  }
  set onclosing(fn) {
    this.setHandler('closing', fn);
  }
  get onclose() {
    return this.getHandler('close');
  }
  set onclose(fn) {
    this.setHandler('close', fn);
  }

  /** W3C send(): string, ArrayBuffer, ArrayBufferView or Blob. */
  send(data: string | ArrayBuffer | ArrayBufferView | Blob): void {
    if (this.#state !== 'open') {
      throw new DOMException(`RTCDataChannel.readyState is '${this.#state}'`, 'InvalidStateError');
    }
    let ppid: number;
    let bytes: Uint8Array;
    if (typeof data === 'string') {
      bytes = utf8.encode(data);
      ppid = bytes.length === 0 ? PPID_STRING_EMPTY : PPID_STRING;
    } else if (data instanceof ArrayBuffer) {
      bytes = copyBytes(data, 0, data.byteLength);
      ppid = bytes.length === 0 ? PPID_BINARY_EMPTY : PPID_BINARY;
    } else if (ArrayBuffer.isView(data)) {
      // Copy: the caller may reuse its buffer after send() returns.
      bytes = copyBytes(data.buffer, data.byteOffset, data.byteLength);
      ppid = bytes.length === 0 ? PPID_BINARY_EMPTY : PPID_BINARY;
    } else if (typeof Blob !== 'undefined' && data instanceof Blob) {
      this.#sendBlob(data);
      return;
    } else {
      throw new TypeError('RTCDataChannel.send: unsupported data type');
    }
    this.#checkSize(bytes.length);
    this.#sendBytes(ppid, bytes);
  }

  #checkSize(n: number): void {
    const max = this.#transport.remoteMaxMessageSize;
    if (max > 0 && n > max) {
      throw new TypeError(`message of ${n} bytes exceeds the remote max-message-size ${max}`);
    }
  }

  #sendBytes(ppid: number, bytes: Uint8Array): void {
    if (this.#blobChain) {
      this.#pendingBlobBytes += bytes.length;
      this.#blobChain = this.#blobChain.then(() => {
        this.#pendingBlobBytes -= bytes.length;
        if (this.#state === 'open') this.#transport.send(this, ppid, bytes);
      });
      return;
    }
    this.#transport.send(this, ppid, bytes.length === 0 ? ONE_ZERO : bytes);
  }

  #sendBlob(blob: Blob): void {
    this.#checkSize(blob.size);
    this.#pendingBlobBytes += blob.size;
    const prev = this.#blobChain ?? Promise.resolve();
    const chain = prev
      .then(() => blob.arrayBuffer())
      .then((ab) => {
        this.#pendingBlobBytes -= blob.size;
        if (this.#state !== 'open') return;
        const bytes = new Uint8Array(ab);
        this.#transport.send(
          this,
          bytes.length === 0 ? PPID_BINARY_EMPTY : PPID_BINARY,
          bytes.length ? bytes : ONE_ZERO,
        );
      });
    this.#blobChain = chain;
    void chain.finally(() => {
      if (this.#blobChain === chain) this.#blobChain = null;
    });
  }

  /** Start the closing procedure (W3C §6.2.4): reset the outgoing stream. */
  close(): void {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    this.#state = 'closing';
    this.#transport.close(this);
  }

  // ------------------------------------------------------------- driven by the manager

  /** @internal */
  announceOpen(): void {
    if (this.#state !== 'connecting') return;
    this.#state = 'open';
    this.dispatchEvent(new Event('open'));
  }

  /**
   * @internal a remotely opened channel: readyState is 'open' now, but the open event and any
   * message received until `releaseHeld()` wait for the next task.
   */
  openHeld(): void {
    if (this.#state !== 'connecting') return;
    this.#state = 'open';
    this.#held = [];
  }

  /** @internal fire the held open event, then the held messages, in order. */
  releaseHeld(): void {
    const held = this.#held;
    if (!held) return;
    this.#held = null;
    if (this.#state === 'open') this.dispatchEvent(new Event('open'));
    for (const [ppid, data] of held) this.deliver(ppid, data);
  }

  /** @internal a message from the SCTP stream */
  deliver(ppid: number, data: Uint8Array): void {
    if (this.#state !== 'open' && this.#state !== 'closing') return;
    if (this.#held) {
      // The bytes may be a view into a reused receive buffer: keep a copy until the task runs.
      this.#held.push([ppid, Uint8Array.from(data)]);
      return;
    }
    let payload: string | ArrayBuffer | Blob;
    switch (ppid) {
      case PPID_STRING:
      case 52:
        payload = fromUtf8.decode(data);
        break;
      case PPID_STRING_EMPTY:
        payload = '';
        break;
      case PPID_BINARY_EMPTY:
        payload = this.#binaryType === 'blob' ? new Blob([]) : new ArrayBuffer(0);
        break;
      default: {
        // Exactly-sized ArrayBuffer (copy unless the view already owns its whole buffer). A new
        // buffer filled through a view costs about half of ArrayBuffer.prototype.slice in V8.
        const buf = data.buffer as ArrayBuffer;
        let ab = buf;
        if (data.byteOffset !== 0 || data.byteLength !== buf.byteLength) {
          ab = new ArrayBuffer(data.byteLength);
          new Uint8Array(ab).set(data);
        }
        payload = this.#binaryType === 'blob' ? new Blob([ab]) : ab;
      }
    }
    this.dispatchEvent(new MessageEvent('message', { data: payload }));
  }

  /** @internal */
  bufferedAmountLow(): void {
    this.dispatchEvent(new Event('bufferedamountlow'));
  }

  /** @internal the remote side started closing (incoming stream reset) */
  remoteClosing(): void {
    if (this.#state === 'closed' || this.#state === 'closing') return;
    this.#state = 'closing';
    this.dispatchEvent(new Event('closing'));
  }

  /** @internal both directions are done, or the association went away */
  closed(error?: RTCError): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    if (error) this.dispatchEvent(new RTCErrorEvent('error', { error }));
    this.dispatchEvent(new Event('close'));
  }
}
