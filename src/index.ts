/**
 * rtcstack: the whole WebRTC system in TypeScript. The package root exports the W3C surface
 * (RTCPeerConnection and friends, so browser code runs on Node unchanged) and the building blocks
 * each layer offers, under a namespace per layer.
 */

export * as core from './core/index.js';
export * from './peer/index.js';
export * as stun from './stun/index.js';
