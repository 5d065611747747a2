/** TURN client (RFC 8656): allocations, permissions, channels, refresh over UDP, TCP and TLS. */
export * from './client.js';
export * from './transport.js';
