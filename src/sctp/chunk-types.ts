/** Chunks as plain readonly values (RFC 9260 §3.3 and the extensions WebRTC uses). */

/** A TLV parameter kept as raw bytes (INIT parameters, heartbeat info, unknown ones). */
export interface Param {
  readonly type: number;
  readonly value: Uint8Array;
}

/** An error cause (RFC 9260 §3.3.10) inside ABORT or ERROR. */
export interface ErrorCause {
  readonly code: number;
  readonly info: Uint8Array;
}

/**
 * DATA (type 0, RFC 9260 §3.3.1) and I-DATA (type 64, RFC 8260 §2.1) in one shape. `seq` is the SSN
 * for DATA and the MID for I-DATA; `fsn` is 0 for DATA and for the first I-DATA fragment; `ppid` is
 * only carried by DATA and by the first I-DATA fragment (0 otherwise).
 */
export interface DataChunk {
  readonly type: 0 | 64;
  readonly unordered: boolean;
  readonly beginning: boolean;
  readonly end: boolean;
  readonly immediate: boolean;
  readonly tsn: number;
  readonly streamId: number;
  readonly seq: number;
  readonly fsn: number;
  readonly ppid: number;
  readonly payload: Uint8Array;
}

/** INIT (1) and INIT ACK (2), RFC 9260 §3.3.2-3.3.3. */
export interface InitChunk {
  readonly type: 1 | 2;
  readonly initiateTag: number;
  readonly aRwnd: number;
  readonly outboundStreams: number;
  readonly inboundStreams: number;
  readonly initialTsn: number;
  readonly params: readonly Param[];
}

export interface GapBlock {
  /** Offsets from the cumulative TSN ack, RFC 9260 §3.3.4. */
  readonly start: number;
  readonly end: number;
}

export interface SackChunk {
  readonly type: 3;
  readonly cumTsnAck: number;
  readonly aRwnd: number;
  readonly gaps: readonly GapBlock[];
  readonly dupTsns: readonly number[];
}

export interface HeartbeatChunk {
  readonly type: 4 | 5;
  /** The Heartbeat Info parameter's value, echoed unchanged. */
  readonly info: Uint8Array;
}

export interface AbortChunk {
  readonly type: 6 | 9;
  /** T bit (ABORT only): the verification tag is reflected. */
  readonly reflected: boolean;
  readonly causes: readonly ErrorCause[];
}

export interface ShutdownChunk {
  readonly type: 7;
  readonly cumTsnAck: number;
}

export interface EmptyChunk {
  readonly type: 8 | 11 | 14;
  /** T bit (SHUTDOWN COMPLETE only). */
  readonly reflected: boolean;
}

export interface CookieEchoChunk {
  readonly type: 10;
  readonly cookie: Uint8Array;
}

export interface ForwardTsnChunk {
  readonly type: 192;
  readonly newCumTsn: number;
  readonly streams: readonly { readonly streamId: number; readonly ssn: number }[];
}

export interface IForwardTsnChunk {
  readonly type: 194;
  readonly newCumTsn: number;
  readonly streams: readonly {
    readonly streamId: number;
    readonly unordered: boolean;
    readonly mid: number;
  }[];
}

/** RE-CONFIG parameters, RFC 6525 §4. */
export type ReconfigParam =
  | {
      readonly type: 13;
      readonly reqSeq: number;
      readonly respSeq: number;
      readonly lastTsn: number;
      readonly streams: readonly number[];
    }
  | { readonly type: 14; readonly reqSeq: number; readonly streams: readonly number[] }
  | { readonly type: 15; readonly reqSeq: number }
  | {
      readonly type: 16;
      readonly respSeq: number;
      readonly result: number;
      readonly senderNextTsn?: number;
      readonly receiverNextTsn?: number;
    }
  | { readonly type: 17 | 18; readonly reqSeq: number; readonly count: number };

export interface ReconfigChunk {
  readonly type: 130;
  readonly params: readonly ReconfigParam[];
}

/** A chunk type this codec does not model: kept raw so the association can apply §3.2's rules. */
export interface UnknownChunk {
  readonly type: -1;
  readonly chunkType: number;
  readonly flags: number;
  readonly body: Uint8Array;
}

export type Chunk =
  | DataChunk
  | InitChunk
  | SackChunk
  | HeartbeatChunk
  | AbortChunk
  | ShutdownChunk
  | EmptyChunk
  | CookieEchoChunk
  | ForwardTsnChunk
  | IForwardTsnChunk
  | ReconfigChunk
  | UnknownChunk;
