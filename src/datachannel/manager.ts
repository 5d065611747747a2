/**
 * Data channels over one SCTP association (RFC 8831): stream id allocation by DTLS role (RFC 8832 §6:
 * the DTLS client uses even ids, the server odd ones), DCEP open/ack, PPID mapping, per-channel
 * reliability, and closing through stream resets (RFC 8831 §6.7).
 */
import { Emitter } from '../core/events.js';
import type { SctpAssociation } from '../sctp/association.js';
import type { SendOptions } from '../sctp/outbound.js';
import { type ChannelTransport, RTCDataChannel, type RTCDataChannelInit } from './data-channel.js';
import { type DcepOpen, PPID_DCEP, parseDcep, serializeDcep } from './dcep.js';
import { RTCError } from './events.js';

export interface DataChannelManagerOptions {
  /**
   * Our DTLS role: the DTLS client allocates even stream ids, the server odd ones. Undefined until
   * negotiation decides it (`setDtlsRole`); channels created before then get their id then.
   */
  readonly isDtlsClient?: boolean;
  /**
   * The peer's SDP max-message-size (RFC 8841 §6). Default 65536 (the value to assume when the
   * attribute is absent); 0 means unlimited.
   */
  readonly remoteMaxMessageSize?: number;
}

export interface DataChannelManagerEvents {
  [key: string]: unknown[];
  /** The peer opened a channel with DATA_CHANNEL_OPEN. */
  datachannel: [RTCDataChannel];
}

const MAX_ID = 65534;
const PRIORITY: Record<string, number> = { 'very-low': 128, low: 256, medium: 512, high: 1024 };

interface ChannelState {
  readonly channel: RTCDataChannel;
  /** DATA_CHANNEL_ACK not yet received: user messages go ordered (RFC 8832 §6). */
  awaitingAck: boolean;
  /** OPEN still to be sent (association not yet up). */
  needsOpen: boolean;
  outgoingReset: boolean;
  incomingReset: boolean;
  readonly sendOptions: SendOptions;
  readonly stats: DataChannelStats;
}

/** Counters of one channel, as webrtc-stats RTCDataChannelStats has them. */
export interface DataChannelStats {
  messagesSent: number;
  bytesSent: number;
  messagesReceived: number;
  bytesReceived: number;
}

export class DataChannelManager extends Emitter<DataChannelManagerEvents> implements ChannelTransport {
  readonly #assoc: SctpAssociation;
  #isClient: boolean | undefined;
  readonly #byId = new Map<number, ChannelState>();
  /** Channels created before the DTLS role (and so their id) is known. */
  #unassigned: ChannelState[] = [];
  remoteMaxMessageSize: number;
  #closed = false;

  constructor(association: SctpAssociation, options: DataChannelManagerOptions) {
    super();
    this.#assoc = association;
    this.#isClient = options.isDtlsClient;
    this.remoteMaxMessageSize = options.remoteMaxMessageSize ?? 65536;
    association.on('open', () => this.#onAssociationOpen());
    association.on('message', (id, ppid, data) => this.#onMessage(id, ppid, data));
    association.on('bufferedAmountLow', (id) => this.#byId.get(id)?.channel.bufferedAmountLow());
    association.on('streamReset', (ids) => this.#onIncomingReset(ids));
    association.on('streamResetDone', (ids) => this.#onOutgoingResetDone(ids));
    association.on('close', (err) => this.#onAssociationClose(err));
  }

  get channels(): RTCDataChannel[] {
    return [...this.#byId.values(), ...this.#unassigned].map((s) => s.channel);
  }

  /** Message and byte counters of a channel this manager carries. */
  statsOf(channel: RTCDataChannel): DataChannelStats {
    const st =
      channel.id === null ? this.#unassigned.find((u) => u.channel === channel) : this.#byId.get(channel.id);
    return { ...(st?.stats ?? { messagesSent: 0, bytesSent: 0, messagesReceived: 0, bytesReceived: 0 }) };
  }

  /** The DTLS role is known: give ids to channels created before (webrtc-pc §6.1, "id" is null until then). */
  setDtlsRole(isClient: boolean): void {
    if (this.#isClient !== undefined) return;
    this.#isClient = isClient;
    const pending = this.#unassigned;
    this.#unassigned = [];
    for (const st of pending) {
      if (st.channel.readyState === 'closed') continue;
      const free = this.#allocateId();
      if (free === undefined) {
        st.channel.closed(new RTCError({ errorDetail: 'data-channel-failure' }, 'no free stream id'));
        continue;
      }
      st.channel.setId(free);
      this.#byId.set(free, st);
    }
    if (this.#assoc.state === 'established') for (const st of this.#byId.values()) this.#announce(st);
  }

  /** Close every channel at once (the peer connection closed). */
  closeAll(): void {
    if (this.#closed) return;
    const unassigned = this.#unassigned;
    this.#unassigned = [];
    this.#onAssociationClose();
    for (const st of unassigned) st.channel.closed();
  }

  /** W3C createDataChannel (webrtc §6.1). */
  createDataChannel(label: string, init: RTCDataChannelInit = {}): RTCDataChannel {
    if (this.#closed) throw new DOMException('the association is closed', 'InvalidStateError');
    label = String(label);
    if (new TextEncoder().encode(label).length > 65535) throw new TypeError('label longer than 65535 bytes');
    if ((init.protocol ?? '').length > 65535) throw new TypeError('protocol longer than 65535 bytes');
    if (init.maxPacketLifeTime !== undefined && init.maxRetransmits !== undefined) {
      throw new TypeError('maxPacketLifeTime and maxRetransmits are mutually exclusive');
    }
    const clamp = (v: number | undefined) =>
      v === undefined ? undefined : Math.min(65535, Math.max(0, v | 0));
    const fixed: RTCDataChannelInit = {
      ...init,
      maxPacketLifeTime: clamp(init.maxPacketLifeTime),
      maxRetransmits: clamp(init.maxRetransmits),
    };
    let id: number | null = null;
    if (init.negotiated) {
      if (init.id === undefined) throw new TypeError('a negotiated channel needs an id');
      if (init.id < 0 || init.id > MAX_ID || !Number.isInteger(init.id))
        throw new TypeError('id out of range');
      if (this.#byId.has(init.id)) throw new DOMException(`id ${init.id} is in use`, 'OperationError');
      id = init.id;
    }
    const channel = new RTCDataChannel(this, label, fixed, id);
    const st: ChannelState = {
      channel,
      awaitingAck: !init.negotiated,
      needsOpen: !init.negotiated,
      outgoingReset: false,
      incomingReset: false,
      sendOptions: {
        unordered: !(fixed.ordered ?? true),
        maxRetransmits: fixed.maxRetransmits,
        maxPacketLifeTime: fixed.maxPacketLifeTime,
      },
      stats: { messagesSent: 0, bytesSent: 0, messagesReceived: 0, bytesReceived: 0 },
    };
    if (id !== null) this.#byId.set(id, st);
    else if (this.#isClient === undefined) this.#unassigned.push(st);
    else {
      const free = this.#allocateId();
      if (free === undefined) throw new DOMException('no free stream id', 'OperationError');
      channel.setId(free);
      this.#byId.set(free, st);
    }
    if (this.#assoc.state === 'established') queueMicrotask(() => this.#announce(st));
    return channel;
  }

  #allocateId(): number | undefined {
    for (let id = this.#isClient ? 0 : 1; id <= MAX_ID; id += 2) if (!this.#byId.has(id)) return id;
    return undefined;
  }

  #announce(st: ChannelState): void {
    const ch = st.channel;
    if (ch.readyState !== 'connecting' || this.#assoc.state !== 'established') return;
    if (st.needsOpen) {
      st.needsOpen = false;
      const reliability: DcepOpen['reliability'] =
        ch.maxRetransmits !== null ? 'rexmit' : ch.maxPacketLifeTime !== null ? 'timed' : 'reliable';
      const open = serializeDcep({
        type: 'open',
        ordered: ch.ordered,
        reliability,
        reliabilityParameter: ch.maxRetransmits ?? ch.maxPacketLifeTime ?? 0,
        priority: PRIORITY[ch.priority] ?? 256,
        label: ch.label,
        protocol: ch.protocol,
      });
      this.#assoc.send(ch.id!, PPID_DCEP, open);
    }
    ch.announceOpen();
  }

  #onAssociationOpen(): void {
    for (const st of this.#byId.values()) this.#announce(st);
  }

  #onMessage(id: number, ppid: number, data: Uint8Array): void {
    if (ppid === PPID_DCEP) {
      this.#onDcep(id, data);
      return;
    }
    const st = this.#byId.get(id);
    if (!st) return;
    // Any user message implies the peer got our OPEN (RFC 8832 §6).
    st.awaitingAck = false;
    st.stats.messagesReceived++;
    st.stats.bytesReceived += data.length;
    st.channel.deliver(ppid, data);
  }

  #onDcep(id: number, data: Uint8Array): void {
    let msg: ReturnType<typeof parseDcep>;
    try {
      msg = parseDcep(data);
    } catch {
      return; // malformed DCEP: ignore
    }
    if (msg.type === 'ack') {
      const st = this.#byId.get(id);
      if (st) st.awaitingAck = false;
      return;
    }
    if (this.#byId.has(id)) return; // id collision or a repeated OPEN
    const init: RTCDataChannelInit = {
      ordered: msg.ordered,
      protocol: msg.protocol,
      maxRetransmits: msg.reliability === 'rexmit' ? msg.reliabilityParameter : undefined,
      maxPacketLifeTime: msg.reliability === 'timed' ? msg.reliabilityParameter : undefined,
    };
    const channel = new RTCDataChannel(this, msg.label, init, id);
    const st: ChannelState = {
      channel,
      awaitingAck: false,
      needsOpen: false,
      outgoingReset: false,
      incomingReset: false,
      sendOptions: {
        unordered: !msg.ordered,
        maxRetransmits: init.maxRetransmits,
        maxPacketLifeTime: init.maxPacketLifeTime,
      },
      stats: { messagesSent: 0, bytesSent: 0, messagesReceived: 0, bytesReceived: 0 },
    };
    this.#byId.set(id, st);
    this.#assoc.send(id, PPID_DCEP, serializeDcep({ type: 'ack' }));
    // webrtc-pc §6.2: the channel is open when the datachannel event fires, but its open event and
    // the messages that came with the OPEN are dispatched in a later task, so an application that
    // attaches handlers after awaiting the event (a promise continuation) still gets them.
    channel.openHeld();
    this.emit('datachannel', channel);
    setImmediate(() => channel.releaseHeld());
  }

  // ------------------------------------------------------------- ChannelTransport

  send(channel: RTCDataChannel, ppid: number, data: Uint8Array): void {
    const st = this.#byId.get(channel.id!);
    if (!st) return;
    const o = st.awaitingAck ? { ...st.sendOptions, unordered: false } : st.sendOptions;
    st.stats.messagesSent++;
    st.stats.bytesSent += data.length;
    this.#assoc.send(channel.id!, ppid, data, o);
  }

  bufferedAmount(channel: RTCDataChannel): number {
    return channel.id === null ? 0 : this.#assoc.bufferedAmount(channel.id);
  }

  setLowThreshold(channel: RTCDataChannel, threshold: number): void {
    if (channel.id !== null) this.#assoc.setBufferedAmountLowThreshold(channel.id, threshold);
  }

  close(channel: RTCDataChannel): void {
    const pending = this.#unassigned.findIndex((u) => u.channel === channel);
    if (pending >= 0) {
      this.#unassigned.splice(pending, 1);
      channel.closed();
      return;
    }
    const id = channel.id;
    const st = id === null ? undefined : this.#byId.get(id);
    if (!st || id === null) return;
    if (this.#assoc.state !== 'established' || !this.#assoc.streamResetSupported) {
      this.#byId.delete(id);
      channel.closed();
      return;
    }
    this.#assoc.resetStreams([id]);
  }

  #onOutgoingResetDone(ids: number[]): void {
    for (const id of ids) {
      const st = this.#byId.get(id);
      if (!st) continue;
      st.outgoingReset = true;
      this.#maybeClosed(id, st);
    }
  }

  #onIncomingReset(ids: number[]): void {
    for (const id of ids) {
      const st = this.#byId.get(id);
      if (!st) continue;
      st.incomingReset = true;
      if (!st.outgoingReset && st.channel.readyState !== 'closing') {
        // The peer closed: close our direction too (RFC 8831 §6.7).
        st.channel.remoteClosing();
        this.#assoc.resetStreams([id]);
      }
      this.#maybeClosed(id, st);
    }
  }

  #maybeClosed(id: number, st: ChannelState): void {
    if (!st.outgoingReset || !st.incomingReset) return;
    this.#byId.delete(id);
    st.channel.closed();
  }

  #onAssociationClose(err?: Error): void {
    this.#closed = true;
    const error = err ? new RTCError({ errorDetail: 'sctp-failure' }, err.message) : undefined;
    const all = [...this.#byId.values()];
    this.#byId.clear();
    for (const st of all) st.channel.closed(error);
  }
}
