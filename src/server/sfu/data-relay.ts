/**
 * Data channels through the SFU: chat and file transfer in SFU mode. Each participant opens two
 * negotiated channels on its publishing connection with the server (the same ids as the mesh's
 * peer links), and the server relays between participants. Relayed frames carry the sender id the
 * server knows, never one the client claims.
 *
 * - `chat` (id 0, ordered, reliable): JSON text.
 *     client -> server  {"text": string, "name"?: string, "at"?: number, "to"?: peerId}
 *     server -> client  {"from": peerId, "text", "name", "at", "to"?}
 *   With `to` the message goes to that participant only (if present), else to everyone else.
 * - `file` (id 1, ordered, reliable): binary relay frames (below). Upstream the peer field names the
 *   recipient (empty: everyone else); downstream it names the sender. The payload is the mesh's
 *   file-transfer protocol (JSON control frames as text payloads, chunks as binary payloads), so a
 *   receiver runs one file receiver per sender.
 *
 * Relay frame:
 *    0                   1                   2
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 ...
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |0 0 0 0 0 0 0|T|  peer length  | peer id (UTF-8) ... | payload ...
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   T: the payload is UTF-8 text (a control frame), else binary.
 *
 * Backpressure: the server does not read slower for a slow receiver; past RELAY_MAX_BUFFERED bytes
 * queued on a receiver's channel, frames for it are dropped (counted) and its transfer fails its
 * size/SHA-256 check instead of the server's memory growing without bound.
 *
 * A receiver whose channel is still connecting (its connection with the server comes up after the
 * sender's: a file sent the moment the room moved to the SFU) gets what was meant for it once the
 * channel opens (`opened`), in order, up to RELAY_MAX_PENDING bytes; before, it got the frames
 * from whenever its channel happened to open: a transfer without its start, ignored.
 */
import { ByteReader, ByteWriter } from '../../core/bytes.js';
import { isInputError } from '../../core/errors.js';

/** Negotiated channel ids, as the mesh's peer links use them. */
export const CHAT_CHANNEL_ID = 0;
export const FILE_CHANNEL_ID = 1;
/** Flag bit of the relay frame's first byte: the payload is text. */
export const RELAY_TEXT_FLAG = 0x01;
/** Longest peer id a relay frame carries (signaling peer ids are far shorter). */
export const RELAY_MAX_PEER_LENGTH = 64;
/** Queued bytes on a receiver's channel past which relayed file frames are dropped. */
export const RELAY_MAX_BUFFERED = 16 * 1024 * 1024;
/** Bytes held for one receiver whose channel is not open yet; past it, frames are dropped. */
export const RELAY_MAX_PENDING = 4 * 1024 * 1024;
/** Longest chat frame relayed (bytes of JSON); the text itself is clipped at 4000 characters. */
export const CHAT_MAX_BYTES = 16 * 1024;

export interface RelayFrame {
  /** Recipient upstream (empty: everyone), sender downstream. */
  readonly peer: string;
  readonly text: boolean;
  readonly payload: Uint8Array;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

export function parseRelayFrame(bytes: Uint8Array): RelayFrame {
  const r = new ByteReader(bytes, 'sfu-relay');
  const flags = r.u8('flags');
  if ((flags & ~RELAY_TEXT_FLAG) !== 0) r.fail('flags', `reserved bits set (0x${flags.toString(16)})`);
  const n = r.u8('peer length');
  if (n > RELAY_MAX_PEER_LENGTH) r.fail('peer length', `${n} > ${RELAY_MAX_PEER_LENGTH}`);
  const idBytes = r.bytes(n, 'peer id');
  let peer = '';
  try {
    peer = fromUtf8.decode(idBytes);
  } catch {
    r.fail('peer id', 'not UTF-8');
  }
  return { peer, text: (flags & RELAY_TEXT_FLAG) !== 0, payload: r.rest() };
}

export function serializeRelayFrame(f: RelayFrame): Uint8Array {
  const id = utf8.encode(f.peer);
  if (id.length > RELAY_MAX_PEER_LENGTH)
    throw new RangeError(`peer id longer than ${RELAY_MAX_PEER_LENGTH} bytes`);
  return new ByteWriter(2 + id.length + f.payload.length)
    .u8(f.text ? RELAY_TEXT_FLAG : 0)
    .u8(id.length)
    .bytes(id)
    .bytes(f.payload)
    .finish();
}

/** What the relay needs of a data channel (rtcstack's RTCDataChannel has it). */
export interface RelayChannel {
  readonly readyState: string;
  readonly bufferedAmount: number;
  send(data: string | Uint8Array): void;
}

export interface RelayStats {
  chatIn: number;
  chatOut: number;
  fileFramesIn: number;
  fileFramesOut: number;
  fileBytesOut: number;
  /**
   * File frames not relayed because the receiver's channel was over RELAY_MAX_BUFFERED, or frames
   * held for a connecting channel past RELAY_MAX_PENDING.
   */
  dropped: number;
  /** Frames held for a receiver until its channel opened (delivered then). */
  held: number;
  malformed: number;
}

type Kind = 'chat' | 'file';

interface Member {
  chat: RelayChannel | undefined;
  file: RelayChannel | undefined;
  /** Frames for a channel still connecting, in order, sent when it opens. */
  pending: Record<Kind, (string | Uint8Array)[]>;
  pendingBytes: number;
}

export class DataRelay {
  readonly #members = new Map<string, Member>();
  readonly stats: RelayStats = {
    chatIn: 0,
    chatOut: 0,
    fileFramesIn: 0,
    fileFramesOut: 0,
    fileBytesOut: 0,
    dropped: 0,
    held: 0,
    malformed: 0,
  };

  /** `id`'s channels (either may come later: call again). */
  attach(id: string, channels: { chat?: RelayChannel; file?: RelayChannel }): void {
    const m = this.#members.get(id) ?? {
      chat: undefined,
      file: undefined,
      pending: { chat: [], file: [] },
      pendingBytes: 0,
    };
    if (channels.chat) m.chat = channels.chat;
    if (channels.file) m.file = channels.file;
    this.#members.set(id, m);
  }

  detach(id: string): void {
    this.#members.delete(id);
  }

  /** One of `id`'s channels opened: send what was held for it, in order. */
  opened(id: string): void {
    const m = this.#members.get(id);
    if (!m) return;
    for (const kind of ['chat', 'file'] as const) {
      const ch = m[kind];
      if (ch?.readyState !== 'open' || m.pending[kind].length === 0) continue;
      for (const data of m.pending[kind].splice(0)) {
        m.pendingBytes -= data.length;
        this.#sent(kind, data, ch.send.bind(ch));
      }
    }
  }

  /** Both of `id`'s channels are open (it can send and receive). */
  ready(id: string): boolean {
    const m = this.#members.get(id);
    return m?.chat?.readyState === 'open' && m.file?.readyState === 'open';
  }

  get memberIds(): string[] {
    return [...this.#members.keys()];
  }

  /** A message `from` sent on its chat channel. */
  chat(from: string, data: string | Uint8Array | ArrayBuffer): void {
    this.stats.chatIn++;
    const parsed = typeof data === 'string' && data.length <= CHAT_MAX_BYTES ? parseChat(data) : undefined;
    if (!parsed) {
      this.stats.malformed++;
      return;
    }
    const out = JSON.stringify({ from, ...parsed });
    for (const [, m] of this.#targets(from, parsed.to)) this.#deliver(m, 'chat', out);
  }

  /** A message `from` sent on its file channel. */
  file(from: string, data: string | Uint8Array | ArrayBuffer): void {
    this.stats.fileFramesIn++;
    if (typeof data === 'string') {
      this.stats.malformed++;
      return;
    }
    let frame: RelayFrame;
    try {
      frame = parseRelayFrame(data instanceof Uint8Array ? data : new Uint8Array(data));
    } catch (err) {
      if (!isInputError(err)) throw err;
      this.stats.malformed++;
      return;
    }
    const out = serializeRelayFrame({ peer: from, text: frame.text, payload: frame.payload });
    for (const [, m] of this.#targets(from, frame.peer || undefined)) this.#deliver(m, 'file', out);
  }

  /** To `m`'s channel now, or once it opens (held in order behind anything held before). */
  #deliver(m: Member, kind: Kind, data: string | Uint8Array): void {
    const ch = m[kind];
    if (!ch || ch.readyState === 'closing' || ch.readyState === 'closed') return;
    if (ch.readyState !== 'open' || m.pending[kind].length > 0) {
      if (m.pendingBytes + data.length > RELAY_MAX_PENDING) {
        this.stats.dropped++;
        return;
      }
      m.pending[kind].push(data);
      m.pendingBytes += data.length;
      this.stats.held++;
      return;
    }
    if (kind === 'file' && ch.bufferedAmount > RELAY_MAX_BUFFERED) {
      this.stats.dropped++;
      return;
    }
    this.#sent(kind, data, ch.send.bind(ch));
  }

  #sent(kind: Kind, data: string | Uint8Array, send: (d: string | Uint8Array) => void): void {
    try {
      send(data);
    } catch {
      return; // closed between the check and the send: that participant is leaving
    }
    if (kind === 'chat') this.stats.chatOut++;
    else {
      this.stats.fileFramesOut++;
      this.stats.fileBytesOut += relayPayloadLength(data as Uint8Array);
    }
  }

  #targets(from: string, to: string | undefined): [string, Member][] {
    if (to !== undefined) {
      const m = to === from ? undefined : this.#members.get(to);
      return m ? [[to, m]] : [];
    }
    return [...this.#members].filter(([id]) => id !== from);
  }
}

/** Bytes of payload in a serialized relay frame (its header: 2 bytes and the peer id). */
function relayPayloadLength(frame: Uint8Array): number {
  return frame.length - 2 - frame[1]!;
}

interface ChatIn {
  text: string;
  name: string;
  at: number;
  to?: string;
}

function parseChat(text: string): ChatIn | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.text !== 'string') return undefined;
  return {
    text: o.text.slice(0, 4000),
    name: typeof o.name === 'string' ? o.name.slice(0, 64) : '',
    at: typeof o.at === 'number' && Number.isFinite(o.at) ? o.at : 0,
    ...(typeof o.to === 'string' && o.to.length > 0 ? { to: o.to.slice(0, RELAY_MAX_PEER_LENGTH) } : {}),
  };
}
