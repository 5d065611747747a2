export * from './annexb.js';
export * from './frame-size.js';
export * from './ivf.js';
export * from './ogg.js';
export * from './opus-file.js';
export * from './webm.js';
