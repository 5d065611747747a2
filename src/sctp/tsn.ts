/** Serial number arithmetic (RFC 1982) for 32-bit TSNs and 16-bit SSNs, as RFC 9260 §1.6 uses it. */

/** a < b in 32-bit serial space. */
export function tsnLt(a: number, b: number): boolean {
  return a !== b && (b - a) >>> 0 < 0x80000000;
}
export function tsnLte(a: number, b: number): boolean {
  return a === b || (b - a) >>> 0 < 0x80000000;
}
export function tsnGt(a: number, b: number): boolean {
  return tsnLt(b, a);
}
/** b - a as a signed distance (valid when |b - a| < 2^31). */
export function tsnDiff(a: number, b: number): number {
  return (b - a) | 0;
}
export function tsnAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}
/** a < b in 16-bit serial space (SSN). */
export function ssnLt(a: number, b: number): boolean {
  return a !== b && ((b - a) & 0xffff) < 0x8000;
}
export function ssnLte(a: number, b: number): boolean {
  return a === b || ((b - a) & 0xffff) < 0x8000;
}
