export * from './attributes.js';
export * from './candidate.js';
export * from './errors.js';
export * from './parse.js';
export * from './serialize.js';
export * from './types.js';
