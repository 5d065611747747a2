export * from './data-channel.js';
export * from './dcep.js';
export * from './events.js';
export * from './manager.js';
