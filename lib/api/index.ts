/** Request and response schemas of the studio's /api/** routes, shared by route handlers and the client. */
export * from './errors';
export * from './facts';
export * from './models';
export * from './predict';
export * from './score';
export * from './jobs';
export * from './benchmarks';
export * from './onnx';
