/**
 * Causal tracing shared by the server and the browser: request/result schemas, the plan, noise,
 * the runner interface a backend implements, and the algorithm (see trace.ts).
 */
export * from './schema';
export * from './plan';
export * from './noise';
export * from './runner';
export * from './trace';
