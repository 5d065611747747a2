/**
 * rtcstack: the whole WebRTC system in TypeScript. The package root exports the W3C surface
 * (as it lands) and the building blocks each layer offers.
 */
export * as core from './core/index.js';
