/** The op set: every differentiable op the model families and editing methods use. */
export * from './elementwise';
export * from './layout';
export * from './loss';
export * from './matmul';
export * from './nn';
export * from './reduce';
