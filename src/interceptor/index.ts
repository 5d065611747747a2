export * from './jitter-buffer.js';
export * from './nack.js';
export * from './receive-stats.js';
export * from './sequence.js';
