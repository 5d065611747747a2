/** 16-bit sequence and 32-bit timestamp arithmetic for the forwarder. */

/** Signed distance from `from` to `to` modulo 2^16, in [-32768, 32767]. */
export const seqDelta = (from: number, to: number): number =>
  ((((to - from) & 0xffff) + 32768) & 0xffff) - 32768;

/** Extend 16-bit `seq` to the extended number nearest `reference` (an extended number). */
export const extendSeq = (reference: number, seq: number): number =>
  reference + seqDelta(reference & 0xffff, seq);
