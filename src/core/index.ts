export * from './bytes.js';
export * from './clock.js';
export * from './errors.js';
export * from './events.js';
export * from './log.js';
export * from './net.js';
export * from './net-node.js';
export * from './random.js';
