/**
 * One SRTP cryptographic context: the session keys of one sender (RFC 3711 §3.2), with the
 * per-SSRC state (rollover counter, replay list, SRTCP index) of the streams it protects or
 * unprotects. `SrtpSession` pairs a local (protect) and a remote (unprotect) context.
 *
 *   SRTP (RFC 3711 §3.1)                     SRTCP (RFC 3711 §3.4)
 *   +---------------------------+            +------------------------------+
 *   | RTP header (clear)        |            | V P RC PT length SSRC (clear)|
 *   | payload (encrypted)       |            | rest (encrypted when E=1)    |
 *   | auth tag (10, 4 or 16 B)  |            | E | SRTCP index (31 bits)    |
 *   +---------------------------+            | auth tag (10 B; GCM: before  |
 *                                            |   the index word, 16 B)      |
 *                                            +------------------------------+
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { ParseError, ProtocolError } from '../core/errors.js';
import { AesCmKeystream, AesCmStream } from './aes-cm.js';
import { HmacSha1 } from './hmac-sha1.js';
import { deriveSessionKeys, type SessionKeys } from './kdf.js';
import { PacketSlab } from './packet-slab.js';
import type { MasterKey, SrtpProfile } from './profiles.js';
import { estimateRoc, ReplayWindow, type RocState, updateRoc } from './replay.js';

/** SRTCP E flag (RFC 3711 §3.4). */
const SRTCP_E_FLAG = 0x80000000;
const SRTCP_INDEX_MASK = 0x7fffffff;

interface Keys {
  readonly salt: Uint8Array;
  readonly ctr?: AesCmKeystream;
  readonly hmac?: HmacSha1;
  readonly aead?: KeyObject;
}

/**
 * Per-SSRC state of a stream, one class for both directions: every stream object has the same
 * shape from its creation (the keystream field included), so the per-packet reads of the ROC code
 * and the keystream see one map instead of four (send/receive, before/after the keystream).
 */
class Stream implements RocState {
  roc = 0;
  sl = 0;
  started = false;
  /** AES-CM keystream computed ahead for this SSRC (HMAC profiles). */
  ks: AesCmStream | undefined = undefined;
  /** The replay list (received streams only). */
  readonly window: ReplayWindow | undefined;

  constructor(window?: ReplayWindow) {
    this.window = window;
  }
}
type SendStream = Stream;
type RecvStream = Stream & { readonly window: ReplayWindow };

const GCM_OPTIONS = { authTagLength: 16 } as const;
/**
 * Every context's output slabs (calls are synchronous: a reservation is used before the next), one
 * for what protect writes and one for what unprotect writes: a sender gives its protected packets
 * back once sent (`releaseProtected`), a receiver keeps what it unprotected, and giving back only
 * works for a slab's latest packet.
 */
const PROTECT_SLAB = new PacketSlab();
const UNPROTECT_SLAB = new PacketSlab();

export interface SrtpContextOptions {
  /** Replay window in packets (RFC 3711 §3.3.2 asks for at least 64). Default 128. */
  readonly replayWindow?: number;
}

function keysOf(profile: SrtpProfile, k: SessionKeys): Keys {
  return profile.aead
    ? { salt: k.salt, aead: createSecretKey(k.encryptionKey) }
    : { salt: k.salt, ctr: new AesCmKeystream(k.encryptionKey), hmac: new HmacSha1(k.authKey) };
}

/**
 * Length of the RTP header (fixed part, CSRCs, extension) with bounds checks; with `start`, of the
 * packet at p[start, end), returned as the offset where its payload starts.
 */
export function rtpHeaderLength(p: Uint8Array, end = p.length, start = 0): number {
  if (end - start < 12) throw new ParseError('srtp', 'rtp header', 0, `need 12 bytes, have ${end - start}`);
  const b0 = p[start]!;
  if (b0 >> 6 !== 2) throw new ParseError('srtp', 'rtp version', 0, `version ${b0 >> 6}`);
  let n = start + 12 + 4 * (b0 & 0x0f);
  if (b0 & 0x10) {
    if (n + 4 > end) throw new ParseError('srtp', 'rtp extension header', n - start, 'truncated');
    n += 4 + 4 * ((p[n + 2]! << 8) | p[n + 3]!);
  }
  if (n > end)
    throw new ParseError(
      'srtp',
      'rtp header',
      0,
      `header of ${n - start} bytes in a packet of ${end - start}`,
    );
  return n;
}

/**
 * The errors of the unprotect paths, built out of line. A message interpolating a per-packet number
 * (`${seq}`) at two throw sites of one function cost every packet: optimized code (TurboFan, Node 20)
 * keeps the number's string for the never-taken throws' deoptimization state, and with two such
 * sites it converts it where both branches meet, on the hot path. Each new string then went into
 * V8's number-to-string cache (an old-space table), so it survived scavenges and was promoted:
 * measured with long-lived sessions ~37 B of ~1,040 kept alive per protect+unprotect (~220 KB per
 * scavenge), the young generation grown to its maximum and regular mark-compacts. A call that has
 * never run (or runs rarely) is not inlined, so these convert nothing until a packet fails.
 */
function srtpError(
  code: 'ERR_SRTP_AUTH_FAILED' | 'ERR_SRTP_REPLAY',
  what: string,
  label: string,
  n: number,
  ssrc: number,
): ProtocolError {
  return new ProtocolError(code, `${what} (${label} ${n}, ssrc ${ssrc})`);
}
const windowReason = (r: 'replay' | 'old', what: string): string =>
  r === 'replay' ? `${what}: replayed packet` : `${what}: packet left of the replay window`;

const u32 = (p: Uint8Array, at: number): number =>
  ((p[at]! << 24) | (p[at + 1]! << 16) | (p[at + 2]! << 8) | p[at + 3]!) >>> 0;
function put32(p: Uint8Array, at: number, v: number): void {
  p[at] = v >>> 24;
  p[at + 1] = (v >>> 16) & 0xff;
  p[at + 2] = (v >>> 8) & 0xff;
  p[at + 3] = v & 0xff;
}
function xor32(p: Uint8Array, at: number, v: number): void {
  p[at]! ^= v >>> 24;
  p[at + 1]! ^= (v >>> 16) & 0xff;
  p[at + 2]! ^= (v >>> 8) & 0xff;
  p[at + 3]! ^= v & 0xff;
}

export class SrtpContext {
  readonly profile: SrtpProfile;
  readonly #rtp: Keys;
  readonly #rtcp: Keys;
  readonly #windowSize: number;
  readonly #send = new Map<number, SendStream>();
  readonly #recv = new Map<number, RecvStream>();
  readonly #rtcpSendIndex = new Map<number, number>();
  readonly #rtcpRecv = new Map<number, ReplayWindow>();
  /** IV scratch (16 bytes for AES-CM, first 12 for GCM). */
  readonly #iv = new Uint8Array(16);
  readonly #trailer = new Uint8Array(4);
  /**
   * Where every protected packet is written (see PacketSlab): one slab for all contexts, so an
   * SFU's fan-out of a packet to many legs writes one run of memory instead of a slab per leg each
   * (hundreds of partly filled 64 KiB slabs, out of cache), and an idle context holds none.
   */
  readonly #slab = PROTECT_SLAB;
  /** Where every unprotected packet is written (the same, for what we receive). */
  readonly #recvSlab = UNPROTECT_SLAB;

  /**
   * Keys from a master key and salt (derived per RFC 3711 §4.3), or session keys given directly
   * (as the RFC 7714 vectors state them).
   */
  constructor(
    profile: SrtpProfile,
    keys: MasterKey | { readonly rtp: SessionKeys; readonly rtcp: SessionKeys },
    options: SrtpContextOptions = {},
  ) {
    let session: { rtp: SessionKeys; rtcp: SessionKeys };
    if ('rtp' in keys) session = keys;
    else {
      if (keys.key.length !== profile.keyLength || keys.salt.length !== profile.saltLength) {
        throw new RangeError(
          `${profile.name} needs a ${profile.keyLength}-byte key and ${profile.saltLength}-byte salt`,
        );
      }
      session = deriveSessionKeys(profile, keys);
    }
    this.profile = profile;
    this.#rtp = keysOf(profile, session.rtp);
    this.#rtcp = keysOf(profile, session.rtcp);
    this.#windowSize = options.replayWindow ?? 128;
  }

  // ---------------------------------------------------------------- RTP

  /** Set the rollover counter of an outbound stream (e.g. continuing a stream after a rekey). */
  setSendRoc(ssrc: number, roc: number, lastSeq: number): void {
    const st = new Stream();
    st.roc = roc;
    st.sl = lastSeq;
    st.started = true;
    this.#send.set(ssrc, st);
  }

  /** Encrypt and authenticate an RTP packet; returns a new buffer with the tag appended. */
  protectRtp(packet: Uint8Array): Uint8Array {
    const h = rtpHeaderLength(packet);
    const n = packet.length;
    if (this.#rtp.aead) return this.#protectGcm(packet, h);
    const at = this.#slab.reserve(n + Math.max(this.profile.rtpTagLength, 4), h);
    this.#slab.bytes.set(packet, at);
    return this.#protectCmAt(at, n, h);
  }

  /**
   * Protect a packet that `write(value, out, offset)` serializes straight into the output buffer
   * (`size` bytes, the first `headerLength` of them the RTP header): no intermediate packet buffer.
   */
  protectRtpWith<T>(
    value: T,
    size: number,
    headerLength: number,
    write: (value: T, out: Uint8Array, offset: number) => unknown,
  ): Uint8Array {
    if (this.#rtp.aead) {
      const packet = new Uint8Array(size);
      write(value, packet, 0);
      return this.#protectGcm(packet, rtpHeaderLength(packet));
    }
    const slab = this.#slab;
    const at = slab.reserve(size + Math.max(this.profile.rtpTagLength, 4), headerLength);
    write(value, slab.bytes, at);
    const h = rtpHeaderLength(slab.bytes, at + size, at) - at;
    return this.#protectCmAt(at, size, h);
  }

  /**
   * Give back the memory of `packet`, the latest packet protectRtp/protectRtpWith/protectRtcp
   * returned (of any context), once nothing holds it any more: e.g. the socket handed it to the
   * kernel before its send returned (`sendSettled` in core/net.ts). The next protected packet is
   * then written over the same bytes instead of fresh memory. Calling it while anything still
   * holds the packet (a socket queue, a capture, the caller) corrupts what that holder sends or
   * reads later. A packet that is not the latest protected one is left alone; returns whether the
   * memory was given back.
   */
  releaseProtected(packet: Uint8Array): boolean {
    return this.#slab.release(packet);
  }

  /** The send stream of an SSRC (created on its first packet). */
  #sendStream(ssrc: number): SendStream {
    let st = this.#send.get(ssrc);
    if (!st) this.#send.set(ssrc, (st = new Stream()));
    return st;
  }

  /** AES-CM + HMAC over the RTP packet at slab.bytes[at, at + n) with an h-byte header, in place. */
  #protectCmAt(at: number, n: number, h: number): Uint8Array {
    const slab = this.#slab;
    const out = slab.bytes;
    const seq = (out[at + 2]! << 8) | out[at + 3]!;
    const ssrc = u32(out, at + 8);
    const st = this.#sendStream(ssrc);
    const v = Math.max(estimateRoc(st, seq), 0);
    updateRoc(st, v, seq);
    const k = this.#rtp;
    const tagLen = this.profile.rtpTagLength;
    // The ROC is authenticated after the packet (RFC 3711 §4.2): write it where the tag goes, so
    // one HMAC covers both, then overwrite it with the tag.
    st.ks ??= new AesCmStream(k.ctr!, k.salt, ssrc);
    st.ks.apply(v * 65536 + seq, out, slab.words, at + h, n - h);
    put32(out, at + n, v);
    k.hmac!.tagInto(out, at, at + n + 4, out, at + n, tagLen);
    return slab.view(at, n + tagLen);
  }

  /** AEAD-AES-GCM (RFC 7714 §8): one cipher object per packet (node:crypto cannot re-IV one). */
  #protectGcm(packet: Uint8Array, h: number): Uint8Array {
    const seq = (packet[2]! << 8) | packet[3]!;
    const ssrc = u32(packet, 8);
    const st = this.#sendStream(ssrc);
    const v = Math.max(estimateRoc(st, seq), 0);
    updateRoc(st, v, seq);
    const k = this.#rtp;
    const tagLen = this.profile.rtpTagLength;
    const n = packet.length;
    const slab = this.#slab;
    const iv = this.#gcmIv(k.salt, ssrc, v, seq);
    const c = createCipheriv(this.#gcmName(), k.aead!, iv, GCM_OPTIONS);
    c.setAAD(packet.subarray(0, h));
    const ct = c.update(packet.subarray(h));
    c.final();
    const at = slab.reserve(n + tagLen);
    const out = slab.bytes;
    out.set(packet.subarray(0, h), at);
    out.set(ct, at + h);
    out.set(c.getAuthTag(), at + n);
    return slab.view(at, n + tagLen);
  }

  /**
   * Verify, replay-check and decrypt an SRTP packet; returns the RTP packet (new buffer).
   * Throws ParseError for malformed bytes, ProtocolError ERR_SRTP_AUTH_FAILED / ERR_SRTP_REPLAY.
   */
  unprotectRtp(packet: Uint8Array): Uint8Array {
    const tagLen = this.profile.rtpTagLength;
    const end = packet.length - tagLen;
    if (end < 12) throw new ParseError('srtp', 'srtp packet', 0, `too short (${packet.length} bytes)`);
    const h = rtpHeaderLength(packet, end);
    const seq = (packet[2]! << 8) | packet[3]!;
    const ssrc = u32(packet, 8);
    let st = this.#recv.get(ssrc);
    const v = st ? estimateRoc(st, seq) : 0;
    if (v < 0) throw srtpError('ERR_SRTP_REPLAY', 'srtp: packet precedes the stream', 'seq', seq, ssrc);
    const index = v * 65536 + seq;
    if (st) {
      const r = st.window.check(index);
      if (r !== 'ok') throw srtpError('ERR_SRTP_REPLAY', windowReason(r, 'srtp'), 'index', index, ssrc);
    }
    const k = this.#rtp;
    const slab = this.#recvSlab;
    let at: number;
    if (k.aead) {
      const iv = this.#gcmIv(k.salt, ssrc, v, seq);
      const d = createDecipheriv(this.#gcmName(), k.aead, iv, GCM_OPTIONS);
      d.setAAD(packet.subarray(0, h));
      d.setAuthTag(packet.subarray(end));
      const pt = d.update(packet.subarray(h, end));
      try {
        d.final();
      } catch {
        throw srtpError('ERR_SRTP_AUTH_FAILED', 'srtp: bad tag', 'seq', seq, ssrc);
      }
      at = slab.reserve(end);
      slab.bytes.set(packet.subarray(0, h), at);
      slab.bytes.set(pt, at + h);
      if (!st) this.#recv.set(ssrc, (st = this.#newRecvStream()));
    } else {
      // Copy first with the ROC appended: one HMAC, then decrypt. The whole packet is copied (no
      // subarray view per packet); the ROC overwrites the copy's first tag bytes (a tag is at
      // least 4 bytes), the tag is compared in the input. The plaintext goes into the stream's
      // keystream (written by the cipher call just before, see AesCmStream.decryptInto) and the
      // copy's slab bytes are given back for the next packet; otherwise it is decrypted in place.
      at = slab.reserve(packet.length, h);
      const work = slab.bytes;
      work.set(packet, at);
      put32(work, at + end, v);
      if (!k.hmac!.verify(work, at, at + end + 4, packet, end, tagLen)) {
        throw srtpError('ERR_SRTP_AUTH_FAILED', 'srtp: bad tag', 'seq', seq, ssrc);
      }
      if (!st) this.#recv.set(ssrc, (st = this.#newRecvStream()));
      st.ks ??= new AesCmStream(k.ctr!, k.salt, ssrc);
      const o = st.ks.decryptInto(index, work, slab.words, at + h, h, end - h);
      if (o >= 0) {
        slab.unreserve(at);
        updateRoc(st, v, seq);
        st.window.accept(index);
        return new Uint8Array(st.ks.arrayBuffer, st.ks.bytes.byteOffset + o, end);
      }
      st.ks.apply(index, work, slab.words, at + h, end - h);
    }
    updateRoc(st, v, seq);
    st.window.accept(index);
    return slab.view(at, end);
  }

  #newRecvStream(): RecvStream {
    return new Stream(new ReplayWindow(this.#windowSize)) as RecvStream;
  }

  /** The rollover counter of an inbound stream, for stats and tests. */
  receiveRoc(ssrc: number): number | undefined {
    return this.#recv.get(ssrc)?.roc;
  }

  // ---------------------------------------------------------------- RTCP

  /** Encrypt and authenticate an RTCP (compound) packet; SRTCP index per sending SSRC, from 1. */
  protectRtcp(packet: Uint8Array): Uint8Array {
    if (packet.length < 8)
      throw new ParseError('srtp', 'rtcp header', 0, `need 8 bytes, have ${packet.length}`);
    const ssrc = u32(packet, 4);
    const index = ((this.#rtcpSendIndex.get(ssrc) ?? 0) + 1) & SRTCP_INDEX_MASK;
    this.#rtcpSendIndex.set(ssrc, index);
    const k = this.#rtcp;
    const tagLen = this.profile.rtcpTagLength;
    const n = packet.length;
    const slab = this.#slab;
    const at = slab.reserve(n + 4 + tagLen);
    const out = slab.bytes;
    if (k.aead) {
      const iv = this.#gcmIv(k.salt, ssrc, 0, 0);
      xor32(iv, 8, index);
      const trailer = this.#trailer;
      put32(trailer, 0, (SRTCP_E_FLAG | index) >>> 0);
      const c = createCipheriv(this.#gcmName(), k.aead, iv, GCM_OPTIONS);
      c.setAAD(packet.subarray(0, 8));
      c.setAAD(trailer);
      out.set(packet.subarray(0, 8), at);
      out.set(c.update(packet.subarray(8)), at + 8);
      c.final();
      out.set(c.getAuthTag(), at + n);
      out.set(trailer, at + n + 16);
      return slab.view(at, n + 4 + tagLen);
    }
    out.set(packet, at);
    k.ctr!.apply(this.#cmIv(k.salt, ssrc, 0, 0, index), out, at + 8, at + n);
    put32(out, at + n, (SRTCP_E_FLAG | index) >>> 0);
    k.hmac!.tagInto(out, at, at + n + 4, out, at + n + 4, tagLen);
    return slab.view(at, n + 4 + tagLen);
  }

  /** Verify, replay-check and (when E is set) decrypt an SRTCP packet; returns the RTCP bytes. */
  unprotectRtcp(packet: Uint8Array): Uint8Array {
    const tagLen = this.profile.rtcpTagLength;
    const n = packet.length;
    if (n < 8 + 4 + tagLen) throw new ParseError('srtp', 'srtcp packet', 0, `too short (${n} bytes)`);
    const k = this.#rtcp;
    const ssrc = u32(packet, 4);
    // AES-CM: ... | E+index | tag.  GCM: ... | tag | E+index  (RFC 7714 §9.1).
    const trailerAt = k.aead ? n - 4 : n - tagLen - 4;
    const word = u32(packet, trailerAt);
    const encrypted = (word & SRTCP_E_FLAG) !== 0;
    const index = word & SRTCP_INDEX_MASK;
    const window = this.#rtcpRecv.get(ssrc);
    const r = window?.check(index) ?? 'ok';
    if (r !== 'ok') throw srtpError('ERR_SRTP_REPLAY', windowReason(r, 'srtcp'), 'index', index, ssrc);
    const slab = this.#recvSlab;
    let out: Uint8Array;
    if (k.aead) {
      const bodyEnd = n - 4 - 16;
      const iv = this.#gcmIv(k.salt, ssrc, 0, 0);
      xor32(iv, 8, index);
      const d = createDecipheriv(this.#gcmName(), k.aead, iv, GCM_OPTIONS);
      d.setAuthTag(packet.subarray(bodyEnd, bodyEnd + 16));
      const at = slab.reserve(bodyEnd);
      const bytes = slab.bytes;
      if (encrypted) {
        d.setAAD(packet.subarray(0, 8));
        d.setAAD(packet.subarray(trailerAt));
        bytes.set(packet.subarray(0, 8), at);
        bytes.set(d.update(packet.subarray(8, bodyEnd)), at + 8);
      } else {
        // RFC 7714 §9.2: unencrypted SRTCP authenticates the whole packet as AAD.
        d.setAAD(packet.subarray(0, bodyEnd));
        d.setAAD(packet.subarray(trailerAt));
        bytes.set(packet.subarray(0, bodyEnd), at);
      }
      try {
        d.final();
      } catch {
        throw srtpError('ERR_SRTP_AUTH_FAILED', 'srtcp: bad tag', 'index', index, ssrc);
      }
      out = slab.view(at, bodyEnd);
    } else {
      const at = slab.reserve(n - tagLen);
      const bytes = slab.bytes;
      bytes.set(packet.subarray(0, n - tagLen), at);
      if (!k.hmac!.verify(bytes, at, at + n - tagLen, packet, n - tagLen, tagLen)) {
        throw srtpError('ERR_SRTP_AUTH_FAILED', 'srtcp: bad tag', 'index', index, ssrc);
      }
      if (encrypted) k.ctr!.apply(this.#cmIv(k.salt, ssrc, 0, 0, index), bytes, at + 8, at + trailerAt);
      out = slab.view(at, trailerAt);
    }
    let w = window;
    if (!w) this.#rtcpRecv.set(ssrc, (w = new ReplayWindow(this.#windowSize)));
    w.accept(index);
    return out;
  }

  // ---------------------------------------------------------------- IVs

  /** RFC 3711 §4.1.1: IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16); i = roc*2^16 + seq or the SRTCP index. */
  #cmIv(salt: Uint8Array, ssrc: number, roc: number, seq: number, rtcpIndex?: number): Uint8Array {
    const iv = this.#iv;
    iv.set(salt);
    iv[14] = 0;
    iv[15] = 0;
    xor32(iv, 4, ssrc);
    if (rtcpIndex === undefined) {
      xor32(iv, 8, roc);
      iv[12]! ^= seq >>> 8;
      iv[13]! ^= seq & 0xff;
    } else {
      // 48-bit index field at bytes 8..13; a 31-bit SRTCP index occupies its low 4 bytes.
      xor32(iv, 10, rtcpIndex);
    }
    return iv;
  }

  /** RFC 7714 §8.1: IV = (00 00 || SSRC || ROC || SEQ) XOR salt; SRTCP (§9.1) puts 00 00 || index after SSRC. */
  #gcmIv(salt: Uint8Array, ssrc: number, roc: number, seq: number): Uint8Array {
    // createCipheriv copies the IV, so one scratch buffer serves every packet.
    const iv = this.#iv.subarray(0, 12);
    iv.set(salt);
    xor32(iv, 2, ssrc);
    xor32(iv, 6, roc);
    iv[10]! ^= seq >>> 8;
    iv[11]! ^= seq & 0xff;
    return iv;
  }

  #gcmName(): 'aes-128-gcm' | 'aes-256-gcm' {
    return this.profile.keyLength === 32 ? 'aes-256-gcm' : 'aes-128-gcm';
  }
}
