export * from './congestion-controller.js';
export * from './jitter-buffer.js';
export * from './nack.js';
export * from './pacer.js';
export * from './receive-stats.js';
export * from './sequence.js';
export * from './twcc-recorder.js';
