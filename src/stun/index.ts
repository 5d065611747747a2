/** STUN (RFC 8489): message codec, attributes, credentials, client transactions. */
export * from './attributes.js';
export * from './constants.js';
export { crc32 } from './crc32.js';
export * from './integrity.js';
export { bytesToIp, ipToBytes } from './ip.js';
export * from './message.js';
export * from './nat-discovery.js';
export * from './serialize.js';
export * from './transactions.js';
