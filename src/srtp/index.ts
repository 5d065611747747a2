export * from './aes-cm.js';
export * from './context.js';
export * from './kdf.js';
export * from './profiles.js';
export * from './replay.js';
export * from './session.js';
