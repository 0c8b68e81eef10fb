/** The Locus tensor engine: tensors, autograd, ops, optimisers and backends. */
export { Engine, type MemoryInfo } from './engine';
export { Tensor } from './tensor';
export { EngineError } from './errors';
export type { DType } from './dtype';
export type { Shape } from './shape';
export type { Backend } from './backend';
export { CpuBackend } from './backends/cpu';
export * as ops from './ops';
export { Adam, AdamW, SGD, type Optimizer } from './optim';
