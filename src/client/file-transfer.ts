/**
 * File transfer over a reliable, ordered data channel: a JSON `start` frame (name, size, SHA-256),
 * the bytes in 16 KiB binary frames, then a JSON `end` frame. The sender waits on
 * `bufferedamountlow` whenever the channel's buffer passes HIGH_WATER (backpressure); the receiver
 * checks size and SHA-256 before it reports the file.
 */

/** Chunk size: 16 KiB is what every browser's SCTP stack sends unfragmented across implementations. */
export const CHUNK_SIZE = 16 * 1024;
/** Pause sending above this many buffered bytes, resume at LOW_WATER. */
export const HIGH_WATER = 1024 * 1024;
export const LOW_WATER = 256 * 1024;
/** Largest file a receiver accepts (it holds the file in memory). */
export const MAX_FILE_SIZE = 512 * 1024 * 1024;

export interface FileRecord {
  readonly id: string;
  readonly name: string;
  readonly size: number;
  readonly direction: 'in' | 'out';
  /** The remote peer (sender for 'in', receiver for 'out'). */
  readonly peer: string;
  /** SHA-256 announced by the sender (hex). */
  readonly sha256: string;
  bytesDone: number;
  /** Received: size and hash match. Sent: every byte handed to the channel. */
  done: boolean;
  ok: boolean | undefined;
  error?: string;
  /** The received bytes (receiver only). */
  data?: Uint8Array;
}

type Control =
  | { t: 'start'; id: string; name: string; size: number; sha256: string }
  | { t: 'end'; id: string }
  | { t: 'abort'; id: string };

let nextFileId = 1;

/** A new transfer id, unique in this page. */
export function newFileId(): string {
  return `f${Date.now().toString(36)}${(nextFileId++).toString(36)}`;
}

/** The record of a file we start sending to `peer`. */
export function outgoingFile(
  id: string,
  name: string,
  bytes: Uint8Array,
  peer: string,
  sha256: string,
): FileRecord {
  return {
    id,
    name,
    size: bytes.length,
    direction: 'out',
    peer,
    sha256,
    bytesDone: 0,
    done: false,
    ok: undefined,
  };
}

export async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function waitLow(ch: RTCDataChannel): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      ch.removeEventListener('bufferedamountlow', done);
      ch.removeEventListener('close', fail);
      resolve();
    };
    const fail = (): void => {
      ch.removeEventListener('bufferedamountlow', done);
      ch.removeEventListener('close', fail);
      reject(new Error('data channel closed'));
    };
    ch.addEventListener('bufferedamountlow', done);
    ch.addEventListener('close', fail);
  });
}

/** Sends one file on `ch`; resolves when the last byte is handed to the channel. */
export async function sendFile(
  ch: RTCDataChannel,
  rec: FileRecord,
  bytes: Uint8Array,
  onProgress?: (rec: FileRecord) => void,
): Promise<void> {
  ch.bufferedAmountLowThreshold = LOW_WATER;
  const start: Control = { t: 'start', id: rec.id, name: rec.name, size: rec.size, sha256: rec.sha256 };
  ch.send(JSON.stringify(start));
  for (let off = 0; off < bytes.length; off += CHUNK_SIZE) {
    if (ch.readyState !== 'open') throw new Error('data channel closed');
    if (ch.bufferedAmount > HIGH_WATER) await waitLow(ch);
    const chunk = bytes.subarray(off, Math.min(bytes.length, off + CHUNK_SIZE));
    ch.send(chunk as Uint8Array<ArrayBuffer>);
    rec.bytesDone = off + chunk.length;
    onProgress?.(rec);
  }
  ch.send(JSON.stringify({ t: 'end', id: rec.id } satisfies Control));
  rec.done = true;
  rec.ok = true;
}

/** Reassembles files arriving on one channel (transfers on a channel are sequential). */
export class FileReceiver {
  readonly #peer: string;
  readonly #onFile: (rec: FileRecord) => void;
  readonly #onProgress: (rec: FileRecord) => void;
  #current: { rec: FileRecord; chunks: Uint8Array[] } | undefined;

  constructor(peer: string, onFile: (rec: FileRecord) => void, onProgress: (rec: FileRecord) => void) {
    this.#peer = peer;
    this.#onFile = onFile;
    this.#onProgress = onProgress;
  }

  handle(data: string | ArrayBuffer): void {
    if (typeof data !== 'string') {
      const cur = this.#current;
      if (!cur) return; // bytes outside a transfer: ignore
      const chunk = new Uint8Array(data);
      cur.rec.bytesDone += chunk.length;
      if (cur.rec.bytesDone > cur.rec.size) {
        this.#fail(cur.rec, 'more bytes than announced');
        return;
      }
      cur.chunks.push(chunk);
      this.#onProgress(cur.rec);
      return;
    }
    let msg: Control;
    try {
      msg = JSON.parse(data) as Control;
    } catch {
      return;
    }
    if (msg.t === 'start') {
      if (this.#current) this.#fail(this.#current.rec, 'interrupted by a new transfer');
      const size = Number(msg.size);
      const rec: FileRecord = {
        id: String(msg.id).slice(0, 64),
        name: String(msg.name).slice(0, 255),
        size: Number.isInteger(size) && size >= 0 ? size : -1,
        direction: 'in',
        peer: this.#peer,
        sha256: String(msg.sha256).slice(0, 64).toLowerCase(),
        bytesDone: 0,
        done: false,
        ok: undefined,
      };
      if (rec.size < 0 || rec.size > MAX_FILE_SIZE) {
        this.#fail(rec, `refused: size ${msg.size}`);
        return;
      }
      this.#current = { rec, chunks: [] };
      this.#onProgress(rec);
    } else if (msg.t === 'end' && this.#current && this.#current.rec.id === msg.id) {
      const { rec, chunks } = this.#current;
      this.#current = undefined;
      const data = new Uint8Array(rec.bytesDone);
      let off = 0;
      for (const c of chunks) {
        data.set(c, off);
        off += c.length;
      }
      void sha256Hex(data).then((hash) => {
        rec.done = true;
        rec.data = data;
        rec.ok = rec.bytesDone === rec.size && hash === rec.sha256;
        if (!rec.ok) rec.error = `checksum or size mismatch (got ${rec.bytesDone} bytes, sha256 ${hash})`;
        this.#onFile(rec);
      });
    } else if (msg.t === 'abort' && this.#current && this.#current.rec.id === msg.id) {
      this.#fail(this.#current.rec, 'aborted by sender');
    }
  }

  #fail(rec: FileRecord, why: string): void {
    if (this.#current?.rec === rec) this.#current = undefined;
    rec.done = true;
    rec.ok = false;
    rec.error = why;
    this.#onFile(rec);
  }
}
