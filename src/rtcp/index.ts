export * from './ccfb.js';
export * from './compound.js';
export * from './feedback.js';
export * from './header.js';
export * from './reports.js';
export * from './source.js';
export * from './twcc.js';
