import { domException } from './dom-exception.js';

/**
 * The RTCPeerConnection operations chain (W3C webrtc-pc §4.4.1.2): createOffer, createAnswer,
 * setLocalDescription, setRemoteDescription, addIceCandidate run one at a time, in call order.
 * Once the connection closes, queued and future operations reject with InvalidStateError.
 */
export class OperationsChain {
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;

  close(): void {
    this.#closed = true;
  }

  get closed(): boolean {
    return this.#closed;
  }

  run<T>(op: () => Promise<T> | T): Promise<T> {
    const next = this.#tail.then(
      () => this.#start(op),
      () => this.#start(op),
    );
    // The chain continues whatever the outcome of this operation.
    this.#tail = next.catch(() => undefined);
    return next;
  }

  async #start<T>(op: () => Promise<T> | T): Promise<T> {
    if (this.#closed) throw domException('InvalidStateError', 'RTCPeerConnection is closed');
    return op();
  }
}
