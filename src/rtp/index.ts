export * from './bit-reader.js';
export * from './dependency-descriptor.js';
export * from './extensions.js';
export * from './header-extensions.js';
export * from './packet.js';
