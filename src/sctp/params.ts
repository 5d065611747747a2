/** Helpers for the INIT / INIT ACK parameters WebRTC cares about. */
import type { Param } from './chunk-types.js';
import {
  PARAM_FORWARD_TSN_SUPPORTED,
  PARAM_MAX_PACKET_ACCEPTED,
  PARAM_STATE_COOKIE,
  PARAM_SUPPORTED_EXTENSIONS,
  PARAM_ZERO_CHECKSUM_ACCEPTABLE,
} from './constants.js';

export function findParam(params: readonly Param[], type: number): Param | undefined {
  for (const p of params) if (p.type === type) return p;
  return undefined;
}

/** Supported Extensions (RFC 5061 §4.2.7): one chunk type per byte. */
export function supportedExtensionsParam(chunkTypes: readonly number[]): Param {
  return { type: PARAM_SUPPORTED_EXTENSIONS, value: Uint8Array.from(chunkTypes) };
}
export function supportedExtensions(params: readonly Param[]): number[] {
  const p = findParam(params, PARAM_SUPPORTED_EXTENSIONS);
  return p ? [...p.value] : [];
}

export function forwardTsnSupportedParam(): Param {
  return { type: PARAM_FORWARD_TSN_SUPPORTED, value: new Uint8Array(0) };
}

/** Zero Checksum Acceptable (RFC 9653 §3) with its error detection method identifier. */
export function zeroChecksumParam(edmid: number): Param {
  const v = new Uint8Array(4);
  new DataView(v.buffer).setUint32(0, edmid);
  return { type: PARAM_ZERO_CHECKSUM_ACCEPTABLE, value: v };
}
export function zeroChecksumEdmid(params: readonly Param[]): number | undefined {
  const p = findParam(params, PARAM_ZERO_CHECKSUM_ACCEPTABLE);
  const v = p?.value;
  if (v?.length !== 4) return undefined;
  return new DataView(v.buffer, v.byteOffset, 4).getUint32(0);
}

export function stateCookieParam(cookie: Uint8Array): Param {
  return { type: PARAM_STATE_COOKIE, value: cookie };
}
export function stateCookie(params: readonly Param[]): Uint8Array | undefined {
  return findParam(params, PARAM_STATE_COOKIE)?.value;
}

export function maxPacketParam(size: number): Param {
  const v = new Uint8Array(4);
  new DataView(v.buffer).setUint32(0, size);
  return { type: PARAM_MAX_PACKET_ACCEPTED, value: v };
}
export function maxPacketAccepted(params: readonly Param[]): number | undefined {
  const v = findParam(params, PARAM_MAX_PACKET_ACCEPTED)?.value;
  if (v?.length !== 4) return undefined;
  return new DataView(v.buffer, v.byteOffset, 4).getUint32(0);
}
