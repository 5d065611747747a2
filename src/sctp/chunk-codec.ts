/**
 * Parse and serialize every chunk (RFC 9260 §3.3, RFC 3758, RFC 6525, RFC 8260). Chunk header:
 *
 *   0                   1                   2                   3
 *   | Chunk Type    | Chunk Flags   |        Chunk Length           |
 *   \                         Chunk Value                           \
 *
 * Length excludes the padding to a multiple of four. Control chunks go through ByteReader/ByteWriter;
 * DATA and I-DATA have their own fast path in chunk-data.ts.
 */
import { ByteReader, ByteWriter } from '../core/bytes.js';
import { dataChunkFlags, parseDataChunk, writeDataChunk } from './chunk-data.js';
import type { Chunk, ErrorCause, Param, ReconfigParam } from './chunk-types.js';
import {
  CHUNK_ABORT,
  CHUNK_COOKIE_ACK,
  CHUNK_COOKIE_ECHO,
  CHUNK_DATA,
  CHUNK_ERROR,
  CHUNK_FORWARD_TSN,
  CHUNK_HEARTBEAT,
  CHUNK_HEARTBEAT_ACK,
  CHUNK_I_DATA,
  CHUNK_I_FORWARD_TSN,
  CHUNK_INIT,
  CHUNK_INIT_ACK,
  CHUNK_RE_CONFIG,
  CHUNK_SACK,
  CHUNK_SHUTDOWN,
  CHUNK_SHUTDOWN_ACK,
  CHUNK_SHUTDOWN_COMPLETE,
  PARAM_ADD_INCOMING_STREAMS,
  PARAM_ADD_OUTGOING_STREAMS,
  PARAM_HEARTBEAT_INFO,
  PARAM_INCOMING_SSN_RESET,
  PARAM_OUTGOING_SSN_RESET,
  PARAM_RECONFIG_RESPONSE,
  PARAM_SSN_TSN_RESET,
} from './constants.js';

const pad4 = (n: number): number => (n + 3) & ~3;

/** Read TLV parameters (type u16, length u16 incl. header, padded) until the window ends. */
export function parseParams(r: ByteReader, what: string): Param[] {
  const out: Param[] = [];
  while (r.remaining > 0) {
    const type = r.u16(`${what}.type`);
    const length = r.u16(`${what}.length`);
    if (length < 4) r.fail(`${what}.length`, `parameter length ${length} < 4`);
    const value = r.bytes(length - 4, `${what}.value`);
    // The last parameter's padding may be absent.
    r.skip(Math.min(pad4(length) - length, r.remaining), `${what}.padding`);
    out.push({ type, value });
  }
  return out;
}

/** Write a TLV parameter; returns the padding written (not counted in a chunk's length if last). */
function writeParam(w: ByteWriter, type: number, value: Uint8Array): number {
  w.u16(type)
    .u16(4 + value.length)
    .bytes(value);
  const pad = pad4(value.length) - value.length;
  w.zeros(pad);
  return pad;
}

function parseCauses(r: ByteReader): ErrorCause[] {
  return parseParams(r, 'cause').map((p) => ({ code: p.type, info: p.value }));
}

function parseReconfigParam(p: Param): ReconfigParam {
  const r = new ByteReader(p.value, 'sctp');
  const streams = (): number[] => {
    if (r.remaining % 2 !== 0) r.fail('reconfig.streams', 'odd length');
    const s: number[] = [];
    while (r.remaining > 0) s.push(r.u16('reconfig.stream'));
    return s;
  };
  switch (p.type) {
    case PARAM_OUTGOING_SSN_RESET: {
      const reqSeq = r.u32('reconfig.reqSeq');
      const respSeq = r.u32('reconfig.respSeq');
      const lastTsn = r.u32('reconfig.lastTsn');
      return { type: 13, reqSeq, respSeq, lastTsn, streams: streams() };
    }
    case PARAM_INCOMING_SSN_RESET: {
      const reqSeq = r.u32('reconfig.reqSeq');
      return { type: 14, reqSeq, streams: streams() };
    }
    case PARAM_SSN_TSN_RESET:
      return { type: 15, reqSeq: r.u32('reconfig.reqSeq') };
    case PARAM_RECONFIG_RESPONSE: {
      const respSeq = r.u32('reconfig.respSeq');
      const result = r.u32('reconfig.result');
      if (r.remaining === 0) return { type: 16, respSeq, result };
      const senderNextTsn = r.u32('reconfig.senderNextTsn');
      const receiverNextTsn = r.u32('reconfig.receiverNextTsn');
      return { type: 16, respSeq, result, senderNextTsn, receiverNextTsn };
    }
    case PARAM_ADD_OUTGOING_STREAMS:
    case PARAM_ADD_INCOMING_STREAMS: {
      const reqSeq = r.u32('reconfig.reqSeq');
      const count = r.u16('reconfig.count');
      r.skip(2, 'reconfig.reserved');
      return { type: p.type, reqSeq, count };
    }
    default:
      return r.fail('reconfig.type', `unknown RE-CONFIG parameter ${p.type}`);
  }
}

function reconfigParamValue(p: ReconfigParam): Uint8Array {
  const w = new ByteWriter(16);
  switch (p.type) {
    case 13:
      w.u32(p.reqSeq).u32(p.respSeq).u32(p.lastTsn);
      for (const s of p.streams) w.u16(s);
      break;
    case 14:
      w.u32(p.reqSeq);
      for (const s of p.streams) w.u16(s);
      break;
    case 15:
      w.u32(p.reqSeq);
      break;
    case 16:
      w.u32(p.respSeq).u32(p.result);
      if (p.senderNextTsn !== undefined) w.u32(p.senderNextTsn).u32(p.receiverNextTsn ?? 0);
      break;
    case 17:
    case 18:
      w.u32(p.reqSeq).u16(p.count).u16(0);
      break;
  }
  return w.finish();
}

/**
 * Parse one chunk from `buf` whose header starts at `at`, with the declared `length` (checked by the
 * caller to lie inside the buffer).
 */
export function parseChunk(buf: Uint8Array, at: number, length: number): Chunk {
  const type = buf[at]!;
  const flags = buf[at + 1]!;
  if (type === CHUNK_DATA || type === CHUNK_I_DATA) return parseDataChunk(buf, at, length);
  const r = new ByteReader(buf, 'sctp', at + 4, at + length);
  let chunk: Chunk;
  switch (type) {
    case CHUNK_INIT:
    case CHUNK_INIT_ACK: {
      const initiateTag = r.u32('init.initiateTag');
      const aRwnd = r.u32('init.aRwnd');
      const outboundStreams = r.u16('init.outboundStreams');
      const inboundStreams = r.u16('init.inboundStreams');
      const initialTsn = r.u32('init.initialTsn');
      chunk = {
        type,
        initiateTag,
        aRwnd,
        outboundStreams,
        inboundStreams,
        initialTsn,
        params: parseParams(r, 'init.param'),
      };
      break;
    }
    case CHUNK_SACK: {
      const cumTsnAck = r.u32('sack.cumTsnAck');
      const aRwnd = r.u32('sack.aRwnd');
      const nGaps = r.u16('sack.gapCount');
      const nDups = r.u16('sack.dupCount');
      if (nGaps * 4 + nDups * 4 !== r.remaining) r.fail('sack.blocks', 'counts disagree with length');
      const gaps = new Array<{ start: number; end: number }>(nGaps);
      for (let i = 0; i < nGaps; i++) gaps[i] = { start: r.u16('sack.gapStart'), end: r.u16('sack.gapEnd') };
      const dupTsns = new Array<number>(nDups);
      for (let i = 0; i < nDups; i++) dupTsns[i] = r.u32('sack.dupTsn');
      chunk = { type, cumTsnAck, aRwnd, gaps, dupTsns };
      break;
    }
    case CHUNK_HEARTBEAT:
    case CHUNK_HEARTBEAT_ACK: {
      const ptype = r.u16('heartbeat.paramType');
      if (ptype !== PARAM_HEARTBEAT_INFO) r.fail('heartbeat.paramType', `expected 1, got ${ptype}`);
      const plen = r.u16('heartbeat.paramLength');
      if (plen < 4) r.fail('heartbeat.paramLength', `${plen} < 4`);
      chunk = { type, info: r.bytes(plen - 4, 'heartbeat.info') };
      break;
    }
    case CHUNK_ABORT:
    case CHUNK_ERROR:
      chunk = { type, reflected: type === CHUNK_ABORT && (flags & 1) !== 0, causes: parseCauses(r) };
      break;
    case CHUNK_SHUTDOWN:
      chunk = { type, cumTsnAck: r.u32('shutdown.cumTsnAck') };
      break;
    case CHUNK_SHUTDOWN_ACK:
    case CHUNK_COOKIE_ACK:
    case CHUNK_SHUTDOWN_COMPLETE:
      chunk = { type, reflected: type === CHUNK_SHUTDOWN_COMPLETE && (flags & 1) !== 0 };
      break;
    case CHUNK_COOKIE_ECHO:
      chunk = { type, cookie: r.rest() };
      break;
    case CHUNK_FORWARD_TSN: {
      const newCumTsn = r.u32('forwardTsn.newCumTsn');
      if (r.remaining % 4 !== 0) r.fail('forwardTsn.streams', 'length not a multiple of 4');
      const streams: { streamId: number; ssn: number }[] = [];
      while (r.remaining > 0)
        streams.push({ streamId: r.u16('forwardTsn.stream'), ssn: r.u16('forwardTsn.ssn') });
      chunk = { type, newCumTsn, streams };
      break;
    }
    case CHUNK_I_FORWARD_TSN: {
      const newCumTsn = r.u32('iForwardTsn.newCumTsn');
      if (r.remaining % 8 !== 0) r.fail('iForwardTsn.streams', 'length not a multiple of 8');
      const streams: { streamId: number; unordered: boolean; mid: number }[] = [];
      while (r.remaining > 0) {
        const streamId = r.u16('iForwardTsn.stream');
        const unordered = (r.u16('iForwardTsn.flags') & 1) !== 0;
        streams.push({ streamId, unordered, mid: r.u32('iForwardTsn.mid') });
      }
      chunk = { type, newCumTsn, streams };
      break;
    }
    case CHUNK_RE_CONFIG: {
      const params = parseParams(r, 'reconfig.param').map(parseReconfigParam);
      if (params.length === 0 || params.length > 2) r.fail('reconfig.params', `${params.length} parameters`);
      chunk = { type, params };
      break;
    }
    default:
      return { type: -1, chunkType: type, flags, body: buf.subarray(at + 4, at + length) };
  }
  if (r.remaining !== 0) r.fail('chunk.trailing', `${r.remaining} unexpected byte(s)`);
  return chunk;
}

/** Serialize one chunk (padded to four bytes) into a ByteWriter. */
export function writeChunk(w: ByteWriter, c: Chunk): void {
  if (c.type === 0 || c.type === 64) {
    const size = pad4((c.type === 64 ? 20 : 16) + c.payload.length);
    const tmp = new Uint8Array(size);
    writeDataChunk(
      tmp,
      0,
      c.type === 64,
      dataChunkFlags(c),
      c.tsn,
      c.streamId,
      c.seq,
      c.fsn,
      c.ppid,
      c.payload,
    );
    w.bytes(tmp);
    return;
  }
  const start = w.length;
  let flags = 0;
  const type = c.type === -1 ? c.chunkType : c.type;
  if ((c.type === 6 || c.type === 14) && c.reflected) flags = 1;
  if (c.type === -1) flags = c.flags;
  w.u8(type).u8(flags).u16(0);
  let lastPad = 0;
  switch (c.type) {
    case 1:
    case 2:
      w.u32(c.initiateTag).u32(c.aRwnd).u16(c.outboundStreams).u16(c.inboundStreams).u32(c.initialTsn);
      for (const p of c.params) lastPad = writeParam(w, p.type, p.value);
      break;
    case 3:
      w.u32(c.cumTsnAck).u32(c.aRwnd).u16(c.gaps.length).u16(c.dupTsns.length);
      for (const g of c.gaps) w.u16(g.start).u16(g.end);
      for (const d of c.dupTsns) w.u32(d);
      break;
    case 4:
    case 5:
      lastPad = writeParam(w, PARAM_HEARTBEAT_INFO, c.info);
      break;
    case 6:
    case 9:
      for (const e of c.causes) lastPad = writeParam(w, e.code, e.info);
      break;
    case 7:
      w.u32(c.cumTsnAck);
      break;
    case 8:
    case 11:
    case 14:
      break;
    case 10:
      w.bytes(c.cookie);
      break;
    case 192:
      w.u32(c.newCumTsn);
      for (const s of c.streams) w.u16(s.streamId).u16(s.ssn);
      break;
    case 194:
      w.u32(c.newCumTsn);
      for (const s of c.streams)
        w.u16(s.streamId)
          .u16(s.unordered ? 1 : 0)
          .u32(s.mid);
      break;
    case 130:
      for (const p of c.params) lastPad = writeParam(w, p.type, reconfigParamValue(p));
      break;
    case -1:
      w.bytes(c.body);
      break;
  }
  // Chunk length excludes the final padding; a trailing padded parameter is counted (RFC 9260 §3.2).
  let length = w.length - start - lastPad;
  if (c.type === -1) length = 4 + c.body.length;
  w.patchU16(start + 2, length);
  w.zeros(pad4(w.length) - w.length);
}

export function serializeChunk(c: Chunk): Uint8Array {
  const w = new ByteWriter(64);
  writeChunk(w, c);
  return w.finish();
}
