/** Running models exported by server/onnx: the graph's interface and a causal-trace runner. */
export * from './interface';
export * from './runner';
